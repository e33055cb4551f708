"""One host API over SSH (Fabric Connection) and this machine (Invoke Context).

Helpers take a Host and never ask whether it is local: every call has a timeout that is enforced on the
host itself (`timeout -k`), never waits on stdin, decodes UTF-8 with replacement, and raises errors that
name the host, the command, the exit code and the tail of stderr.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import invoke
import paramiko
from invoke.exceptions import CommandTimedOut

from orchestrator import cancel
from orchestrator.cancel import CANCEL
from orchestrator.config.inventory import HostSpec
from orchestrator.errors import BadInput, Cancelled, CommandError, CommandTimeout, HostUnreachable, InfraError
from orchestrator.host import batch, channel, sshconn
from orchestrator.host.shellcmd import KILL_GRACE, call, load, seconds

TIMEOUT_CODES = (124, 137)  # GNU/busybox timeout: 124 after SIGTERM, 128+9 after SIGKILL
NONINTERACTIVE_ENV = {"LC_ALL": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0", "DEBIAN_FRONTEND": "noninteractive"}
# Our own host scripts (each file says its arguments and output): the wrapper of every command, write_file's
# atomic replace, cancel()'s kill, sha256.
_TRACK = load("orchestrator.host", "track")
_FINALIZE = load("orchestrator.host", "finalize")
_CANCEL = load("orchestrator.host", "cancel")
_SHA256 = load("orchestrator.host", "sha256")


@dataclass(frozen=True)
class Result:
    host: str
    command: str
    exit_code: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Host:
    """A host of the inventory; opens at most one connection per run, lazily, and reuses it."""

    def __init__(self, spec: HostSpec):
        self.spec = spec
        self.name = spec.name
        self.default_timeout = float(spec.get("command_timeout"))
        self._conn: Any = None  # fabric.Connection or invoke.Context
        self._running: set[str] = set()  # pid files of commands in flight (see cancel)
        self._lock = threading.Lock()
        self.reconnects = 0  # connections found dropped (sshd restarted, network cut) and opened again
        self.remote_commands = 0  # executions on the host (report.json: the round trips a task cost)
        self.connect_seconds = 0.0

    # -- connection -------------------------------------------------------------------------------
    def connect(self) -> float:
        """Open the connection if needed; returns seconds it took (0 when already open)."""
        if self._conn is not None and (self.spec.is_local or self._conn.is_connected):
            return 0.0
        if self._conn is not None:  # dropped since the last command: open a new one, and count it
            self.close()
            self.reconnects += 1
        start = time.monotonic()
        self._conn = invoke.Context(sshconn.runner_config()) if self.spec.is_local else sshconn.open(self.spec)
        cancel.register(self)  # a signal now ends this host's commands on the host (run/signals.py)
        took = time.monotonic() - start
        self.connect_seconds += took
        return took

    def close(self) -> None:
        cancel.unregister(self)
        if self._conn is not None and not self.spec.is_local:
            sshconn.close(self._conn)
        self._conn = None

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands ---------------------------------------------------------------------------------
    def run(self, command: str, *, timeout: float | None = None, warn: bool = False, sudo: bool | None = None,
            env: dict[str, str] | None = None, pidfile: str | None = None) -> Result:
        """Run a POSIX sh command; bounded on the host by `timeout` (default: command_timeout).

        `env` is inlined into the command line, so it must never carry a secret. `pidfile` (default: a
        fresh one in /tmp) is where the host records the command's pid while it runs, so that someone
        else (e.g. `invoke restore` after this process died) can end it.
        With warn=False a non-zero exit raises CommandError; a timeout always raises CommandTimeout.
        """
        limit = float(timeout) if timeout is not None else self.default_timeout
        if limit <= 0:
            raise CommandTimeout(self.name, command, limit)
        pidfile = pidfile or f"/tmp/.shakedown-cmd-{secrets.token_hex(8)}.pid"
        wrapped = (f"sh -c {shlex.quote(_TRACK)} track {shlex.quote(pidfile)} "
                   + self.wrap(command, limit, sudo=sudo, env=env))
        self.connect()
        start = time.monotonic()
        with self._lock:
            self._running.add(pidfile)
            self.remote_commands += 1
        try:
            exited, stdout, stderr = self._exec(wrapped, limit + KILL_GRACE + 5)
        except CommandTimedOut as exc:
            raise CommandTimeout(self.name, command, limit, exc.result.stderr) from None
        except TimeoutError:
            raise CommandTimeout(self.name, command, limit) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._lost(command, str(exc)) from None
        finally:
            with self._lock:
                self._running.discard(pidfile)
        elapsed = time.monotonic() - start
        if CANCEL.is_set():
            # Invoke swallows the KeyboardInterrupt of a signal that lands while it waits (it forwards ^C
            # instead); the command was ended on the host by cancel(), so unwind as the signal meant.
            raise Cancelled(f"{self.name}: {command!r} ended by SIGINT/SIGTERM")
        if exited == -1 and not self.spec.is_local:
            # Paramiko's "no exit status": the channel closed under the command (sshd gone, network cut, or
            # the liveness check gave up on a silent peer).
            raise self._lost(command)
        result = Result(self.name, command, exited, stdout, stderr, elapsed)
        if result.exit_code in TIMEOUT_CODES and elapsed >= limit * 0.95:
            raise CommandTimeout(self.name, command, limit, result.stderr)
        if not warn and not result.ok:
            raise CommandError(self.name, command, result.exit_code, result.stderr)
        return result

    def _exec(self, wrapped: str, bound: float) -> tuple[int, str, str]:
        """The wrapped command on this machine (Invoke) or over the open SSH transport (one channel)."""
        if self.spec.is_local:
            raw = self._conn.run(wrapped, hide=True, warn=True, in_stream=False, pty=False, encoding="utf-8",
                                 timeout=bound)
            return raw.exited, raw.stdout, raw.stderr
        return channel.run(self._conn.transport, wrapped, bound)

    def run_batch(self, reads: list[batch.Read]) -> list[Result | None]:
        """Run read-only commands in one round trip; each gets the Result it would have had alone (its
        duration is the whole batch's: the round trip it shared). None: the batch was cut short before it."""
        boundary = batch.new_boundary()
        raw = self.run(batch.command(reads, boundary), timeout=batch.budget(reads), warn=True)
        answers = batch.parse(raw.stdout, boundary, len(reads))
        return [None if a is None else Result(self.name, r.command, a[2], a[0], a[1], raw.duration)
                for r, a in zip(reads, answers, strict=True)]

    def _lost(self, command: str, detail: str | None = None) -> HostUnreachable:
        """Close the unusable connection (a later call reconnects); the error says why it was lost, if known."""
        why = (None if self.spec.is_local or self._conn is None else sshconn.lost_reason(self._conn)) or detail
        self.close()
        return HostUnreachable(f"{self.name}: connection lost while running {command!r}" + (f": {why}" if why else ""))

    def cancel(self) -> None:
        """End every command this Host has in flight, on the host (SIGTERM to its `timeout`, which passes it
        to the whole command group). Safe to call from another thread, e.g. a signal handler's."""
        with self._lock:
            pidfiles = sorted(self._running)
        if not pidfiles or self._conn is None:
            return
        kill = call(_CANCEL, *pidfiles)
        if self.spec.get("ansible_become"):
            kill = f"sudo -n sh -c {shlex.quote(kill)}"
        # Best effort: if this fails, the host-side timeout still bounds the command.
        with contextlib.suppress(Exception):
            self._conn.run(kill, hide=True, warn=True, in_stream=False, pty=False, timeout=10)

    def wrap(self, command: str, limit: float, *, sudo: bool | None = None,
             env: dict[str, str] | None = None) -> str:
        """The command line that runs on the host (inside run()'s pid-tracking wrapper)."""
        variables = dict(NONINTERACTIVE_ENV)
        if self.spec.get("docker_host"):
            variables["DOCKER_HOST"] = self.spec.get("docker_host")
        variables.update(env or {})
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
        line = (f"env {assignments} timeout -k {KILL_GRACE} {seconds(limit)} "
                f"sh -c {shlex.quote(command)}")
        become = self.spec.get("ansible_become") if sudo is None else sudo
        if become:
            line = f"sudo -n -u {shlex.quote(self.spec.get('ansible_become_user'))} -- {line}"
        return line

    # -- files ------------------------------------------------------------------------------------
    def exists(self, path: str, *, timeout: float | None = None) -> bool:
        return self.run(f"test -e {shlex.quote(path)}", timeout=timeout, warn=True).exit_code == 0

    def read_file(self, path: str, *, timeout: float | None = None) -> str:
        return self.run(f"cat -- {shlex.quote(path)}", timeout=timeout).stdout

    def sha256(self, path: str, *, timeout: float | None = None) -> str | None:
        """sha256 computed on the host (content never crosses the wire); None when the file is absent."""
        out = self.run(call(_SHA256, path), timeout=timeout).stdout
        first = out.split()[0] if out.split() else ""
        return None if first == "ABSENT" else first

    def write_file(self, path: str, content: str | bytes, *, mode: int | None = None,
                   timeout: float | None = None) -> None:
        """Atomically replace `path` (temp file beside it + rename); an existing file keeps mode and owner."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        staging = f"/tmp/.shakedown-{secrets.token_hex(8)}"
        self._upload_private(data, staging)
        mode_arg = format(mode, "o") if mode is not None else ""
        self.run(call(_FINALIZE, staging, path, mode_arg), timeout=timeout)

    def put(self, local: str | os.PathLike[str], remote: str) -> None:
        self.connect()
        if self.spec.is_local:
            shutil.copyfile(local, remote)
            return
        self._sftp_call(lambda: self._conn.put(os.fspath(local), remote), f"put {remote}")

    def get(self, remote: str, local: str | os.PathLike[str]) -> None:
        """Fetch a file byte for byte (binaries too)."""
        self.connect()
        if self.spec.is_local:
            shutil.copyfile(remote, local)
            return
        self._sftp_call(lambda: self._conn.get(remote, os.fspath(local)), f"get {remote}")

    def _upload_private(self, data: bytes, staging: str) -> None:
        """Write `data` to a new 0600 file (created private, so a secret is never world-readable)."""
        self.connect()
        if self.spec.is_local:
            fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return

        def upload() -> None:
            with self._conn.sftp().open(staging, "wb") as fh:
                fh.chmod(0o600)
                fh.write(data)
        self._sftp_call(upload, f"upload to {staging}")

    def _sftp_call(self, action: Any, what: str) -> None:
        try:
            action()
        except FileNotFoundError as exc:
            raise CommandError(self.name, what, None, str(exc), note="failed: no such file") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise InfraError(f"{self.name}: {what} failed: {exc}") from None



def check_spec(spec: HostSpec) -> None:
    """Input checks that must fail before anything runs (exit 2), naming the inventory line."""
    key = spec.vars.get("ansible_ssh_private_key_file")
    if key and not spec.is_local and not Path(key).expanduser().is_file():
        where = spec.origins.get("ansible_ssh_private_key_file", "inventory")
        raise BadInput(f"{where}: {spec.name}: private key file {key} does not exist "
                       "(for the lab, run `invoke lab.up` first)")

