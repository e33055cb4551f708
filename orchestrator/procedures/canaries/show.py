"""What `invoke canaries` shows: one row per canary (expected, got, each assertion, both flags, time), then
the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from orchestrator.procedures import tables
from orchestrator.run.console import print_verdict
from orchestrator.run.results import RunResult
from orchestrator.run.task import Printer


def printer(result: RunResult, run_id: str, data: dict[str, Any]) -> Printer:
    def show(run_dir: Path, console: Console) -> None:
        console.print(tables.canaries(data))
        print_verdict(result, run_id, run_dir, console, most=8)
    return show
