"""`invoke matrix --merge DIR ...`: the shard runs' report.json files merged (ops/matrix/merge.py) into ONE new
run directory, written by the run layer like any run's, so CI publishes one report, one junit.xml and one exit
code for the whole matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.config import inventory
from orchestrator.errors import BadInput
from orchestrator.ops.matrix import merge, model
from orchestrator.procedures import tables
from orchestrator.procedures.matrix.options import MatrixOptions
from orchestrator.run.task import Run


def merge_runs(run: Run, opts: MatrixOptions) -> int:
    matrix = model.load(opts.matrix_file)  # the shards must have run this file: it says which scenarios are due
    reports = [_read(source) for source in opts.merge]
    merged = merge.merge(reports, matrix, labels=opts.merge)
    result = merge.result_of(merged)
    sources = ", ".join(m["shard"] or m["source"] for m in merged["matrix"]["merged_from"])
    return run.finish(result, inventory.resolve_path(opts.inventory),
                      title=f"shakedown matrix --merge ({len(reports)} runs: {sources})",
                      extra={"matrix": merged["matrix"]},
                      before=[tables.matrix_results(merged["matrix"])])


def _read(source: str) -> dict[str, Any]:
    """DIR/report.json (or the report.json named itself)."""
    path = Path(source)
    file = path / "report.json" if path.is_dir() else path
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"--merge {source}: no run report there ({file}: {exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"--merge {source}: {file} is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"--merge {source}: {file} is not a run report")
    return data
