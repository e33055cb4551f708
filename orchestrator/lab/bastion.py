"""The lab's bastion: a jump host in front of dev (inventory host dev-via-bastion; spec.BASTION).

One more OpenSSH sshd on loopback (127.0.0.3:2224) with its own config (tests/lab/bastion_sshd_config.j2), host
key, pidfile and log under LAB_DIR/bastion and RUN_DIR/bastion, and its own login user sd-bastion (no shell, no
home). It accepts one key, BASTION_CLIENT_KEY (the orchestrator's key for the hop; dev and agent never accept it,
as the bastion never accepts theirs), and lets that user do one thing: open a TCP forward (ProxyJump's
direct-tcpip channel) to dev's sshd, directly or through the link (BASTION_PERMIT_OPEN); a shell, a command, a
tty, sftp or a remote forward is refused. Its host key is listed in the lab's known_hosts like any other.

lab.up writes BASTION_SSH_CONFIG, an OpenSSH client config whose `Host 127.0.0.3` block gives the jump its
IdentityFile (shakedown, like OpenSSH, never offers the target's key to a jump host): dev-via-bastion names it as
its ssh_config_file, and `ssh -F` with it reaches dev the same way by hand.

On loopback "reachable only through the bastion" cannot be enforced by source address: dev's sshd still answers
directly (inventory host dev). That a connection went through the bastion shows in the bastion's log (each
forward is logged, LogVerbose below), and in a test that stops the bastion: dev-via-bastion is then unreachable,
naming the jump host, while dev still works.
"""

from __future__ import annotations

import os
import pwd
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from . import keys, sshd
from .errors import EXIT_INFRA, LabError
from .proc import run, stop_pid, tail_file, tcp_open, wait_until, write_if_changed
from .spec import (
    BASTION,
    BASTION_CLIENT_KEY,
    BASTION_PERMIT_OPEN,
    BASTION_SSH_CONFIG,
    CLIENT_KEY,
    DEV,
    KNOWN_HOSTS,
    LAB_SRC,
    SSH_DIR,
    SSHD_BIN,
    SSHD_PRIVSEP_DIR,
)

Echo = Callable[[str], None]
TEMPLATE = LAB_SRC / "bastion_sshd_config.j2"
START_TIMEOUT = 15.0
SHELL = "/usr/sbin/nologin"  # the user never runs anything: ForceCommand /bin/false covers every session anyway
HOME = "/nonexistent"
INVENTORY_HOST = "dev-via-bastion"
# sshd logs each allowed forward only at debug level; LogVerbose raises exactly that line to the log.
LOG_VERBOSE = "serverloop.c:server_request_direct_tcpip():*"
# authorized_keys options: the same limits again on the key itself, should the config ever be loosened.
KEY_OPTIONS = ",".join(["restrict", "port-forwarding", *(f'permitopen="{a}"' for a in BASTION_PERMIT_OPEN)])


def render() -> str:
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return template.render(
        listen_address=BASTION.ssh_host,
        port=BASTION.ssh_port,
        host_key=BASTION.host_key,
        pidfile=BASTION.sshd_pidfile,
        user=BASTION.user,
        authorized_keys=BASTION.authorized_keys,
        permit_open=BASTION_PERMIT_OPEN,
        log_verbose=LOG_VERBOSE,
    )


def ssh_config() -> str:
    """The client side of the hop, for shakedown (IdentityFile) and for `ssh -F` by hand (the rest)."""
    return (
        "# Written by shakedown's lab.up (orchestrator/lab/bastion.py): how to log in to the lab's bastion.\n"
        "# Used as ssh_config_file by inventory host dev-via-bastion; by hand:\n"
        f"#   ssh -F {BASTION_SSH_CONFIG} -i {CLIENT_KEY} -o UserKnownHostsFile={KNOWN_HOSTS} \\\n"
        f"#       -J {BASTION.user}@{BASTION.ssh_host}:{BASTION.ssh_port} -p {DEV.ssh_port} {DEV.user}@{DEV.ssh_host}\n"
        f"Host {BASTION.ssh_host}\n"
        f"  User {BASTION.user}\n"
        f"  Port {BASTION.ssh_port}\n"
        f"  IdentityFile {BASTION_CLIENT_KEY}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {KNOWN_HOSTS}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )


def ensure_keys(echo: Echo) -> str:
    """The bastion's files before known_hosts is written: its dirs, client key, host key, authorized_keys and the
    client ssh config. Returns its host key line ('ssh-ed25519 AAAA...') for the lab's known_hosts."""
    for d in (BASTION.dir, BASTION.run_dir):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)  # sshd's StrictModes checks every directory above authorized_keys
    client_pub = _ensure_client_key(echo)
    host_key = keys.ensure_host_key(BASTION, echo)
    # Root-owned 0644: sshd's StrictModes accepts it, the user cannot edit it. Only the bastion's own key.
    if write_if_changed(BASTION.authorized_keys, f"{KEY_OPTIONS} {client_pub}\n", 0o644):
        echo(f"{BASTION.name}: wrote {BASTION.authorized_keys}")
    if write_if_changed(BASTION_SSH_CONFIG, ssh_config(), 0o644):
        echo(f"{BASTION.name}: wrote {BASTION_SSH_CONFIG}")
    return host_key


def _ensure_client_key(echo: Echo) -> str:
    SSH_DIR.mkdir(parents=True, exist_ok=True)
    if not BASTION_CLIENT_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shakedown-lab-bastion-client",
             "-f", str(BASTION_CLIENT_KEY)])
        echo(f"{BASTION.name}: client key created at {BASTION_CLIENT_KEY}")
    os.chmod(BASTION_CLIENT_KEY, 0o600)
    pub = BASTION_CLIENT_KEY.with_name(BASTION_CLIENT_KEY.name + ".pub")
    if not pub.exists():
        pub.write_text(run(["ssh-keygen", "-y", "-f", str(BASTION_CLIENT_KEY)]).stdout)
    return pub.read_text().strip()


def _ensure_user(echo: Echo) -> None:
    changed: list[str] = []
    try:
        pw = pwd.getpwnam(BASTION.user)
    except KeyError:
        run(["useradd", "--system", "-M", "-d", HOME, "-s", SHELL, BASTION.user])
        pw = pwd.getpwnam(BASTION.user)
        changed.append(f"user {BASTION.user} created")
    if pw.pw_shell != SHELL:
        run(["usermod", "-s", SHELL, BASTION.user])
        changed.append(f"shell set to {SHELL}")
    # With UsePAM no, sshd refuses a locked ('!') account even for a key; '*' matches no password.
    if _password_field(BASTION.user).startswith("!"):
        run(["usermod", "-p", "*", BASTION.user])
        changed.append("account unlocked for key login (password '*')")
    if changed:
        echo(f"{BASTION.name}: {'; '.join(changed)}")


def _password_field(user: str) -> str:
    with open("/etc/shadow") as fh:
        for line in fh:
            fields = line.rstrip("\n").split(":")
            if fields[0] == user and len(fields) > 1:
                return fields[1]
    return ""


def pid() -> int | None:
    return sshd.pid(BASTION)


def ensure(echo: Echo) -> None:
    """Start the bastion's sshd (or reload it with a changed config), then prove the hop: log in to dev through
    it exactly as dev-via-bastion does (strict known_hosts, each side its own key)."""
    _ensure_user(echo)
    SSHD_PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    config_changed = write_if_changed(BASTION.sshd_config, render(), 0o644)
    if config_changed:
        sshd.validate(BASTION)
    current = pid()
    if current is not None:
        if config_changed:
            os.kill(current, signal.SIGHUP)  # sshd re-execs itself with the new config, keeping its pid
            _wait_listening(current)
            echo(f"{BASTION.name}: sshd reloaded with new config (pid {current})")
        else:
            echo(f"{BASTION.name}: sshd already running on {BASTION.ssh_host}:{BASTION.ssh_port} (pid {current})")
    else:
        new = _start(config_changed)
        echo(f"{BASTION.name}: sshd started on {BASTION.ssh_host}:{BASTION.ssh_port} (pid {new})")
    check_hop()
    echo(f"{INVENTORY_HOST}: ssh {DEV.user}@{DEV.ssh_host}:{DEV.ssh_port} through {BASTION.user}@"
         f"{BASTION.ssh_host}:{BASTION.ssh_port} reaches {DEV.name}: ok")


def _start(validated: bool) -> int:
    if not validated:
        sshd.validate(BASTION)
    if tcp_open(BASTION.ssh_host, BASTION.ssh_port):
        raise LabError(
            f"{BASTION.name}: {BASTION.ssh_host}:{BASTION.ssh_port} is already taken by another process (not this "
            f"lab's bastion, per {BASTION.sshd_pidfile}); free the port and run lab.up again",
            EXIT_INFRA,
        )
    BASTION.sshd_pidfile.unlink(missing_ok=True)
    # Without -D sshd daemonizes itself (no child of ours) and writes PidFile once it listens.
    run([SSHD_BIN, "-f", str(BASTION.sshd_config), "-E", str(BASTION.sshd_log)], timeout=START_TIMEOUT)
    new = wait_until(pid, START_TIMEOUT, 0.05)
    if new is None:
        raise LabError(f"{BASTION.name}: sshd did not start within {START_TIMEOUT:g}s; last lines of "
                       f"{BASTION.sshd_log}:\n{tail_file(BASTION.sshd_log)}", EXIT_INFRA)
    _wait_listening(new)
    return new


def _wait_listening(sshd_pid: int) -> None:
    if not wait_until(lambda: tcp_open(BASTION.ssh_host, BASTION.ssh_port, 0.5), START_TIMEOUT, 0.05):
        raise LabError(
            f"{BASTION.name}: sshd (pid {sshd_pid}) does not accept connections on {BASTION.ssh_host}:"
            f"{BASTION.ssh_port} after {START_TIMEOUT:g}s; last lines of {BASTION.sshd_log}:\n"
            f"{tail_file(BASTION.sshd_log)}",
            EXIT_INFRA,
        )


def hop_argv(command: str, config: Path = BASTION_SSH_CONFIG) -> list[str]:
    """OpenSSH's own client logging in to dev through the bastion: dev with the lab's client key, the bastion
    with BASTION_CLIENT_KEY (from `config`, which ssh hands to the jump's ssh too), both host keys strict."""
    return [
        "ssh", "-F", str(config), "-i", str(CLIENT_KEY), "-p", str(DEV.ssh_port),
        "-J", f"{BASTION.user}@{BASTION.ssh_host}:{BASTION.ssh_port}",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
        "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
        f"{DEV.user}@{DEV.ssh_host}", command,
    ]


def check_hop() -> None:
    out = run(hop_argv("id -un"), timeout=30, check=False)
    if out.returncode != 0 or out.stdout.strip() != DEV.user:
        raise LabError(
            f"{INVENTORY_HOST}: ssh to {DEV.user}@{DEV.ssh_host}:{DEV.ssh_port} through the bastion "
            f"{BASTION.user}@{BASTION.ssh_host}:{BASTION.ssh_port} failed (exit {out.returncode}): "
            f"{(out.stderr or out.stdout).strip()[-500:]}; last lines of {BASTION.sshd_log}:\n"
            f"{tail_file(BASTION.sshd_log, 5)}",
            EXIT_INFRA,
        )


def stop(echo: Echo) -> None:
    current = pid()
    if current is None:
        echo(f"{BASTION.name}: sshd not running")
        return
    stop_pid(current, 10)
    BASTION.sshd_pidfile.unlink(missing_ok=True)
    echo(f"{BASTION.name}: sshd stopped (pid {current})")


def status() -> dict[str, Any]:
    """lab.status's `bastion`: where it listens, who logs in with which key, where it forwards; never raises."""
    try:
        current = pid()
        up = current is not None and tcp_open(BASTION.ssh_host, BASTION.ssh_port)
    except OSError:
        current, up = None, False
    return {
        "name": BASTION.name,
        "ssh": {"host": BASTION.ssh_host, "port": BASTION.ssh_port, "user": BASTION.user,
                "key": str(BASTION_CLIENT_KEY)},
        "ssh_config": str(BASTION_SSH_CONFIG),
        "permit_open": list(BASTION_PERMIT_OPEN),
        "inventory_host": INVENTORY_HOST,
        "log": str(BASTION.sshd_log),
        "pid": current,
        "up": up,
    }
