"""A real jump: the lab's agent reached only through dev's sshd (ProxyJump), the jump host's key verified with
the target's policy; an unknown jump host key is refused by default, naming the jump host."""

from __future__ import annotations

import pytest

from orchestrator.config.inventory import HostSpec
from orchestrator.errors import HostUnreachable
from orchestrator.host import Host
from orchestrator.lab import spec as lab

pytestmark = pytest.mark.timeout(120)


def agent_via_dev(tmp_path, known_hosts: str) -> HostSpec:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host lab-jump\n  HostName 127.0.0.1\n  Port 2222\n  User sd-dev\n"
                      f"  IdentityFile {lab.CLIENT_KEY}\n")
    return HostSpec("agent-via-jump", {"ansible_host": "127.0.0.2", "ansible_port": 2223, "ansible_user": "sd-agent",
                                       "ansible_ssh_private_key_file": str(lab.CLIENT_KEY),
                                       "ansible_ssh_common_args": "-o ProxyJump=lab-jump -o ServerAliveInterval=2",
                                       "ssh_config_file": str(config), "ssh_known_hosts_file": known_hosts,
                                       "connect_timeout": 5}, (), {})


def test_a_command_runs_through_the_jump_host(lab_up, tmp_path):
    with Host(agent_via_dev(tmp_path, str(lab.KNOWN_HOSTS))) as host:
        result = host.run("id -un; echo $SSH_CONNECTION")
        assert result.stdout.split()[0] == "sd-agent"
        gateway = host._conn.gateway
        assert gateway.is_connected and (gateway.host, gateway.port) == ("127.0.0.1", 2222)
    assert not gateway.is_connected  # closed with the target


def test_an_unknown_jump_host_key_is_refused_by_default(lab_up, tmp_path):
    only_agent = tmp_path / "known_hosts"
    only_agent.write_text("".join(line + "\n" for line in lab.KNOWN_HOSTS.read_text().splitlines()
                                  if line.startswith("[127.0.0.2]:2223 ")))
    assert only_agent.read_text(), "the lab's known_hosts has no agent key"
    with pytest.raises(HostUnreachable) as info, Host(agent_via_dev(tmp_path, str(only_agent))) as host:
        host.run("true")
    assert "jump host lab-jump" in str(info.value) and "unknown" in str(info.value)
    assert "[127.0.0.1]:2222" not in only_agent.read_text()  # nothing was recorded
