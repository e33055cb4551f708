"""The stack's test command, run detached on the host and followed from here.

The command runs in its own session on the host (setsid, all three streams redirected, bounded by the
host's `timeout`), so it survives the SSH connection. We poll its state and stream its log back; when the
connection drops we reconnect (within the run's deadline) and pick the log up at the byte we had reached.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator import redact
from orchestrator.cancel import CANCEL
from orchestrator.errors import CommandTimeout, HostUnreachable, ShakedownError
from orchestrator.ops.e2e import scripts
from orchestrator.ops.e2e.journal import script
from orchestrator.ops.e2e.session import Session, Step
from orchestrator.run.rundir import append_text

POLL = 0.5
HEARTBEAT = 5.0
GRACE = 20.0  # beyond the test timeout: the host's own kill (timeout -k 5) and a reconnect or two
TIMEOUT_CODES = (124, 137)


@dataclass
class TestRun:
    status: str  # ok | failed | error
    reason: str
    exit_code: int | None = None
    duration: float = 0.0
    reconnects: int = 0
    tail: list[str] = field(default_factory=list)


def launch_step(session: Session, timeout: float) -> Step:
    cfg, host = session.cfg, session.cfg.host
    assert cfg.test_command is not None
    return Step(
        "start tests",
        script(host, "TEST_LAUNCH", session.run_dir, cfg.checkout, f"{timeout:g}",
                                   cfg.test_command, timeout=30, title="start the test command"),
        undo=[script(host, "TEST_KILL", session.run_dir, timeout=30, title="end the test command")],
    )


def run(session: Session, timeout: float, log_file: Path | None, echo: Callable[[str], None]) -> TestRun:
    started = time.monotonic()
    session.apply(launch_step(session, timeout))
    follower = _Follower(session, log_file, echo)
    end = started + timeout + GRACE
    next_beat = started + HEARTBEAT
    while True:
        if CANCEL.is_set():
            return follower.result("error", "cancelled by SIGINT/SIGTERM while tests ran", None, started)
        state = follower.poll(end)
        if state is None:
            return follower.result("error", f"lost the host for good: {follower.last_error}", None, started)
        rc, alive = state
        if rc is not None:
            return _judge(follower, rc, timeout, started)
        if time.monotonic() > end or (not alive and follower.dead_since(started)):
            why = (f"tests still running {timeout:g}s + {GRACE:g}s grace after start" if alive
                   else "the test process vanished without an exit code")
            _end(session)
            return follower.result("failed" if alive else "error", why, None, started)
        if time.monotonic() >= next_beat:
            echo(f"{session.cfg.host}: tests running {time.monotonic() - started:.0f}s "
                 f"({follower.offset} bytes of log)")
            next_beat += HEARTBEAT
        CANCEL.wait(POLL)


def _judge(follower: _Follower, rc: int, timeout: float, started: float) -> TestRun:
    if rc == 0:
        return follower.result("ok", "test command passed", rc, started)
    if rc in TIMEOUT_CODES:
        return follower.result("failed", f"tests timed out after {timeout:g}s (killed on the host)", rc, started)
    lines = [line for line in follower.tail if line.strip()]
    # The lines that say what failed, when the test output marks them; else its last words.
    failing = [line for line in lines if any(m in line for m in ("FAIL", "Error", "ERROR", "error:"))]
    last = "; ".join((failing or lines)[-3:])
    return follower.result("failed", f"test command exited {rc}{': ' + last if last else ''}", rc, started)


def _end(session: Session) -> None:
    # On failure the journal's undo ends it during restore.
    with contextlib.suppress(ShakedownError):
        session.target.run(scripts.call(scripts.TEST_KILL, session.run_dir), timeout=30)


def parse_poll(text: str) -> tuple[int | None, bool, bytes]:
    """test_poll.sh's answer: (exit code, None while it runs; whether the process is alive; the log's new bytes)."""
    head, _, body = text.partition("\n")
    _, rc_text, alive = [*head.split(), "-", "-", "0"][:3]
    rc = int(rc_text) if rc_text.lstrip("-").isdigit() else None
    return rc, alive == "1", base64.b64decode(body.strip() or b"")


class _Follower:
    """Polls the host, streams new log bytes, and reconnects after a dropped connection."""

    def __init__(self, session: Session, log_file: Path | None, echo: Callable[[str], None]):
        self.session, self.log_file, self.echo = session, log_file, echo
        self.offset = 0
        self.partial = ""
        self.tail: list[str] = []
        self.reconnects = 0
        self.last_error = ""
        self.gone_at: float | None = None
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.redacting = redact.current().stream()  # the log goes to the console and artifacts redacted

    def poll(self, end: float) -> tuple[int | None, bool] | None:
        host = self.session.target
        while True:
            seen = host.reconnects
            try:
                out = host.run(scripts.call(scripts.TEST_POLL, self.session.run_dir, str(self.offset)), timeout=15)
                if host.reconnects != seen:
                    self.reconnects += 1
                    self.echo(f"{host.name}: connection lost and re-opened; re-attached to the test run at byte "
                              f"{self.offset} of its log")
                break
            except (HostUnreachable, CommandTimeout) as exc:
                self.last_error = str(exc)
                host.close()
                if time.monotonic() > end or CANCEL.is_set():
                    return None
                self.echo(f"{host.name}: connection lost ({exc}); reconnecting")
                self.reconnects += 1
                CANCEL.wait(1.0)
        rc, alive, data = parse_poll(out.stdout)
        self._consume(data)
        return rc, alive

    def dead_since(self, started: float) -> bool:
        """The process is gone but no exit code yet: allow a moment for the wrapper to write it."""
        now = time.monotonic()
        self.gone_at = self.gone_at or now
        return now - self.gone_at > 5 and now - started > 5

    def _consume(self, data: bytes, final: bool = False) -> None:
        self.offset += len(data)
        text = self.decoder.decode(data, final=final)
        safe = self.redacting.feed(text) + (self.redacting.close() if final else "")
        if not safe:
            return
        if self.log_file is not None:
            append_text(self.log_file, safe)  # already redacted by the stream above
        lines = (self.partial + safe).split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.tail = [*self.tail, line][-50:]
            self.echo(f"{self.session.cfg.host} | {line}")

    def result(self, status: str, reason: str, rc: int | None, started: float) -> TestRun:
        self._consume(b"", final=True)
        if self.partial:
            self.partial, line = "", self.partial
            self.tail = [*self.tail, line][-50:]
            self.echo(f"{self.session.cfg.host} | {line}")
        return TestRun(status, reason, rc, time.monotonic() - started, self.reconnects, self.tail)
