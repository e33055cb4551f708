"""SIGTERM / SIGINT end every task promptly with exit 3, and the command running on the host is killed too.

Each task runs against a local host (same code path as SSH, see test_host_local) whose `docker` is a stand-in
that hangs, so the task is caught mid-command on the host; the signal must end the task within seconds and
leave no host-side process behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = [signal.SIGTERM, signal.SIGINT]
PROMPT = 8  # seconds: "promptly" (the host commands themselves are bounded by minutes)


def gone(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1


def interrupt(proc: subprocess.Popen[str], ready: Path, sig: signal.Signals) -> tuple[str, str, float]:
    try:
        wait_for(ready.exists, "the task to reach its host command", timeout=30, interval=0.05)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        return out, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()  # our own child, by pid


def start(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    env = {"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts"), "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, "-m", "invoke", *argv, "--inventory", str(tmp_path / "inv.yml"),
                             "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def hanging_docker(tmp_path: Path, marker: str) -> Path:
    """A `docker` that says it started, then hangs: the task is now waiting on a host command."""
    started = tmp_path / "started"
    (tmp_path / "bin").mkdir(exist_ok=True)
    docker = tmp_path / "bin" / "docker"
    docker.write_text(f"#!/bin/sh\ntouch {started}\nexec {marker}\n")
    docker.chmod(0o755)
    return started


def inventory(tmp_path: Path, **variables: str) -> None:
    lines = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in variables.items())
    (tmp_path / "inv.yml").write_text(f"all:\n  hosts:\n    here:\n      ansible_connection: local\n{lines}")


def assert_interrupted(out: str, err: str, elapsed: float, proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.returncode == 3, err
    assert elapsed < PROMPT, f"took {elapsed:.1f}s to act on the signal"
    assert json.loads(out.strip().splitlines()[-1] if out.strip().startswith("{\"") else out)["exit_code"] == 3
    assert "Traceback" not in err, err
    wait_for(lambda: gone(marker), "the host command to be killed", timeout=20, interval=0.05)


@pytest.mark.parametrize("sig", SIGNALS)
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


@pytest.mark.parametrize("sig", SIGNALS)
def test_check_through_invoke_is_interrupted_with_exit_3(tmp_path, sig):
    marker = f"sleep 4{sig.value}1.25"
    started = hanging_docker(tmp_path, marker)
    inventory(tmp_path)
    proc = start(tmp_path, "check", "--host", "here")
    assert_interrupted(*interrupt(proc, started, sig), proc, marker)


@pytest.mark.parametrize("sig", SIGNALS)
def test_triage_is_interrupted_with_exit_3(tmp_path, sig):
    marker = f"sleep 4{sig.value}2.25"
    started = hanging_docker(tmp_path, marker)
    inventory(tmp_path, compose_project="sample")
    proc = start(tmp_path, "triage", "--host", "here")
    assert_interrupted(*interrupt(proc, started, sig), proc, marker)


@pytest.mark.parametrize("sig", SIGNALS)
def test_prune_waiting_for_a_held_lock_is_interrupted_and_ends_its_flock_on_the_host(tmp_path, sig):
    """The measured defect: SIGINT was acted on only after 12.6 s (exit 1); SIGTERM left `flock -w` running."""
    lock = tmp_path / "prune.lock"
    lock.touch()
    wait = 40 + sig.value  # a lock-wait nobody else uses: the waiting flock is found by it
    holder = subprocess.Popen(["flock", str(lock), "sleep", "600"])
    try:
        wait_for(lambda: subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 1, "the lock to be held",
                 timeout=10, interval=0.05)
        inventory(tmp_path, prune_lock_file=str(lock))
        (tmp_path / "bin").mkdir()
        proc = start(tmp_path, "prune", "--host", "here", "--lock-wait", str(wait))
        marker = f"flock -w {wait} 9"
        waiting = tmp_path / "waiting"
        wait_for(lambda: not gone(marker) and (waiting.touch() or True), "prune to wait on the lock", timeout=30,
                 interval=0.05)
        out, err, elapsed = interrupt(proc, waiting, sig)
        assert_interrupted(out, err, elapsed, proc, marker)
    finally:
        holder.kill()  # our own child, by pid
        holder.wait()


@pytest.mark.parametrize("sig", SIGNALS)
def test_e2e_is_interrupted_with_exit_3(tmp_path, sig):
    marker = f"sleep 4{sig.value}3.25"
    started = hanging_docker(tmp_path, marker)
    (tmp_path / "stack").mkdir()
    inventory(tmp_path, stack_dir=str(tmp_path / "stack"), compose_project="sample",
              state_dir=str(tmp_path / "state"), test_command="true")
    proc = start(tmp_path, "e2e", "--branch", "main", "--host", "here")
    assert_interrupted(*interrupt(proc, started, sig), proc, marker)
    assert not (tmp_path / "state" / "lease.json").exists(), "interrupted in preflight: nothing was taken"


@pytest.mark.parametrize("sig", SIGNALS)
def test_restore_is_interrupted_with_exit_3_and_keeps_the_journal(tmp_path, sig):
    """A restore is idempotent: interrupted, it keeps the journal, so running it again finishes the job."""
    marker = f"sleep 4{sig.value}4.25"
    started = hanging_docker(tmp_path, marker)
    state = tmp_path / "state"
    state.mkdir()
    entries = [{"seq": 1, "op": "begin", "run_id": "r1", "host": "here"},
               {"seq": 2, "op": "baseline", "run_id": "r1", "host": "here", "command": "docker ps", "facts": {}}]
    (state / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    (tmp_path / "stack").mkdir()
    inventory(tmp_path, stack_dir=str(tmp_path / "stack"), compose_project="sample", state_dir=str(state))
    proc = start(tmp_path, "restore", "--host", "here")
    assert_interrupted(*interrupt(proc, started, sig), proc, marker)
    assert (state / "journal.jsonl").exists()


@pytest.mark.parametrize("sig", SIGNALS)
def test_verify_waiting_on_a_running_pipeline_is_interrupted_with_exit_3(tmp_path, sig):
    """verify may wait minutes for CI; a signal must end that wait at once, not at the next poll or the deadline."""
    import http.server
    import threading

    asked = tmp_path / "asked"
    running = {"number": 7, "status": "running", "event": "push", "branch": "main", "commit": "a" * 40,
               "workflows": [{"id": 1, "pid": 1, "name": "ci", "state": "running",
                              "children": [{"id": 2, "pid": 2, "name": "build", "state": "running"}]}]}

    class Woodpecker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = [running] if self.path.split("?")[0].endswith("/pipelines") else running
            if self.path.startswith("/api/repos/5/pipelines/7"):
                asked.touch()
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Woodpecker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token = tmp_path / "token"
        token.write_text("tok-signal-test-123\n")
        token.chmod(0o600)
        ci = {"server": f"http://127.0.0.1:{server.server_address[1]}", "token_file": str(token), "wait": 600,
              "poll": 30, "repos": [{"name": "backend", "id": 5}]}
        (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    here:\n      ansible_connection: local\n"
                                          f"      ci: {json.dumps(ci)}\n")
        proc = start(tmp_path, "verify", "--host", "here", "--evidence", str(tmp_path / "evidence.md"))
        out, err, elapsed = interrupt(proc, asked, sig)
        assert proc.returncode == 3, err
        assert elapsed < PROMPT, f"took {elapsed:.1f}s to act on the signal"
        assert json.loads(out)["exit_code"] == 3 and "Traceback" not in err
    finally:
        server.shutdown()
        server.server_close()
