"""`invoke check` as users call it: bad input exits 2 before anything runs, naming what was wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.helpers import write

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "inventory" / "lab.yml"


@pytest.fixture
def invoke(tmp_path: Path):
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}
    env.pop("SHAKEDOWN_INVENTORY", None)

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", "check", *args], cwd=ROOT, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=60)

    return run


def test_unknown_host_exits_2_naming_host_and_inventory(invoke, tmp_path):
    proc = invoke("--host", "nosuchhost")
    assert proc.returncode == 2, proc.stderr
    assert "nosuchhost" in proc.stderr
    assert str(LAB) in proc.stderr
    assert not (tmp_path / "artifacts").exists()  # nothing ran, no run directory


def test_unknown_host_json_is_parseable(invoke):
    proc = invoke("--host", "nosuchhost", "--json")
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert data["verdict"] == "error" and data["exit_code"] == 2
    assert data["run_id"] and data["hosts"] == {}
    assert "nosuchhost" in data["error"]


def test_malformed_inventory_exits_2_naming_file_and_line(invoke, tmp_path):
    bad = write(tmp_path / "broken.yml", "all:\n  hosts:\n    h1:\n      ansible_prot: 22\n")
    proc = invoke("--inventory", str(bad), "--host", "h1")
    assert proc.returncode == 2
    assert f"{bad}:4" in proc.stderr
    assert "ansible_port" in proc.stderr  # the did-you-mean suggestion


def test_inventory_from_environment(invoke, tmp_path):
    bad = write(tmp_path / "env.yml", "all:\n  hosts:\n    h1:\n      x: a: b\n")
    proc = invoke("--host", "h1", SHAKEDOWN_INVENTORY=str(bad))
    assert proc.returncode == 2
    assert f"{bad}:4" in proc.stderr


@pytest.mark.parametrize("forks", ["0", "-3"])
def test_forks_below_one_exits_2(invoke, forks):
    proc = invoke("--host", "local", "--forks", forks, "--json")
    assert proc.returncode == 2
    assert "--forks" in proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2


NUMBER_FLAGS = [
    ("check", "--forks", "ten"), ("check", "--forks", "2.5"),
    ("triage", "--lines", "many"), ("triage", "--lines", "-1"), ("triage", "--forks", "x"),
    ("prune", "--lock-wait", "soon"), ("prune", "--lock-wait", "-1"), ("prune", "--timeout", "0"),
    ("prune", "--timeout", "nan"), ("prune", "--stuck-after", "1e999"), ("prune", "--forks", "-2"),
    ("prune", "--older-than", "3 days"),
    ("e2e", "--test-timeout", "forever"), ("e2e", "--test-timeout", "-5"), ("e2e", "--ready-timeout", "x"),
    ("bench", "--hosts", "lots"), ("bench", "--runs", "0"), ("bench", "--log-mb", "big"),
    ("bench", "--flows", "some"), ("bench", "--flows", "-1"), ("bench", "--flow-runs", "0"),
    ("bench", "--flow-concurrency", "many"),
]


@pytest.mark.parametrize(("task", "flag", "value"), NUMBER_FLAGS)
def test_a_number_flag_given_a_non_number_exits_2_naming_flag_and_value(tmp_path, task, flag, value):
    """Bad input, not a traceback: exit 2, the flag and the value named, the --json error shape, nothing run."""
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}
    extra = ["--branch", "main"] if task == "e2e" else []
    proc = subprocess.run([sys.executable, "-m", "invoke", task, *extra, f"{flag}={value}", "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert flag in proc.stderr and repr(value) in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["exit_code"] == 2
    assert not (tmp_path / "artifacts").exists() or not any((tmp_path / "artifacts").iterdir())
