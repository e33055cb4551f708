"""The lab's latency-and-fault link: dev-wan is dev's sshd through the lab's relay (20 ms each way), which
tests cut, blackhole and heal. Every test leaves the link open at its default delay (the `link_open` fixture
heals it in a `finally`), so `--host all` stays green for the next one."""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from orchestrator import lab
from orchestrator.config import inventory
from orchestrator.errors import HostUnreachable
from orchestrator.host import KILL_GRACE, Host
from orchestrator.host.shellcmd import call, load
from orchestrator.lab import link, linkproto, spec
from tests.integration.labkit import invoke
from tests.waiting import wait_for

pytestmark = pytest.mark.lab

WAN = spec.LINK.name
ROUND_TRIP_MS = 2 * spec.LINK.delay_ms  # the delay is one way, in each direction
KEEPALIVE_S = 2  # inventory/lab.yml: dev-wan's keepalive_interval
CONNECT_TIMEOUT_S = 5  # inventory/lab.yml: all.vars.connect_timeout


@pytest.fixture
def link_open(lab_up: None) -> Iterator[None]:
    """The link open at its default delay for the test, and healed to it afterwards whatever the test did."""
    link.LAB.set(state="open", delay_ms=spec.LINK.delay_ms)
    try:
        yield
    finally:
        link.LAB.set(state="open", delay_ms=spec.LINK.delay_ms)


def running(marker: str) -> bool:
    """Whether a process with `marker` in its command line runs (dev's sshd is on this machine): read only."""
    return subprocess.run(["pgrep", "-f", marker], capture_output=True, timeout=10).returncode == 0


def command_ms(host: Host, count: int) -> float:
    """Median time of `true` on the host's open connection, in ms."""
    host.connect()
    return statistics.median(host.run("true").duration * 1000 for _ in range(count))


@dataclass
class Outcome:
    error: BaseException | None = None
    ended: float = 0.0


def run_in_background(host: Host, command: str, timeout: float, pidfile: str | None = None
                      ) -> tuple[threading.Thread, Outcome]:
    """host.run(command) on a thread of its own, so the test can break the link under it."""
    outcome = Outcome()

    def target() -> None:
        try:
            host.run(command, timeout=timeout, pidfile=pidfile)
        except BaseException as exc:  # the test inspects whatever ended the command
            outcome.error = exc
        outcome.ended = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


# --- (a) latency ---

def test_check_through_the_link_passes_and_pays_the_link_s_round_trips(healthy_stack: None,
                                                                      link_open: None) -> None:
    result = invoke("check", "--host", f"dev,{WAN}", "--json")
    assert result.rc == 0, result.stdout + result.stderr
    assert {n: c["status"] for n, c in result.checks(WAN).items()} == \
        {n: c["status"] for n, c in result.checks("dev").items()}
    wan_ms = result.checks(WAN)["reachable"]["data"]["rtt_ms"]
    dev_ms = result.checks("dev")["reachable"]["data"]["rtt_ms"]
    # ping times one command, the first on its connection: a channel open and an exec request, each waiting
    # for its answer, so two of the link's round trips at least. Straight to dev the same command takes ~55 ms
    # (not ~6 ms like later ones: mostly a stall on the first command's ACKs, which the relay does not copy),
    # so the difference between the two is no measure of the link; their order and the floor are.
    assert wan_ms >= 2 * ROUND_TRIP_MS and wan_ms > dev_ms, (wan_ms, dev_ms)


def test_each_command_on_an_open_connection_pays_the_link_s_delay_as_set(lab_up: None, link_open: None) -> None:
    inv = inventory.load()
    with Host(inv.hosts["dev"]) as dev, Host(inv.hosts[WAN]) as wan:
        dev_ms, wan_ms = command_ms(dev, 5), command_ms(wan, 5)
        assert dev_ms < ROUND_TRIP_MS <= wan_ms, (dev_ms, wan_ms)
        assert link.set_delay(100)["delay_ms"] == 100
        slow_ms = command_ms(wan, 3)
        assert slow_ms >= 2 * 100, slow_ms  # the same connection, the new delay


# --- (b) cut ---

def test_a_cut_mid_command_ends_it_at_once_as_unreachable_and_the_host_ends_the_command(
        lab_up: None, link_open: None) -> None:
    marker = "sleep 31.4159"  # unique: found by pgrep on dev (this machine), never killed by name
    host_timeout = 4.0
    with Host(inventory.load().hosts[WAN]) as host:
        host.connect()
        thread, outcome = run_in_background(host, marker, host_timeout)
        wait_for(lambda: running(marker), "the command to run on dev", timeout=10, interval=0.02)
        cut_at = time.monotonic()
        assert link.cut()["last_cut"] >= 1
        thread.join(10)
        assert not thread.is_alive(), "the run hangs after the cut"
        assert isinstance(outcome.error, HostUnreachable), outcome.error
        assert f"{WAN}: connection lost" in str(outcome.error)
        assert outcome.ended - cut_at < 2
    # Nobody can reach the host to end it: its own timeout does (timeout -k), however the connection ended.
    wait_for(lambda: not running(marker), "the host-side timeout to end the command",
             timeout=host_timeout + KILL_GRACE + 5, interval=0.1)


def test_a_cut_link_fails_a_check_at_once_naming_the_host_and_heal_brings_it_back(
        healthy_stack: None, link_open: None) -> None:
    link.cut()
    result = invoke("check", "--host", WAN, "--json")
    assert result.rc == 3, result.stdout + result.stderr
    unreachable = result.json()["hosts"][WAN]["unreachable"]
    assert WAN in unreachable and "127.0.0.1:2322" in unreachable
    assert result.elapsed < 10  # an RST at once, no timeout waited for
    link.heal()
    assert invoke("check", "--host", WAN).rc == 0


# --- (c) blackhole ---

def test_a_blackholed_link_fails_a_check_within_the_connect_timeout_and_heal_brings_it_back(
        healthy_stack: None, link_open: None) -> None:
    link.blackhole()
    result = invoke("check", "--host", WAN, "--json")
    assert result.rc == 3, result.stdout + result.stderr
    assert WAN in result.json()["hosts"][WAN]["unreachable"]
    # The banner never comes: connect_timeout bounds it (plus process start-up), far below the command timeout.
    assert result.elapsed < CONNECT_TIMEOUT_S + 10, result.elapsed
    link.heal()
    healed = invoke("check", "--host", WAN, "--json")
    assert healed.rc == 0, healed.stdout + healed.stderr


def test_a_blackhole_mid_command_is_noticed_by_keepalive_not_at_the_command_timeout(
        lab_up: None, link_open: None) -> None:
    """A peer that goes silent on an open connection: without keepalive answers nothing ends the wait but the
    command's own timeout (60 s here, plus grace); with them it ends after a few keepalive intervals."""
    marker = "sleep 27.1828"
    pidfile = f"/tmp/.shakedown-test-link-{secrets.token_hex(4)}.pid"  # where dev records the command's pid
    inv = inventory.load()
    try:
        with Host(inv.hosts[WAN]) as host:
            host.connect()
            thread, outcome = run_in_background(host, marker, 60, pidfile)
            wait_for(lambda: running(marker), "the command to run on dev", timeout=10, interval=0.02)
            blackholed_at = time.monotonic()
            link.blackhole()
            thread.join(6 * KEEPALIVE_S + 5)
            assert not thread.is_alive(), "the run still waits on a silent peer"
            assert isinstance(outcome.error, HostUnreachable), outcome.error
            assert WAN in str(outcome.error) and "keepalive" in str(outcome.error)
            assert outcome.ended - blackholed_at < 4 * KEEPALIVE_S + 3
    finally:
        # The command outlives the lost connection (its host-side timeout is 60 s): end it, by its pid, the way
        # Host.cancel does, over a connection that works.
        with Host(inv.hosts["dev"]) as dev:
            dev.run(call(load("orchestrator.host", "cancel"), pidfile))
        wait_for(lambda: not running(marker), "the command to end on dev", timeout=KILL_GRACE + 5, interval=0.1)


# --- the relay as part of the lab ---

def test_lab_up_restarts_a_dead_relay_and_resets_a_link_left_broken(lab_up: None, link_open: None) -> None:
    lines: list[str] = []
    link.blackhole()
    link.set_delay(100)
    lab.up(echo=lines.append)
    assert link.state()["state"] == "open" and link.state()["delay_ms"] == spec.LINK.delay_ms
    assert any(line.startswith(f"{WAN}: link was blackhole at 100 ms") for line in lines), lines
    old = link.LAB.pid()
    assert old is not None
    link.LAB.stop()  # our own relay, by its pid
    lines.clear()
    lab.up(echo=lines.append)
    assert link.LAB.pid() not in (None, old)
    assert any(line.startswith(f"{WAN}: link started") for line in lines), lines
    assert invoke("lab.status", "--json").json()["hosts"][0]["link"]["up"] is True


def test_lab_up_replaces_a_relay_running_other_code(lab_up: None, link_open: None) -> None:
    old = link.LAB.pid()
    acked = link.LAB.state()
    assert old is not None and acked is not None
    # As a relay started from another checkout would say of itself (the relay writes state.json only when told).
    link.LAB.state_file.write_text(json.dumps({**acked, "code": "another-checkout"}))
    lines: list[str] = []
    lab.up(echo=lines.append)
    assert link.LAB.pid() not in (None, old) and link.state()["code"] == linkproto.CODE
    assert any(line.startswith(f"{WAN}: link relay (pid {old}) stopped: it ran other code") for line in lines), lines
