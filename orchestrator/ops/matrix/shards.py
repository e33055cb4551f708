"""Shards: a matrix split into N disjoint parts whose union is the whole matrix, for N CI jobs in parallel.

Assignment is round-robin by position in the file, so it is the same on every machine and every run (no hash
randomisation) and balanced: the runnable scenarios are dealt first, so shard sizes differ by at most one; the
skipped-by-design ones are dealt on from where the runnable ones stopped, so each is listed (as skipped) by
exactly one shard and the listed totals stay balanced too. With N = the number of runnable scenarios,
`--shard k/N` runs exactly the k-th runnable scenario (the listing's ready-made CI include list relies on it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.ops.matrix.model import Scenario

SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: Any, flag: str = "--shard") -> tuple[int, int]:
    """'I/N' -> (I, N) with 1 <= I <= N; anything else is bad input naming the flag and the value."""
    match = SHARD.fullmatch(str(text)) if isinstance(text, str) else None
    if not match:
        raise BadInput(f"{flag} must be I/N (this job's shard I of N, e.g. 2/4), got {text!r}")
    i, n = int(match.group(1)), int(match.group(2))
    if n < 1:
        raise BadInput(f"{flag} must be I/N with N at least 1, got {text!r}")
    if not 1 <= i <= n:
        raise BadInput(f"{flag} must be I/N with I from 1 to N, got {text!r}")
    return i, n


def shard_of(scenarios: Sequence[Scenario], n: int) -> dict[str, int]:
    """scenario name -> its shard (1..n)."""
    runnable = [s for s in scenarios if s.runnable]
    skipped = [s for s in scenarios if not s.runnable]
    owner = {s.name: k % n + 1 for k, s in enumerate(runnable)}
    owner.update({s.name: (len(runnable) + k) % n + 1 for k, s in enumerate(skipped)})
    return owner


def shard(scenarios: Sequence[Scenario], i: int, n: int) -> list[Scenario]:
    """Shard i of n, in the matrix's order."""
    if not 1 <= i <= n:
        raise ValueError(f"shard {i}/{n}")
    owner = shard_of(scenarios, n)
    return [s for s in scenarios if owner[s.name] == i]


def text(i: int, n: int) -> str:
    return f"{i}/{n}"


def select(scenarios: Sequence[Scenario], names: Sequence[str] | None, shard_: tuple[int, int] | None
           ) -> list[Scenario]:
    """--scenario a,b and --shard I/N: each narrows the matrix, together their intersection (matrix order).
    An unknown name is bad input naming it and the known ones."""
    chosen = list(scenarios) if shard_ is None else shard(scenarios, *shard_)
    if names is None:
        return chosen
    known = [s.name for s in scenarios]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BadInput(f"--scenario names {', '.join(map(repr, unknown))}, which the matrix does not have "
                       f"(scenarios: {', '.join(known)})")
    return [s for s in chosen if s.name in names]
