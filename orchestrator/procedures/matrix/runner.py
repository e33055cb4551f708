"""The matrix runtime: apply each selected scenario on the host, check what it must show, put the host back.

Placeholder until the runtime lands: everything around it (the matrix file, coverage, shards, --list, --merge)
is built and tested, and a run that reaches here stops with exit 3 before contacting the host.
"""

from __future__ import annotations

from orchestrator.errors import InfraError
from orchestrator.ops.matrix.model import Matrix, Scenario
from orchestrator.procedures.matrix.options import MatrixOptions
from orchestrator.run.task import Run


def run_matrix(run: Run, opts: MatrixOptions, matrix: Matrix, selected: list[Scenario]) -> int:
    raise InfraError("matrix runtime not built yet")
