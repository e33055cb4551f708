"""lab.up / lab.down / lab.status through the run layer (consoles, signals, exit codes)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from orchestrator import lab
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
    t = Table(title="shakedown lab", title_justify="left")
    for col in ("host", "ssh", "docker", "stack", "up"):
        t.add_column(col)
    for h in status["hosts"]:
        ssh = f"{h['ssh']['user']}@{h['ssh']['host']}:{h['ssh']['port']}"
        t.add_row(h["name"], ssh, h["docker_host"], h.get("stack_dir") or "-",
                  "[green]up[/]" if h["up"] else "[red]down[/]")
    run_.consoles.out.print(t)
