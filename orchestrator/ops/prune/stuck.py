"""Stuck prunes: lock holders and docker prune processes older than a threshold, found and ended by pid.

A killed CI pipeline can leave a prune (or whatever took the lock) running for hours while every queued
build waits on the lock. We find such processes from /proc (never by name), print them, and end exactly
those pids, each only if it is still the same process (its start time is checked on the host).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.host import Host
from orchestrator.host.shellcmd import call
from orchestrator.ops.prune import scripts


@dataclass(frozen=True)
class Proc:
    kind: str  # "lock holder" or "prune"
    pid: int
    age: int  # seconds running
    start: str  # start time in clock ticks since boot (/proc/PID/stat field 22): identifies the process
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.kind}, running {_age(self.age)}): {self.command.strip()[:160]}"


def find(host: Host, lock: str, threshold: float, timeout: float | None = None) -> tuple[list[Proc], list[Proc]]:
    """(stuck, holders): stuck = holders older than `threshold` plus long-running prune processes."""
    return parse(host.run(command(lock, threshold), timeout=timeout).stdout, threshold)


def command(lock: str, threshold: float) -> str:
    """stuck.sh's command line (read-only; a check batches it with its other reads)."""
    return call(scripts.STUCK, lock, str(int(threshold)))


def parse(text: str, threshold: float) -> tuple[list[Proc], list[Proc]]:
    """stuck.sh's answer as find() returns it."""
    holders, stuck = [], []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("HOLDER", "PRUNE"):
            continue
        pid, age, start, *command = rest.split(" ", 3)
        proc = Proc("lock holder" if kind == "HOLDER" else "prune", int(pid), int(age or 0), start,
                    command[0] if command else "")
        if kind == "HOLDER":
            holders.append(proc)
        if kind == "PRUNE" or proc.age > threshold:
            stuck.append(proc)
    unique = {p.pid: p for p in stuck}  # a holder that is also a prune process is listed once
    return list(unique.values()), holders


def end(host: Host, procs: list[Proc]) -> dict[int, str]:
    """End exactly these processes; pid -> ENDED, KILLED, GONE, RECYCLED or DENIED."""
    if not procs:
        return {}
    args = [x for p in procs for x in (str(p.pid), p.start)]
    return parse_ended(host.run(call(scripts.KILL_PIDS, *args), timeout=15 * len(procs) + 10).stdout)


def parse_ended(text: str) -> dict[int, str]:
    """kill_pids.sh's answer: pid -> what became of it."""
    return {int(pid): word for word, pid in (line.split() for line in text.splitlines() if line.strip())}


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
