"""The orchestrator's client key, each host's host key, authorized_keys and the lab's known_hosts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol

from .proc import run, write_if_changed
from .spec import CLIENT_KEY, KNOWN_HOSTS, SSH_DIR, LabHost


class Reachable(Protocol):
    """Something SSH reaches at an address: a lab host, or the link in front of one (same key, another port)."""

    @property
    def known_hosts_name(self) -> str: ...


def ensure_client_key(echo: Callable[[str], None]) -> str:
    """Create the client key if absent; returns its public key line."""
    SSH_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(SSH_DIR, 0o755)  # known_hosts must stay readable; the private key itself is 0600
    if not CLIENT_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shakedown-lab", "-f", str(CLIENT_KEY)])
        echo(f"lab: client key created at {CLIENT_KEY}")
    os.chmod(CLIENT_KEY, 0o600)
    pub = CLIENT_KEY.with_name(CLIENT_KEY.name + ".pub")
    if not pub.exists():
        pub.write_text(run(["ssh-keygen", "-y", "-f", str(CLIENT_KEY)]).stdout)
    return pub.read_text().strip()


def ensure_host_key(host: LabHost, echo: Callable[[str], None]) -> str:
    """Create the host's ed25519 host key if absent; returns 'ssh-ed25519 AAAA...' (no comment)."""
    if not host.host_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"shakedown-lab-{host.name}",
             "-f", str(host.host_key)])
        echo(f"{host.name}: host key created")
    os.chmod(host.host_key, 0o600)
    pub = host.host_key.with_name(host.host_key.name + ".pub")
    if not pub.exists():
        pub.write_text(run(["ssh-keygen", "-y", "-f", str(host.host_key)]).stdout)
    kind, blob = pub.read_text().split()[:2]
    return f"{kind} {blob}"


def ensure_authorized_keys(host: LabHost, client_pub: str) -> bool:
    # Root-owned and 0644 in a root-owned 0755 directory: sshd's StrictModes accepts it, the user cannot edit it.
    return write_if_changed(host.authorized_keys, client_pub + "\n", 0o644)


def write_known_hosts(entries: Iterable[tuple[Reachable, str]]) -> bool:
    lines = [f"{host.known_hosts_name} {key}" for host, key in entries]
    return write_if_changed(KNOWN_HOSTS, "\n".join(lines) + "\n", 0o644)


def add_known_hosts(entries: Iterable[tuple[LabHost, str]]) -> bool:
    """Add or replace these hosts' lines in KNOWN_HOSTS, leaving every other line as it is; True if it wrote.

    A host already listed keeps its place (its line is replaced, duplicates of it dropped); new hosts go last.
    """
    wanted = {host.known_hosts_name: f"{host.known_hosts_name} {key}" for host, key in entries}
    try:
        existing = KNOWN_HOSTS.read_text().splitlines()
    except FileNotFoundError:
        existing = []
    lines: list[str] = []
    written: set[str] = set()
    for line in existing:
        fields = line.split(maxsplit=1)
        name = fields[0] if fields else ""
        if name in wanted:
            if name not in written:
                lines.append(wanted[name])
                written.add(name)
            continue
        lines.append(line)
    lines.extend(line for name, line in wanted.items() if name not in written)
    return write_if_changed(KNOWN_HOSTS, "\n".join(lines) + "\n", 0o644)
