"""`invoke matrix --host dev` against the lab: every scenario applied for real, the battery asserted, a broken
scenario RED while the others run, and the host identical afterwards (also after a kill -9 and `invoke restore`)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from orchestrator.paths import PLAYBOOK_DIR
from tests.integration.labkit import fingerprint, invoke
from tests.integration.test_e2e import JOURNAL, Background, journal_ops
from tests.waiting import wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def before(healthy_stack):
    snapshot = fingerprint()
    yield snapshot
    assert fingerprint() == snapshot, "the matrix must leave the host exactly as it found it"


def scenarios(result) -> dict[str, dict]:
    return {s["name"]: s for s in result.json()["matrix"]["scenarios"]}


def test_the_lab_matrix_runs_green_and_the_host_is_identical_afterwards(before, tmp_path):
    result = invoke("matrix", "--host", "dev", "--json", env={"SHAKEDOWN_ARTIFACTS": str(tmp_path)}, timeout=600)
    assert result.rc == 0, result.stdout + result.stderr
    found = scenarios(result)
    assert {n: s["status"] for n, s in found.items()} == {
        "baseline": "passed", "readonly-without-scanner": "passed", "small-pool-insecure": "passed",
        "scanner-on-gpu": "skipped", "arm64-agent-only": "skipped"}
    assert "requires path /dev/nvidia0" in found["scanner-on-gpu"]["reason"]
    assert found["arm64-agent-only"]["reason"].startswith("skipped by design")
    checks = result.checks("dev")
    # Only what the scenario changes is recreated, the stack reports it, and applying again changes nothing.
    assert checks["readonly-without-scanner: apply"]["data"]["recreated"] == ["backend", "scanner"]
    assert checks["readonly-without-scanner: state reflects the scenario"]["status"] == "ok"
    assert "mode=readonly" in checks["readonly-without-scanner: state reflects the scenario"]["reason"]
    assert "scanner" not in checks["readonly-without-scanner: apply"]["data"]["services_after"]
    for name in ("baseline", "readonly-without-scanner", "small-pool-insecure"):
        assert checks[f"{name}: idempotent"]["data"]["recreated"] == []
        assert checks[f"{name}: secrets preserved"]["status"] == "ok"
    assert checks["restore"]["status"] == "ok" and "dev: 2 config files, 3 containers" in checks["restore"]["reason"]
    manifest = json.loads((tmp_path / result.json()["run_id"] / "manifest.json").read_text())
    assert manifest["stack"]["matrix_sha256"] == result.json()["matrix"]["sha256"]
    assert set(manifest["stack"]["images"]) == {"backend", "frontend", "scanner"}
    assert manifest["stack"]["version"] == "1.4.2" and len(manifest["stack"]["checkout"]) == 40


def test_a_scenario_expecting_the_wrong_containers_is_red_and_the_others_still_run(before, tmp_path):
    matrix = yaml.safe_load((PLAYBOOK_DIR / "matrix.yml").read_text())
    matrix["expect"]["services"] = "{{ ['backend', 'frontend', 'scanner'] }}"  # wrong when the scanner is off
    path = tmp_path / "matrix.yml"
    path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    result = invoke("matrix", "--host", "dev", "--matrix", str(path), "--json",
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}, timeout=600)
    assert result.rc == 1, result.stdout + result.stderr
    found = scenarios(result)
    assert found["readonly-without-scanner"]["status"] == "failed"
    assert "service 'scanner' has no container" in found["readonly-without-scanner"]["reason"]
    assert found["baseline"]["status"] == "passed" and found["small-pool-insecure"]["status"] == "passed"
    evidence = tmp_path / "artifacts" / result.json()["run_id"] / "dev" / "readonly-without-scanner"
    assert (evidence / "inspect.json").exists() and (evidence / "facts.json").exists()
    assert not (evidence.parent / "baseline").exists()  # a passing scenario leaves no evidence folder


def test_kill_9_mid_scenario_then_invoke_restore_leaves_the_host_identical(before):
    run = Background("matrix", "--host", "dev")
    wait_for(lambda: any(op.startswith("mutation:apply ") for op in journal_ops()), "a scenario's apply",
             timeout=120, interval=0.05)
    run.signal(signal.SIGKILL)
    run.wait()
    assert JOURNAL.exists()  # the dead run's journal says how to put the host back
    restored = invoke("restore", "--host", "dev", timeout=300)
    assert restored.rc == 0, restored.stdout + restored.stderr
    assert not Path(JOURNAL).exists()


def test_e2e_mode_matrix_runs_the_matrix_on_the_branch_then_restores(before):
    result = invoke("e2e", "--branch", "feature-good", "--host", "dev", "--mode", "matrix", "--json", timeout=900)
    assert result.rc == 0, result.stdout + result.stderr
    e2e = result.json()["e2e"]
    assert e2e["mode"] == "matrix" and e2e["restore"]["ok"]
    statuses = {s["name"]: s["status"] for s in e2e["matrix"]["scenarios"]}
    assert statuses["readonly-without-scanner"] == "passed" and statuses["scanner-on-gpu"] == "skipped"
    restores = [c for c in result.json()["hosts"]["dev"]["checks"] if c["name"] == "restore"]
    # The playbook's own restore step leaves it to the run, which restores after the matrix and verifies.
    assert "the matrix runs on the branch first" in restores[0]["reason"] and restores[-1]["status"] == "ok"
    assert result.checks("dev")["small-pool-insecure: state reflects the scenario"]["status"] == "ok"
