"""Opening SSH connections safely: verified host keys, bounded connect, keepalive, low latency."""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from pathlib import Path
from typing import Any

import fabric
import invoke
import paramiko

from orchestrator.config import sshargs
from orchestrator.config.inventory import HostSpec
from orchestrator.errors import BadInput, HostUnreachable

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


def settings_of(spec: HostSpec) -> sshargs.SshArgs:
    """The OpenSSH options of ansible_ssh_common_args then ansible_ssh_extra_args (the first value wins)."""
    args = sshargs.SshArgs()
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if spec.vars.get(name):
            args = sshargs.parse(spec.vars[name], args)
    return args


def _chosen(spec: HostSpec, args: sshargs.SshArgs, tool_var: str, ansible_value: Any) -> Any:
    """An explicit tool variable wins, then the ssh option / Ansible variable, then the documented default."""
    if tool_var in spec.vars:
        return spec.get(tool_var)
    return ansible_value if ansible_value is not None else spec.get(tool_var)


def build(spec: HostSpec, hops: int = 0) -> fabric.Connection:
    """A Fabric Connection for `spec` that has not connected yet; its jump host (ProxyJump from the ssh options
    or from ssh config), if any, is a Connection built the same way, so its key is verified the same way."""
    args = settings_of(spec)
    ssh_config = Path(spec.get("ssh_config_file")).expanduser()
    config = runner_config()
    if ssh_config.is_file():
        config.set_runtime_ssh_path(str(ssh_config))
    config.load_ssh_config()
    timeout = float(_chosen(spec, args, "connect_timeout", args.connect_timeout or spec.vars.get("ansible_timeout")))
    connect_kwargs: dict = {"banner_timeout": timeout, "auth_timeout": timeout, "channel_timeout": timeout}
    key = spec.vars.get("ansible_ssh_private_key_file")
    if key:
        connect_kwargs.update(key_filename=[str(Path(key).expanduser())], look_for_keys=False)
    host = spec.vars.get("ansible_host") or spec.vars.get("ansible_ssh_host") or spec.name
    conn = fabric.Connection(
        host,
        user=spec.vars.get("ansible_user") or spec.vars.get("ansible_ssh_user") or args.user,
        port=spec.vars.get("ansible_port") or spec.vars.get("ansible_ssh_port") or args.port,
        config=config,
        connect_timeout=max(1, round(timeout)),
        connect_kwargs=connect_kwargs,
        # Fabric 3 inlines env as `export K=V &&`; we never pass env through Fabric at all.
        inline_ssh_env=True,
        # Never Fabric's own gateway from ssh config: it would build it with AutoAddPolicy (unknown jump host
        # keys trusted silently). False = none; a jump host is set below, built by us.
        gateway=False,
    )
    proxy = args.proxy_jump or conn.ssh_config.get("proxyjump")
    if proxy and proxy.lower() != "none":
        if hops >= MAX_HOPS:
            raise BadInput(f"{spec.name}: ProxyJump {proxy!r}: more than {MAX_HOPS} jump hosts (a loop in ssh config?)")
        gateway = build(jump_spec(spec, proxy, args), hops + 1)
        _remember(gateway, jump_spec(spec, proxy, args))
        conn.gateway = gateway
    _verify_host_keys(conn.client, spec, args)
    return conn


def jump_spec(spec: HostSpec, proxy: str, args: sshargs.SshArgs) -> HostSpec:
    """The jump host as a host of its own: its address, port and user from ProxyJump (else its ssh config), the
    target's host-key policy, known_hosts, ssh config, timeouts; never the target's key (as OpenSSH: -i is for
    the target; the jump host authenticates with its ssh config's IdentityFile, or the agent and default keys)."""
    try:
        jump = sshargs.parse_jump(proxy)
    except ValueError as exc:
        raise BadInput(f"{spec.origins.get('ansible_ssh_common_args', spec.name)}: {exc}") from None
    inherited = ("ssh_known_hosts_file", "ssh_accept_new_host_keys", "ssh_config_file", "connect_timeout",
                 "keepalive_interval")
    values: dict[str, Any] = {k: spec.vars[k] for k in inherited if k in spec.vars}
    if args.known_hosts_file:
        values["ssh_known_hosts_file"] = args.known_hosts_file
    if args.accept_new is not None and "ssh_accept_new_host_keys" not in spec.vars:
        values["ssh_accept_new_host_keys"] = args.accept_new
    values["ansible_host"] = jump.host
    if jump.port:
        values["ansible_port"] = jump.port
    if jump.user:
        values["ansible_user"] = jump.user
    return HostSpec(f"{spec.name}'s jump host {jump}", values, (), dict(spec.origins))


def _verify_host_keys(client: paramiko.SSHClient, spec: HostSpec, args: sshargs.SshArgs) -> None:
    """Replace Fabric's AutoAddPolicy: unknown keys are rejected unless the inventory accepts new ones."""
    known = Path(spec.get("ssh_known_hosts_file") if "ssh_known_hosts_file" in spec.vars or not args.known_hosts_file
                 else args.known_hosts_file).expanduser()
    for path in (Path(SYSTEM_KNOWN_HOSTS), Path("~/.ssh/known_hosts").expanduser(), known):
        if path.is_file():
            client.load_system_host_keys(str(path))  # read-only set: Paramiko never rewrites these files
    accept_new = spec.get("ssh_accept_new_host_keys") if "ssh_accept_new_host_keys" in spec.vars or \
        args.accept_new is None else args.accept_new
    client.set_missing_host_key_policy(AcceptNewPolicy(known) if accept_new else paramiko.RejectPolicy())


def open(spec: HostSpec) -> fabric.Connection:
    conn = build(spec)
    try:
        if conn.gateway:
            # The jump host first, on its own, so an error names it (its key, its auth) and not the target.
            _open_gateway(conn.gateway)
        _open_checked(conn, spec)
    except BaseException:
        close(conn)
        raise
    transport = conn.transport
    if isinstance(transport.sock, socket.socket):  # through a jump host it is a channel, not a socket
        # Paramiko leaves Nagle on; each small command round trip then waits on delayed ACKs.
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    args = settings_of(spec)
    watcher = Liveness(transport, float(_chosen(spec, args, "keepalive_interval", args.server_alive_interval)))
    _WATCHERS[transport] = watcher
    watcher.start()
    return conn


def _open_gateway(gateway: fabric.Connection) -> None:
    """Open the jump host (and its own jump host first), verified and bounded like any target."""
    if gateway.gateway:
        _open_gateway(gateway.gateway)
    _open_checked(gateway, _SPECS[id(gateway)])


def _open_checked(conn: fabric.Connection, spec: HostSpec) -> None:
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


# The jump host's spec of each gateway Connection build() made (for its errors and host-key policy), by the
# object's identity: Fabric's Connection compares equal by (host, user, port), so a WeakKeyDictionary kept an
# older equal Connection as the key and lost the entry when that one was collected.
_SPECS: dict[int, HostSpec] = {}


def _remember(gateway: fabric.Connection, spec: HostSpec) -> None:
    _SPECS[id(gateway)] = spec
    weakref.finalize(gateway, _SPECS.pop, id(gateway), None)
MAX_HOPS = 3

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
    if conn.gateway:  # Fabric leaves a jump host's connection open
        close(conn.gateway)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused"
    return str(exc) or type(exc).__name__

