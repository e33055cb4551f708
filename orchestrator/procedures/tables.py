"""The task-specific tables shown before a verdict (the run layer's console shows the checks themselves)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from orchestrator.ops.prune.disk import gib
from orchestrator.run.console import shown
from orchestrator.run.results import RunResult


def disk(host: str, figures: dict[str, Any]) -> Table:
    """prune: df of the Docker root and `docker system df`, before and after."""
    t = Table(title=f"{host}: disk before / after", title_justify="left")
    for col in ("what", "before", "after"):
        t.add_column(col)
    before, after = figures.get("before", {}), figures.get("after", {})
    if "free_kb" in before and "free_kb" in after:
        t.add_row(f"df {before['root']} used", gib(before["used_kb"]), gib(after["used_kb"]))
        t.add_row(f"df {before['root']} free", gib(before["free_kb"]), gib(after["free_kb"]))
    rows_after = {r["type"]: r for r in after.get("system_df", [])}
    for row in before.get("system_df", []):
        other = rows_after.get(row["type"], {})
        t.add_row(f"{row['type']} (count, size, reclaimable)",
                  f"{row['count']}, {row['size']}, {row['reclaimable']}",
                  f"{other.get('count', '?')}, {other.get('size', '?')}, {other.get('reclaimable', '?')}")
    return t


def findings(result: RunResult) -> Table:
    """triage: each symptom with its likely cause and the bundle file to read next."""
    t = Table(title="triage: what looks wrong", title_justify="left")
    for col in ("host", "symptom", "likely cause", "evidence"):
        t.add_column(col, overflow="fold")
    for name, host in result.hosts.items():
        for c in host.checks:
            if c.status != "ok":
                t.add_row(name, shown(c.name), shown(c.reason), shown(str(c.data.get("evidence") or "")))
    return t


def lab(status: dict[str, Any]) -> Table:
    """lab.status: each host's address, engine, stack, link and whether it is up; then the lab's CI API."""
    t = Table(title="shakedown lab", title_justify="left")
    for col in ("host", "ssh", "docker", "stack", "link", "up"):
        t.add_column(col)
    for h in status["hosts"]:
        ssh = f"{h['ssh']['user']}@{h['ssh']['host']}:{h['ssh']['port']}"
        t.add_row(h["name"], ssh, h["docker_host"], h.get("stack_dir") or "-", _link(h.get("link")),
                  "[green]up[/]" if h["up"] else "[red]down[/]")
    ci = status.get("ci")
    if ci is not None:  # one line under the hosts: the Woodpecker-compatible API and the files that drive it
        t.caption = (f"ci: Woodpecker API {ci['url']} {'[green]up[/]' if ci['up'] else '[red]down[/]'}, "
                     f"{len(ci['repos'])} repos; token {ci['token_file']}, state {ci['state_file']}")
        t.caption_justify = "left"
    return t


def _link(link: dict[str, Any] | None) -> str:
    if link is None:
        return "-"
    where = f"{link['inventory_host']} {link['address']['host']}:{link['address']['port']}"
    if not link["up"]:
        return f"{where} [red]down[/]"
    return f"{where} {link['state']}, {link['delay_ms']:g} ms"  # --json says how to control it
