"""`invoke matrix --list`: what a matrix (or one shard of it) holds, the coverage of every axis value, and a
ready-made CI include list, as one JSON shape (list.schema.json). Nothing is contacted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator.ops.matrix import shards
from orchestrator.ops.matrix.model import Matrix, Scenario, coverage

SCHEMA_FILE = Path(__file__).resolve().parent / "list.schema.json"


def listing(matrix: Matrix, shard: tuple[int, int] | None = None, selected: Sequence[str] | None = None
            ) -> dict[str, Any]:
    """The listing of `matrix`, narrowed to `shard` and/or the `selected` names; coverage stays the whole
    matrix's. `include` holds one entry per runnable listed scenario with the --shard that runs it: the given
    shard, else k/K (K = the matrix's runnable scenarios), which runs exactly that one."""
    chosen = shards.select(matrix.scenarios, selected, shard)
    position = {s.name: k for k, s in enumerate(matrix.runnable, 1)}
    total = len(position)
    include = [{"scenario": s.name,
                "shard": shards.text(*shard) if shard else shards.text(position[s.name], total)}
               for s in chosen if s.runnable]
    return {
        "matrix": matrix.path,
        "sha256": matrix.sha256,
        "scenarios": [public(s) for s in chosen],
        "coverage": coverage(matrix),
        "include": include,
    }


def public(s: Scenario) -> dict[str, Any]:
    return {"name": s.name, "values": dict(s.values), "skip": s.skip, "requires": [r.public() for r in s.requires]}


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
