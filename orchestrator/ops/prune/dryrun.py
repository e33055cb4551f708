"""--dry-run: what a prune would remove, worked out from read-only listings (nothing is removed).

Mirrors the engine's own rules: stopped containers older than the age; dangling images nothing uses;
unused images older than the age (an image used only by a container that would be pruned counts as
unused); build cache as the engine reports it reclaimable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from orchestrator.host import Host
from orchestrator.host.shellcmd import call
from orchestrator.ops.prune import scripts
from orchestrator.run.results import CheckRecord

STOPPED = ("exited", "created", "dead")


@dataclass
class Plan:
    containers: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    build_cache: str = "0B"

    def records(self) -> list[CheckRecord]:
        return [
            _would("stopped containers", self.containers),
            _would("dangling images", self.dangling),
            _would("old unused images", self.images),
            CheckRecord("build cache", "ok", f"would reclaim up to {self.build_cache} (as the engine reports it)"),
        ]

    def public(self) -> dict[str, Any]:
        return {"stopped containers": self.containers, "dangling images": self.dangling,
                "old unused images": self.images, "build cache": self.build_cache}


def plan(host: Host, age: int, timeout: float, keep: str = "") -> Plan:
    out = host.run(call(scripts.DRY_RUN, str(max(1, int(timeout))), keep), timeout=timeout * 8 + 10).stdout
    return from_listing(out.splitlines(), age)


def from_listing(lines: list[str], age: int) -> Plan:
    now = next((float(ln.split()[1]) for ln in lines if ln.startswith("NOW ")), 0.0)
    cutoff = now - age
    rows = [ln.split("|") for ln in lines]
    kept = {r[1] for r in rows if r[0] == "KEEP" and len(r) >= 2}
    rows = [r for r in rows if not (r[0] in ("CONT", "IMG") and len(r) > 1 and r[1] in kept)]
    pruned = {r[1] for r in rows if r[0] == "CONT" and len(r) >= 6 and r[3] in STOPPED and _epoch(r[4]) < cutoff}
    used = {r[2] for r in rows if r[0] == "USES" and len(r) >= 3 and r[1] not in pruned}
    dangling = {r[1] for r in rows if r[0] == "DANGLING" and len(r) >= 2}
    result = Plan()
    result.containers = sorted(f"{r[2]} ({r[3]}, {r[5]})" for r in rows if r[0] == "CONT" and r[1] in pruned)
    result.dangling = sorted(f"{r[1][7:19]} ({r[4]})" for r in rows
                             if r[0] == "IMG" and len(r) >= 5 and r[1] in dangling - used)
    result.images = sorted(f"{r[2]} {r[1][7:19]} ({r[4]})" for r in rows
                           if r[0] == "IMG" and len(r) >= 5 and r[1] not in dangling and r[1] not in used
                           and _epoch(r[3]) < cutoff)
    result.build_cache = next((r[4] for r in rows if r[0] == "SDF" and len(r) >= 5 and r[1] == "Build Cache"), "0B")
    return result


def _would(what: str, items: list[str]) -> CheckRecord:
    shown = ", ".join(items[:20]) + (f", … ({len(items) - 20} more)" if len(items) > 20 else "")
    return CheckRecord(what, "ok", f"would remove {len(items)}: {shown}" if items else "would remove nothing",
                       data={"would_remove": items})


def _epoch(created: str) -> float:
    """docker's "2026-11-21 23:40:12 +0000 UTC" -> epoch seconds (inf when unreadable: never counted old)."""
    try:
        return dt.datetime.strptime(created[:25], "%Y-%m-%d %H:%M:%S %z").timestamp()
    except ValueError:
        return float("inf")
