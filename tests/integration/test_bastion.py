"""The lab's bastion for real: `invoke check --host dev-via-bastion` goes through it (its log shows the hop), a
stopped bastion makes that host unreachable naming the jump host while dev still works, an unknown bastion key is
refused by default and recorded nowhere, a silent target behind it ends within the connect timeout, each side
accepts only its own key, and the bastion forwards to dev's sshd and nothing else."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from orchestrator import lab
from orchestrator.config import inventory
from orchestrator.errors import HostUnreachable
from orchestrator.host import Host
from orchestrator.lab import bastion, link
from orchestrator.lab import spec as lab_spec
from orchestrator.lab.proc import tcp_open
from tests.integration.labkit import LAB_INVENTORY, invoke

pytestmark = pytest.mark.timeout(300)

JUMP = f"{lab_spec.BASTION.user}@{lab_spec.BASTION.ssh_host}:{lab_spec.BASTION.ssh_port}"
EXIT_UNREACHABLE = 3


def _log_size() -> int:
    return lab_spec.BASTION.sshd_log.stat().st_size


def _log_since(offset: int) -> str:
    with lab_spec.BASTION.sshd_log.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def _inventory(tmp_path: Path, known_hosts: Path | None = None, extra_hosts: dict | None = None) -> Path:
    """inventory/lab.yml as it is, with another known_hosts file and/or more hosts in group `jumps`."""
    data = yaml.safe_load(LAB_INVENTORY.read_text())
    if known_hosts is not None:
        data["all"]["vars"]["ssh_known_hosts_file"] = str(known_hosts)
    data["all"]["children"]["jumps"]["hosts"].update(extra_hosts or {})
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _ssh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def _strict(known_hosts: Path = lab_spec.KNOWN_HOSTS) -> list[str]:
    return ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes"]


def test_check_through_the_bastion_passes_and_the_bastion_logs_the_hop(healthy_stack):
    before = _log_size()
    result = invoke("check", "--host", "dev-via-bastion")
    assert result.rc == 0, result.stdout + result.stderr
    assert "dev-via-bastion: PASS" in result.stdout and "verdict: PASS" in result.stdout
    # The proof the path went through the bastion (dev's sshd also answers directly on loopback).
    log = _log_since(before)
    assert f"Accepted publickey for {lab_spec.BASTION.user}" in log, log
    assert f"target {lab_spec.DEV.ssh_host} port {lab_spec.DEV.ssh_port}" in log, log


def test_a_stopped_bastion_makes_dev_via_bastion_unreachable_naming_it_while_dev_still_works(lab_up):
    lines: list[str] = []
    try:
        bastion.stop(lines.append)  # as lab.down does: by its pid
        assert bastion.pid() is None and not tcp_open(lab_spec.BASTION.ssh_host, lab_spec.BASTION.ssh_port)
        assert any("sshd stopped (pid" in line for line in lines), lines
        assert lab.status()["bastion"]["up"] is False
        result = invoke("check", "--host", "dev-via-bastion")
        assert result.rc == EXIT_UNREACHABLE, result.stdout + result.stderr
        assert f"jump host {JUMP}" in result.stdout + result.stderr, result.stdout + result.stderr
        direct = invoke("check", "--host", "dev")
        assert direct.rc == 0, direct.stdout + direct.stderr
    finally:
        bastion.ensure(lambda _line: None)
    assert lab.status()["bastion"]["up"] is True


def test_an_unknown_bastion_host_key_is_refused_by_default_and_recorded_nowhere(lab_up, tmp_path):
    bastion_name = lab_spec.BASTION.known_hosts_name
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"{line}\n" for line in lab_spec.KNOWN_HOSTS.read_text().splitlines()
                             if not line.startswith(f"{bastion_name} ")))
    assert f"{lab_spec.DEV.known_hosts_name} " in known.read_text()  # dev's own key is known: only the jump's is not
    before, lab_before = known.read_bytes(), lab_spec.KNOWN_HOSTS.read_bytes()
    result = invoke("check", "--host", "dev-via-bastion", "--inventory", str(_inventory(tmp_path, known)))
    out = result.stdout + result.stderr
    assert result.rc == EXIT_UNREACHABLE, out
    assert f"jump host {JUMP}" in out and "unknown" in out, out
    assert known.read_bytes() == before  # nothing was added
    assert lab_spec.KNOWN_HOSTS.read_bytes() == lab_before  # nor to the lab's


def test_a_silent_target_behind_the_bastion_ends_within_the_connect_timeout(lab_up, tmp_path):
    """Dev's sshd through the blackholed link, reached through the bastion: the jump opens, the forward opens,
    and no SSH banner ever comes. connect_timeout bounds it."""
    timeout = 3
    host = {"dev-wan-via-bastion": {
        "ansible_host": lab_spec.LINK.listen_host, "ansible_port": lab_spec.LINK.listen_port,
        "ansible_user": lab_spec.DEV.user, "ansible_ssh_common_args": f"-o ProxyJump={JUMP}",
        "ssh_config_file": str(lab_spec.BASTION_SSH_CONFIG), "connect_timeout": timeout}}
    inventory = _inventory(tmp_path, extra_hosts=host)
    baseline = invoke("check", "--host", "dev-wan-via-bastion", "--inventory", str(inventory))
    assert baseline.rc == 0, baseline.stdout + baseline.stderr  # the path works while the link is open
    before = _log_size()
    try:
        link.blackhole()
        took = _connect_fails_within(inventory, "dev-wan-via-bastion", timeout)
        result = invoke("check", "--host", "dev-wan-via-bastion", "--inventory", str(inventory))
    finally:
        link.heal()
    out = result.stdout + result.stderr
    assert result.rc == EXIT_UNREACHABLE, (took, out)
    # The whole process: its start-up (baseline.elapsed covers it and a full check) plus the connects. check
    # connects twice to an unreachable host (its batched reads, then the `reachable` task), each bounded.
    assert result.elapsed < baseline.elapsed + 2 * timeout + 2, (result.elapsed, baseline.elapsed, out)
    assert f"port {lab_spec.LINK.listen_port}" in _log_since(before)  # it did go through the bastion


def _connect_fails_within(inventory_path: Path, name: str, timeout: float) -> float:
    """One connect through the jump, as check makes it: unreachable within the connect timeout (plus the jump's
    own login, a fraction of a second on loopback). Returns how long it took."""
    spec = inventory.load(inventory_path).hosts[name]
    started = time.monotonic()
    with pytest.raises(HostUnreachable), Host(spec) as host:
        host.connect()
    took = time.monotonic() - started
    assert timeout - 0.5 < took < timeout + 1.5, took
    return took


def test_a_jump_host_that_never_answers_ends_within_the_connect_timeout(lab_up, tmp_path):
    timeout = 2
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never says a word
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            silent.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(silent.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        port = silent.getsockname()[1]
        host = {"dev-via-silent-jump": {
            "ansible_host": lab_spec.DEV.ssh_host, "ansible_port": lab_spec.DEV.ssh_port,
            "ansible_user": lab_spec.DEV.user,
            "ansible_ssh_common_args": f"-J {lab_spec.BASTION.user}@127.0.0.1:{port}",
            "ssh_config_file": str(lab_spec.BASTION_SSH_CONFIG), "connect_timeout": timeout}}
        try:
            inventory_path = _inventory(tmp_path, extra_hosts=host)
            _connect_fails_within(inventory_path, "dev-via-silent-jump", timeout)
            result = invoke("check", "--host", "dev-via-silent-jump", "--inventory", str(inventory_path))
        finally:
            stop.set()
            thread.join(5)
            for conn in held:
                conn.close()
    out = result.stdout + result.stderr
    assert result.rc == EXIT_UNREACHABLE, out
    assert f"jump host {lab_spec.BASTION.user}@127.0.0.1:{port}" in out, out
    assert held, "the check never reached the silent jump host"
    assert result.elapsed < 2 * timeout + 5, (result.elapsed, out)  # start-up plus two bounded connects


def test_each_side_accepts_only_its_own_key(lab_up):
    bastion_addr = ["-p", str(lab_spec.BASTION.ssh_port), f"{lab_spec.BASTION.user}@{lab_spec.BASTION.ssh_host}"]
    dev_addr = ["-p", str(lab_spec.DEV.ssh_port), f"{lab_spec.DEV.user}@{lab_spec.DEV.ssh_host}"]
    # The bastion refuses dev's key; dev refuses the bastion's key.
    refused = _ssh("-F", "/dev/null", "-i", str(lab_spec.CLIENT_KEY), *_strict(), *bastion_addr, "-N")
    assert refused.returncode == 255 and "Permission denied" in refused.stderr, refused.stderr
    refused = _ssh("-F", "/dev/null", "-i", str(lab_spec.BASTION_CLIENT_KEY), *_strict(), *dev_addr, "true")
    assert refused.returncode == 255 and "Permission denied" in refused.stderr, refused.stderr
    # OpenSSH's own client through the bastion, each side with its own key (as lab.up proves it).
    hop = subprocess.run(bastion.hop_argv("id -un"), capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL)
    assert (hop.returncode, hop.stdout.strip()) == (0, lab_spec.DEV.user), hop.stderr


def test_the_bastion_runs_nothing_and_forwards_only_to_dev(lab_up):
    as_bastion = ["-F", str(lab_spec.BASTION_SSH_CONFIG), lab_spec.BASTION.ssh_host]
    shell = _ssh(*as_bastion, "echo hello")
    assert shell.returncode != 0 and "hello" not in shell.stdout  # ForceCommand /bin/false
    sftp = subprocess.run(["sftp", "-F", str(lab_spec.BASTION_SSH_CONFIG), "-b", "-", lab_spec.BASTION.ssh_host],
                          input="ls\n", capture_output=True, text=True, timeout=30)
    assert sftp.returncode != 0
    # The agent's sshd is on loopback too, but not in PermitOpen: the forward is refused.
    agent = _ssh("-F", str(lab_spec.BASTION_SSH_CONFIG), "-i", str(lab_spec.CLIENT_KEY), "-J", JUMP, *_strict(),
                 "-p", str(lab_spec.AGENT.ssh_port), f"{lab_spec.AGENT.user}@{lab_spec.AGENT.ssh_host}", "true")
    assert agent.returncode == 255, agent.stderr
    assert "prohibited" in agent.stderr or "open failed" in agent.stderr, agent.stderr


def test_lab_status_shows_the_bastion(lab_up):
    result = invoke("lab.status", "--json")
    assert result.rc == 0, result.stdout + result.stderr
    jump = result.json()["bastion"]
    assert jump["up"] is True and jump["pid"] == bastion.pid()
    assert jump["ssh"] == {"host": "127.0.0.3", "port": 2224, "user": "sd-bastion",
                           "key": str(lab_spec.BASTION_CLIENT_KEY)}
    assert jump["permit_open"] == ["127.0.0.1:2222", "127.0.0.1:2322"]
    assert jump["inventory_host"] == "dev-via-bastion" and jump["ssh_config"] == str(lab_spec.BASTION_SSH_CONFIG)
    table = invoke("lab.status")
    assert "bastion: sd-bastion@127.0.0.3:2224" in table.stdout, table.stdout


def test_lab_up_again_leaves_the_bastion_alone(lab_up):
    running = bastion.pid()
    lines: list[str] = []
    lab.up(echo=lines.append)
    mine = [line for line in lines if line.startswith(("bastion:", "dev-via-bastion:"))]
    assert mine == [f"bastion: sshd already running on 127.0.0.3:2224 (pid {running})",
                    "dev-via-bastion: ssh sd-dev@127.0.0.1:2222 through sd-bastion@127.0.0.3:2224 reaches dev: ok"
                    ], mine
    assert bastion.pid() == running
