"""Disk figures around a prune: `df` of the Docker root and `docker system df`, before and after."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.ops.parsers import df
from orchestrator.run.results import CheckRecord

# docker prints sizes with go-units (decimal: kB = 1000 B), e.g. "1.986MB", "0B", "12.3 GB".
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def to_bytes(text: str) -> int:
    match = re.match(r"\s*([0-9.]+)\s*([a-zA-Z]*)", text or "")
    if not match:
        return 0
    return int(float(match.group(1)) * _UNITS.get((match.group(2) or "b").lower(), 1))


def parse(lines: list[str]) -> dict[str, Any]:
    """{before|after: {root, total_kb, used_kb, free_kb, system_df: [{type, count, size, reclaimable}]}}."""
    figures: dict[str, Any] = {}
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "DF":
            when, _, values = rest.partition(" ")
            root, _, line = values.partition(" ")
            entry = figures.setdefault(when, {"system_df": []})
            usage = df.parse_line(line)
            if usage is not None:
                entry.update(root=root, total_kb=usage.total_kb, used_kb=usage.used_kb, free_kb=usage.free_kb)
        elif kind == "SDF":
            when, _, row = rest.partition(" ")
            kind_, count, size, reclaimable = ([*row.split("|"), "", "", ""])[:4]
            figures.setdefault(when, {"system_df": []})["system_df"].append(
                {"type": kind_, "count": count, "size": size, "reclaimable": reclaimable})
    return figures


def record(figures: dict[str, Any], reclaimed: int) -> CheckRecord:
    before, after = figures.get("before", {}), figures.get("after", {})
    if "free_kb" not in before or "free_kb" not in after:
        return CheckRecord("disk", "skipped", "disk figures unavailable (engine did not answer in time)",
                           data=figures)
    gained = (after["free_kb"] - before["free_kb"]) * 1024
    reason = (f"{before['root']}: {gib(before['free_kb'])} free before, {gib(after['free_kb'])} after "
              f"({_signed(gained)}); docker reported {_human(reclaimed)} reclaimed")
    return CheckRecord("disk", "ok", reason, data=figures)


def gib(kb: int) -> str:
    return f"{kb / 2**20:.2f} GiB"


def _human(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + _human(abs(n)) + " free"
