"""`invoke flow` as users call it: bad input exits 2 before any request (naming the flag, the mode, the file and
its mode); an unreachable target exits 3; the secrets never reach the console."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.helpers import write

ROOT = Path(__file__).resolve().parents[3]
SECRET = "pw-never-shown-" + "7" * 12


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def flow(tmp_path: Path):
    secrets = write(tmp_path / "admin.env", f"ADMIN_EMAIL=admin@lab.test\nADMIN_PASSWORD={SECRET}\n")
    os.chmod(secrets, 0o600)
    inventory = write(tmp_path / "inv.yml", f"""\
        all:
          hosts:
            dev:
              ansible_connection: local
              flow_base_url: http://127.0.0.1:{closed_port()}
              flow_secrets_file: {secrets}
        """)
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "invoke", "flow", "--flow", "marketplace", "--inventory",
                               str(inventory), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    run.secrets = secrets  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize(("args", "message"), [
    (("--concurrency", "1,two"), "--concurrency must be a whole number, got 'two'"),
    (("--concurrency", "1,,2"), "--concurrency must be a comma list"),
    (("--concurrency", "0"), "--concurrency must be at least 1"),
    (("--rounds", "many"), "--rounds must be a whole number"),
    (("--deadline", "nan"), "--deadline must be a number"),
    (("--mode", "replay"), "--mode 'replay' is not a mode of flow marketplace"),
])
def test_bad_flags_exit_2_naming_them(flow, tmp_path, args, message):
    proc = flow(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr.replace("\n", " ")
    assert not (tmp_path / "artifacts").exists()


def test_a_secrets_file_others_can_read_is_refused_naming_file_and_mode(flow):
    os.chmod(flow.secrets, 0o640)
    proc = flow()
    assert proc.returncode == 2
    assert f"{flow.secrets} is mode 0640" in proc.stderr.replace("\n", "")


def test_an_unreachable_target_exits_3_with_a_report_and_no_secret(flow, tmp_path):
    proc = flow("--json")
    assert proc.returncode == 3, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verdict"] == "error" and "unreachable" in result["flow"]["blocked"]
    run_dir = tmp_path / "artifacts" / result["run_id"]
    assert {"flow.json", "flow.md", "report.json", "junit.xml"} <= {p.name for p in run_dir.iterdir()}
    everything = proc.stdout + proc.stderr + "".join(p.read_text() for p in run_dir.rglob("*") if p.is_file())
    assert SECRET not in everything
