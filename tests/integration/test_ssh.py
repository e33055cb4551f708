"""The host API over real SSH: unreachable hosts, hung peers, command timeouts, host keys, ssh config."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config import inventory
from orchestrator.errors import CommandTimeout
from orchestrator.host import Host
from orchestrator.lab import spec
from orchestrator.lab.proc import tcp_open
from tests.integration.labkit import invoke
from tests.waiting import wait_for

pytestmark = pytest.mark.lab


def write_inventory(tmp_path: Path, host_vars: str, extra_all_vars: str = "") -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(f"""all:
  vars:
    connect_timeout: 2
    ansible_ssh_private_key_file: {spec.CLIENT_KEY}
{extra_all_vars}
  hosts:
    target:
{host_vars}
""")
    return path


def dev_host_vars(known_hosts: Path | str = spec.KNOWN_HOSTS, extra: str = "") -> str:
    return (f"      ansible_host: 127.0.0.1\n      ansible_port: 2222\n      ansible_user: sd-dev\n"
            f"      ssh_known_hosts_file: {known_hosts}\n{extra}")


def test_stopped_sshd_is_reported_as_unreachable_with_exit_3(lab_up):
    pid = int(spec.AGENT.sshd_pidfile.read_text())
    os.kill(pid, signal.SIGTERM)  # the lab's own sshd, started by lab.up: ours to stop, by pid
    try:
        wait_for(lambda: not tcp_open(spec.AGENT.ssh_host, spec.AGENT.ssh_port), "agent sshd to stop")
        result = invoke("check", "--host", "agent", "--json")
        assert result.rc == 3
        assert result.elapsed < 5 + 10  # connect_timeout (5 s in lab.yml) plus process start-up
        host = result.json()["hosts"]["agent"]
        assert host["verdict"] == "error" and "127.0.0.2:2223" in host["unreachable"]
        later = [c for c in host["checks"] if c["name"] != "reachable"]
        assert later and all(c["status"] == "skipped" and c["reason"] == "host unreachable" for c in later)
    finally:
        from orchestrator import lab
        lab.up(echo=lambda line: None)


@pytest.fixture
def silent_peer() -> Iterator[int]:
    """A TCP server on loopback that accepts and then never speaks: a hung sshd."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_a_peer_that_never_answers_is_cut_at_the_connect_timeout(tmp_path, silent_peer):
    inv = write_inventory(tmp_path, f"      ansible_host: 127.0.0.1\n      ansible_port: {silent_peer}\n"
                                    f"      ansible_user: nobody\n")
    result = invoke("check", "--host", "target", "--inventory", str(inv), "--json")
    assert result.rc == 3, result.stderr
    assert result.elapsed < 2 * 2 + 8  # banner wait bounded by connect_timeout=2, not a hang
    assert result.json()["hosts"]["target"]["verdict"] == "error"


def test_a_remote_command_that_never_ends_is_cut_and_killed_on_the_host(lab_up):
    dev = inventory.load().hosts["dev"]
    marker = "sleep 987.654"
    with Host(dev) as host:
        start = time.monotonic()
        with pytest.raises(CommandTimeout) as caught:
            host.run(marker, timeout=1)
        assert time.monotonic() - start < 8
        assert "dev" in str(caught.value) and marker in str(caught.value)
        # The sshd runs on this machine, so its children are visible here: the sleep must be gone.
        wait_for(lambda: subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1,
                 "the timed-out remote command to be killed", timeout=10)
        assert host.run("echo still-usable").stdout.strip() == "still-usable"  # connection reused after


def test_unknown_host_key_is_refused_unless_the_inventory_accepts_new_keys(tmp_path, lab_up):
    empty = tmp_path / "known_hosts"
    refused = invoke("check", "--host", "target", "--json",
                     "--inventory", str(write_inventory(tmp_path, dev_host_vars(empty))))
    assert refused.rc == 3
    assert "host key of sd-dev@127.0.0.1:2222 is unknown" in refused.json()["hosts"]["target"]["unreachable"]
    assert not empty.exists()

    accepting = write_inventory(tmp_path, dev_host_vars(empty, "      ssh_accept_new_host_keys: true\n"))
    first = invoke("check", "--host", "target", "--json", "--inventory", str(accepting))
    assert first.checks("target")["reachable"]["status"] == "ok"
    assert empty.read_text().startswith("[127.0.0.1]:2222 ssh-ed25519 ")


def test_a_changed_host_key_is_refused_even_when_accepting_new_keys(tmp_path, lab_up):
    wrong = tmp_path / "known_hosts"
    # A real key, but the agent's: what a rebuilt or impostor dev host would present.
    key_type, key_b64 = spec.AGENT.host_key.with_suffix(".pub").read_text().split()[:2]
    wrong.write_text(f"[127.0.0.1]:2222 {key_type} {key_b64}\n")
    inv = write_inventory(tmp_path, dev_host_vars(wrong, "      ssh_accept_new_host_keys: true\n"))
    result = invoke("check", "--host", "target", "--json", "--inventory", str(inv))
    assert result.rc == 3
    assert "does NOT match known_hosts" in result.json()["hosts"]["target"]["unreachable"]


def test_ssh_config_aliases_are_honoured(tmp_path, lab_up):
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host lab-dev-alias\n  HostName 127.0.0.1\n  Port 2222\n  User sd-dev\n"
                          f"  IdentityFile {spec.CLIENT_KEY}\n")
    inv = write_inventory(tmp_path, f"      ansible_host: lab-dev-alias\n      ssh_config_file: {ssh_config}\n"
                                    f"      ssh_known_hosts_file: {spec.KNOWN_HOSTS}\n")
    result = invoke("check", "--host", "target", "--json", "--inventory", str(inv))
    assert result.checks("target")["reachable"]["status"] == "ok", result.stdout
    assert result.checks("target")["docker engine"]["status"] == "ok"


def test_file_helpers_over_ssh(tmp_path, lab_up):
    dev = inventory.load().hosts["dev"]
    with Host(dev) as host:
        home = host.run("printf %s \"$HOME\"").stdout
        target = f"{home}/shakedown test;$(touch pwned).conf"
        try:
            host.write_file(target, "a=1\n", mode=0o640)
            assert host.run(f"stat -c %a '{target}'").stdout.strip() == "640"
            host.write_file(target, "a=2\n")  # replacing keeps the mode
            assert host.run(f"stat -c %a '{target}'").stdout.strip() == "640"
            assert host.read_file(target) == "a=2\n"
            assert host.sha256(target) == hashlib.sha256(b"a=2\n").hexdigest()
            blob = bytes(range(256)) * 64
            (tmp_path / "blob").write_bytes(blob)
            host.put(tmp_path / "blob", f"{home}/blob.bin")
            host.get(f"{home}/blob.bin", tmp_path / "back")
            assert (tmp_path / "back").read_bytes() == blob
            assert not host.exists(f"{home}/pwned") and not host.exists("pwned")
            assert host.run(f"ls -a {home} | grep -c shakedown || true").stdout.strip() == "1"
        finally:
            host.run(f"rm -f '{target}' {home}/blob.bin", warn=True)


