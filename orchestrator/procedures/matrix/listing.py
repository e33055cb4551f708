"""`invoke matrix --list`: the matrix (or one shard of it) as tables, or the JSON of ops/matrix/listing.py with
--json. Exit 0; no inventory is read and no host is contacted."""

from __future__ import annotations

from orchestrator.ops.matrix import listing
from orchestrator.ops.matrix.model import Matrix
from orchestrator.procedures import tables
from orchestrator.procedures.matrix.options import MatrixOptions
from orchestrator.run.task import Run


def show(run: Run, matrix: Matrix, opts: MatrixOptions) -> int:
    data = listing.listing(matrix, opts.shard, opts.scenarios)
    if opts.as_json:
        run.consoles.json(data)
        return 0
    for table in tables.matrix_listing(data, matrix.axes, opts.shard):
        run.consoles.out.print(table)
    return 0
