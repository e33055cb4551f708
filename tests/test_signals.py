"""SIGTERM / SIGINT end a run promptly with exit 3, and the command running on the host is killed too."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_run_with_exit_3_and_kills_the_host_command(tmp_path, sig):
    marker = f"sleep 3{sig.value}7.25"
    started = tmp_path / "started"
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    here:\n      ansible_connection: local\n")
    (tmp_path / "slow.yml").write_text(f"""- hosts: all
  tasks:
    - shell: {{cmd: "touch {started} && {marker}"}}
      timeout: 600
    - name: never reached
      shell: {{cmd: "true"}}
""")
    code = ("import sys; from orchestrator.cli import run_playbook_task as r; "
            f"sys.exit(r('check', host='here', inventory_path='{tmp_path}/inv.yml', as_json=True, forks=1, "
            f"playbook_name='{tmp_path}/slow.yml'))")
    env = {"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        wait_for(started.exists, "the slow task to start", timeout=20, interval=0.05)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()  # our own child, by pid
    assert proc.returncode == 3, err
    assert time.monotonic() - sent < 15
    assert '"exit_code": 3' in out
    wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
             "the host command to be killed", timeout=20, interval=0.05)
