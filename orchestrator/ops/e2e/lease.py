"""The host's lease: one e2e at a time. A file created atomically (ln) in state_dir, read by `check`."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

from orchestrator.errors import InfraError
from orchestrator.host import Host
from orchestrator.ops.e2e import scripts

LEASE_FILE = "lease.json"  # in state_dir
JOURNAL_FILE = "journal.jsonl"  # in state_dir while an e2e is unfinished; archived once the host is restored


@dataclass(frozen=True)
class Lease:
    owner: str
    run_id: str
    branch: str
    started: float  # host clock, epoch seconds
    expires: float
    orchestrator: str  # machine the run was started from
    pid: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self, now: float) -> str:
        started = dt.datetime.fromtimestamp(self.started, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        left = self.expires - now
        expiry = f"expires in {_ago(left)}" if left > 0 else f"expired {_ago(-left)} ago"
        return (f"{self.owner} (run {self.run_id}, branch {self.branch}, pid {self.pid} on {self.orchestrator}) "
                f"since {started}, {expiry}")

    def holder_dead(self) -> bool:
        """True only when we can tell for sure: the run was started on this machine and its pid is gone."""
        if self.orchestrator != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class LeaseHeld(InfraError):
    """Another run holds the host (exit 3: the host could not be obtained)."""


def owner() -> str:
    return os.environ.get("SHAKEDOWN_OWNER") or f"{getpass.getuser()}@{socket.gethostname()}"


def new(run_id: str, branch: str, now: float, ttl: float) -> Lease:
    return Lease(owner(), run_id, branch, now, now + ttl, socket.gethostname(), os.getpid())


def parse(text: str) -> Lease | None:
    try:
        data: dict[str, Any] = json.loads(text)
        return Lease(**data)
    except (ValueError, TypeError):
        return None


def live(held: Lease | None, now: float) -> TypeGuard[Lease]:
    """Whether a run still holds the host: the one rule for e2e, restore, check, triage and lab.up.

    A lease lives until it expires (now: the host's clock) unless its holder is known to be dead; a holder on
    another machine is never known dead, so only the expiry ends its lease. TypeGuard: a live lease is not None.
    """
    return held is not None and held.expires > now and not held.holder_dead()


def read_local(state_dir: Path) -> tuple[Lease | None, bool]:
    """The lease in a state_dir on this machine (None if free or unreadable), and whether a journal waits there.

    For a host whose state_dir is a local path (the lab's dev host, read by root): no SSH round trip.
    """
    try:
        text: str | None = (state_dir / LEASE_FILE).read_text()
    except (FileNotFoundError, NotADirectoryError):
        text = None
    journal = (state_dir / JOURNAL_FILE).exists()
    return (parse(text) if text is not None else None), journal


def take(host: Host, state_dir: str, lease: Lease) -> None:
    taken, holder = parse_take(host.run(scripts.call(scripts.LEASE_TAKE, state_dir, lease.to_json())).stdout)
    if taken:
        return
    who = holder.describe(lease.started) if holder else "an unreadable lease file"
    raise LeaseHeld(f"{host.name}: leased by {who}; not starting")


def parse_take(text: str) -> tuple[bool, Lease | None]:
    """lease_take.sh's answer: (taken, the holder's lease when another run holds it and its file is readable)."""
    out = text.strip()
    if out == "TAKEN":
        return True, None
    return False, parse(out.removeprefix("HELD ").strip())


def status(host: Host, state_dir: str) -> tuple[Lease | None, float, dict[str, Any] | None]:
    """The lease, the host's clock and the unfinished journal's first entry (None if none): one round trip."""
    return parse_status(host.run(status_command(state_dir)).stdout)


def status_command(state_dir: str) -> str:
    """lease_read.sh's command line (read-only; a check batches it with its other reads)."""
    return scripts.call(scripts.LEASE_READ, f"{state_dir}/lease.json", f"{state_dir}/journal.jsonl")


def parse_status(text: str) -> tuple[Lease | None, float, dict[str, Any] | None]:
    """lease_read.sh's answer, as status() returns it."""
    lines = text.splitlines()
    held = parse(lines[0]) if lines and lines[0].strip() else None
    now = next((float(ln.split()[1]) for ln in lines if ln.startswith("NOW ")), 0.0)
    first = next((ln.removeprefix("JOURNAL ") for ln in lines if ln.startswith("JOURNAL ")), None)
    try:
        entry = json.loads(first) if first is not None else None
    except ValueError:
        entry = {"run_id": "unreadable"}
    return held, now, entry


def release(host: Host, state_dir: str, run_id: str) -> str:
    """RELEASED, ABSENT, or OTHER (someone else's lease: left alone)."""
    return host.run(scripts.call(scripts.LEASE_RELEASE, f"{state_dir}/lease.json", run_id)).stdout.strip()


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
