"""Read-only work costs one round trip per host: the engine batches a stretch of read-only tasks into one
host command (engine/prefetch.py), and each check still gets its own record, reason and verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = """#!/bin/sh
case "$1" in
  version) echo 26.1.5 ;;
  *) echo '[]' ;;
esac
"""


def check(tmp_path: Path, **extra: str) -> dict:
    (tmp_path / "bin").mkdir(exist_ok=True)
    docker = tmp_path / "bin" / "docker"
    docker.write_text(DOCKER)
    docker.chmod(0o755)
    stack = tmp_path / "stack"
    stack.mkdir(exist_ok=True)
    (stack / "VERSION").write_text("1.2.3\n")
    variables = {"stack_dir": str(stack), "state_dir": str(tmp_path / "state"), **extra}
    lines = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in variables.items())
    (tmp_path / "inv.yml").write_text(f"all:\n  hosts:\n    here:\n      ansible_connection: local\n{lines}")
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}
    proc = subprocess.run([sys.executable, "-m", "invoke", "check", "--host", "here", "--inventory",
                           str(tmp_path / "inv.yml"), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    return json.loads(proc.stdout)


def test_a_healthy_check_is_one_command_on_the_host(tmp_path):
    host = check(tmp_path)["hosts"]["here"]
    assert host["verdict"] == "pass", host
    names = [c["name"] for c in host["checks"] if c["status"] == "ok"]
    assert {"reachable", "docker engine", "stack VERSION", "e2e lease"} <= set(names)
    assert any(n.startswith("disk: ") for n in names)
    assert host["remote_commands"] == 1
    assert host["checks"][0]["data"]["rtt_ms"] > 0  # the batch's round trip, not a cached zero


def test_a_failing_read_in_the_batch_hides_no_other_check(tmp_path):
    host = check(tmp_path, disk_paths=["/", "/no/such/path"], stack_dir=str(tmp_path / "gone"))["hosts"]["here"]
    status = {c["name"]: c["status"] for c in host["checks"]}
    assert status["stack VERSION"] == "failed" and status["disk: /no/such/path"] == "failed"
    assert status["reachable"] == status["docker engine"] == status["e2e lease"] == status["disk: /"] == "ok"
