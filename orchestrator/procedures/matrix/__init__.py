"""`invoke matrix --host dev`: a live configuration matrix against one host.

What happens without a host lives in ops/matrix (the file, its coverage guarantee, shards, the listing, the
merge of shard reports); here the task is routed: --list prints, --merge writes one run from several, and a run
hands the selected scenarios to runner.run_matrix. Every input is checked before anything is contacted.
"""

from __future__ import annotations

from orchestrator.errors import BadInput
from orchestrator.ops.matrix import model, shards
from orchestrator.procedures.matrix.options import MatrixOptions
from orchestrator.procedures.targets import select
from orchestrator.run.task import Run


def matrix_task(run: Run, opts: MatrixOptions) -> int:
    if opts.merge:
        others = [flag for flag, on in (("--list", opts.list_only), ("--scenario", opts.scenarios is not None),
                                        ("--shard", opts.shard is not None)) if on] + opts.run_only_flags()
        if others:
            raise BadInput(f"--merge combines finished runs; it takes no {', '.join(others)}")
        from orchestrator.procedures.matrix.merge import merge_runs

        return merge_runs(run, opts)
    matrix = model.load(opts.matrix_file)
    if opts.list_only:
        if opts.run_only_flags():
            raise BadInput(f"--list contacts no host; it takes no {', '.join(opts.run_only_flags())}")
        from orchestrator.procedures.matrix.listing import show

        return show(run, matrix, opts)
    selected = shards.select(matrix.scenarios, opts.scenarios, opts.shard)
    select(opts.inventory, opts.host, exactly_one="matrix")
    from orchestrator.procedures.matrix import runner

    return runner.run_matrix(run, opts, matrix, selected)
