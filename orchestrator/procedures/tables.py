"""The task-specific tables shown before a verdict (the run layer's console shows the checks themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from orchestrator.ops.prune.disk import gib
from orchestrator.run.console import shown
from orchestrator.run.results import RunResult

if TYPE_CHECKING:  # check/prune/triage import this module: they need not load the matrix model
    from orchestrator.ops.matrix.model import Axis


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
    """lab.status: each host's address, engine, stack, link and whether it is up; then the lab's CI and
    marketplace APIs and its bastion."""
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
    market = status.get("marketplace")
    if market is not None:  # and the marketplace API (`invoke flow`), with the files that drive it
        line = (f"marketplace: API {market['url']} {'[green]up[/]' if market['up'] else '[red]down[/]'}; "
                f"admin {market['admin_credentials_file']}, config {market['config_file']}")
        t.caption = f"{t.caption}\n{line}" if t.caption else line
        t.caption_justify = "left"
    jump = status.get("bastion")
    if jump is not None:  # and the jump host in front of dev (inventory host dev-via-bastion)
        line = (f"bastion: {jump['ssh']['user']}@{jump['ssh']['host']}:{jump['ssh']['port']} "
                f"{'[green]up[/]' if jump['up'] else '[red]down[/]'}, forwards to {', '.join(jump['permit_open'])} "
                f"for {jump['inventory_host']}; key {jump['ssh']['key']}")
        t.caption = f"{t.caption}\n{line}" if t.caption else line
        t.caption_justify = "left"
    return t


def _link(link: dict[str, Any] | None) -> str:
    if link is None:
        return "-"
    where = f"{link['inventory_host']} {link['address']['host']}:{link['address']['port']}"
    if not link["up"]:
        return f"{where} [red]down[/]"
    return f"{where} {link['state']}, {link['delay_ms']:g} ms"  # --json says how to control it


def matrix_listing(data: dict[str, Any], axes: dict[str, Axis], shard: tuple[int, int] | None) -> list[Table]:
    """matrix --list: the scenarios (values as written, skip reason or requirements), then every axis value
    with the scenarios that run it (the coverage guarantee, for the whole matrix)."""
    from orchestrator.ops.matrix.model import shown as shown_value

    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    runnable = sum(s["skip"] is None for s in data["scenarios"])
    t = Table(title=f"matrix {shown(data['matrix'])}{where}: {len(data['scenarios'])} scenario(s), {runnable} to run",
              title_justify="left")
    for col in ("scenario", "values", "skip / requires", "--shard"):
        t.add_column(col, overflow="fold")
    shard_of = {i["scenario"]: i["shard"] for i in data["include"]}
    for s in data["scenarios"]:
        values = ", ".join(f"{a}={shown_value(axes[a].original(v))}" for a, v in s["values"].items()) or "(baseline)"
        if s["skip"] is not None:
            note = f"[yellow]skipped by design:[/] {shown(s['skip'])}"
        else:
            note = "; ".join(f"needs {r['kind']} {shown(r['what'])}" for r in s["requires"])
        t.add_row(shown(s["name"]), shown(values), note, shard_of.get(s["name"], "-"))
    c = Table(title="coverage: every axis value and the scenarios that run it", title_justify="left")
    for col in ("axis", "value", "scenarios"):
        c.add_column(col, overflow="fold")
    for axis, values in data["coverage"].items():
        for k, (value, names) in enumerate(values.items()):
            c.add_row(axis if k == 0 else "", shown(shown_value(axes[axis].original(value))), ", ".join(names))
        c.add_section()
    return [t, c]


def matrix_results(block: dict[str, Any]) -> Table:
    """matrix (a run, or --merge of shards): every scenario's outcome, and those no shard ran."""
    t = Table(title=f"matrix {shown(block['file'])}: scenarios", title_justify="left")
    for col in ("scenario", "status", "values", "reason", "seconds"):
        t.add_column(col, overflow="fold")
    style = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
    for s in block["scenarios"]:
        status = str(s.get("status"))
        values = ", ".join(f"{k}={v}" for k, v in (s.get("values") or {}).items())
        t.add_row(shown(str(s.get("name"))), f"[{style.get(status, 'bold magenta')}]{shown(status.upper())}[/]",
                  shown(values), shown(str(s.get("reason") or "")), f"{float(s.get('duration') or 0):.1f}")
    for name in block.get("not_run", []):
        t.add_row(shown(name), "[bold magenta]NOT RUN[/]", "", "in no merged shard", "-")
    return t


def flow_levels(data: dict[str, Any]) -> Table:
    """flow: flows passed/failed and exact latency percentiles (ms) per concurrency level."""
    t = Table(title=f"flow {data['flow']} ({data['mode']}): levels (latency ms, nearest-rank)", title_justify="left")
    for col in ("concurrency", "rounds", "passed", "failed", "requests", "p50", "p95", "p99", "max"):
        t.add_column(col, justify="right")
    for lv in data["levels"]:
        lat = lv["latency_ms"]
        t.add_row(*map(str, (lv["concurrency"], lv["rounds"], lv["flows"]["passed"], lv["flows"]["failed"],
                             lat["count"], lat["p50"], lat["p95"], lat["p99"], lat["max"])))
    c = data["checkpoints"]
    t.caption = (f"checkpoints: {c['found']} found, {c['missing']} missing, {c['known_gap']} known gap, "
                 f"{c['fixed']} fixed; wrong recipients {data['wrong_recipient']}; 429 answers {data['rate_limited']}")
    t.caption_justify = "left"
    return t


def flow_checkpoints(data: dict[str, Any]) -> Table:
    """flow: each checkpoint (and wrong-recipient check) per actor, counted over every flow of the run."""
    t = Table(title="checkpoints (a wrong-recipient row counts the flows where the actor got it)",
              title_justify="left")
    for col in ("checkpoint", "actor (role)", "found", "missing", "known gap", "fixed", "wrong recipient"):
        t.add_column(col)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for f in data["flows"]:
        for c in f["checkpoints"]:
            row = counts.setdefault((c["id"], f"{c['actor']} ({c['role']})"), {})
            row[c["outcome"]] = row.get(c["outcome"], 0) + 1
        for w in f["wrong_recipient"]:
            row = counts.setdefault((f"wrong recipient: {w['id']}", f"{w['actor']} ({w['role']})"), {})
            row["wrong"] = row.get("wrong", 0) + bool(w["found"])
    for (ident, actor), n in counts.items():
        wrong = ident.startswith("wrong recipient: ")
        t.add_row(shown(ident), shown(actor), *("-" if wrong else str(n.get(k, 0)) for k in ("found",)),
                  "-" if wrong else _red(n.get("missing", 0)),
                  *("-" if wrong else str(n.get(k, 0)) for k in ("known_gap", "fixed")),
                  _red(n["wrong"]) if wrong else "-")
    return t


def _red(n: int) -> str:
    return f"[bold red]{n}[/]" if n else "0"


def canaries(data: dict[str, Any]) -> Table:
    """canaries: each canary's expected and actual verdict, every assertion (and its teeth under --tamper),
    the clean-teardown and no-leak flags, and its time."""
    mode = " --tamper" if data.get("tamper") else ""
    t = Table(title=f"canaries {shown(data['file'])}{mode}", title_justify="left", show_lines=True)
    for col in ("canary", "expected", "got", "assertions", "teardown", "leak", "seconds", "met"):
        t.add_column(col, overflow="fold")
    for c in data["canaries"]:
        rows = []
        for a in c["assertions"]:
            mark = "[green]✓[/]" if a["ok"] else "[bold red]✗[/]"
            teeth = {"bites": " [green](bites)[/]", "toothless": " [bold red](TOOTHLESS)[/]"}.get(a["teeth"] or "", "")
            detail = "" if a["ok"] else f" [dim]— {shown(a['seen'])}[/]"
            rows.append(f"{mark} {shown(a['assertion'])}{teeth}{detail}")
        got_style = "green" if c["got"] == c["expected"] else "bold red"
        t.add_row(shown(c["name"]), c["expected"], f"[{got_style}]{shown(c['got'])}[/]", "\n".join(rows),
                  "[green]clean[/]" if c["teardown_clean"] else "[bold red]CHANGED[/]",
                  "[green]none[/]" if c["no_leak"] else "[bold red]LEAK[/]", f"{c['seconds']:.1f}",
                  "[green]MET[/]" if c["met"] else "[bold red]NOT MET[/]")
    return t
