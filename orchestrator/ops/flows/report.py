"""flow.json (schema: flow.schema.json beside this file) and flow.md from a RunRecord: flows passed/failed per
level, checkpoint outcomes, wrong recipients, 429s, exact latency percentiles per level and endpoint, and the ids
each flow created so a failure can be traced."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from orchestrator.ops.flows.model import Flow
from orchestrator.ops.flows.outcomes import FIXED, KNOWN_GAP, OUTCOMES
from orchestrator.ops.flows.records import LevelRecord, RunRecord
from orchestrator.ops.flows.stats import METHOD, summary

SCHEMA_FILE = Path(__file__).resolve().parent / "flow.schema.json"
FLOW_SCHEMA = 1


def build(flow: Flow, run: RunRecord) -> dict[str, Any]:
    flows = run.flows()
    outcomes = Counter(c.outcome for f in flows for c in f.checkpoints)
    return {
        "schema": FLOW_SCHEMA, "flow": flow.name, "file": str(flow.file), "mode": run.mode, "base_url": run.base_url,
        "strict": run.strict, "percentile_method": METHOD, "latency_unit": "ms",
        "levels": [_level(level, run.strict) for level in run.levels],
        "checkpoints": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "known_gaps": _known_gaps(flow, run),
        "wrong_recipient": sum(w.found for f in flows for w in f.wrong),
        "rate_limited": run.rate_limited, "rate_limit_wait_seconds": round(run.rate_limit_wait, 3),
        "blocked": run.blocked, "aborted": run.aborted,
        "flows": [f.public(run.strict) for f in flows],
    }


def _level(level: LevelRecord, strict: bool) -> dict[str, Any]:
    passed = sum(f.passed(strict) for f in level.flows)
    return {"concurrency": level.concurrency, "rounds": level.rounds,
            "flows": {"passed": passed, "failed": len(level.flows) - passed, "cancelled": level.cancelled},
            "seconds": round(level.seconds, 3), "cpu_seconds": round(level.cpu_seconds, 3),
            "latency_ms": summary(level.all_samples()),
            "endpoints": {route: summary(samples) for route, samples in sorted(level.samples.items())}}


def _known_gaps(flow: Flow, run: RunRecord) -> list[dict[str, Any]]:
    """Each declared gap: still failing, FIXED (remove it from the list), or not reached by this mode."""
    out = []
    for gap in flow.known_gaps.values():
        seen = Counter(c.outcome for f in run.flows() for c in f.checkpoints if c.id == gap.id)
        state = "fixed" if seen and set(seen) == {FIXED} else "still failing" if seen.get(KNOWN_GAP) else \
            "partly fixed" if seen else "not reached"
        out.append({"id": gap.id, "defect": gap.defect, "note": gap.note, "state": state,
                    "missing": seen.get(KNOWN_GAP, 0), "found": seen.get(FIXED, 0)})
    return out


def markdown(data: dict[str, Any], verdict: str, exit_code: int) -> str:
    lines = [f"# flow {data['flow']} ({data['mode']}): {verdict.upper()} (exit {exit_code})", "",
             f"Target `{data['base_url']}`; strict: {str(data['strict']).lower()}; percentiles: "
             f"{data['percentile_method']}; latency in ms.", ""]
    if data["blocked"]:
        lines += [f"**BLOCKED**: {data['blocked']}", ""]
    if data["aborted"]:
        lines += [f"**ABORTED** (--abort-on-failure): {data['aborted']}", ""]
    lines += _levels_table(data) + _checkpoint_table(data) + _gaps_table(data) + _endpoint_table(data)
    lines += _flows_table(data)
    return "\n".join(lines) + "\n"


def _levels_table(data: dict[str, Any]) -> list[str]:
    rows = ["## Levels", "", "| concurrency | rounds | flows passed | flows failed | requests | p50 | p95 | p99 | "
            "max | seconds | requests/s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for lv in data["levels"]:
        lat = lv["latency_ms"]
        rate = f"{lat['count'] / lv['seconds']:.1f}" if lv.get("seconds") else "-"
        rows.append(f"| {lv['concurrency']} | {lv['rounds']} | {lv['flows']['passed']} | {lv['flows']['failed']} | "
                    f"{lat['count']} | {lat['p50']} | {lat['p95']} | {lat['p99']} | {lat['max']} | "
                    f"{lv.get('seconds', '-')} | {rate} |")
    c = data["checkpoints"]
    totals = (f"Checkpoints: {c['found']} found, {c['missing']} missing, {c['known_gap']} known gap, {c['fixed']} "
              f"fixed. Wrong recipients: {data['wrong_recipient']}. Rate limited (429): {data['rate_limited']} "
              f"(waited {data['rate_limit_wait_seconds']}s).")
    return [*rows, "", totals, ""]


def _checkpoint_table(data: dict[str, Any]) -> list[str]:
    counts: dict[tuple[str, str, str], Counter[str]] = {}
    for f in data["flows"]:
        for c in f["checkpoints"]:
            counts.setdefault((c["id"], c["actor"], c["role"]), Counter())[c["outcome"]] += 1
    rows = ["## Checkpoints", "", "| checkpoint | actor (role) | found | missing | known gap | fixed |",
            "|---|---|---|---|---|---|"]
    for (ident, actor, role), n in counts.items():
        rows.append(f"| {ident} | {actor} ({role}) | {n['found']} | {n['missing']} | {n['known_gap']} | "
                    f"{n['fixed']} |")
    return [*rows, "", *_wrong_table(data)]


def _wrong_table(data: dict[str, Any]) -> list[str]:
    """Each wrong-recipient check: in how many flows the actor got what it must not (each one fails its flow)."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for f in data["flows"]:
        for w in f["wrong_recipient"]:
            seen = counts.setdefault((w["id"], w["actor"], w["role"]), [0, 0])
            seen[0] += 1
            seen[1] += bool(w["found"])
    if not counts:
        return []
    rows = ["## Wrong recipients", "", "| check | actor (role) | flows | got it (fails the flow) |",
            "|---|---|---|---|"]
    rows += [f"| {ident} | {actor} ({role}) | {n} | {bad} |" for (ident, actor, role), (n, bad) in counts.items()]
    return [*rows, ""]


def _gaps_table(data: dict[str, Any]) -> list[str]:
    if not data["known_gaps"]:
        return []
    rows = ["## Known gaps", "", "| id | defect | state | missing | found |", "|---|---|---|---|---|"]
    rows += [f"| {g['id']} | {g['defect']} | {g['state']} | {g['missing']} | {g['found']} |"
             for g in data["known_gaps"]]
    return [*rows, ""]


def _endpoint_table(data: dict[str, Any]) -> list[str]:
    rows = ["## Latency by endpoint (ms)", "", "| concurrency | endpoint | count | p50 | p95 | p99 | max |",
            "|---|---|---|---|---|---|---|"]
    for lv in data["levels"]:
        for route, s in lv["endpoints"].items():
            rows.append(f"| {lv['concurrency']} | `{route}` | {s['count']} | {s['p50']} | {s['p95']} | {s['p99']} | "
                        f"{s['max']} |")
    return [*rows, ""]


def _flows_table(data: dict[str, Any]) -> list[str]:
    rows = ["## Flows and the ids they created", "", "| flow | result | ids | actors | problems |",
            "|---|---|---|---|---|"]
    for f in data["flows"]:
        ids = ", ".join(f"{k}={v}" for k, v in f["ids"].items()) or "-"
        actors = ", ".join(f"{n}={a['id']}" for n, a in f["actors"].items() if a.get("id")) or "-"
        problems = [f["failed_step"]] if f["failed_step"] else []
        problems += [f"{c['id']} ({c['actor']}): {c['outcome']}" for c in f["checkpoints"]
                     if c["outcome"] not in ("found",)]
        problems += [f"wrong recipient {w['id']} ({w['actor']})" for w in f["wrong_recipient"] if w["found"]]
        cell = "; ".join(problems).replace("|", "\\|").replace("\n", " ") or "-"
        rows.append(f"| {f['flow']} | {'passed' if f['passed'] else 'FAILED'} | {ids} | {actors} | {cell} |")
    return [*rows, ""]
