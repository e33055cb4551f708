"""`invoke e2e` and `invoke restore` against the real lab: real sshd, Docker Engine, compose and git.

Every test compares the host's fingerprint (read as root straight from this machine, not through the
orchestrator) before and after: whatever happened, the host must be exactly as it was.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from orchestrator.lab import spec
from tests.integration.labkit import ROOT, Cli, docker, fingerprint, invoke, restart_sshd
from tests.waiting import wait_for

pytestmark = pytest.mark.lab
JOURNAL = spec.STATE_DIR / "journal.jsonl"
LEASE = spec.STATE_DIR / "lease.json"


class Background:
    """The real CLI in the background, its stderr (progress lines) readable while it runs."""

    def __init__(self, *args: str):
        self.log = tempfile.NamedTemporaryFile(prefix="e2e-", suffix=".log", delete=False)  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL, text=True)

    def stderr(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait(self, timeout: float = 300) -> Cli:
        out, _ = self.proc.communicate(timeout=timeout)
        return Cli(self.proc.returncode, out, self.stderr(), time.monotonic() - self.started)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)  # our own child, by pid


def journal_ops() -> list[str]:
    try:
        lines = JOURNAL.read_text().splitlines()
    except FileNotFoundError:
        return []
    return [f"{e['op']}:{e.get('title', '')}" for e in map(json.loads, lines)]


def deploying() -> bool:
    return any(op.startswith("mutation:deploy ") for op in journal_ops())


def process_of(user: str, needle: str) -> list[str]:
    """Live processes of `user` whose command line holds `needle` (zombies are dead: PID 1 here never
    reaps orphans)."""
    out = subprocess.run(["ps", "-u", user, "-o", "stat=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if needle in line and not line.startswith("Z")]


@pytest.fixture
def before(healthy_stack):
    """The host's fingerprint before the test; after it, the host must match it again."""
    snapshot = fingerprint()
    assert snapshot["state_files"] == {"lease.json": False, "journal.jsonl": False}, "a previous run left state"
    yield snapshot
    if JOURNAL.exists() or LEASE.exists():  # a failed test must not poison the next ones
        invoke("restore", "--host", "dev", "--force", timeout=300)


def test_a_crash_looping_branch_is_red_as_soon_as_that_is_certain(before):
    """Readiness stops waiting when it can no longer succeed (restarts past max_restarts), not at its deadline."""
    result = invoke("e2e", "--branch", "feature-crash-loop", "--host", "dev", "--ready-timeout", "120", "--json",
                    timeout=300)
    assert result.rc == 1, result.stderr
    ready = result.checks("dev")["containers ready"]
    assert ready["status"] == "failed" and "a crash loop" in ready["reason"], ready
    assert ready["duration"] < 40, ready  # certain within seconds of the deploy; the deadline was 120 s
    assert result.json()["e2e"]["restore"]["ok"]
    assert fingerprint() == before


def test_healthy_branch_is_green_and_the_host_is_put_back_exactly(before):
    result = invoke("e2e", "--branch", "feature-good", "--host", "dev", "--json", timeout=300)
    assert result.rc == 0, result.stderr
    report = result.json()
    assert report["verdict"] == "pass" and report["e2e"]["result"] == "GREEN"
    checks = result.checks("dev")
    assert "1.5.0" in checks["deploy"]["reason"]
    assert checks["version served: backend /api/version"]["status"] == "ok"
    assert checks["stack VERSION"]["reason"].endswith("'1.5.0'")
    assert checks["tests"]["status"] == "ok"
    assert checks["e2e lease"]["reason"].startswith("leased by")  # visible to check while the run holds it
    assert report["e2e"]["restore"]["ok"] and report["e2e"]["restore"]["lease"] == "RELEASED"
    assert "GREEN feature-good" in result.stderr
    assert fingerprint() == before


@pytest.mark.parametrize(("branch", "flags", "reason"), [
    ("feature-unhealthy", ["--ready-timeout", "8"], "containers ready: backend"),
    ("feature-tests-fail", [], "test: checkout total: expected 42, got 41 — likely cause: an off-by-one in the "
                              "checkout total"),
    ("feature-no-tests", [], "ran no tests: the test command exited 0 but reported 0 test(s)"),
    ("feature-tests-hang", ["--test-timeout", "4"], "tests timed out after 4s (killed on the host)"),
])
def test_bad_branch_is_red_with_its_reason_and_the_host_is_put_back(before, branch, flags, reason):
    result = invoke("e2e", "--branch", branch, "--host", "dev", *flags, timeout=300)
    assert result.rc == 1, result.stdout + result.stderr
    verdict = [line for line in result.stdout.splitlines() if line.startswith(("RED", "GREEN", "ERROR"))]
    assert verdict and verdict[0].startswith(f"RED {branch}"), result.stdout
    assert reason in result.stdout.replace("\n", " ")
    assert "restored:" in result.stdout
    assert fingerprint() == before
    assert not process_of(spec.DEV.user, "sleep 3600"), "the hanging test must be ended on the host"


def engine_container_ids() -> set[str]:
    """Every container on dev's engine (any project, any state), read as root through its socket."""
    return set(docker("ps", "-aq", "--no-trunc").stdout.split())


def test_a_branch_whose_build_fails_is_red_and_leaves_no_container_behind(before):
    """The classic builder keeps a failed RUN step's container: the run must not leave it on dev."""
    containers = engine_container_ids()
    result = invoke("e2e", "--branch", "feature-build-fails", "--host", "dev", "--json", timeout=300)
    assert result.rc == 1, result.stdout + result.stderr
    report = result.json()
    assert report["e2e"]["result"] == "RED"
    deploy = result.checks("dev")["deploy"]
    assert deploy["status"] == "failed" and "install failed: dependency not found" in deploy["reason"], deploy
    restore = report["e2e"]["restore"]
    assert restore["ok"] and restore["lease"] == "RELEASED", restore["problems"]
    assert engine_container_ids() - containers == set(), docker("ps", "-a", "--no-trunc").stdout
    assert engine_container_ids() == containers  # the build never started the stack: nothing re-created either
    assert fingerprint() == before


def test_the_restore_removes_a_real_build_leftover_and_nothing_else(before, tmp_path):
    """Where --force-rm does not apply (compose v2 ignores it), the restore's DROP_BUILD_LEFTOVERS removes what
    the classic builder left on dev's engine: a failed step's stopped container, and only that."""
    from orchestrator.ops.e2e import scripts

    known = engine_container_ids()
    (tmp_path / "Dockerfile").write_text(f"FROM {spec.BASE_IMAGE}\nRUN touch /partial && exit 1\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DOCKER_HOST": spec.DEV.docker_host, "DOCKER_BUILDKIT": "0"}
    build = subprocess.run(["docker", "build", "--network", "host", "-q", str(tmp_path)], env=env,
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    left = engine_container_ids() - known
    try:
        assert build.returncode != 0 and len(left) == 1, build.stdout + build.stderr
        drop = subprocess.run(["sh", "-c", scripts.call(scripts.DROP_BUILD_LEFTOVERS, *sorted(known))], env=env,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert drop.returncode == 0, drop.stderr
        assert drop.stdout.split()[:2] == ["REMOVED", *left], drop.stdout
        assert engine_container_ids() == known
    finally:
        for container in left & engine_container_ids():  # only what this test made
            docker("rm", container, check=False)
    assert fingerprint() == before


def test_check_mode_runs_the_health_checks_but_not_the_test_command(before):
    result = invoke("e2e", "--branch", "feature-tests-fail", "--mode", "check", "--json", timeout=300)
    assert result.rc == 0, result.stderr
    checks = result.checks("dev")
    assert checks["tests"]["status"] == "skipped"
    assert checks["stack VERSION"]["reason"].endswith("'1.5.3'")
    assert fingerprint() == before


def test_sigint_during_deploy_restores_the_host(before):
    run = Background("e2e", "--branch", "feature-slow-build", "--host", "dev")
    wait_for(deploying, "the deploy to start (journal entry)", timeout=60, interval=0.05)
    run.signal(signal.SIGINT)
    result = run.wait()
    assert result.rc == 3, result.stderr
    assert "interrupted" in result.stderr and "restore: dev verified identical" in result.stderr
    assert fingerprint() == before
    assert not process_of(spec.DEV.user, "docker-compose"), "the interrupted deploy must be ended on the host"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_tests_restores_the_host(before, sig):
    run = Background("e2e", "--branch", "feature-slow-tests", "--host", "dev")
    wait_for(lambda: "dev | step 2/10" in run.stderr(), "the tests to be running", timeout=120)
    run.signal(sig)
    result = run.wait()
    assert result.rc == 3, result.stderr
    assert "restore: undo start tests" in result.stderr
    assert fingerprint() == before
    assert not process_of(spec.DEV.user, "e2e-tests.sh"), "the test command must be ended on the host"


def test_kill_9_mid_deploy_then_invoke_restore_puts_the_host_back(before):
    run = Background("e2e", "--branch", "feature-slow-build", "--host", "dev")
    wait_for(deploying, "the deploy to start (journal entry)", timeout=60, interval=0.05)
    run.signal(signal.SIGKILL)
    run.wait()
    assert JOURNAL.exists() and LEASE.exists()  # the dead run left its journal: nothing is lost

    again = invoke("e2e", "--branch", "feature-good", "--host", "dev", timeout=120)
    assert again.rc == 3 and "invoke restore --host dev" in again.stderr, again.stderr
    assert deploying(), "a refused run must not touch the journal"
    check = invoke("check", "--host", "dev", "--json")
    assert check.rc == 1 and "run `invoke restore --host dev`" in check.checks("dev")["e2e lease"]["reason"]

    restored = invoke("restore", "--host", "dev", timeout=300)
    assert restored.rc == 0, restored.stdout + restored.stderr
    assert "restored" in restored.stdout
    assert fingerprint() == before
    assert not process_of(spec.DEV.user, "docker-compose")


def test_a_second_e2e_is_refused_naming_the_holder(before):
    first = Background("e2e", "--branch", "feature-slow-tests", "--host", "dev")
    wait_for(lambda: "dev | step 1/10" in first.stderr(), "the first run's tests", timeout=120)
    holder = json.loads(LEASE.read_text())
    second = invoke("e2e", "--branch", "feature-good", "--host", "dev", timeout=120)
    assert second.rc == 3, second.stderr
    assert f"leased by {holder['owner']} (run {holder['run_id']}" in second.stderr
    check = invoke("check", "--host", "dev", "--json")
    assert check.checks("dev")["e2e lease"]["reason"].startswith(f"leased by {holder['owner']}")
    result = first.wait()
    assert result.rc == 0, result.stderr
    assert fingerprint() == before


def test_sshd_restarted_during_tests_the_run_reattaches(before):
    run = Background("e2e", "--branch", "feature-slow-tests", "--host", "dev")
    wait_for(lambda: "dev | step 2/10" in run.stderr(), "the tests to be running", timeout=120)
    restart_sshd(spec.DEV)
    result = run.wait()
    assert result.rc == 0, result.stderr
    assert "connection lost" in result.stderr and "re-attached after 1 dropped connection" in result.stdout
    assert "step 10/10" in result.stderr  # the log was streamed without a gap
    assert fingerprint() == before


def test_keep_leaves_the_branch_and_restore_puts_the_host_back(before):
    kept = invoke("e2e", "--branch", "feature-good", "--host", "dev", "--keep", timeout=300)
    assert kept.rc == 0, kept.stderr
    assert "KEPT" in kept.stdout and "invoke restore --host dev" in kept.stdout
    assert JOURNAL.exists() and LEASE.exists()
    assert fingerprint()["images"] != before["images"]
    restored = invoke("restore", "--host", "dev", timeout=300)
    assert restored.rc == 0, restored.stdout + restored.stderr
    assert fingerprint() == before


@pytest.mark.parametrize("branch", [
    "x;touch /tmp/shakedown-pwned", "$(touch /tmp/shakedown-pwned)", "`touch /tmp/shakedown-pwned`",
    "-rf", "feature..x", "feat ure", "a.lock", "/abs", "x//y", "x@{1}", "x\\y", "x|y", "x'y", "",
])
def test_hostile_branch_names_are_refused_before_any_change(before, branch):
    result = invoke("e2e", "--branch", branch, "--host", "dev")
    assert result.rc == 2, result.stderr
    assert "branch" in result.stderr
    assert not Path("/tmp/shakedown-pwned").exists()
    assert fingerprint() == before


def test_a_branch_that_does_not_exist_is_bad_input(before):
    result = invoke("e2e", "--branch", "feature-nope", "--host", "dev")
    assert result.rc == 2, result.stderr
    assert "'feature-nope' does not exist in" in result.stderr
    assert fingerprint() == before


def test_dry_run_prints_the_plan_and_changes_nothing(before):
    result = invoke("e2e", "--branch", "feature-good", "--host", "dev", "--dry-run")
    assert result.rc == 0, result.stderr
    for expected in ("DRY RUN", "[agent] sh -c <peer_borrow.sh>", "[dev] sh -c <deploy.sh>",
                     "feature-good", "[dev] sh -c <redeploy_baseline.sh>", "restore (always"):
        assert expected in result.stdout, expected
    assert fingerprint() == before


def test_restore_with_nothing_to_do_says_so(before):
    result = invoke("restore", "--host", "dev")
    assert result.rc == 0, result.stderr
    assert "nothing to restore" in result.stdout
    assert fingerprint() == before
