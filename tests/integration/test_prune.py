"""`invoke prune` against the lab's agent: a real flock, a real Docker Engine, real leftovers.

A hung engine is made real too: the agent's dockerd (started by the lab, ended only by its pid) is
paused with SIGSTOP, so docker commands block exactly as they do when an engine wedges.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from orchestrator.lab import dockerd, spec
from tests.integration.labkit import (
    LAB_INVENTORY,
    ROOT,
    Cli,
    agent_inventory,
    ci_volume_data,
    hold_prune_lock,
    invoke,
    lock_is_free,
    make_leftovers,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def leftovers(lab_up) -> Iterator[None]:
    make_leftovers()
    assert ci_volume_data() == spec.CI_VOLUME_CONTENT
    yield
    assert lock_is_free(), "a prune must never leave the lock held"


@contextmanager
def engine_paused() -> Iterator[None]:
    """The agent's dockerd stops answering (SIGSTOP to the pid the lab started), until the block ends."""
    pid = dockerd.pid(spec.AGENT)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def background(*args: str) -> tuple[subprocess.Popen[str], Path]:
    log = Path(f"/tmp/prune-{time.monotonic_ns()}.log")
    with log.open("w") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, stdin=subprocess.DEVNULL, text=True)
    return proc, log


def finish(proc: subprocess.Popen[str], log: Path, timeout: float = 180) -> Cli:
    out, _ = proc.communicate(timeout=timeout)
    return Cli(proc.returncode, out, log.read_text(), 0.0)


def live(user: str, needle: str) -> list[str]:
    out = subprocess.run(["ps", "-u", user, "-o", "stat=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if needle in line and not line.startswith("Z")]


def test_prune_removes_leftovers_but_never_the_volume_or_its_data(leftovers):
    before = agent_inventory()
    assert any(c.startswith("leftover-1 ") for c in before["containers"])
    result = invoke("prune", "--host", "agent", "--older-than", "0s", "--json", timeout=180)
    assert result.rc == 0, result.stderr
    checks = result.checks("agent")
    assert [checks[s]["status"] for s in ("lock", "stopped containers", "dangling images", "old unused images",
                                          "build cache", "disk")] == ["ok"] * 6
    assert checks["old unused images"]["data"]["bytes"] > 0
    after = agent_inventory()
    assert not any(c.startswith("leftover-") for c in after["containers"])
    assert spec.CI_VOLUME in after["volumes"] and ci_volume_data() == spec.CI_VOLUME_CONTENT
    assert "disk before / after" in result.stderr and "df " in result.stderr


def test_dry_run_lists_what_would_go_and_changes_nothing(leftovers):
    before = agent_inventory()
    result = invoke("prune", "--host", "agent", "--older-than", "0s", "--dry-run")
    assert result.rc == 0, result.stderr
    assert "would remove" in result.stdout and "leftover-1" in result.stdout
    assert agent_inventory() == before


def test_a_step_that_hangs_is_killed_on_the_host_and_the_lock_released(leftovers):
    with engine_paused():
        started = time.monotonic()
        result = invoke("prune", "--host", "agent", "--timeout", "3", "--json", timeout=120)
        elapsed = time.monotonic() - started
        assert result.rc == 3, result.stderr
        checks = result.checks("agent")
        assert checks["stopped containers"]["reason"].startswith("timed out after 3s: killed on the host")
        assert checks["old unused images"]["status"] == "skipped"
        assert lock_is_free()
        assert not live(spec.AGENT.user, "docker container prune"), "the timed-out step must be ended"
        assert elapsed < 60
    assert ci_volume_data() == spec.CI_VOLUME_CONTENT


def test_two_prunes_serialize_on_the_lock(leftovers):
    with engine_paused():
        first, first_log = background("prune", "--host", "agent", "--timeout", "60")
        wait_for(lambda: not lock_is_free(), "the first prune to hold the lock")
        second = invoke("prune", "--host", "agent", "--lock-wait", "1", timeout=120)
        assert second.rc == 3, second.stderr
        assert "still held after 1s by pid" in second.stdout and "nothing pruned" in second.stdout
        third, third_log = background("prune", "--host", "agent", "--lock-wait", "120", "--older-than", "0s")
        wait_for(lambda: "taking" in third_log.read_text(), "the third prune to wait for the lock")
        assert third.poll() is None  # it waits: the first still holds the lock
    assert finish(first, first_log).rc == 0
    result = finish(third, third_log)
    assert result.rc == 0, result.stderr
    assert lock_is_free() and ci_volume_data() == spec.CI_VOLUME_CONTENT


def test_a_stuck_prune_is_reported_by_check_and_kill_stuck_ends_only_that_pid(leftovers, tmp_path):
    inventory = tmp_path / "lab.yml"
    inventory.write_text(LAB_INVENTORY.read_text().replace("prune_stuck_after: 600", "prune_stuck_after: 1"))
    holder = hold_prune_lock()
    bystander = subprocess.Popen(["runuser", "-u", spec.AGENT.user, "--", "sleep", "600"])
    try:
        def reported() -> bool:
            check = invoke("check", "--host", "agent", "--inventory", str(inventory), "--json")
            return check.rc == 1 and f"pid {holder.pid}" in check.checks("agent")["stuck prunes"]["reason"]
        wait_for(reported, "check to report the stuck lock holder", timeout=60, interval=0.5)

        result = invoke("prune", "--host", "agent", "--inventory", str(inventory), "--kill-stuck", timeout=180)
        assert result.rc == 0, result.stdout + result.stderr
        assert f"stuck: pid {holder.pid}" in result.stderr  # printed before it was ended
        wait_for(lambda: holder.poll() is not None, "the stuck holder to end")
        assert bystander.poll() is None, "only the stuck pid may be ended"
        assert lock_is_free()
    finally:
        for proc in (holder, bystander):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_local_host_prunes_through_the_same_code(lab_up):
    result = invoke("prune", "--host", "local", "--dry-run")
    assert result.rc == 0, result.stderr
    assert "local: PASS" in result.stdout
