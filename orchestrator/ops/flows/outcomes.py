"""Checkpoint outcomes, pytest's xfail idea: a known gap that is still missing is reported and does not fail the
run, unless strict; a known gap that now holds is FIXED (reported, so the list can be shortened)."""

from __future__ import annotations

FOUND, MISSING, KNOWN_GAP, FIXED = "found", "missing", "known_gap", "fixed"
OUTCOMES = (FOUND, MISSING, KNOWN_GAP, FIXED)


def outcome(found: bool, known_gap: bool) -> str:
    if known_gap:
        return FIXED if found else KNOWN_GAP
    return FOUND if found else MISSING


def fails(what: str, strict: bool) -> bool:
    """Whether this outcome fails its flow (and so the run: exit 1)."""
    return what == MISSING or (strict and what == KNOWN_GAP)


def status(what: str, strict: bool) -> str:
    """The run layer's check status: a known gap still missing is `skipped` (junit's place for an xfail)."""
    if fails(what, strict):
        return "failed"
    return "skipped" if what == KNOWN_GAP else "ok"
