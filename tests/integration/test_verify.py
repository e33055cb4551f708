"""`invoke verify` end to end against the lab: its real hosts and its Woodpecker-compatible CI server, whose
pipelines each test sets by writing the server's state file (orchestrator.lab.ci), and puts back after."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.lab import ci, spec
from tests.integration.labkit import LAB_INVENTORY, container_of, docker, fresh_run, invoke
from tests.integration.test_triage import token as stack_token

pytestmark = pytest.mark.lab


@pytest.fixture
def ci_state(healthy_stack) -> Iterator[dict[str, Any]]:
    """The lab CI's green state, to change and write with ci.write_state; the seed is put back afterwards."""
    ci.reset()
    try:
        yield copy.deepcopy(ci.read_state())
    finally:
        ci.reset()


def repo(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in state["repos"] if r["full_name"] == f"team/{name}")


def deployed(state: dict[str, Any], name: str) -> dict[str, Any]:
    """The repo's pipeline that built the deployed stack (the newest, as the lab seeds it)."""
    return max(repo(state, name)["pipelines"], key=lambda p: p["number"])


def verify(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    result = invoke("verify", "--host", "dev", "--json", "--evidence", str(tmp_path / "evidence.md"), *args,
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts"), **(env or {})}, timeout=timeout)
    return result


def run_files(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (tmp_path / "artifacts").rglob("*") if p.is_file())


def test_a_green_deploy_passes_and_appends_its_evidence(ci_state, tmp_path):
    result = verify(tmp_path, "--summary", "release 1.4.2 to dev")
    assert result.rc == 0, result.stdout + result.stderr
    checks = result.checks("dev")
    numbers = {name: deployed(ci_state, name)["number"] for name in ("backend", "frontend", "scanner")}
    for name, number in numbers.items():
        assert checks[f"ci: {name}"]["status"] == "ok" and f"#{number}" in checks[f"ci: {name}"]["reason"]
    assert checks["stop-release rules"]["status"] == "ok"
    assert result.json()["hosts"]["dev"]["remote_commands"] == 1  # the live state in one round trip
    entry = (tmp_path / "evidence.md").read_text()
    assert entry.startswith(f"### {result.json()['started'][:10]} - release 1.4.2 to dev\n")
    assert "- Result: pass" in entry and "- Versions: backend 1.4.2, frontend 1.4.2, VERSION 1.4.2" in entry
    assert (f"- CI: backend #{numbers['backend']} success, frontend #{numbers['frontend']} success, "
            f"scanner #{numbers['scanner']} success") in entry
    assert "- Residual risk: scanner: no probe serves its version" in entry
    assert (tmp_path / "artifacts" / result.json()["run_id"] / "evidence.md").read_text() == entry


def test_a_failed_pipeline_fails_naming_repo_and_number(ci_state, tmp_path):
    pipeline = deployed(ci_state, "frontend")
    pipeline["status"] = "failure"
    pipeline["workflows"][0]["children"][0].update(state="failure", exit_code=2)
    ci.write_state(ci_state)
    result = verify(tmp_path)
    assert result.rc == 1, result.stderr
    reason = result.checks("dev")["ci: frontend"]["reason"]
    assert f"frontend pipeline #{pipeline['number']}" in reason and "failure" in reason
    assert "- Result: fail" in (tmp_path / "evidence.md").read_text()


def test_a_killed_pipeline_with_a_step_still_running_fails_at_once(ci_state, tmp_path):
    pipeline = deployed(ci_state, "backend")
    pipeline["status"] = "killed"
    pipeline["workflows"][0]["children"][1]["state"] = "running"
    ci.write_state(ci_state)
    result = verify(tmp_path, "--wait", "90")
    assert result.rc == 1, result.stderr
    reason = result.checks("dev")["ci: backend"]["reason"]
    assert "killed" in reason and "still say build-and-deploy running" in reason
    assert result.elapsed < 45  # final: judged at once, not after the 90 s wait


def test_a_pipeline_still_running_past_the_wait_is_blocked(ci_state, tmp_path):
    pipeline = deployed(ci_state, "scanner")
    pipeline["status"] = "running"
    pipeline["workflows"][0]["children"][-1]["state"] = "running"
    ci.write_state(ci_state)
    result = verify(tmp_path, "--wait", "3")
    assert result.rc == 3, result.stderr
    assert result.json()["verify"]["dev"]["result"] == "blocked"
    assert "still running after waiting 3s" in result.checks("dev")["ci: scanner"]["reason"]
    assert result.elapsed < 3 + 30
    entry = (tmp_path / "evidence.md").read_text()
    assert "- Result: blocked" in entry and "still running after waiting 3s" in entry  # the residual risk


def test_an_unreachable_ci_server_is_blocked(healthy_stack, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(LAB_INVENTORY.read_text().replace(spec.CI_URL, "http://127.0.0.1:18799"))
    result = verify(tmp_path, "--inventory", str(inventory))
    assert result.rc == 3, result.stderr
    assert "unreachable" in result.checks("dev")["ci: backend"]["reason"]


def test_a_wrong_token_is_blocked_naming_401_and_never_shows_the_token(ci_state, tmp_path):
    wrong = "wrong-token-4d9a7c1e2b"
    result = verify(tmp_path, env={"SHAKEDOWN_CI_TOKEN": wrong})
    assert result.rc == 3, result.stderr
    assert "answered 401 Unauthorized" in result.checks("dev")["ci: backend"]["reason"]
    assert wrong not in result.stdout + result.stderr
    assert wrong.encode() not in run_files(tmp_path) + (tmp_path / "evidence.md").read_bytes()


def test_ci_green_but_a_stopped_container_fires_the_p0(ci_state, tmp_path):
    docker("stop", "-t", "5", container_of("scanner"))
    result = invoke("verify", "--host", "dev", "--evidence", str(tmp_path / "evidence.md"),
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")})
    assert result.rc == 1, result.stderr
    # Without --json the result owns stdout (progress goes to stderr): the stop comes first, then the table.
    first = result.stdout.splitlines()[0]
    assert first.startswith("STOP RELEASE dev: P0 VR-001: CI reports success"), result.stdout
    assert "scanner" in first and "exited" in first


def test_backend_and_frontend_serving_different_versions_fire_the_version_pair_p0(ci_state, tmp_path):
    frontend = container_of("frontend")
    served = """printf '{"version": "1.4.3", "service": "frontend"}\\n' > /www/version.json"""
    docker("exec", frontend, "sh", "-c", served)
    try:
        result = verify(tmp_path)
    finally:
        fresh_run("frontend")
    assert result.rc == 1, result.stderr
    assert ("version mismatch: backend /api/version serves 1.4.2 but frontend /version.json serves 1.4.3"
            in result.checks("dev")["P0 VR-002"]["reason"])


def test_a_deployed_commit_ci_did_not_build_fires_the_p0(ci_state, tmp_path):
    for name in ("backend", "frontend", "scanner"):
        deployed(ci_state, name)["commit"] = "0123456789abcdef0123456789abcdef01234567"
    ci.write_state(ci_state)
    result = verify(tmp_path)
    assert result.rc == 1, result.stderr
    assert "is not what CI built" in result.checks("dev")["P0 VR-003"]["reason"]


def test_the_stacks_secret_in_a_ci_step_log_fires_the_p0_and_leaks_nowhere(ci_state, tmp_path):
    secret = stack_token()
    pipeline = deployed(ci_state, "backend")
    pipeline["workflows"][0]["children"][1]["log"] = ["+ deploy", f"curl -H 'X-Token: {secret}' http://127.0.0.1"]
    ci.write_state(ci_state)
    result = verify(tmp_path)
    assert result.rc == 1, result.stderr
    reason = result.checks("dev")["P0 VR-004"]["reason"]
    where = f"CI backend pipeline #{pipeline['number']} step build-and-deploy log, line 2"
    assert f"({spec.API_TOKEN_VAR}) appears in {where}" in reason
    assert secret not in result.stdout + result.stderr
    assert secret.encode() not in run_files(tmp_path) + (tmp_path / "evidence.md").read_bytes()
    assert json.loads(result.stdout)["verify"]["dev"]["stop_release"]
