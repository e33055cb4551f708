"""lab.up / lab.down / lab.status through the run layer (consoles, signals, exit codes)."""

from __future__ import annotations

from typing import Any

from orchestrator import lab
from orchestrator.procedures import tables
from orchestrator.run.task import Run


def run(run_: Run, action: str, *, purge: bool = False) -> int:
    if action == "up":
        lab.up(echo=run_.echo)
    elif action == "down":
        lab.down(echo=run_.echo, purge=purge)
    else:
        _status(run_, lab.status())
    return 0


def _status(run_: Run, status: dict[str, Any]) -> None:
    if run_.as_json:
        run_.consoles.json(status)
        return
    run_.consoles.out.print(tables.lab(status))
