"""One command on an open SSH connection, straight over a Paramiko session channel.

Fabric's runner (Invoke's) reads a command's streams from two I/O threads and polls for its end; per
command on an open connection that costs a few milliseconds more than the wire needs, which adds up in
every e2e and triage step. Here one thread waits on the channel's own readiness pipe instead. The contract
is Host.run's: stdin closed at once, output decoded as UTF-8 with replacement, and exit code -1 when the
channel closed without an exit status (the peer or the network went away).
"""

from __future__ import annotations

import select
import time

import paramiko

CHUNK = 65536
WAKE = 1.0  # seconds between checks that the transport is still alive while a command is silent


def run(transport: paramiko.Transport, command: str, timeout: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `command`; TimeoutError past `timeout`, EOFError if the link died."""
    chan = transport.open_session(timeout=min(timeout, 30))
    try:
        chan.exec_command(command)
        chan.shutdown_write()  # in_stream=False: a command waiting on stdin must not hang a run
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        # The streams first, woken by the channel's readiness pipe (set by stdout, stderr and EOF)...
        while not (chan.eof_received or chan.closed):
            _drain(chan, out, err)
            select.select([chan], [], [], _left(deadline, timeout, transport))
        _drain(chan, out, err)
        # ...then the exit status, which follows the EOF (after it the pipe stays set: no select then).
        while not chan.status_event.wait(_left(deadline, timeout, transport)):
            pass
        _drain(chan, out, err)
        code = chan.recv_exit_status() if chan.exit_status_ready() else -1
        return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    finally:
        chan.close()


def _left(deadline: float, timeout: float, transport: paramiko.Transport) -> float:
    """How long the next wait may be; raises once the command's time is up or the link is gone."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no exit status after {timeout:g}s")
    if not transport.is_active():
        raise EOFError("the SSH transport closed")
    return min(left, WAKE)


def _drain(chan: paramiko.Channel, out: bytearray, err: bytearray) -> None:
    while chan.recv_ready():
        out += chan.recv(CHUNK)
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(CHUNK)
