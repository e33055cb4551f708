"""Jump hosts: built by us from ProxyJump (ssh options or ssh config), never by Fabric (which would auto-add
their keys), with the target's host-key policy and not the target's key."""

from __future__ import annotations

import paramiko
import pytest

from orchestrator.config.inventory import HostSpec
from orchestrator.errors import HostUnreachable
from orchestrator.host import sshconn
from tests.unit.helpers import write


def spec(**values) -> HostSpec:
    return HostSpec("web", {"ansible_host": "127.0.0.1", "ansible_port": 2222, "ansible_user": "me", **values}, (),
                    {})


def test_proxy_jump_from_ssh_args_is_a_verified_gateway(tmp_path):
    conn = sshconn.build(spec(ansible_ssh_common_args="-o ProxyJump=ops@127.0.0.9:2200 -o ServerAliveInterval=4",
                              ansible_ssh_private_key_file=str(tmp_path / "k"),
                              ssh_config_file=str(tmp_path / "none")))
    gw = conn.gateway
    assert (gw.host, gw.port, gw.user) == ("127.0.0.9", 2200, "ops")
    assert isinstance(gw.client._policy, paramiko.RejectPolicy)  # never Fabric's AutoAddPolicy
    assert isinstance(conn.client._policy, paramiko.RejectPolicy)
    assert "key_filename" not in gw.connect_kwargs  # the target's key stays the target's
    assert not gw.gateway


def test_proxy_jump_from_ssh_config_is_honoured_and_verified(tmp_path):
    config = write(tmp_path / "config", "Host web-alias\n  HostName 127.0.0.1\n  ProxyJump bastion\n"
                                        "Host bastion\n  HostName 127.0.0.8\n  Port 2224\n  User jumper\n")
    conn = sshconn.build(HostSpec("web", {"ansible_host": "web-alias", "ssh_config_file": str(config),
                                          "ssh_accept_new_host_keys": True}, (), {}))
    gw = conn.gateway
    assert (gw.host, gw.port, gw.user) == ("127.0.0.8", 2224, "jumper")
    assert isinstance(gw.client._policy, sshconn.AcceptNewPolicy)  # the target's policy, as set


def test_no_jump_means_no_gateway_even_when_fabric_would_guess(tmp_path):
    conn = sshconn.build(spec(ssh_config_file=str(tmp_path / "none")))
    assert not conn.gateway


def test_an_unreachable_jump_host_is_named(tmp_path):
    s = spec(ansible_ssh_common_args="-J jumper@127.0.0.1:1", connect_timeout=2,
             ssh_config_file=str(tmp_path / "none"))
    with pytest.raises(HostUnreachable, match=r"jump host jumper@127\.0\.0\.1:1"):
        sshconn.open(s)


def test_ssh_options_set_port_and_keepalive(tmp_path):
    conn = sshconn.build(HostSpec("web", {"ansible_host": "127.0.0.1", "ansible_ssh_common_args": "-o Port=2299",
                                          "ssh_config_file": str(tmp_path / "none")}, (), {}))
    assert conn.port == 2299
