"""`invoke triage` against the lab: a read-only bundle that names what is wrong and leaks no secret.

The healthy-host test makes the scanner log the stack's .env token (plain, in JSON, in a URL), as careless
services do, and gives it a fresh run afterwards (verify would rightly stop a release over that log).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.lab import spec
from tests.integration.labkit import container_of, docker, fingerprint, fresh_run, health, invoke, plant_careless_log
from tests.waiting import wait_for

pytestmark = pytest.mark.lab


def token() -> str:
    env = (Path(spec.DEV.stack_dir or "") / ".env").read_text()
    return next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith(f"{spec.API_TOKEN_VAR}="))


def bundle_files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


@pytest.fixture
def careless_scanner(healthy_stack):
    plant_careless_log("scanner")
    yield
    fresh_run("scanner")


def test_triage_of_a_healthy_host_finds_nothing_and_leaks_nothing(careless_scanner, tmp_path):
    before = fingerprint()
    result = invoke("triage", "--host", "dev", "--json", env={"SHAKEDOWN_ARTIFACTS": str(tmp_path)})
    assert result.rc == 0, result.stderr
    assert result.checks("dev")["symptoms"]["status"] == "ok"
    assert result.json()["hosts"]["dev"]["remote_commands"] == 1  # the whole bundle in one round trip
    files = bundle_files(tmp_path / result.json()["run_id"])
    for name in ("dev/inspect.json", "dev/disk.txt", "dev/versions.txt", "dev/facts.json",
                 "dev/logs/sample_scanner_1.log", "dev/logs/sample_backend_1.log"):
        assert name in files, sorted(files)
    secret = token().encode()
    assert not [name for name, data in files.items() if secret in data]
    assert token() not in result.stdout + result.stderr
    scanner_log = files["dev/logs/sample_scanner_1.log"].decode()
    assert scanner_log.count(f"[REDACTED:{spec.API_TOKEN_VAR}]") >= 3  # plain, JSON and URL copies
    env_copy = next(data for name, data in files.items() if name.startswith("dev/config/") and name.endswith("env"))
    assert f"{spec.API_TOKEN_VAR}=[REDACTED:{spec.API_TOKEN_VAR}]".encode() in env_copy
    assert b"=[REDACTED]" in files["dev/inspect.json"] and b"BACKEND_PORT=18080" not in files["dev/inspect.json"]
    assert fingerprint() == before  # read-only


def test_triage_names_an_unhealthy_container_and_its_health_output(healthy_stack):
    backend = container_of("backend")
    docker("exec", backend, "touch", "/tmp/force-unhealthy")
    wait_for(lambda: health(backend) == "running/unhealthy", "backend to turn unhealthy")
    result = invoke("triage", "--host", "dev", "--json")
    assert result.rc == 1, result.stderr
    finding = result.checks("dev")["container unhealthy"]
    assert "sample_backend_1 fails its health check; last check said: forced unhealthy" in finding["reason"]
    assert finding["data"]["evidence"] == "logs/sample_backend_1.log"


def test_triage_sees_a_version_mismatch_and_an_unfinished_journal(healthy_stack):
    kept = invoke("e2e", "--branch", "feature-wrong-version", "--host", "dev", "--keep", timeout=300)
    try:
        assert kept.rc == 1, kept.stderr  # RED: the frontend serves 1.5.2 where the backend says 1.4.2
        result = invoke("triage", "--host", "dev", "--json")
        assert result.rc == 1, result.stderr
        checks = result.checks("dev")
        assert "1.4.2" in checks["version mismatch"]["reason"] and "1.5.2" in checks["version mismatch"]["reason"]
        assert "invoke restore --host dev" in checks["stale e2e lease or unfinished journal"]["reason"]
    finally:
        assert invoke("restore", "--host", "dev", timeout=300).rc == 0
