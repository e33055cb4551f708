"""--merge: shard reports combine into one, verdicts recomputed the run layer's way; different matrices,
overlapping shards and scenarios no shard ran are refused or reported, never a silent pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orchestrator.errors import BadInput
from orchestrator.ops.matrix import merge, model
from orchestrator.run import rundir

VALID = Path(__file__).resolve().parent / "matrix" / "valid.yml"


@pytest.fixture(scope="module")
def matrix() -> model.Matrix:
    return model.load(VALID)


def report(matrix: model.Matrix, shard: str, results: dict[str, str], run_id: str,
           sha: str | None = None) -> dict[str, Any]:
    """A shard run's report.json as the runtime writes it: one 'matrix' block, checks '<scenario>: <check>'."""
    status = {"passed": "ok", "failed": "failed", "skipped": "skipped"}
    checks = [{"name": f"{name}: services", "status": status[result], "reason": result, "duration": 0.5, "data": {}}
              for name, result in results.items()]
    host = {"verdict": "pass", "unreachable": None, "checks": checks, "remote_commands": 3, "connect_seconds": 0.1}
    return {"schema": 1, "task": "matrix", "verdict": "pass", "exit_code": 0, "run_id": run_id,
            "started": "2026-12-01T10:00:00Z", "ended": f"2026-12-01T10:0{len(results)}:00Z", "hosts": {"dev": host},
            "matrix": {"file": "playbooks/matrix.yml", "sha256": sha or matrix.sha256, "shard": shard,
                       "scenarios": [{"name": n, "status": r, "reason": "", "values": matrix.scenario(n).values,
                                      "duration": 1.0} for n, r in results.items()]}}


def halves(matrix: model.Matrix, second: str = "passed") -> list[dict[str, Any]]:
    return [report(matrix, "1/2", {"baseline": "passed", "small-pool-insecure": "passed",
                                   "arm64-agent-only": "skipped"}, "20261201T100000Z-aaaaaa"),
            report(matrix, "2/2", {"readonly-without-scanner": second, "scanner-on-gpu": "skipped"},
                   "20261201T100000Z-bbbbbb")]


def test_two_passing_shards_merge_into_one_pass(matrix):
    merged = merge.merge(halves(matrix), matrix)
    assert merged["verdict"] == "pass" and merged["exit_code"] == 0
    assert [s["name"] for s in merged["matrix"]["scenarios"]] == [s.name for s in matrix.scenarios]  # file order
    assert merged["matrix"]["not_run"] == [] and merged["matrix"]["shard"] is None
    assert [m["shard"] for m in merged["matrix"]["merged_from"]] == ["1/2", "2/2"]
    dev = merged["hosts"]["dev"]
    assert [c["name"] for c in dev["checks"]] == ["baseline: services", "small-pool-insecure: services",
                                                  "arm64-agent-only: services", "readonly-without-scanner: services",
                                                  "scanner-on-gpu: services"]
    assert dev["remote_commands"] == 6
    assert merged["started"] == "2026-12-01T10:00:00Z" and merged["ended"] == "2026-12-01T10:03:00Z"
    result = merge.result_of(merged)
    assert result.verdict == "pass" and len(result.hosts["dev"].checks) == 5
    jsonschema.validate(rundir.to_json(result, "20261201T100000Z-cccccc", "matrix", {"matrix": merged["matrix"]}),
                        json.loads(rundir.SCHEMA_FILE.read_text()))


def test_a_failed_shard_fails_the_merge_whatever_its_own_verdict_said(matrix):
    reports = halves(matrix, second="failed")
    assert reports[1]["verdict"] == "pass"  # the shard's word is not trusted: recomputed from its checks
    merged = merge.merge(reports, matrix)
    assert merged["verdict"] == "fail" and merged["exit_code"] == 1 and merged["hosts"]["dev"]["verdict"] == "fail"


def test_an_unreachable_host_in_one_shard_is_an_error(matrix):
    reports = halves(matrix)
    reports[0]["hosts"]["dev"]["unreachable"] = "connection refused"
    merged = merge.merge(reports, matrix)
    assert merged["verdict"] == "error" and merged["hosts"]["dev"]["unreachable"] == "connection refused"


def test_reports_of_different_matrices_are_refused(matrix):
    reports = halves(matrix)
    reports[1]["matrix"]["sha256"] = "f" * 64
    with pytest.raises(BadInput) as err:
        merge.merge(reports, labels=["artifacts/a", "artifacts/b"])
    assert "artifacts/b" in str(err.value) and "different matrices" in str(err.value)


def test_a_matrix_file_other_than_the_shards_is_refused(matrix):
    with pytest.raises(BadInput) as err:
        merge.merge([report(matrix, "1/1", {"baseline": "passed"}, "r1", sha="0" * 64)], matrix)
    assert matrix.path in str(err.value) and "--matrix" in str(err.value)


def test_overlapping_shards_are_refused_naming_the_scenario(matrix):
    reports = halves(matrix)
    reports.append(report(matrix, "1/3", {"baseline": "passed"}, "20261201T100000Z-dddddd"))
    with pytest.raises(BadInput) as err:
        merge.merge(reports, matrix)
    assert "'baseline'" in str(err.value) and "20261201T100000Z-aaaaaa" in str(err.value)
    assert "20261201T100000Z-dddddd" in str(err.value)


def test_scenarios_no_shard_ran_are_named_and_make_the_merge_an_error(matrix):
    merged = merge.merge(halves(matrix)[:1], matrix)
    assert merged["matrix"]["not_run"] == ["readonly-without-scanner", "scanner-on-gpu"]
    assert merged["verdict"] == "error" and merged["exit_code"] == 3
    last = merged["hosts"]["dev"]["checks"][-1]
    assert last["name"] == merge.NOT_RUN_CHECK and last["status"] == "error"
    assert "readonly-without-scanner, scanner-on-gpu" in last["reason"]


def test_without_the_matrix_file_missing_scenarios_cannot_be_known(matrix):
    merged = merge.merge(halves(matrix)[:1])
    assert merged["verdict"] == "pass" and merged["matrix"]["not_run"] == []


@pytest.mark.parametrize("bad", [{"task": "check", "hosts": {}}, {"matrix": {"sha256": "x"}, "hosts": []},
                                 {"matrix": {"sha256": "x"}, "hosts": {"dev": {"checks": [{"name": "a"}]}}}])
def test_a_report_that_is_not_a_matrix_run_is_bad_input(bad):
    with pytest.raises(BadInput) as err:
        merge.merge([bad], labels=["artifacts/x"])
    assert str(err.value).startswith("artifacts/x: ")
