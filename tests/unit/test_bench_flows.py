"""The bench's flows table without the lab: Locust's CSV read, rounds per user, the table and its goal."""

from __future__ import annotations

from orchestrator.procedures.bench import flows, render

# The head and Aggregated row of a real `locust --csv` _stats.csv (Locust 2.47), one route row cut.
LOCUST_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
POST,POST /api/auth/login,128,0,3,4.1,1.2,40.3,120.0,90.1,0.0,3,4,5,5,7,9,14,22,40,40,40
,Aggregated,768,1,4,5.3,0.9,61.0,150.2,541.76,0.7,4,5,6,7,9,12,19,27,61,61,61
"""


def sample(rps: float, **extra) -> dict:
    return {"flows_passed": 32, "flows_failed": 0, "requests": 768, "failures": 0, "seconds": 768 / rps,
            "requests_per_second": rps, "load_cpu_ms_per_request": 0.5, "process_cpu_ms_per_request": 0.9,
            "process_seconds": 3.0, "process_cpu_seconds": 0.7, "max_rss_mb": 60.0, "p50": 4, "p95": 12, "p99": 27,
            **extra}


def table(ours: list[float], locust: dict[str, float], level: int = 32) -> dict:
    results = [{"contender": flows.OURS, "concurrency": level, "rounds": 1,
                "median": flows._median([sample(r) for r in ours]), "runs": [sample(r) for r in ours]}]
    results += [{"contender": name, "concurrency": level, "rounds": 1, "median": sample(rps), "runs": [sample(rps)]}
                for name, rps in locust.items()]
    return {"title": flows.TITLE, "target": "http://127.0.0.1:18110", "flows_per_level": 32, "concurrency": [level],
            "runs": len(ours), "percentiles": flows.PERCENTILES, "results": results, "notes": {}}


def test_locusts_aggregated_row_is_read_from_its_csv(tmp_path):
    path = tmp_path / "run_stats.csv"
    path.write_text(LOCUST_CSV)
    assert flows.aggregated(path) == {"requests": 768, "failures": 1, "requests_per_second": 541.8, "p50": 4.0,
                                      "p95": 12.0, "p99": 27.0}


def test_every_user_runs_enough_flows_for_the_level_total():
    assert [flows.rounds_for(64, n) for n in (1, 2, 8, 32, 100)] == [64, 32, 8, 2, 1]


def test_the_median_run_is_the_middle_one_by_requests_per_second():
    assert flows._median([sample(300), sample(100), sample(200)])["requests_per_second"] == 200
    assert flows._median([sample(300), sample(100)])["requests_per_second"] == 100  # the lower middle


def test_the_goal_is_judged_against_the_faster_locust_client():
    met = table([500, 520, 480], {"Locust FastHttpUser": 450, "Locust HttpUser": 300})
    goals = render.goals({"groups": [], "options": {"hosts": 10}, "flows": met})
    assert goals[-1] == ("flows at concurrency 32: at least Locust's requests/s (its faster client): 1.11x "
                         "(500 vs 450 req/s, Locust FastHttpUser) — MET")
    missed = table([400], {"Locust FastHttpUser": 450, "Locust HttpUser": 300})
    assert render.goals({"groups": [], "options": {"hosts": 10}, "flows": missed})[-1].endswith("— MISSED")
    alone = table([400], {})
    assert render.goals({"groups": [], "options": {"hosts": 10}, "flows": alone})[-1].endswith(": not measured")


def test_the_flows_table_shows_both_tools_side_by_side():
    data = table([500], {"Locust FastHttpUser": 250})
    data["notes"] = {"Locust HttpUser": "not measured: could not install"}
    md = "\n".join(render.flows_table(data))
    assert "| 32 | shakedown flow | 32/32 | 768 | 500 | 1.00x | 0.50 ms | 0.90 ms | 4 | 12 | 27 | 60 MB |" in md
    assert "| 32 | Locust FastHttpUser | 32/32 | 768 | 250 | 0.50x |" in md
    assert "| - | Locust HttpUser | not measured: could not install |" in md
    assert "exact (nearest-rank" in md and "rounded" in md
