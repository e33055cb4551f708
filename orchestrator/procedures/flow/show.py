"""What `invoke flow` shows: the levels and checkpoints tables, the known gaps' state, then the verdict (a
table of one row per flow x checkpoint would bury it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from orchestrator.procedures import tables
from orchestrator.run.console import print_verdict, shown
from orchestrator.run.results import RunResult
from orchestrator.run.task import Printer


def printer(result: RunResult, run_id: str, data: dict[str, Any]) -> Printer:
    def show(run_dir: Path, console: Console) -> None:
        console.print(tables.flow_levels(data))
        console.print(tables.flow_checkpoints(data))
        for gap in data["known_gaps"]:
            word = "[green]FIXED: remove it from known_gaps[/]" if gap["state"] == "fixed" else gap["state"]
            console.print(f"known gap {shown(gap['id'])} ({shown(gap['defect'])}): {word}", highlight=False)
        for what in ("blocked", "aborted"):
            if data[what]:
                console.print(f"[bold magenta]{what.upper()}[/]: {shown(data[what])}", highlight=False)
        console.print(f"report: {run_dir / 'flow.md'}", highlight=False)
        print_verdict(result, run_id, run_dir, console, most=5)
    return show
