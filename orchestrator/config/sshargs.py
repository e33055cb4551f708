"""The OpenSSH options users put in ansible_ssh_common_args / ansible_ssh_extra_args, understood or refused.

Ansible hands these strings to the `ssh` binary; shakedown speaks SSH through Paramiko, so it honours the
options it can honour exactly and refuses every other one by name (an option silently dropped could mean a
connection that skips the jump host or trusts a key the user meant to pin). ControlMaster, ControlPersist and
ControlPath are accepted and ignored: shakedown already keeps one connection per host per run.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

IGNORED = {"controlmaster", "controlpersist", "controlpath"}
KNOWN = {"proxyjump", "port", "serveraliveinterval", "connecttimeout", "user", "userknownhostsfile",
         "stricthostkeychecking", *IGNORED}


@dataclass(frozen=True)
class Jump:
    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"


@dataclass(frozen=True)
class SshArgs:
    proxy_jump: str | None = None  # "none" disables one from ssh config
    port: int | None = None
    server_alive_interval: float | None = None
    connect_timeout: float | None = None
    user: str | None = None
    known_hosts_file: str | None = None
    accept_new: bool | None = None  # StrictHostKeyChecking: yes -> False, accept-new -> True


def parse(text: str, base: SshArgs | None = None) -> SshArgs:
    """Options in `text` (OpenSSH: the first value given for an option wins), on top of `base`'s."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise ValueError(f"cannot split {text!r}: {exc}") from None
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("-o", "-J", "-p", "-l"):
            if i + 1 == len(tokens):
                raise ValueError(f"option {token} needs a value")
            value = tokens[i + 1]
            i += 2
        elif token.startswith(("-o", "-J", "-p", "-l")) and len(token) > 2:
            token, value = token[:2], token[2:]
            i += 1
        else:
            raise ValueError(f"ssh option {token!r} is not supported (understood: -o ProxyJump=, -J, -o Port=, "
                             "-p, -o ServerAliveInterval=, -o ConnectTimeout=, -o User=, -l, -o UserKnownHostsFile=, "
                             "-o StrictHostKeyChecking=yes|accept-new)")
        if token == "-o":
            key, value = _option(value)
        else:
            key = {"-J": "proxyjump", "-p": "port", "-l": "user"}[token]
        found.setdefault(key, value)
    return _apply(found, base or SshArgs())


def _option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        key, _, value = text.partition(" ")
    key, value = key.strip().lower(), value.strip()
    if key not in KNOWN:
        raise ValueError(f"ssh option -o {text!r} is not supported (understood: ProxyJump, Port, ServerAliveInterval, "
                         "ConnectTimeout, User, UserKnownHostsFile, StrictHostKeyChecking; ignored: ControlMaster, "
                         "ControlPersist, ControlPath)")
    if not value:
        raise ValueError(f"ssh option -o {text!r} has no value")
    return key, value


def _apply(found: dict[str, str], base: SshArgs) -> SshArgs:
    values = dict(base.__dict__)
    for key, value in found.items():
        if key in IGNORED:
            continue
        if key == "proxyjump":
            if value.lower() != "none":
                parse_jump(value)
            values["proxy_jump"] = values["proxy_jump"] or value
        elif key == "port":
            values["port"] = values["port"] or _port(value)
        elif key in ("serveraliveinterval", "connecttimeout"):
            seconds = _seconds(key, value)
            field = "server_alive_interval" if key == "serveraliveinterval" else "connect_timeout"
            values[field] = values[field] or seconds
        elif key == "user":
            values["user"] = values["user"] or value
        elif key == "userknownhostsfile":
            values["known_hosts_file"] = values["known_hosts_file"] or value
        elif key == "stricthostkeychecking":
            mode = value.lower()
            if mode not in ("yes", "accept-new"):
                raise ValueError(f"StrictHostKeyChecking={value} is refused: host keys are always verified "
                                 "(yes, or accept-new to record unknown ones)")
            if values["accept_new"] is None:
                values["accept_new"] = mode == "accept-new"
    return SshArgs(**values)


def parse_jump(text: str) -> Jump:
    """`[user@]host[:port]`; one hop (a comma chain is refused, naming it)."""
    if "," in text:
        raise ValueError(f"ProxyJump {text!r}: a chain of jump hosts is not supported (one hop)")
    if "://" in text:
        text = text.split("://", 1)[1]
    user, at, rest = text.rpartition("@")
    host, colon, port = rest.partition(":")
    if not host or any(c.isspace() for c in text):
        raise ValueError(f"ProxyJump {text!r} is not [user@]host[:port]")
    return Jump(host, user if at else None, _port(port) if colon else None)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a port number")
    return int(text)


def _seconds(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{key} {text!r} is not a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{key} {text!r} must be positive")
    return value
