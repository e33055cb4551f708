"""Subprocess and process helpers: every call bounded by a timeout, every wait bounded by a deadline."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from orchestrator.errors import tail

from .errors import EXIT_INFRA, LabError

T = TypeVar("T")

# A predictable environment: no user's DOCKER_HOST/DOCKER_CONTEXT or git config leaks into the lab's commands.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    merged = dict(BASE_ENV)
    if extra:
        merged.update(extra)
    return merged


def run(
    argv: Sequence[str],
    *,
    timeout: float = 30,
    check: bool = True,
    cwd: Path | str | None = None,
    extra_env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; on failure raise LabError naming the command and its stderr tail."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            cwd=cwd,
            env=env(extra_env),
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"command {' '.join(argv)!r} timed out after {timeout:g}s", EXIT_INFRA) from exc
    if check and proc.returncode != 0:
        detail = tail(proc.stderr or proc.stdout, lines=8, chars=2000)
        raise LabError(f"command {' '.join(argv)!r} exited {proc.returncode}: {detail}", EXIT_INFRA)
    return proc


def run_bytes(argv: Sequence[str], data: bytes, *, timeout: float, extra_env: Mapping[str, str] | None = None) -> str:
    """Feed binary data on stdin (e.g. a tar stream); returns stdout as text."""
    try:
        proc = subprocess.run(
            list(argv), input=data, capture_output=True, timeout=timeout, env=env(extra_env)
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"command {' '.join(argv)!r} timed out after {timeout:g}s", EXIT_INFRA) from exc
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        detail = tail(proc.stderr.decode("utf-8", "replace") or out, lines=8, chars=2000)
        raise LabError(f"command {' '.join(argv)!r} exited {proc.returncode}: {detail}", EXIT_INFRA)
    return out


def tail_file(path: Path, lines: int = 15) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            return tail(fh.read().decode("utf-8", "replace"), lines=lines, chars=4000)
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"


def read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (a zombie answers kill(0) but serves nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def running_pid(pidfile: Path, marker: str) -> int | None:
    """The live pid from pidfile, only if its command line contains marker (guards against pid reuse)."""
    pid = read_pid(pidfile)
    if pid is None or not pid_alive(pid) or marker not in cmdline(pid):
        return None
    return pid


def stop_pid(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to timeout, then SIGKILL. True if it exited on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    wait_until(lambda: not pid_alive(pid), 10, 0.1)
    return False


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(probe: Callable[[], T], timeout: float, interval: float = 0.25) -> T | None:
    """Poll probe until it returns something truthy or the deadline passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def write_if_changed(path: Path, content: str, mode: int, owner: tuple[int, int] | None = None) -> bool:
    """Atomically (re)write path when its content, mode or owner (uid, gid) differ; True if it wrote."""
    try:
        st = path.stat()
        if (path.read_text() == content and (st.st_mode & 0o7777) == mode
                and (owner is None or (st.st_uid, st.st_gid) == owner)):
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    # Created with the final mode (never briefly readable by others), chowned before it takes the name.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(tmp, mode)  # the umask may have narrowed it
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)
    return True


def ensure_dir(path: Path, mode: int, owner: tuple[int, int]) -> bool:
    """path exists as a directory with this mode and owner (its content is left alone); True if it changed."""
    changed = False
    if not path.is_dir():
        path.mkdir(parents=True)
        changed = True
    st = path.stat()
    if (st.st_uid, st.st_gid) != owner:
        os.chown(path, *owner)
        changed = True
    if st.st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        changed = True
    return changed


@contextlib.contextmanager
def exclusive(lock_path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive flock on lock_path, waiting at most timeout (two lab.up runs must not race)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise LabError(f"{what}: another lab.up/lab.down still holds {lock_path} after {timeout:g}s",
                                   EXIT_INFRA) from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
