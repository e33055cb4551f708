"""What every lab daemon (the link relay, the CI server, the marketplace) does the same way: take a loopback
address from its command line, detach, write its pidfile atomically, and tell its starter it listens.

Stdlib only: these run as `python -m orchestrator.lab.<daemon>` processes of their own.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path
from socketserver import BaseServer


def loopback_address(text: str) -> tuple[str, int]:
    """argparse type for HOST:PORT; anything off 127.0.0.0/8 is refused: the lab stays on loopback."""
    host, _, port = text.rpartition(":")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
        number = int(port)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT") from exc
    if not loopback:
        raise argparse.ArgumentTypeError(f"{host} is not a loopback address: the lab stays on 127.0.0.0/8")
    return host, number


def daemonize() -> int:
    """Fork into a new session, as sshd does without -D: the daemon is nobody's child (no zombie in a test run
    that started it). The parent exits once the child reports on the returned pipe: 0 if it listens, else 1,
    so the caller learns of a failed start (port taken) at once."""
    read_fd, write_fd = os.pipe()
    if os.fork():
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as pipe:
            os._exit(0 if pipe.read() == b"ok" else 1)
    os.close(read_fd)
    os.setsid()
    return write_fd


def atomic_write(path: Path, text: str) -> None:
    """Readers (the control side polling it) never see a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def listening(pidfile: Path | None, ready_fd: int | None) -> None:
    """The daemon listens: its pidfile last (a live pid means the port accepts), then the starter is told."""
    if pidfile is not None:
        atomic_write(pidfile, f"{os.getpid()}\n")
    if ready_fd is not None:
        os.write(ready_fd, b"ok")
        os.close(ready_fd)


def serve_forever(server: BaseServer, pidfile: Path | None, ready_fd: int | None) -> None:
    """An HTTP daemon's main loop, once its socket listens."""
    listening(pidfile, ready_fd)
    with server:
        server.serve_forever()
