"""Exact latency percentiles and the route templates samples are grouped by.

Every sample is kept and sorted: the nearest-rank percentile of N sorted samples is the sample at rank
ceil(p/100 * N), so a percentile is always a latency that was measured (never above the max, unlike a
histogram's estimate), and percentiles of several runs are never averaged, only recomputed from the samples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PERCENTILES = (50, 95, 99)
METHOD = "nearest-rank (the sample at rank ceil(p/100 * N) of all N samples, sorted; exact, no interpolation)"
_PLACEHOLDER = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_.]*)[^}]*?-?\}\}")


def nearest_rank(sorted_samples: list[float], p: int) -> float:
    """The p-th percentile (0 < p <= 100) of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = -(-p * len(sorted_samples) // 100)  # ceil without floating point
    return sorted_samples[max(rank, 1) - 1]


def summary(samples: Iterable[float]) -> dict[str, float | int]:
    """{p50, p95, p99, max, count} in the samples' unit, rounded to microseconds for the report."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0, "p95": 0, "p99": 0, "max": 0, "count": 0}
    out: dict[str, float | int] = {f"p{p}": round(nearest_rank(ordered, p), 3) for p in PERCENTILES}
    return {**out, "max": round(ordered[-1], 3), "count": len(ordered)}


def route(method: str, path_template: str) -> str:
    """`POST /api/requests/{{ request_id }}/offers?x=1` -> `POST /api/requests/{request_id}/offers`: the step's
    path before rendering, each template replaced by its variable's name, the query string left out."""
    path = path_template.split("?", 1)[0]
    return f"{method.upper()} {_PLACEHOLDER.sub(lambda m: '{' + m.group(1) + '}', path)}"
