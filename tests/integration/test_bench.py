"""`invoke bench`, smoke-sized: R=1 on 2 fleet hosts, and the flows table at concurrency 2 with one flow per
user (Locust included: its venv is installed from PyPI on first use, then cached in .bench/). Only the report's
shape is checked, never the numbers (timings on a shared machine are not assertions)."""

from __future__ import annotations

import json

import pytest

from orchestrator.lab import fleet
from tests.integration.labkit import invoke

pytestmark = pytest.mark.lab


@pytest.fixture
def fleet_stopped_after(lab_up):
    yield
    fleet.down(echo=lambda line: None)


def test_bench_smoke_report_shape(fleet_stopped_after, tmp_path):
    out = tmp_path / "bench.json"
    result = invoke("bench", "--hosts", "2", "--runs", "1", "--log-mb", "2", "--commands", "5", "--out", str(out),
                    "--flows", "2", "--flow-concurrency", "2", "--flow-runs", "1", timeout=1200)
    assert result.rc == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == 1 and data["options"]["runs"] == 1 and data["machine"]["cpus"] >= 1
    titles = [g["title"] for g in data["groups"]]
    assert [t.split(" ")[0] for t in titles] == ["check", "fan-out", "per", "redactor", "CLI", "e2e:", "check"]
    check = data["groups"][0]
    assert {"shakedown check --host dev", "plain ssh (one batched call)"} <= set(check["stats"])
    for other in ("ansible-playbook", "pyinfra"):
        assert other in check["stats"] or other in check["notes"]  # measured, or says why
    assert check["round_trips"]["shakedown"] == "1" and check["round_trips"]["plain ssh"] == "1"
    assert {"e2e feature-good", "e2e feature-crash-loop"} <= set(data["groups"][5]["stats"])
    assert "shakedown check --host dev-wan" in data["groups"][6]["stats"]
    assert data["groups"][6]["round_trips"]["shakedown"] == "1"
    for group in data["groups"]:
        for name, stats in group["stats"].items():
            assert set(stats) == {"min", "median", "max", "max_rss_mb"}, name
            assert 0 < stats["min"] <= stats["median"] <= stats["max"]
            assert len(group["samples"][name]) == 1  # R=1, the warm-up is not recorded
    assert "LEAK" not in json.dumps(data["groups"][3]["notes"])
    flows = data["flows"]
    assert flows["concurrency"] == [2] and flows["notes"] == {}, flows["notes"]  # Locust measured, not skipped
    by_name = {r["contender"]: r for r in flows["results"]}
    assert set(by_name) == {"shakedown flow", "Locust FastHttpUser", "Locust HttpUser"}
    requests = set()
    for name, r in by_name.items():
        m = r["median"]
        assert r["concurrency"] == 2 and r["rounds"] == 1 and len(r["runs"]) == 1, name
        assert (m["flows_passed"], m["flows_failed"]) == (2, 0), (name, m)
        assert m["requests_per_second"] > 0 and m["load_cpu_ms_per_request"] > 0, (name, m)
        assert m["process_cpu_ms_per_request"] >= m["load_cpu_ms_per_request"], (name, m)
        assert 0 <= m["p50"] <= m["p95"] <= m["p99"], (name, m)  # Locust rounds a sub-millisecond p50 to 0 ms
        assert m["p50"] > 0 or name.startswith("Locust"), (name, m)  # ours are measured, never rounded away
        requests.add(m["requests"])
    assert len(requests) == 1, requests  # the same request mix: both tools sent the same number of requests
    md = out.with_suffix(".md").read_text()
    assert "### Goals" in md and "| contender | min | median | max | peak RSS | ratio (median) |" in md
    assert "| concurrency | contender | flows passed | requests | req/s |" in md
    assert "- flows at concurrency 2: at least Locust's requests/s" in md
