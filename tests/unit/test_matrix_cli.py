"""`invoke matrix` as users and CI call it: --list and --list --json, bad --shard/--scenario, an uncovered
matrix (exit 2, nothing run, no run directory), and --merge writing one new run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from orchestrator.ops.matrix import listing, model
from tests.unit.test_matrix_merge import halves

ROOT = Path(__file__).resolve().parents[2]
VALID = Path(__file__).resolve().parent / "matrix" / "valid.yml"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def invoke(artifacts: Path):
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(artifacts)}
    env.pop("SHAKEDOWN_INVENTORY", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", "matrix", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)

    return run


def nothing_written(artifacts: Path) -> bool:
    return not artifacts.exists() or not any(artifacts.iterdir())


def test_list_prints_scenarios_and_coverage_and_contacts_nothing(invoke, artifacts):
    proc = invoke("--list", "--matrix", str(VALID), "--host", "no-such-host")  # --host is not even read
    assert proc.returncode == 0, proc.stderr
    for word in ("small-pool-insecure", "skipped by design: runs on the arm64 CI agent only",
                 "needs path /dev/nvidia0", "coverage", "frontend_secure"):
        assert word in proc.stdout, proc.stdout
    assert nothing_written(artifacts)


def test_list_json_is_the_published_shape(invoke, artifacts):
    proc = invoke("--list", "--json", "--matrix", str(VALID))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, listing.schema())
    assert data == listing.listing(model.load(VALID))
    assert nothing_written(artifacts)


def test_the_shipped_matrix_lists(invoke):
    proc = invoke("--list", "--json", "--shard", "2/3", "--scenario", "readonly-without-scanner,baseline")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, listing.schema())
    assert data["matrix"] == "playbooks/matrix.yml"
    assert [s["name"] for s in data["scenarios"]] == ["readonly-without-scanner"]
    assert data["include"] == [{"scenario": "readonly-without-scanner", "shard": "2/3"}]


@pytest.mark.parametrize("mode", [("--list",), ("--host", "dev")])
@pytest.mark.parametrize("shard", ["3/2", "x", "0/1"])
def test_a_bad_shard_exits_2_naming_the_flag(invoke, artifacts, shard, mode):
    proc = invoke(*mode, "--shard", shard, "--json")
    assert proc.returncode == 2, proc.stderr
    assert "--shard" in proc.stderr and repr(shard) in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2
    assert nothing_written(artifacts)


def test_an_unknown_scenario_exits_2_listing_the_known_ones(invoke, artifacts):
    proc = invoke("--scenario", "baseline,nope", "--matrix", str(VALID))
    assert proc.returncode == 2
    assert "'nope'" in proc.stderr and "small-pool-insecure" in proc.stderr
    assert nothing_written(artifacts)


def test_an_uncovered_matrix_exits_2_naming_axis_and_value_with_nothing_run(invoke, artifacts, tmp_path):
    bad = tmp_path / "matrix.yml"
    bad.write_text(VALID.read_text().replace("values: {pool: 1, frontend_secure: false}", "values: {pool: 16}"))
    for args in ((), ("--list",)):
        proc = invoke("--host", "dev", "--matrix", str(bad), *args)
        assert proc.returncode == 2, proc.stderr
        assert "axis 'pool' value '1'" in proc.stderr and f"{bad}:" in proc.stderr
        assert "also uncovered: frontend_secure=false" in proc.stderr
        assert nothing_written(artifacts)


def test_a_run_checks_the_host_before_the_runtime(invoke, artifacts):
    proc = invoke("--host", "all", "--matrix", str(VALID))
    assert proc.returncode == 2 and "exactly one host" in proc.stderr
    assert nothing_written(artifacts)


def test_merge_refuses_other_flags(invoke):
    proc = invoke("--merge", "a", "--shard", "1/2")
    assert proc.returncode == 2 and "--shard" in proc.stderr


def test_merge_writes_one_new_run_from_the_shards(invoke, artifacts, tmp_path):
    matrix = model.load(ROOT / "playbooks" / "matrix.yml")
    dirs = []
    for k, report in enumerate(halves(matrix, second="failed")):
        d = tmp_path / f"shard{k}"
        d.mkdir()
        (d / "report.json").write_text(json.dumps(report))
        dirs.append(str(d))
    proc = invoke("--merge", dirs[0], "--merge", dirs[1], "--json")
    assert proc.returncode == 1, proc.stderr  # the second shard's scenario failed
    data = json.loads(proc.stdout)
    assert data["task"] == "matrix" and data["verdict"] == "fail"
    assert [m["source"] for m in data["matrix"]["merged_from"]] == dirs
    runs = [p for p in artifacts.iterdir() if p.name not in ("latest", "index.html")]
    assert [p.name for p in runs] == [data["run_id"]]
    assert json.loads((runs[0] / "report.json").read_text())["matrix"]["not_run"] == []
    assert invoke("--merge", ",".join(dirs)).returncode == 1  # a comma list is the same as repeating the flag
    proc = invoke("--merge", dirs[0])  # one shard alone leaves scenarios unrun: never a pass
    assert proc.returncode == 3 and "readonly-without-scanner" in proc.stdout
