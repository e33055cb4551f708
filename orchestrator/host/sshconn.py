"""Opening SSH connections safely: verified host keys, bounded connect, keepalive, low latency."""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from pathlib import Path

import fabric
import invoke
import paramiko

from orchestrator.config.inventory import HostSpec
from orchestrator.errors import HostUnreachable

SYSTEM_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"
MISSED_KEEPALIVES = 3  # OpenSSH's ServerAliveCountMax: a peer silent for this many intervals is gone


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
    # Paramiko leaves Nagle on; each small command round trip then waits on delayed ACKs.
    transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    watcher = Liveness(transport, float(spec.get("keepalive_interval")))
    _WATCHERS[transport] = watcher
    watcher.start()
    return conn


class Liveness:
    """OpenSSH's ServerAliveInterval/CountMax for Paramiko. Paramiko's own keepalive only sends (it never asks
    for an answer), and a read on a channel waits as long as TCP stays open: a peer gone silent on an open
    connection (a blackholed network, a frozen host) would hold a command until its own timeout, and an exec
    request waiting for its answer for ever. Every `interval` this asks for one (keepalive@openssh.com; sshd
    answers an unknown global request with a failure, which is an answer); none within MISSED_KEEPALIVES
    intervals closes the transport, which ends every wait on it at once (its channels close)."""

    def __init__(self, transport: paramiko.Transport, interval: float):
        self.transport = transport
        self.interval = interval
        self.dead: str | None = None  # why it closed the transport, once it did
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ssh-liveness", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(self.interval) and self.transport.is_active():
            if not self._answered(within=self.interval * MISSED_KEEPALIVES) and not self._stopped.is_set():
                self.dead = (f"the peer answered no SSH keepalive for {self.interval * MISSED_KEEPALIVES:g}s "
                             f"(keepalive_interval {self.interval:g}s x {MISSED_KEEPALIVES})")
                self.transport.close()
                return

    def _answered(self, within: float) -> bool:
        answered = threading.Event()

        def ask() -> None:
            # Blocks until the answer, or until the transport is closed (then it returns at once).
            with contextlib.suppress(Exception):
                self.transport.global_request("keepalive@openssh.com", wait=True)
            answered.set()

        threading.Thread(target=ask, name="ssh-keepalive", daemon=True).start()
        return answered.wait(within)


# A transport's watcher, to say why a connection was lost (a silent peer), and gone with its transport.
_WATCHERS: weakref.WeakKeyDictionary[paramiko.Transport, Liveness] = weakref.WeakKeyDictionary()


def _watcher(conn: fabric.Connection) -> Liveness | None:
    transport = conn.transport
    return _WATCHERS.get(transport) if transport is not None else None


def lost_reason(conn: fabric.Connection) -> str | None:
    """Why the liveness check closed this connection, if it did."""
    watcher = _watcher(conn)
    return watcher.dead if watcher is not None else None


def close(conn: fabric.Connection) -> None:
    """Close the connection, and its liveness check with it."""
    watcher = _watcher(conn)
    if watcher is not None:
        watcher.stop()
    conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused"
    return str(exc) or type(exc).__name__

