"""Opening SSH connections safely: verified host keys, bounded connect, keepalive, low latency."""

from __future__ import annotations

import socket
from pathlib import Path

import fabric
import invoke
import paramiko

from orchestrator.config.inventory import HostSpec
from orchestrator.errors import HostUnreachable

SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


class FastRemote(fabric.runners.Remote):
    # Invoke's runners wait for a command's end by sleeping `input_sleep` (10 ms) between polls. They read
    # it from the class, not from the config (a `runners.input_sleep` setting is silently ignored), so
    # set it here: per command on an open connection this takes ~12 ms down to a few ms.
    input_sleep = 0.001


class FastLocal(invoke.runners.Local):
    input_sleep = 0.001


def runner_config(overrides: dict | None = None) -> fabric.Config:
    base = {"runners": {"remote": FastRemote, "local": FastLocal}, "run": {"in_stream": False}}
    return fabric.Config(overrides={**base, **(overrides or {})}, lazy=True)


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """OpenSSH's StrictHostKeyChecking=accept-new: record an unknown key; a *changed* key still fails
    (Paramiko raises BadHostKeyException before consulting the policy)."""

    def __init__(self, path: Path):
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="ascii") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def build(spec: HostSpec) -> fabric.Connection:
    """A Fabric Connection for `spec` that has not connected yet."""
    ssh_config = Path(spec.get("ssh_config_file")).expanduser()
    config = runner_config()
    if ssh_config.is_file():
        config.set_runtime_ssh_path(str(ssh_config))
    config.load_ssh_config()
    timeout = float(spec.get("connect_timeout"))
    connect_kwargs: dict = {"banner_timeout": timeout, "auth_timeout": timeout, "channel_timeout": timeout}
    key = spec.vars.get("ansible_ssh_private_key_file")
    if key:
        connect_kwargs.update(key_filename=[str(Path(key).expanduser())], look_for_keys=False)
    conn = fabric.Connection(
        spec.vars.get("ansible_host", spec.name),
        user=spec.vars.get("ansible_user"),
        port=spec.vars.get("ansible_port"),
        config=config,
        connect_timeout=max(1, round(timeout)),
        connect_kwargs=connect_kwargs,
        # Fabric 3 inlines env as `export K=V &&`; we never pass env through Fabric at all.
        inline_ssh_env=True,
    )
    _verify_host_keys(conn.client, spec)
    return conn


def _verify_host_keys(client: paramiko.SSHClient, spec: HostSpec) -> None:
    """Replace Fabric's AutoAddPolicy: unknown keys are rejected unless the inventory accepts new ones."""
    known = Path(spec.get("ssh_known_hosts_file")).expanduser()
    for path in (Path(SYSTEM_KNOWN_HOSTS), Path("~/.ssh/known_hosts").expanduser(), known):
        if path.is_file():
            client.load_system_host_keys(str(path))  # read-only set: Paramiko never rewrites these files
    accept_new = spec.get("ssh_accept_new_host_keys")
    client.set_missing_host_key_policy(AcceptNewPolicy(known) if accept_new else paramiko.RejectPolicy())


def open(spec: HostSpec) -> fabric.Connection:
    conn = build(spec)
    target = f"{conn.user}@{conn.host}:{conn.port}"
    try:
        conn.open()
    except paramiko.BadHostKeyException as exc:
        raise HostUnreachable(f"{spec.name}: host key for {target} does NOT match known_hosts (got "
                         f"{exc.key.get_name()} {exc.key.get_fingerprint().hex()}); refusing to connect. "
                         "If the host was legitimately rebuilt, update the known_hosts entry.") from None
    except paramiko.AuthenticationException as exc:
        raise HostUnreachable(f"{spec.name}: authentication failed for {target}: {exc}") from None
    except paramiko.SSHException as exc:
        text = str(exc)
        if "not found in known_hosts" in text:
            raise HostUnreachable(f"{spec.name}: host key of {target} is unknown ({spec.get('ssh_known_hosts_file')}); "
                             "add it (ssh-keyscan) or set ssh_accept_new_host_keys: true in the inventory"
                             ) from None
        raise HostUnreachable(f"{spec.name}: SSH to {target} failed: {text}") from None
    except TimeoutError:
        raise HostUnreachable(f"{spec.name}: SSH to {target} timed out after "
                              f"{spec.get('connect_timeout')}s") from None
    except (OSError, EOFError) as exc:
        raise HostUnreachable(f"{spec.name}: cannot reach {target}: {_reason(exc)}") from None
    transport = conn.transport
    transport.set_keepalive(int(spec.get("keepalive_interval")))
    # Paramiko leaves Nagle on; each small command round trip then waits on delayed ACKs.
    transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _reason(exc: BaseException) -> str:
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused"
    return str(exc) or type(exc).__name__

