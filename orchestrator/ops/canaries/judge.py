"""Judging a canary: its assertions over the e2e's report.json, and `--tamper`'s proof that each can fail.

An assertion passes when the report's host has the named check (present) with the status and reason asked
for, or (present: false) lacks it. `tampered` is the report with that one check flipped: ok <-> failed (an
error or skipped check becomes ok; an absent one appears as failed). An assertion that still passes on its
tampered report cannot tell the two outcomes apart: it is toothless (mutation testing's surviving mutant).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from orchestrator.ops.canaries.model import Assertion

FLIP = {"ok": "failed", "failed": "ok", "error": "ok", "skipped": "ok"}


@dataclass(frozen=True)
class Judged:
    ok: bool
    why: str  # what the report showed


def checks_of(report: dict[str, Any], host: str) -> list[dict[str, Any]]:
    return list(((report.get("hosts") or {}).get(host) or {}).get("checks") or [])


def find(report: dict[str, Any], host: str, name: str) -> dict[str, Any] | None:
    return next((c for c in checks_of(report, host) if c.get("name") == name), None)


def judge(assertion: Assertion, report: dict[str, Any], host: str) -> Judged:
    found = find(report, host, assertion.check)
    if not assertion.present:
        return Judged(found is None, "absent" if found is None else f"present ({found.get('status')})")
    if found is None:
        return Judged(False, "absent from the report")
    status, reason = str(found.get("status")), str(found.get("reason") or "")
    seen = f"{status}: {reason[:160]}" if reason else status
    if assertion.status is not None and status != assertion.status:
        return Judged(False, seen)
    if assertion.reason is not None and assertion.reason not in reason:
        return Judged(False, f"{seen} (no {assertion.reason!r} in the reason)")
    return Judged(True, seen)


def tampered(report: dict[str, Any], host: str, assertion: Assertion) -> dict[str, Any]:
    """A copy of the report in which the asserted check's outcome is the opposite one."""
    copied = copy.deepcopy(report)
    checks = copied.setdefault("hosts", {}).setdefault(host, {}).setdefault("checks", [])
    found = next((c for c in checks if c.get("name") == assertion.check), None)
    if found is None:
        checks.append({"name": assertion.check, "status": "failed", "reason": "tampered: appeared", "data": {}})
    else:
        found["status"] = FLIP.get(str(found.get("status")), "failed")
    return copied


def toothless(assertion: Assertion, report: dict[str, Any], host: str) -> Judged:
    """Judge the assertion on its tampered report: ok=True there means it has no teeth."""
    return judge(assertion, tampered(report, host, assertion), host)
