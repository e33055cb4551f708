"""`invoke matrix --lifecycle --faults` against the real lab: the lifecycle and every fault are judged, the run is
green only because each broken stack was seen as broken, and the host is exactly as it was afterwards, also
when the run is killed with -9 in the middle of a fault and `invoke restore` finishes it from the journal."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.config import inventory
from orchestrator.host import Host
from orchestrator.host.shellcmd import call
from orchestrator.lab import link, spec
from orchestrator.ops.e2e import scripts
from tests.integration.labkit import container_of, fingerprint, health, invoke, stack_healthy
from tests.integration.test_e2e import JOURNAL, LEASE, Background, journal_ops
from tests.waiting import wait_for

pytestmark = pytest.mark.lab

RUN = ("matrix", "--host", "dev", "--scenario", "baseline")
LIFECYCLE = ["back to the baseline", "stack restart", "change one axis", "secrets preserved by the change",
             "revert", "secrets preserved by the revert",
             *(f"{step}: {s}" for step in ("baseline ready", "healthy after the restart", "ready after the change",
                                           "ready after the revert") for s in spec.STACK_SERVICES)]
FAULTS = ["steady state before",
          *(f"{f}: {step}" for f in ("stop scanner", "pause backend", "remove frontend")
            for step in ("injected", "check fails", "healthy again")),
          "link cut: command unreachable at once", "link cut: check through dev-wan unreachable",
          "link cut: healed, check through dev-wan", "link blackhole: keepalive notices",
          "link blackhole: healed, check through dev-wan"]
KEEPALIVE_S = 2  # inventory/lab.yml: dev-wan's keepalive_interval


@pytest.fixture
def before(healthy_stack: None) -> Iterator[dict[str, Any]]:
    """The host's fingerprint before the test; whatever the test did, the link is healed and nothing is left."""
    link.heal()
    snapshot = fingerprint()
    assert snapshot["state_files"] == {"lease.json": False, "journal.jsonl": False}, "a previous run left state"
    try:
        yield snapshot
    finally:
        link.heal()
        if JOURNAL.exists() or LEASE.exists():  # a failed test must not poison the next ones
            invoke("restore", "--host", "dev", "--force", timeout=300)


def test_lifecycle_and_faults_are_each_judged_and_the_host_is_put_back(before: dict[str, Any]) -> None:
    result = invoke(*RUN, "--lifecycle", "--faults", "--json", timeout=600)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checks = result.checks("dev")
    for name in [f"lifecycle: {n}" for n in LIFECYCLE] + [f"fault: {n}" for n in FAULTS]:
        assert name in checks, f"{name} missing: {sorted(checks)}"
        assert checks[name]["status"] == "ok", checks[name]
    scenarios = {s["name"]: s["status"] for s in result.json()["matrix"]["scenarios"]}
    assert scenarios == {"baseline": "passed", "lifecycle": "passed", "faults": "passed"}

    # One axis changed and reverted: the first with another value (backend_mode), which only backend sees.
    assert "recreated only backend" in checks["lifecycle: change one axis"]["reason"]
    assert "recreated only backend" in checks["lifecycle: revert"]["reason"]
    # Each fault was seen by the tool's own check, naming what is broken.
    assert "sample_scanner_1 is exited" in checks["fault: stop scanner: check fails"]["reason"]
    assert "has no container" in checks["fault: remove frontend: check fails"]["reason"]
    paused = checks["fault: pause backend: check fails"]["data"]
    assert paused["verdict"] == "fail" and paused["failed"]["containers: backend"] == "sample_backend_1 is paused"
    assert "timed out" in paused["failed"]["http: backend /api/version"], paused
    # What docker 20.10 really says of a paused container: unhealthy at once, with no failed probe (its health
    # monitor is stopped on pause and the status set to unhealthy); not "healthy", not "eventually".
    assert paused["docker"] == {"status": "paused", "health": "unhealthy", "failing_streak": 0}, paused
    # The link: a cut is noticed at once; a blackhole within a few keepalive intervals, long before the timeout.
    cut = checks["fault: link cut: command unreachable at once"]["data"]
    assert cut["seconds"] < 2, cut
    silent = checks["fault: link blackhole: keepalive notices"]["data"]
    assert 3 * KEEPALIVE_S - 1 <= silent["seconds"] <= 4 * KEEPALIVE_S + 3 < silent["command_timeout"] / 2, silent

    assert fingerprint() == before


def _killed_mid_fault(injected: Any, what: str, before: dict[str, Any]) -> None:
    run = Background(*RUN, "--faults")
    try:
        wait_for(injected, what, timeout=180, interval=0.05)
    finally:
        run.signal(signal.SIGKILL)
        run.wait(timeout=60)
    assert JOURNAL.exists() and LEASE.exists()
    assert any(op.startswith("mutation:fault: ") for op in journal_ops()), journal_ops()

    restored = invoke("restore", "--host", "dev", timeout=300)
    assert restored.rc == 0, restored.stdout + restored.stderr
    assert fingerprint() == before
    wait_for(stack_healthy, "the stack to be healthy after the restore", timeout=60)
    assert link.state()["state"] == "open"


def test_kill_9_while_the_scanner_is_stopped_then_restore_puts_the_host_back(before: dict[str, Any]) -> None:
    def scanner_stopped() -> bool:
        try:
            return health(container_of("scanner")).startswith("exited")
        except AssertionError:
            return False

    _killed_mid_fault(scanner_stopped, "the stop-scanner fault to be injected", before)


def test_kill_9_while_the_link_is_cut_then_restore_heals_it(before: dict[str, Any]) -> None:
    def cut() -> bool:
        state = link.state() or {}
        return state.get("state") == "cut" and any("fault: link cut" in op for op in journal_ops())

    _killed_mid_fault(cut, "the link to be cut", before)


def test_the_journaled_link_heal_is_the_relay_s_own_protocol(before: dict[str, Any]) -> None:
    """link_heal.sh (what a restore runs) heals a blackholed link, and again changes nothing."""
    link.blackhole()
    with Host(inventory.load().hosts["local"]) as local:
        first = local.run(call(scripts.LINK_HEAL, str(link.LAB.dir)), timeout=30).stdout.split()
        assert first[0] == "HEALED" and link.state()["state"] == "open", (first, link.state())
        again = local.run(call(scripts.LINK_HEAL, str(link.LAB.dir)), timeout=30).stdout.split()
        assert again == ["OPEN", first[1]], again
    assert json.loads(link.LAB.control_file.read_text())["delay_ms"] == spec.LINK.delay_ms
