"""Put a host back from its journal: undo every mutation newest-first, then prove it by re-reading the
baseline facts. Used at the end of every e2e and by `invoke restore` after an orchestrator died.

Undo commands are idempotent (each checks before it changes anything), so a restore that was itself
interrupted is simply run again. Only a verified restore archives the journal and releases the lease;
otherwise both stay, so nobody starts a new run on a host that is not as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import ShakedownError
from orchestrator.host import Host
from orchestrator.ops.e2e import baseline, journal, lease
from orchestrator.ops.e2e.journal import Command, Journal

Echo = Callable[[str], None]
HostFor = Callable[[str], Host]
POLL = 1.0


@dataclass
class Restored:
    run_id: str | None
    found_journal: bool
    undone: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)  # what was compared and found equal
    lease: str = ""
    before_after: dict[str, dict[str, Any]] = field(default_factory=dict)  # host -> {before, after} facts

    @property
    def ok(self) -> bool:
        return not self.problems


def restore(target: Host, state_dir: str, host_for: HostFor, *, ready_timeout: float, echo: Echo) -> Restored:
    entries = journal.read(target, state_dir)
    if not entries:
        return Restored(None, False)
    run_id = str(entries[0].get("run_id"))
    result = Restored(run_id, True)
    log = Journal(target, state_dir, run_id)
    log.seq = max(int(e.get("seq", 0)) for e in entries)
    done = {e.get("ref") for e in entries if e.get("op") == "undone"}
    for mutation in reversed(journal.mutations(entries)):
        again = " (again)" if mutation.seq in done else ""
        if mutation.undo:
            echo(f"restore: undo {mutation.title}{again}")
        failures = _run_all(mutation.undo, host_for, result)
        if not failures:
            result.undone.append(mutation.title)
            _quietly(lambda m=mutation: log.append("undone", ref=m.seq), result, "journal")
    _verify(entries, host_for, ready_timeout, result, echo)
    if not result.ok:
        echo(f"restore: NOT verified; journal and lease kept on {target.name} (run `invoke restore --host "
             f"{target.name}` again once fixed)")
        return result
    for mutation in journal.mutations(entries):
        _run_all(mutation.cleanup, host_for, result)
    _quietly(log.archive, result, "archive journal")
    result.lease = lease.release(target, state_dir, run_id)
    return result


def _run_all(commands: list[Command], host_for: HostFor, result: Restored) -> list[str]:
    failures = []
    for cmd in commands:
        try:
            host_for(cmd.host).run(cmd.line(), timeout=cmd.timeout, env=cmd.env or None)
        except (ShakedownError, ValueError) as exc:
            failures.append(cmd.title)
            result.problems.append(f"{cmd.title} on {cmd.host} failed: {exc}")
    return failures


def _verify(entries: list[dict[str, Any]], host_for: HostFor, ready_timeout: float, result: Restored,
            echo: Echo) -> None:
    for entry in (e for e in entries if e.get("op") == "baseline"):
        host, before = entry["host"], entry["facts"]
        deadline = time.monotonic() + ready_timeout
        try:
            after = baseline.capture(host_for(host), entry["command"])
            diffs = baseline.differences(before, after)
            while diffs and baseline.only_settling(before, after) and time.monotonic() < deadline:
                time.sleep(POLL)  # containers are starting: their health check needs time to pass
                after = baseline.capture(host_for(host), entry["command"])
                diffs = baseline.differences(before, after)
        except ShakedownError as exc:
            result.problems.append(f"{host}: could not verify: {exc}")
            continue
        result.before_after[host] = {"before": before, "after": after}
        result.problems += [f"{host}: {d}" for d in diffs]
        if not diffs:
            result.verified.append(f"{host}: {_summary(before)}")
            echo(f"restore: {host} verified identical to its baseline ({_summary(before)})")


def _summary(facts: dict[str, Any]) -> str:
    parts = []
    for key, label in (("files", "config files"), ("containers", "containers"), ("engine", "other containers"),
                       ("volumes", "volumes"), ("data", "data dirs")):
        if facts.get(key):
            parts.append(f"{len(facts[key])} {label}")
    keys = sum(len(v or {}) for v in facts.get("secrets", {}).values())
    if keys:
        parts.append(f"{keys} secrets")
    if facts.get("head"):
        parts.append(f"checkout {str(facts['head'])[:12]}")
    return ", ".join(parts) or "no facts"


def _quietly(action: Callable[[], object], result: Restored, what: str) -> None:
    try:
        action()
    except ShakedownError as exc:
        result.problems.append(f"{what}: {exc}")
