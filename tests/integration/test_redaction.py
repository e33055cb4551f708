"""Secrets never reach the console or artifacts: a branch whose tests print the stack's .env secret in
every shape runs through a real e2e, and neither its output nor any file of its run directory holds it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from orchestrator.lab import spec
from orchestrator.run import rundir as report
from tests.integration.labkit import fingerprint, invoke

pytestmark = pytest.mark.lab


def planted_token() -> str:
    env = (Path(spec.DEV.stack_dir or "") / ".env").read_text()
    return next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith(f"{spec.API_TOKEN_VAR}="))


def test_a_failing_e2e_that_prints_the_secret_leaks_it_nowhere(healthy_stack, tmp_path):
    token = planted_token()
    before = fingerprint()
    result = invoke("e2e", "--branch", "feature-leaky-tests", "--host", "dev", "--json", timeout=300,
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path)})
    assert result.rc == 1, result.stderr
    console = result.stdout + result.stderr
    assert token not in console
    assert f"[REDACTED:{spec.API_TOKEN_VAR}]" in console and "FAIL: login rejected" in console
    schema = json.loads((Path(report.__file__).parent / "report.schema.json").read_text())
    jsonschema.validate(result.json(), schema)  # e2e adds fields, never breaks the shared shape
    run_dir = tmp_path / result.json()["run_id"]
    md = (run_dir / "report.md").read_text()
    assert "## Residual risk" in md and "| S1." in md and "| fail |" in md
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any(p.name == "test.log" for p in files)
    # The rescue gathered the incident bundle while the failing branch was still deployed.
    names = {str(p.relative_to(run_dir)) for p in files}
    assert {"dev/inspect.json", "dev/logs/sample_scanner_1.log", "dev/disk.txt"} <= names, sorted(names)
    assert "1.5.7" in (run_dir / "dev" / "versions.txt").read_text()
    for path in files:
        assert token.encode() not in path.read_bytes(), path
    assert "[REDACTED:" in (run_dir / "dev" / "test.log").read_text()
    assert fingerprint() == before
