"""Helpers for tests against the real lab: run the CLI as a user would, talk to the lab's engines, wait
with deadlines."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.lab import spec
from orchestrator.lab.proc import tcp_open, wait_until
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventory" / "lab.yml"


@dataclass
class Cli:
    rc: int
    stdout: str
    stderr: str
    elapsed: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def checks(self, host: str) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.json()["hosts"][host]["checks"]}


def invoke(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Cli:
    """Run the real CLI as a user would (a fresh process: imports, SSH, everything)."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    return Cli(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def docker(*args: str, host: spec.LabHost = spec.DEV, check: bool = True, timeout: float = 60
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", host.docker_host, *args], capture_output=True, text=True,
                          timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def container_of(service: str) -> str:
    out = docker("ps", "-aq", "--filter", "label=com.docker.compose.project=sample",
                 "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    assert out, f"no container for service {service}"
    return out[0]


def health(container: str) -> str:
    out = docker("inspect", "--format", "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                 container, check=False)
    return out.stdout.strip() if out.returncode == 0 else "absent"


def stack_healthy() -> bool:
    return all(health(container_of(s)) == "running/healthy" for s in spec.STACK_SERVICES)


def quietly_healthy() -> bool:
    try:
        return stack_healthy()
    except (AssertionError, subprocess.SubprocessError):
        return False


# --- What e2e must never change, read as root straight from this machine (not through the orchestrator) ---

STATE_FILES = ("lease.json", "journal.jsonl")


def file_facts(path: Path) -> dict[str, str] | None:
    """sha256, mode and owner of a file; None when it does not exist."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "mode": f"{st.st_mode & 0o7777:04o}",
        "owner": f"{_user_name(st.st_uid)}:{_group_name(st.st_gid)}",
    }


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _inspect(*ids: str, kind: str = "container") -> list[dict[str, Any]]:
    if not ids:
        return []
    out = docker(kind, "inspect", *ids, check=False)
    return json.loads(out.stdout or "[]")


def _git(*args: str) -> str:
    # --no-optional-locks: a read as root must not rewrite the login user's index.
    out = subprocess.run(
        ["git", "-c", "safe.directory=*", "--no-optional-locks", "-C", str(spec.DEV.stack_dir), *args],
        capture_output=True, text=True, timeout=30, check=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"},
    )
    return out.stdout


def fingerprint() -> dict[str, Any]:
    """Everything of the lab's dev/agent state that an e2e run must leave exactly as it found it.

    Heartbeats and health are left out on purpose (they change by themselves); two fingerprints taken around
    a harmless operation compare equal.
    """
    stack_dir = Path(spec.DEV.stack_dir or "")
    project = f"label=com.docker.compose.project={spec.DEV.compose_project}"
    containers = _inspect(*docker("ps", "-aq", "--no-trunc", "--filter", project).stdout.split())
    volumes = _inspect(*docker("volume", "ls", "-q").stdout.split(), kind="volume")
    mountpoints = {v["Name"]: Path(v["Mountpoint"]) for v in volumes}
    try:
        data_dir_inode: int | None = spec.DATA_DIR.stat().st_ino
    except FileNotFoundError:
        data_dir_inode = None
    return {
        "files": {str(p): file_facts(p) for p in (stack_dir / ".env", stack_dir / "config.json",
                                                   spec.WORKER_CONFIG)},
        "images": {c["Config"]["Labels"].get("com.docker.compose.service", ""): c["Image"]
                   for c in containers if c["State"]["Status"] == "running"},
        "containers": sorted((c["Name"].lstrip("/"), c["State"]["Status"]) for c in containers),
        "volumes": {v["Name"]: v.get("CreatedAt") for v in volumes},
        "data_dir_inode": data_dir_inode,
        "created": {
            "volume": _read_text(mountpoints[spec.VOLUME] / "created" if spec.VOLUME in mountpoints else None),
            "data_dir": _read_text(spec.DATA_DIR / "created"),
        },
        "checkout": {"head": _git("rev-parse", "HEAD").strip(), "status": _git("status", "--porcelain")},
        "state_files": {name: (spec.STATE_DIR / name).exists() for name in STATE_FILES},
    }


# --- Restarting a lab host's sshd the hard way: its per-connection children too ---

def _ppid_and_comm(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), comm  # fields: state, ppid, ...


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def sshd_children(master: int) -> list[int]:
    """The per-connection sshd processes of a listening sshd: its children, found by ppid in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _ppid_and_comm(int(entry.name))
            if info is not None and info[0] == master and info[1] == "sshd":
                found.append(int(entry.name))
    return sorted(found)


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)




def stop_sshd(host: spec.LabHost = spec.DEV, timeout: float = 20) -> int | None:
    """Stop the lab host's sshd with every per-connection child (pids only, never by name), as a crash would.

    Returns the stopped master's pid (None if it was not running); the port is closed when this returns.
    """
    from orchestrator.lab import sshd

    master = sshd.pid(host)  # the pidfile's pid, only if its command line names this host's config
    if master is not None:
        pids = [*sshd_children(master), master]
        _signal(pids, signal.SIGTERM)
        if not wait_until(lambda: not any(_alive(p) for p in pids), timeout / 2, 0.05):
            _signal([p for p in pids if _alive(p)], signal.SIGKILL)
        wait_for(lambda: not any(_alive(p) for p in pids), f"{host.name} sshd {pids} to exit", timeout=timeout)
        wait_for(lambda: not tcp_open(host.ssh_host, host.ssh_port),
                 f"{host.ssh_host}:{host.ssh_port} to close", timeout=timeout)
    return master


def restart_sshd(host: spec.LabHost = spec.DEV, timeout: float = 20) -> int:
    """Stop the lab host's sshd with every per-connection child (stop_sshd), start it again.

    Cuts every SSH session to the host, as a crashed or restarted sshd would. Returns the new master's pid.
    """
    from orchestrator.lab import sshd

    stop_sshd(host, timeout)
    sshd.ensure(host, echo=lambda _line: None)
    wait_for(lambda: tcp_open(host.ssh_host, host.ssh_port), f"{host.name} sshd to listen again", timeout=timeout)
    new = sshd.pid(host)
    assert new is not None, f"{host.name}: sshd did not come back"
    return new


# --- The agent's build leftovers and prune lock (`invoke prune --host agent`), read and made as root ---

def make_leftovers() -> None:
    """(Re)create whatever build leftovers are missing on the agent's engine, as lab.up does, right now.

    A prune removes them (and `docker image prune -a` takes the base image too once no container uses it), so
    each prune test calls this first. Holds the lab's lock, so it never races a lab.up.
    """
    from orchestrator import lab
    from orchestrator.lab import images, leftovers
    from orchestrator.lab.proc import exclusive

    def quiet(_line: str) -> None:
        return None

    with exclusive(lab.LOCK_FILE, lab.LOCK_TIMEOUT, "make_leftovers"):
        images.ensure_base(spec.AGENT, quiet, {})
        leftovers.ensure_prune_lock(quiet)
        leftovers.ensure(quiet, spec.AGENT)


def agent_inventory() -> dict[str, list[str]]:
    """What the agent's engine holds: images "repo:tag id" (short id; dangling ones as "<none>:<none> id"),
    containers "name state" (state: created, running, exited, ...; stable, unlike docker's Status text), volumes.
    """
    images = docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", host=spec.AGENT).stdout
    containers = docker("ps", "-a", "--format", "{{.Names}} {{.State}}", host=spec.AGENT).stdout
    volumes = docker("volume", "ls", "--format", "{{.Name}}", host=spec.AGENT).stdout
    return {
        "images": sorted(images.splitlines()),
        "containers": sorted(containers.splitlines()),
        "volumes": sorted(volumes.split()),
    }


def ci_volume_data() -> str | None:
    """keep-me.txt's content in the ci-cache volume, read as root through the volume's Mountpoint; None when
    the file or the volume is gone."""
    from orchestrator.lab import leftovers

    return leftovers.volume_data(spec.AGENT)


def _lock_listed() -> bool:
    """Whether /proc/locks lists a flock on PRUNE_LOCK (matched by inode; reading it takes nothing).

    Its pid column is no guide to the holder: it names the process that took the lock, e.g. a `flock 9` command
    that has long exited while the shell that opened fd 9 (or what it exec'd) still holds it.
    """
    try:
        inode = spec.PRUNE_LOCK.stat().st_ino
    except FileNotFoundError:
        return False
    for line in Path("/proc/locks").read_text().splitlines():
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:1467477 0 EOF"; a waiter's line has "->" in the second field.
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            return True
    return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def lock_is_free() -> bool:
    """True if nobody holds PRUNE_LOCK: `flock -n` on it (takes and at once drops the lock; a missing file is free)."""
    if not spec.PRUNE_LOCK.exists():
        return True  # flock(1) would create it, owned by root
    probe = subprocess.run(["flock", "-n", "-E", "75", str(spec.PRUNE_LOCK), "true"], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
    if probe.returncode not in (0, 75):
        raise RuntimeError(f"flock -n {spec.PRUNE_LOCK} exited {probe.returncode}: {probe.stderr.strip()}")
    return probe.returncode == 0


def hold_prune_lock(timeout: float = 30) -> subprocess.Popen[bytes]:
    """Hold PRUNE_LOCK as the agent's login user (a CI pipeline or a stuck prune) until the caller ends the pid.

    The returned process is itself the one holder: sh opens fd 9 and has `flock 9` lock it, then execs sleep,
    which keeps fd 9 (and with it the lock) until it ends; so ending its pid with any signal frees the lock.
    It runs under setpriv, which execs: runuser would stay behind as the parent (it keeps a PAM session), and
    a SIGKILL to runuser would leave the holder holding the lock for an hour.
    """
    pw = pwd.getpwnam(spec.AGENT.user)
    with tempfile.TemporaryFile() as err:
        holder = subprocess.Popen(
            ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
             "sh", "-c", 'exec 9>>"$1" && flock 9 && exec sleep 3600', "sh", str(spec.PRUNE_LOCK)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, cwd="/",
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": pw.pw_dir},
        )
        try:
            # sleep runs only once flock succeeded, and a listed lock shows the kernel agrees.
            wait_for(lambda: holder.poll() is not None or (_cmdline(holder.pid).startswith("sleep ")
                                                         and _lock_listed()),
                     f"pid {holder.pid} to hold {spec.PRUNE_LOCK}", timeout=timeout, interval=0.05)
            if holder.poll() is not None:
                err.seek(0)
                raise RuntimeError(f"the lock holder exited {holder.returncode} before taking the lock: "
                                   f"{err.read().decode('utf-8', 'replace').strip()}")
        except BaseException:
            if holder.poll() is None:
                holder.kill()
            holder.wait(timeout=10)
            raise
    return holder


# A careless debug log, as real services print: the stack's API token plain, in JSON and in a URL. Written to
# the container's own stdout (PID 1's), so `docker logs` shows it as the service's output; the token is
# expanded inside the container, never on a command line here.
CARELESS_LINES = ('echo "debug: using token $SAMPLE_API_TOKEN"; '
                  'echo "{\\"event\\": \\"auth\\", \\"client_secret\\": \\"$SAMPLE_API_TOKEN\\"}"; '
                  'echo "debug: upstream https://scanner:$SAMPLE_API_TOKEN@127.0.0.1:18080/api"')


def plant_careless_log(service: str = "scanner") -> str:
    """Make `service` log the stack's token (three ways) in its current run; returns the container."""
    container = container_of(service)
    docker("exec", container, "sh", "-c", f"({CARELESS_LINES}) > /proc/1/fd/1")
    return container


def fresh_run(service: str) -> None:
    """Restart `service`'s container and wait until it is healthy again: its current run's log starts empty."""
    container = container_of(service)
    docker("restart", "-t", "5", container)
    wait_for(lambda: health(container) == "running/healthy", f"{service} to be healthy after a restart")
