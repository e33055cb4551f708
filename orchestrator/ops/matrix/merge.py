"""`invoke matrix --merge`: the report.json of several shard runs combined into one, refusing what does not add
up (another matrix, a scenario run twice) and saying which scenarios of the matrix no shard ran.

Pure: dicts in, a dict out (result_of turns it into the run layer's RunResult). Verdicts are recomputed the run
layer's way (HostReport.verdict, results.worst), never copied from the shards: a merged run is only as good as
its worst shard, and a scenario nobody ran is an error on every host, never a silent pass.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Sequence
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.ops.matrix.model import Matrix
from orchestrator.run.results import CheckRecord, HostReport, RunResult, exit_code, worst

NOT_RUN_CHECK = "matrix: scenarios no shard ran"
STATUSES = ("ok", "failed", "skipped", "error")


def merge(reports: Sequence[dict[str, Any]], matrix: Matrix | None = None,
          labels: Sequence[str] | None = None) -> dict[str, Any]:
    """One report from several shard runs' report.json. `labels` name the reports in errors (default: run
    ids); with `matrix`, every runnable scenario must have been run by some shard (else NOT_RUN_CHECK errors)."""
    if not reports:
        raise BadInput("--merge needs at least one run directory")
    names = list(labels) if labels is not None else [str(r.get("run_id", f"report {k}"))
                                                     for k, r in enumerate(reports, 1)]
    parts = [_matrix_part(r, label) for r, label in zip(reports, names, strict=True)]
    sha = parts[0]["sha256"]
    for part, label in zip(parts, names, strict=True):
        if part["sha256"] != sha:
            raise BadInput(f"{label} ran matrix {part['file']} sha256 {part['sha256'][:12]}, {names[0]} ran "
                           f"{parts[0]['file']} sha256 {sha[:12]}: shards of different matrices cannot be merged")
    if matrix is not None and matrix.sha256 != sha:
        raise BadInput(f"the shards ran a matrix with sha256 {sha[:12]}, {matrix.path} is sha256 "
                       f"{matrix.sha256[:12]}: pass --matrix with the file the shards ran")
    ran_by: dict[str, str] = {}
    scenarios: list[dict[str, Any]] = []
    for part, label in zip(parts, names, strict=True):
        for s in part.get("scenarios") or []:
            name = s.get("name")
            if name in ran_by:
                raise BadInput(f"scenario {name!r} is in both {ran_by[name]} and {label}: shards overlap "
                               "(were they run with the same --shard N?)")
            ran_by[name] = label
            scenarios.append(s)
    not_run: list[str] = []
    if matrix is not None:
        order = {s.name: k for k, s in enumerate(matrix.scenarios)}
        scenarios.sort(key=lambda s: order.get(s.get("name"), len(order)))
        not_run = [s.name for s in matrix.runnable if s.name not in ran_by]
    hosts = _hosts(reports, not_run)
    verdicts = {name: _host(h).verdict for name, h in hosts.items()}
    for name, verdict in verdicts.items():
        hosts[name]["verdict"] = verdict
    verdict = worst(set(verdicts.values()))
    return {
        "verdict": verdict,
        "exit_code": exit_code(verdict),
        "started": min((r.get("started") or "" for r in reports), default=""),
        "ended": max((r.get("ended") or "" for r in reports), default=""),
        "hosts": hosts,
        "matrix": {"file": parts[0]["file"], "sha256": sha, "shard": None, "scenarios": scenarios,
                   "merged_from": [{"run_id": r.get("run_id"), "shard": p.get("shard"), "source": label}
                                   for r, p, label in zip(reports, parts, names, strict=True)],
                   "not_run": not_run},
    }


def result_of(merged: dict[str, Any]) -> RunResult:
    """The merged report as the run layer's RunResult (for Run.finish)."""
    result = RunResult({name: _host(h, name) for name, h in merged["hosts"].items()})
    result.started, result.ended = _epoch(merged.get("started")), _epoch(merged.get("ended"))
    return result


def _matrix_part(report: Any, label: str) -> dict[str, Any]:
    if not isinstance(report, dict) or not isinstance(report.get("matrix"), dict):
        raise BadInput(f"{label}: not a matrix run's report (no top-level 'matrix')")
    part = report["matrix"]
    if not isinstance(part.get("sha256"), str) or not isinstance(part.get("scenarios", []), list):
        raise BadInput(f"{label}: the report's 'matrix' has no sha256 or its scenarios are not a list")
    if not isinstance(report.get("hosts"), dict):
        raise BadInput(f"{label}: the report has no 'hosts'")
    for host, h in report["hosts"].items():
        checks = h.get("checks") if isinstance(h, dict) else None
        if not isinstance(checks, list) or not all(
                isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("status") in STATUSES
                for c in checks):
            raise BadInput(f"{label}: host {host!r} has no list of checks each with a name and a status "
                           f"({', '.join(STATUSES)})")
    return part


def _hosts(reports: Sequence[dict[str, Any]], not_run: list[str]) -> dict[str, dict[str, Any]]:
    hosts: dict[str, dict[str, Any]] = {}
    for report in reports:
        for name, h in report["hosts"].items():
            into = hosts.setdefault(name, {"verdict": "pass", "unreachable": None, "checks": []})
            into["checks"].extend(h.get("checks") or [])
            if h.get("unreachable"):
                into["unreachable"] = "; ".join(filter(None, [into["unreachable"], h["unreachable"]]))
            for key in ("remote_commands", "connect_seconds"):
                if h.get(key) is not None:
                    into[key] = (into.get(key) or 0) + h[key]
    if not_run:
        missing = {"name": NOT_RUN_CHECK, "status": "error", "duration": 0.0, "data": {"scenarios": not_run},
                   "reason": f"{len(not_run)} scenario(s) of the matrix were in no merged shard: {', '.join(not_run)}"}
        if not hosts:  # no shard reported a host: the finding still needs one to stand on
            hosts["matrix"] = {"verdict": "error", "unreachable": None, "checks": []}
        for into in hosts.values():
            into["checks"].append(dict(missing))
    return hosts


def _host(h: dict[str, Any], name: str = "") -> HostReport:
    report = HostReport(name, [CheckRecord(c["name"], c["status"], c.get("reason") or "", c.get("duration") or 0.0,
                                           data=c.get("data") or {}) for c in h["checks"]],
                        unreachable=h.get("unreachable"))
    report.remote_commands = h.get("remote_commands")
    report.connect_seconds = h.get("connect_seconds")
    return report


def _epoch(iso: str | None) -> float:
    try:
        return float(calendar.timegm(time.strptime(iso or "", "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return 0.0
