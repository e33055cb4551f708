"""The benchmark fleet (orchestrator/lab/fleet.py): N extra plain SSH hosts next to the base lab.

Every test starts the fleet itself and stops it in its fixture, so none leaves a fleet sshd running.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from orchestrator.lab import LabError, fleet, spec, sshd
from orchestrator.lab.proc import pid_alive, tcp_open
from tests.integration.labkit import LAB_INVENTORY, invoke
from tests.waiting import wait_for

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")]

COUNT = 3


def quiet(_line: str) -> None:
    return None


def _listening(hosts: list[fleet.FleetHost]) -> list[str]:
    return [h.name for h in hosts if tcp_open(h.host, h.port, 0.5)]


def _known_hosts() -> list[str]:
    return spec.KNOWN_HOSTS.read_text().splitlines()


def _host_key(host: spec.LabHost) -> str:
    kind, blob = host.host_key.with_name(host.host_key.name + ".pub").read_text().split()[:2]
    return f"{kind} {blob}"


@pytest.fixture
def fleet_hosts(lab_up: None) -> Iterator[list[fleet.FleetHost]]:
    # fleet.down() in a finally: a failing test must not leave sshd daemons behind.
    try:
        hosts = fleet.up(COUNT, echo=quiet)
        yield hosts
    finally:
        fleet.down(echo=quiet)
        wait_for(lambda: not _listening(fleet.hosts(COUNT)), "the fleet's ports to close", timeout=20)


def test_up_gives_the_specified_hosts(fleet_hosts: list[fleet.FleetHost]) -> None:
    assert fleet_hosts == [
        fleet.FleetHost("fleet1", "127.0.1.1", 2301),
        fleet.FleetHost("fleet2", "127.0.1.2", 2302),
        fleet.FleetHost("fleet3", "127.0.1.3", 2303),
    ]
    assert _listening(fleet_hosts) == ["fleet1", "fleet2", "fleet3"]
    assert set(fleet.running()) >= {"fleet1", "fleet2", "fleet3"}
    for h in fleet_hosts:
        assert (Path("/var/lib/shakedown-lab/fleet") / h.name / "ssh_host_ed25519_key").is_file()
        assert (Path("/run/shakedown-lab/fleet") / f"{h.name}.pid").is_file()


def test_check_passes_on_every_fleet_host(fleet_hosts: list[fleet.FleetHost], tmp_path: Path) -> None:
    path = fleet.inventory(COUNT, tmp_path / "fleet.yml")
    cli = invoke("check", "--host", "fleet", "--inventory", str(path), "--json")
    assert cli.rc == 0, cli.stderr + cli.stdout
    result = cli.json()
    assert result["verdict"] == "pass"
    assert set(result["hosts"]) == {"fleet1", "fleet2", "fleet3"}
    for name in result["hosts"]:
        checks = cli.checks(name)
        assert result["hosts"][name]["verdict"] == "pass", checks
        assert checks["reachable"]["status"] == "ok"
        assert checks["docker engine"]["status"] == "ok"
        assert [c["status"] for n, c in checks.items() if n.startswith("disk")] == ["ok"]


def test_login_reaches_the_agents_engine_over_plain_ssh(fleet_hosts: list[fleet.FleetHost]) -> None:
    h = fleet_hosts[0]
    out = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(spec.CLIENT_KEY), "-p", str(h.port), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={spec.KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
         f"{spec.AGENT.user}@{h.host}", "echo $DOCKER_HOST; id -un; docker version --format '{{.Server.Version}}'"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    docker_host, user, version = out.stdout.split()
    assert (docker_host, user) == (spec.AGENT.docker_host, spec.AGENT.user)
    assert version


def test_second_up_starts_nothing(fleet_hosts: list[fleet.FleetHost]) -> None:
    before = fleet.running()
    known_before = spec.KNOWN_HOSTS.stat().st_mtime_ns
    lines: list[str] = []
    assert fleet.up(COUNT, echo=lines.append) == fleet_hosts
    assert fleet.running() == before
    assert spec.KNOWN_HOSTS.stat().st_mtime_ns == known_before
    assert not [line for line in lines if "started" in line or "created" in line or "added" in line], lines


def test_known_hosts_keeps_the_lab_entries(fleet_hosts: list[fleet.FleetHost]) -> None:
    lines = _known_hosts()
    names = [line.split()[0] for line in lines]
    assert len(names) == len(set(names)), f"duplicate known_hosts entries: {lines}"
    for host in spec.HOSTS:
        assert f"{host.known_hosts_name} {_host_key(host)}" in lines
    for h in fleet_hosts:
        key_pub = Path("/var/lib/shakedown-lab/fleet") / h.name / "ssh_host_ed25519_key.pub"
        kind, blob = key_pub.read_text().split()[:2]
        assert f"[{h.host}]:{h.port} {kind} {blob}" in lines
    fleet.up(COUNT, echo=quiet)
    assert _known_hosts() == lines


def test_down_stops_every_fleet_sshd_and_keeps_keys(fleet_hosts: list[fleet.FleetHost]) -> None:
    pids = fleet.running()
    keys = {h.name: (Path("/var/lib/shakedown-lab/fleet") / h.name / "ssh_host_ed25519_key").read_bytes()
            for h in fleet_hosts}
    known = _known_hosts()
    fleet.down(echo=quiet)
    wait_for(lambda: not _listening(fleet_hosts), "the fleet's ports to close", timeout=20)
    assert fleet.running() == {}
    assert not [p for p in pids.values() if pid_alive(p)]  # a zombie awaiting its reaper counts as gone
    assert not list(Path("/run/shakedown-lab/fleet").glob("*.pid"))
    for host in spec.HOSTS:  # dev and agent untouched
        assert sshd.pid(host) is not None
    # Up again: new daemons, the same host keys, known_hosts unchanged.
    fleet.up(COUNT, echo=quiet)
    assert _listening(fleet_hosts) == [h.name for h in fleet_hosts]
    assert set(fleet.running().values()).isdisjoint(pids.values())
    assert keys == {h.name: (Path("/var/lib/shakedown-lab/fleet") / h.name / "ssh_host_ed25519_key").read_bytes()
                    for h in fleet_hosts}
    assert _known_hosts() == known


def test_inventory_is_the_lab_inventory_plus_the_fleet(tmp_path: Path) -> None:
    data = yaml.safe_load(fleet.inventory(2, tmp_path / "fleet.yml").read_text())
    lab = yaml.safe_load(LAB_INVENTORY.read_text())
    assert data["all"]["children"]["devs"] == lab["all"]["children"]["devs"]
    assert data["all"]["vars"] == {
        **lab["all"]["vars"],
        "ssh_known_hosts_file": str(spec.KNOWN_HOSTS),
        "ansible_ssh_private_key_file": str(spec.CLIENT_KEY),
        "connect_timeout": 5,
        "command_timeout": 30,
        "disk_max_used_percent": 99,
    }
    assert data["all"]["children"]["fleet"] == {"hosts": {
        "fleet1": {"ansible_host": "127.0.1.1", "ansible_port": 2301, "ansible_user": "sd-agent"},
        "fleet2": {"ansible_host": "127.0.1.2", "ansible_port": 2302, "ansible_user": "sd-agent"},
    }}


def test_bad_sizes_and_a_missing_base_lab_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (-1, 255, True, "3"):
        with pytest.raises(LabError, match="fleet size") as err:
            fleet.up(bad, echo=quiet)  # type: ignore[arg-type]
        assert err.value.exit_code == 2
    from orchestrator.lab import dockerd

    before = fleet.running()
    monkeypatch.setattr(dockerd, "pid", lambda _host: None)  # as if the agent's engine were down
    with pytest.raises(LabError, match=r"base lab.*invoke lab.up") as err:
        fleet.up(1, echo=quiet)
    assert err.value.exit_code == 3
    assert fleet.running() == before  # the failed call started nothing
