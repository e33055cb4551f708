"""One run of one task: its id, consoles and signal policy, and the one way a run finishes.

A procedure gets a Run from cli's guard, does its work, and hands its RunResult to `finish`, which writes
the run directory (with the leak sweep), prints the table and verdict, prints --json, and returns the exit
code. So every task has the same JSON shape, run directory, console and exit codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType

from orchestrator.run import rundir
from orchestrator.run.console import Consoles, print_human
from orchestrator.run.results import CheckRecord, RunResult
from orchestrator.run.signals import SignalPolicy

Printer = Callable[[Path, Console], None]


@dataclass
class Run:
    task: str
    as_json: bool
    run_id: str = field(default_factory=rundir.new_run_id)

    def __post_init__(self) -> None:
        self.consoles = Consoles(self.as_json)
        self.signals = SignalPolicy(self.consoles.echo)

    def echo(self, line: str) -> None:
        self.consoles.echo(line)

    def progress(self, host: str, record: CheckRecord) -> None:
        """An engine listener: each check as it is recorded, for tasks that take a while (e2e, prune)."""
        self.echo(f"{host}: {record.name}: {record.status}" + (f" — {record.reason}" if record.reason else ""))

    def dir(self) -> Path:
        """This run's directory, created now so a task can write into it while it runs (e.g. a test log)."""
        return rundir.run_dir_for(self.run_id)

    def finish(self, result: RunResult, inventory: Path | str, *, title: str, extra: dict[str, Any] | None = None,
               manifest_extra: dict[str, Any] | None = None, before: Iterable[RenderableType] = (),
               printer: Printer | None = None, code: int | None = None) -> int:
        """Write the run directory, show the result, print --json; return the exit code (`code` overrides the
        result's own when the task's verdict covers more than its checks, e.g. e2e's restore)."""
        run_dir = rundir.write_run_dir(result, self.run_id, self.task, Path(inventory), extra, manifest_extra)
        out = self.consoles.out
        for renderable in before:
            out.print(renderable)
        if printer is not None:
            printer(run_dir, out)
        else:
            print_human(result, self.run_id, run_dir, out, title)
        self.consoles.json(rundir.to_json(result, self.run_id, self.task, extra))
        return result.exit_code if code is None else code
