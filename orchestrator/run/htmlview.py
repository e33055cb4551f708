"""What report.html shows, as plain data: built from the same fields as report.json (its `to_json` shape), the
manifest and the files of the run directory (flow.json, evidence logs), so the page never knows more than the
artifacts beside it. Every string here is redacted again on its way in; the template escapes it on its way out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from orchestrator import redact

STATUS_ORDER = {"error": 0, "failed": 1, "skipped": 2, "ok": 3}
PROBLEMS = ("failed", "error")
DATA_SHOWN = 4000  # characters of a failing check's data shown on the page (report.json has it all)
TAIL_LINES = 40  # last lines of each evidence log shown inline
LINE_CHARS = 400
MAX_FILES = 300
# e2e's cycle, in order (README, `invoke e2e`): each check record belongs to the first phase whose names match.
E2E_PHASES = (("snapshot", ("borrow peers", "snapshot")), ("deploy", ("deploy",)),
              ("ready", ("containers ready", "version served")), ("tests", ("tests", "test")),
              ("evidence", ("evidence",)), ("restore", ("restore",)))


def build(data: dict[str, Any], manifest: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    data = redact.scrub(data)  # type: ignore[assignment]
    manifest = redact.scrub(manifest)  # type: ignore[assignment]
    hosts = [_host(name, host) for name, host in data["hosts"].items()]
    view: dict[str, Any] = {
        "task": data["task"], "verdict": data["verdict"], "exit_code": data["exit_code"], "run_id": data["run_id"],
        "word": (data.get("e2e") or {}).get("result") or data["verdict"].upper(),
        "started": data.get("started", ""), "ended": data.get("ended", ""), "manifest": manifest,
        "hosts": hosts, "problems": [(h["name"], c) for h in hosts for c in h["checks"] if c["status"] in PROBLEMS],
        "causes": [(h["name"], c) for h in hosts for c in h["checks"]
                   if c["status"] == "failed" and c["data"].get("likely_cause")],
        "charts": [], "evidence": _evidence(run_dir),
        "e2e": None, "matrix": None, "flow": None, "prune": None, "verify": None,  # the task-specific sections
    }
    if data.get("e2e"):
        view["e2e"] = _e2e(data["e2e"], hosts, view["charts"])
    matrix = data.get("matrix") or (data.get("e2e") or {}).get("matrix")
    if matrix and matrix.get("scenarios"):
        view["matrix"] = _matrix(matrix)
    flow = _flow_data(data, run_dir)
    if flow:
        view["flow"] = _flow(flow, view["charts"])
    if data.get("prune"):
        view["prune"] = _prune(data["prune"], view["charts"])
    if data.get("verify"):
        view["verify"] = {host: _pretty(entry) for host, entry in data["verify"].items()}
    return view


def _host(name: str, host: dict[str, Any]) -> dict[str, Any]:
    checks = []
    for i, c in enumerate(host["checks"]):
        shown = dict(c, index=i + 1, data=c.get("data") or {})
        if c["status"] in PROBLEMS and shown["data"]:
            shown["data_text"] = _pretty(shown["data"])
        checks.append(shown)
    counts = {s: sum(c["status"] == s for c in checks) for s in STATUS_ORDER}
    return {"name": name, "verdict": host["verdict"], "unreachable": host.get("unreachable"), "counts": counts,
            "checks": sorted(checks, key=lambda c: STATUS_ORDER.get(c["status"], 9)),  # stable: failures first
            "remote_commands": host.get("remote_commands"), "connect_seconds": host.get("connect_seconds")}


def _pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, default=str)
    return text if len(text) <= DATA_SHOWN else text[:DATA_SHOWN] + "\n… (cut; the whole record is in report.json)"


# -- e2e ------------------------------------------------------------------------------------------------------
def _e2e(e2e: dict[str, Any], hosts: list[dict[str, Any]], charts: list[dict[str, Any]]) -> dict[str, Any]:
    host = next((h for h in hosts if h["name"] == e2e.get("host")), hosts[0] if hosts else None)
    phases = phases_of(host["checks"] if host else [], e2e)
    if phases:
        charts.append({"id": "chart-timeline", "kind": "timeline", "phases": phases})
    restore = e2e.get("restore") or {}
    return {"fields": e2e, "phases": phases,
            "restore": {k: restore.get(k) for k in ("ok", "undone", "verified", "problems", "lease")}}


def phases_of(checks: list[dict[str, Any]], e2e: dict[str, Any]) -> list[dict[str, Any]]:
    """The cycle's phases in order with their durations from the check records: a task that checks several
    things (containers ready: backend/frontend/scanner) records its one duration on each, so a phase takes the
    longest record of each task it ran; the tests phase its longest record (the whole run covers each test)."""
    ordered = sorted(checks, key=lambda c: c["index"])
    segments: list[tuple[str, list[dict[str, Any]]]] = []  # consecutive records of one phase, in run order
    seen_tests = False
    for c in ordered:
        phase = _phase(c["name"], seen_tests)
        seen_tests = seen_tests or phase == "tests"
        if segments and segments[-1][0] == phase:
            segments[-1][1].append(c)
        else:
            segments.append((phase, [c]))
    out: list[dict[str, Any]] = []
    start = 0.0
    if e2e.get("lease_seconds") is not None:
        out.append({"name": "lease", "start": 0.0, "seconds": round(e2e["lease_seconds"], 3), "status": "ok",
                    "checks": 0})
        start = e2e["lease_seconds"]
    for phase, records in segments:
        if phase == "tests":
            seconds = max(c["duration"] for c in records)
        elif phase == "matrix" and (e2e.get("matrix") or {}).get("scenarios"):
            seconds = sum(s.get("duration") or 0 for s in e2e["matrix"]["scenarios"])
        else:
            longest: dict[str, float] = {}
            for c in records:
                task = c["name"].split(":", 1)[0]
                longest[task] = max(longest.get(task, 0.0), c["duration"])
            seconds = sum(longest.values())
        status = min((c["status"] for c in records), key=lambda s: STATUS_ORDER.get(s, 9))
        out.append({"name": phase, "start": round(start, 3), "seconds": round(seconds, 3), "status": status,
                    "checks": len(records)})
        start += seconds
    return out


def _phase(name: str, after_tests: bool) -> str:
    head = name.split(":", 1)[0]
    for phase, prefixes in E2E_PHASES:
        if head in prefixes or name in prefixes:
            return phase
    return "matrix" if after_tests else "health"


# -- matrix ---------------------------------------------------------------------------------------------------
def _matrix(matrix: dict[str, Any]) -> dict[str, Any]:
    axes: list[str] = []
    for s in matrix["scenarios"]:
        axes += [a for a in s.get("values") or {} if a not in axes]
    rows = [{"name": s["name"], "status": s["status"], "reason": s.get("reason", ""),
             "duration": s.get("duration") or 0, "cells": [(s.get("values") or {}).get(a) for a in axes]}
            for s in matrix["scenarios"]]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"axes": axes, "rows": rows, "counts": counts, "file": matrix.get("file"), "shard": matrix.get("shard")}


# -- flow -----------------------------------------------------------------------------------------------------
def _flow_data(data: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """flow.json when the run wrote one (it has the per-flow checkpoints), else report.json's summary."""
    path = run_dir / "flow.json"
    if path.is_file():
        try:
            return redact.scrub(json.loads(path.read_text(encoding="utf-8")))  # type: ignore[return-value]
        except (OSError, ValueError):
            pass
    return data.get("flow")


def _flow(flow: dict[str, Any], charts: list[dict[str, Any]]) -> dict[str, Any]:
    levels = flow.get("levels") or []
    if levels:
        charts.append({"id": "chart-latency", "kind": "latency", "unit": flow.get("latency_unit", "ms"),
                       "concurrency": [lv["concurrency"] for lv in levels],
                       # a list, not a dict: tojson sorts keys, and the legend reads p50, p95, p99, max
                       "series": [{"name": p, "data": [lv["latency_ms"].get(p) for lv in levels]}
                                  for p in ("p50", "p95", "p99", "max")]})
    checkpoints: dict[tuple[str, str, str], dict[str, int]] = {}
    wrong: dict[tuple[str, str, str], list[int]] = {}
    for f in flow.get("flows") or []:
        for c in f.get("checkpoints") or []:
            row = checkpoints.setdefault((c["id"], c["actor"], c["role"]), {})
            row[c["outcome"]] = row.get(c["outcome"], 0) + 1
        for w in f.get("wrong_recipient") or []:
            seen = wrong.setdefault((w["id"], w["actor"], w["role"]), [0, 0])
            seen[0] += 1
            seen[1] += bool(w["found"])
    failed_flows = [f for f in flow.get("flows") or [] if not f.get("passed")]
    return {"fields": flow, "levels": levels, "checkpoints": checkpoints, "wrong": wrong,
            "failed_flows": failed_flows[:20], "failed_flow_count": len(failed_flows)}


# -- prune ----------------------------------------------------------------------------------------------------
def _prune(prune: dict[str, Any], charts: list[dict[str, Any]]) -> dict[str, Any]:
    hosts = {}
    for name, fields in prune.items():
        disk = fields.get("disk") or {}
        before, after = disk.get("before") or {}, disk.get("after") or {}
        if before.get("used_kb") is not None and after.get("used_kb") is not None:
            charts.append({"id": f"chart-disk-{len(charts)}", "kind": "disk", "host": name,
                           "used_gib": [_gib(before["used_kb"]), _gib(after["used_kb"])],
                           "free_gib": [_gib(before.get("free_kb", 0)), _gib(after.get("free_kb", 0))]})
            fields = {**fields, "chart": charts[-1]["id"],
                      "reclaimed_kb": before["used_kb"] - after["used_kb"]}
        hosts[name] = fields
    return hosts


def _gib(kb: float) -> float:
    return round(kb / 1024 / 1024, 3)


# -- evidence -------------------------------------------------------------------------------------------------
def _evidence(run_dir: Path) -> dict[str, Any]:
    """Links to every file of the run directory, and the last lines of each log the run gathered (a container's
    log in a triage or an e2e's evidence, the stack's test log), so what the host said is on the page."""
    files, tails = [], []
    paths = sorted(p for p in run_dir.rglob("*") if p.is_file() and not p.is_symlink() and p.name != "report.html")
    for path in paths[:MAX_FILES]:
        rel = path.relative_to(run_dir).as_posix()
        files.append({"path": rel, "href": quote(rel), "size": path.stat().st_size})
        if path.suffix == ".log":
            tails.append({"path": rel, "href": quote(rel), "lines": _tail(path)})
    return {"files": files, "more": max(0, len(paths) - MAX_FILES), "tails": tails}


def _tail(path: Path) -> list[str]:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        start = max(0, size - TAIL_LINES * LINE_CHARS)
        fh.seek(start)
        text = fh.read().decode("utf-8", "replace")
    lines = text.splitlines()[1 if start else 0:][-TAIL_LINES:]  # a line cut by the seek is not shown
    shown = [ln if len(ln) <= LINE_CHARS else ln[:LINE_CHARS] + " …" for ln in lines]
    return redact.current().text("\n".join(shown)).splitlines()
