"""What `invoke prune` meets on the agent: its shared prune lock, and build leftovers on its engine.

lab.up creates only what is missing, so a prune test can re-make what a prune removed (tests'
labkit.make_leftovers) and a second lab.up changes nothing. The leftovers, all on the agent's engine:
- the named volume CI_VOLUME holding CI_VOLUME_FILE (persistent data: no prune may delete it), written by the
  stopped container CI_VOLUME_WRITER, which stays behind so that pruning stopped containers meets the volume;
- the stopped containers LEFTOVER_CONTAINERS (each exited at once; every lab-made leftover container, the
  writer included, has the label LEFTOVER_LABEL=1);
- the unused image LEFTOVER_IMAGE and a dangling image: the same tag built twice with different payloads.
Nothing needs a network: containers run with --network none, and the build (classic builder) only COPYs.
"""

from __future__ import annotations

import io
import os
import pwd
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

from .dockerd import docker
from .errors import EXIT_INFRA, LabError
from .images import has_image
from .proc import ensure_dir, run_bytes
from .spec import (
    AGENT,
    AGENT_CI_DIR,
    AGENT_CI_DIR_MODE,
    BASE_IMAGE,
    CI_VOLUME,
    CI_VOLUME_CONTENT,
    CI_VOLUME_FILE,
    CI_VOLUME_WRITER,
    LEFTOVER_BUILD_SRC,
    LEFTOVER_CONTAINERS,
    LEFTOVER_IMAGE,
    LEFTOVER_LABEL,
    PRUNE_LOCK,
    PRUNE_LOCK_MODE,
    LabHost,
)

Echo = Callable[[str], None]
VOLUME_TARGET = "/cache"
# Rewrites the file only when its content differs: a re-made writer leaves intact data (and its mtime) alone.
WRITER_SCRIPT = f'f={VOLUME_TARGET}/{CI_VOLUME_FILE}; printf %s "$1" | cmp -s - "$f" || printf %s "$1" > "$f"'
BUILD_GENERATIONS = (1, 2)  # the last one keeps the tag; every earlier one is left dangling
BUILD_TIMEOUT = 120


def ensure_prune_lock(echo: Echo) -> None:
    """AGENT_CI_DIR (login user, 0755) and an empty PRUNE_LOCK (login user, 0644); an existing lock is never
    truncated.

    AGENT_CI_DIR belongs to the login user, so the lock is opened without following a symlink and fixed through
    its descriptor: root must not chown or chmod whatever a link there points at.
    """
    pw = pwd.getpwnam(AGENT.user)
    owner = (pw.pw_uid, pw.pw_gid)
    changed: list[str] = []
    if ensure_dir(AGENT_CI_DIR, AGENT_CI_DIR_MODE, owner):
        changed.append(f"{AGENT_CI_DIR} made ({AGENT.user}, {AGENT_CI_DIR_MODE:04o})")
    existed = os.path.lexists(PRUNE_LOCK)
    try:
        fd = os.open(PRUNE_LOCK, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     PRUNE_LOCK_MODE)
    except OSError as exc:
        raise LabError(f"{AGENT.name}: cannot open {PRUNE_LOCK}: {exc.strerror}", EXIT_INFRA) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LabError(f"{AGENT.name}: {PRUNE_LOCK} is not a regular file", EXIT_INFRA)
        fixed = False
        if (st.st_uid, st.st_gid) != owner:
            os.fchown(fd, *owner)
            fixed = True
        if st.st_mode & 0o7777 != PRUNE_LOCK_MODE:
            os.fchmod(fd, PRUNE_LOCK_MODE)
            fixed = True
    finally:
        os.close(fd)
    if not existed:
        changed.append(f"{PRUNE_LOCK} made ({AGENT.user}, {PRUNE_LOCK_MODE:04o})")
    elif fixed:
        changed.append(f"{PRUNE_LOCK} owner/mode put right")
    if changed:
        echo(f"{AGENT.name}: {'; '.join(changed)}")
    else:
        echo(f"{AGENT.name}: prune lock {PRUNE_LOCK} already there")


def volume_mountpoint(host: LabHost = AGENT) -> Path | None:
    """Where the engine keeps CI_VOLUME's data on this machine; None when the volume does not exist."""
    out = docker(host, "volume", "inspect", "--format", "{{.Mountpoint}}", CI_VOLUME, check=False)
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def volume_data(host: LabHost = AGENT) -> str | None:
    """CI_VOLUME_FILE's content, read as root through the volume's mountpoint; None when it or the volume is gone."""
    mountpoint = volume_mountpoint(host)
    if mountpoint is None:
        return None
    try:
        return (mountpoint / CI_VOLUME_FILE).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def ensure(echo: Echo, host: LabHost = AGENT) -> None:
    """Create whichever leftovers are missing on host's engine; one line says what was made, or that all are there."""
    made: list[str] = []
    names = set(docker(host, "ps", "-a", "--format", "{{.Names}}").stdout.split())
    made += _ensure_volume(host, CI_VOLUME_WRITER in names)
    for name in LEFTOVER_CONTAINERS:
        if name not in names:
            _run_once(host, name)
            made.append(f"container {name}")
    made += _ensure_images(host)
    if made:
        echo(f"{host.name}: build leftovers made: {', '.join(made)}")
    else:
        echo(f"{host.name}: build leftovers already present (volume {CI_VOLUME} with {CI_VOLUME_FILE}, stopped "
             f"containers {', '.join((CI_VOLUME_WRITER, *LEFTOVER_CONTAINERS))}, image {LEFTOVER_IMAGE}, "
             f"a dangling image)")


def _ensure_volume(host: LabHost, writer_exists: bool) -> list[str]:
    made: list[str] = []
    had_volume = volume_mountpoint(host) is not None
    had_data = had_volume and volume_data(host) == CI_VOLUME_CONTENT
    if not writer_exists:
        _run_once(host, CI_VOLUME_WRITER, options=("-v", f"{CI_VOLUME}:{VOLUME_TARGET}"),
                  argv=("sh", "-c", WRITER_SCRIPT, "sh", CI_VOLUME_CONTENT))
        made.append(f"container {CI_VOLUME_WRITER}")
    elif not had_data:
        docker(host, "start", "-a", CI_VOLUME_WRITER, timeout=60)  # runs its write again
    if not had_volume:
        made.insert(0, f"volume {CI_VOLUME}")
    if not had_data:
        made.append(f"{CI_VOLUME_FILE} written")
    if volume_data(host) != CI_VOLUME_CONTENT:
        raise LabError(f"{host.name}: {CI_VOLUME_WRITER} did not write {CI_VOLUME_FILE} into volume {CI_VOLUME}",
                       EXIT_INFRA)
    return made


def _run_once(host: LabHost, name: str, options: tuple[str, ...] = (), argv: tuple[str, ...] = ("true",)) -> None:
    """A labelled container that runs to its exit at once and stays behind, stopped."""
    docker(host, "run", "--name", name, "--label", f"{LEFTOVER_LABEL}=1", "--network", "none", *options,
           BASE_IMAGE, *argv, timeout=60)


def _ensure_images(host: LabHost) -> list[str]:
    tagged = has_image(host, LEFTOVER_IMAGE)
    if tagged and _dangling(host):
        return []
    for generation in BUILD_GENERATIONS:
        run_bytes(["docker", "-H", host.docker_host, "build", "-q", "-t", LEFTOVER_IMAGE, "-"],
                  build_context(generation), timeout=BUILD_TIMEOUT, extra_env={"DOCKER_BUILDKIT": "0"})
    if not _dangling(host):
        raise LabError(f"{host.name}: building {LEFTOVER_IMAGE} twice left no dangling image", EXIT_INFRA)
    return [*([] if tagged else [f"image {LEFTOVER_IMAGE}"]), "a dangling image"]


def _dangling(host: LabHost) -> list[str]:
    return docker(host, "images", "-q", "--filter", "dangling=true").stdout.split()


def build_context(generation: int) -> bytes:
    """LEFTOVER_BUILD_SRC as a tar for `docker build -`, payload marked with the generation; same bytes every time."""
    files = {
        "Dockerfile": (LEFTOVER_BUILD_SRC / "Dockerfile").read_bytes(),
        "payload.txt": (LEFTOVER_BUILD_SRC / "payload.txt").read_bytes() + f"generation {generation}\n".encode(),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
