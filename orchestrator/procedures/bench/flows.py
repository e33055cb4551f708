"""The bench's flows table: `invoke flow --flow marketplace` against Locust running the same request mix
(locust_marketplace.py) on the lab marketplace, at the same concurrency, the same flows per user.

Each contender is one whole process per level, as a user runs it. Side by side:
- requests per second of the load phase (each tool's own clock: `invoke flow`'s level seconds from flow.json,
  the locustfile's test start to its last flow's end), every answered request counted;
- client CPU per request: of the load phase (each process's own getrusage around it) and of the whole process
  (wait4's user + sys: start-up, imports, reports included), over the same requests;
- p50 / p95 / p99: ours exact (nearest-rank over every sample), Locust's from its --csv stats (which rounds:
  to whole ms under 100 ms, to 10 ms under 1 s).
Every contender is warmed up once (concurrency 1, one flow), then each level's contenders run interleaved R
times; the table shows, per contender and level, the run with the median requests/s (every run is in the JSON).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.lab import marketplace
from orchestrator.procedures.bench import contenders as c
from orchestrator.procedures.bench.measure import BenchError, run

Echo = Callable[[str], None]
OURS = "shakedown flow"
TITLE = "flows: the marketplace flow (live mode), shakedown flow vs Locust, same request mix"
PERCENTILES = {OURS: "exact (nearest-rank over every sample)",
               "Locust": "Locust's --csv stats (rounded: whole ms under 100 ms, 10 ms under 1 s)"}


@dataclass
class FlowBench:
    flows: int  # per level and contender: each of N users runs ceil(flows / N) flows
    concurrency: list[int]
    runs: int


Measure = Callable[[int, int, Path], dict[str, Any]]


def rounds_for(flows: int, concurrency: int) -> int:
    return max(1, math.ceil(flows / concurrency))


def measure(bench: FlowBench, work: Path, echo: Echo) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    marketplace.reset_config()  # no defect, no rate limit: every flow passes and no request waits out a 429
    contenders: dict[str, Measure] = {OURS: _ours}
    notes: dict[str, str] = {}
    try:
        exe = c.ensure_locust()
        admin = marketplace.admin()
        for label, user_class in c.LOCUST_USERS.items():
            contenders[label] = (lambda n, r, out, user_class=user_class: _locust(exe, user_class, admin, n, r, out))
    except (OSError, subprocess.SubprocessError) as exc:
        echo(f"bench: locust unavailable: {exc}")
        notes.update({label: f"not measured: could not install {c.LOCUST_SPEC} into .bench/ ({exc})"
                      for label in c.LOCUST_USERS})
    for name, run_one in contenders.items():  # warm-up, not recorded
        try:
            run_one(1, 1, work / f"warm-{_slug(name)}")
        except (BenchError, OSError, ValueError, KeyError) as exc:
            notes[name] = f"not measured: {exc}"
    live = {n: m for n, m in contenders.items() if n not in notes}
    results: list[dict[str, Any]] = []
    for level in bench.concurrency:
        rounds = rounds_for(bench.flows, level)
        samples: dict[str, list[dict[str, Any]]] = {n: [] for n in live}
        for r in range(bench.runs):
            for name, run_one in live.items():
                if name in notes:
                    continue
                try:
                    samples[name].append(run_one(level, rounds, work / f"c{level}-r{r + 1}-{_slug(name)}"))
                except (BenchError, OSError, ValueError, KeyError) as exc:
                    notes[name] = f"failed at concurrency {level}: {exc}"
            echo(f"bench: flows at concurrency {level} ({rounds} flow(s) per user): round {r + 1}/{bench.runs}")
        for name, runs in samples.items():
            if runs:
                results.append({"contender": name, "concurrency": level, "rounds": rounds, "median": _median(runs),
                                "runs": runs})
    return {"title": TITLE, "flow": "marketplace", "mode": "live", "target": c.spec.MARKETPLACE_URL,
            "flows_per_level": bench.flows, "concurrency": bench.concurrency, "runs": bench.runs,
            "spawn_rate": c.LOCUST_SPAWN_RATE, "percentiles": PERCENTILES, "results": results, "notes": notes}


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median requests/s (the lower middle one of an even count): its figures belong together."""
    ordered = sorted(runs, key=lambda s: s["requests_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def _figures(sample_cpu: float, wall: float, rss_kb: int, requests: int, seconds: float, load_cpu: float,
             flows: tuple[int, int], pcts: dict[str, float], failures: int = 0) -> dict[str, Any]:
    if not requests or seconds <= 0:
        raise BenchError(f"no request answered ({requests} requests in {seconds:.3f}s)")
    return {"flows_passed": flows[0], "flows_failed": flows[1], "requests": requests, "failures": failures,
            "seconds": round(seconds, 3), "requests_per_second": round(requests / seconds, 1),
            "load_cpu_ms_per_request": round(load_cpu * 1000 / requests, 3),
            "process_cpu_ms_per_request": round(sample_cpu * 1000 / requests, 3),
            "process_seconds": round(wall, 3), "process_cpu_seconds": round(sample_cpu, 3),
            "max_rss_mb": round(rss_kb / 1024, 1), **pcts}


def _ours(concurrency: int, rounds: int, out: Path) -> dict[str, Any]:
    sample = run(c.flow_run(concurrency, rounds), cwd=c.ROOT, check=False, timeout=900)
    try:
        level = json.loads(sample.output)["flow"]["levels"][0]
    except (ValueError, KeyError, IndexError):
        raise BenchError(f"invoke flow exited {sample.exit_code} without its JSON: {sample.output[-300:]!r}") from None
    if sample.exit_code not in (0, 1):  # 1: a flow failed (counted below); 2/3: no verdict, no figures
        raise BenchError(f"invoke flow exited {sample.exit_code}")
    lat = level["latency_ms"]
    return _figures(sample.cpu_seconds, sample.seconds, sample.max_rss_kb, lat["count"], level["seconds"],
                    level["cpu_seconds"], (level["flows"]["passed"], level["flows"]["failed"]),
                    {"p50": lat["p50"], "p95": lat["p95"], "p99": lat["p99"]})


def _locust(exe: Path, user_class: str, admin: tuple[str, str], concurrency: int, rounds: int,
            out: Path) -> dict[str, Any]:
    result, stats = Path(f"{out}.json"), Path(f"{out}_stats.csv")
    result.unlink(missing_ok=True)
    stats.unlink(missing_ok=True)
    argv, env = c.locust(exe, user_class, concurrency, rounds, out, admin)
    sample = run(argv, env=env, timeout=900)
    mine = json.loads(result.read_text())
    total = aggregated(stats)
    if total["requests"] != mine["requests"]:
        raise BenchError(f"{stats}: {total['requests']} requests, the locustfile counted {mine['requests']}")
    return _figures(sample.cpu_seconds, sample.seconds, sample.max_rss_kb, mine["requests"], mine["seconds"],
                    mine["cpu_seconds"], (mine["flows_passed"], mine["flows_failed"]),
                    {"p50": total["p50"], "p95": total["p95"], "p99": total["p99"],
                     "locust_requests_per_second": total["requests_per_second"]}, failures=total["failures"])


def aggregated(path: Path) -> dict[str, Any]:
    """The Aggregated row of Locust's <prefix>_stats.csv: requests, failures, its requests/s, its percentiles."""
    with path.open(newline="", encoding="utf-8") as fh:
        row = next((r for r in csv.DictReader(fh) if r.get("Name") == "Aggregated"), None)
    if row is None:
        raise BenchError(f"{path}: no Aggregated row")
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "requests_per_second": round(float(row["Requests/s"]), 1),
            **{f"p{p}": _number(row[f"{p}%"]) for p in (50, 95, 99)}}


def _number(text: str) -> float:
    return float(text) if text not in ("", "N/A") else 0.0


def ratio(results: list[dict[str, Any]], concurrency: int) -> tuple[float, str, float, float] | None:
    """Ours / the fastest Locust contender at `concurrency` (median runs): (ratio, its name, ours, its req/s)."""
    at = {r["contender"]: r["median"]["requests_per_second"] for r in results if r["concurrency"] == concurrency}
    others = {n: v for n, v in at.items() if n != OURS}
    if OURS not in at or not others:
        return None
    best = max(others, key=lambda n: others[n])
    return at[OURS] / others[best], best, at[OURS], others[best]

