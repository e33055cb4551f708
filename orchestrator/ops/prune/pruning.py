"""The prune itself: one host-side script takes the host's flock (waiting at most lock_wait), prunes step
by step, each step under the host's `timeout`, and reports disk before and after. The lock is released
when that script ends, however it ends (the kernel drops a flock with its last file descriptor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from orchestrator.host import Host
from orchestrator.host.shellcmd import call
from orchestrator.ops.prune import disk, scripts, stuck
from orchestrator.run.results import CheckRecord

LOCK_BUSY = 75  # the script's exit code when the lock stayed held


@dataclass
class Pruned:
    records: list[CheckRecord] = field(default_factory=list)
    disk: dict[str, Any] = field(default_factory=dict)


def prune(host: Host, lock: str, keep: str, lock_wait: float, step_timeout: float, age: int) -> Pruned:
    steps = list(scripts.STEP_COMMANDS)
    limit = max(1, math.ceil(step_timeout))
    budget = lock_wait + limit * len(steps) + 2 * min(limit, 30) + 30
    res = host.run(call(scripts.PRUNE, lock, str(math.ceil(lock_wait)), str(limit), f"{age}s", keep, *steps),
                   timeout=budget, warn=True)
    return outcome(res.stdout, res.stderr, res.exit_code, lock=lock, lock_wait=lock_wait, steps=steps, limit=limit)


def outcome(stdout: str, stderr: str, exit_code: int, *, lock: str, lock_wait: float, steps: list[str],
            limit: int) -> Pruned:
    """prune.sh's answer: what happened to the lock and to each step, and the disk before and after."""
    lines = stdout.splitlines()
    if exit_code == LOCK_BUSY or "LOCK_BUSY" in lines:
        holders = [stuck.Proc("lock holder", int(p), int(a or 0), s, c) for p, a, s, c in
                   (ln.split(" ", 4)[1:] for ln in lines if ln.startswith("HOLDER ") and len(ln.split(" ", 4)) == 5)]
        who = "; ".join(p.describe() for p in holders) or "a process this user cannot see"
        return Pruned([CheckRecord("lock", "error", f"{lock} still held after {lock_wait:g}s by {who}; "
                                   "nothing pruned", data={"holders": [vars(p) for p in holders]})])
    if "LOCKED" not in lines:
        return Pruned([CheckRecord("lock", "error", f"could not take {lock}: {(stdout + stderr)[-300:]}")])
    ran = step_records(lines, steps, limit)
    figures = disk.parse(lines)
    reclaimed = sum(int(r.data.get("bytes", 0)) for r in ran)
    return Pruned([CheckRecord("lock", "ok", f"{lock} taken and released"), *ran, disk.record(figures, reclaimed)],
                  figures)


def step_records(lines: list[str], steps: list[str], limit: int) -> list[CheckRecord]:
    done: dict[str, CheckRecord] = {}
    timed_out = next((ln.split("|", 1)[1] for ln in lines if ln.startswith("TIMEOUT|")), None)
    for line in lines:
        if not line.startswith("STEP|"):
            continue
        _, step, rc, ms, freed, last = [*line.split("|", 5), ""][:6]
        seconds = int(ms) / 1000
        data = {"bytes": disk.to_bytes(freed), "seconds": seconds, "exit_code": int(rc)}
        if step == timed_out:
            done[step] = CheckRecord(step, "error", f"timed out after {limit}s: killed on the host, lock released",
                                     seconds, data=data)
        elif rc != "0":
            done[step] = CheckRecord(step, "error", f"exit {rc}: {last}", seconds, data=data)
        else:
            done[step] = CheckRecord(step, "ok", f"reclaimed {freed} in {seconds:.1f}s", seconds, data=data)
    why = f"not run: step {timed_out!r} timed out" if timed_out else "not run"
    return [done.get(s) or CheckRecord(s, "skipped", why) for s in steps]
