"""The lab's latency-and-fault link: a small asyncio TCP relay (netem is not available on these machines).

    python -m orchestrator.lab.relay --listen 127.0.0.1:2322 --target 127.0.0.1:2222 --dir DIR [--delay-ms 20]

Each chunk read from one side is written to the other side `delay_ms` later, in order, in both directions
(so a round trip gains twice the delay); every connection has its own tasks, so none waits on another.
DIR/control.json, written by link.py and read every POLL_S, sets the link's state:

- open: bytes flow;
- cut: every connection is reset (SO_LINGER 0, so both sides get an RST), and so is each new one, until healed;
- blackhole: the sockets stay open and nothing is forwarded either way until healed. What was held then
  flows on in order, as TCP's retransmissions would deliver it after a real outage.

Each control generation applied is acknowledged in DIR/state.json (link.py waits for it); DIR/relay.pid is
written once the relay listens. Only loopback addresses are accepted, for both ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .daemon import atomic_write, daemonize, listening, loopback_address
from .linkproto import CODE, CONTROL_FILE, PID_FILE, STATE_FILE, Control, parse_control

POLL_S = 0.05
CHUNK = 64 * 1024
QUEUED_CHUNKS = 64  # per direction: a slow reader holds back the sender instead of growing memory
log = logging.getLogger("relay")  # a daemon's log (stderr, which link.py points at relay.log), not a console


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the kernel drops what is unsent and answers the peer with an RST."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Queue = asyncio.Queue[tuple[float, bytes]]  # (when it is due on the other side, chunk); b"" is EOF


class Connection:
    """One client's connection and its upstream: two directions, each a reader and a delayed writer."""

    def __init__(self, relay: Relay, client: Stream, upstream: Stream):
        self.relay = relay
        self.client = client
        self.upstream = upstream
        self.task: asyncio.Task[Any] | None = None
        self.was_reset = False

    async def run(self) -> None:
        self.task = asyncio.current_task()
        broken = False
        try:
            async with asyncio.TaskGroup() as group:
                self._direction(group, self.client[0], self.upstream[1])
                self._direction(group, self.upstream[0], self.client[1])
        except* OSError:
            broken = True
        if broken:
            self.reset()  # one side was reset (or broke): so is the other, as a router dropping it would
            return
        for _, writer in (self.client, self.upstream):
            writer.close()

    def reset(self) -> None:
        self.was_reset = True
        for _, writer in (self.client, self.upstream):
            reset(writer)
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()

    def _direction(self, group: asyncio.TaskGroup, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        queue: Queue = asyncio.Queue(QUEUED_CHUNKS)
        group.create_task(self._read(src, queue))
        group.create_task(self._deliver(queue, dst))

    async def _read(self, src: asyncio.StreamReader, queue: Queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.relay.flowing.wait()  # a blackhole reads no further
            data = await src.read(CHUNK)
            await queue.put((loop.time() + self.relay.control.delay_ms / 1000, data))
            if not data:
                return

    async def _deliver(self, queue: Queue, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await self.relay.flowing.wait()  # and delivers nothing it already holds
            if not data:
                if dst.can_write_eof():
                    dst.write_eof()  # half-close: the other direction goes on until its own EOF
                return
            dst.write(data)
            await dst.drain()


class Relay:
    def __init__(self, target: tuple[str, int], control: Control):
        self.target = target
        self.control = control
        self.flowing = asyncio.Event()
        self.connections: set[Connection] = set()
        self.last_cut = 0  # connections reset by the last cut
        self.apply(control)

    def apply(self, control: Control) -> None:
        self.control = control
        if control.state == "blackhole":
            self.flowing.clear()
        else:
            self.flowing.set()
        if control.state == "cut":
            self.last_cut = len(self.connections)
            for conn in list(self.connections):
                conn.reset()
            self.connections.clear()  # gone now: state.json's count says so at once

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.control.state == "cut":
            reset(writer)
            return
        try:
            upstream = await asyncio.open_connection(*self.target)
        except OSError:
            reset(writer)  # the client sees its connection fail, as a refused one through a router would
            return
        if self.control.state == "cut":  # cut while it connected upstream: it was not in the set to reset
            reset(writer)
            reset(upstream[1])
            return
        conn = Connection(self, (reader, writer), upstream)
        self.connections.add(conn)
        try:
            await conn.run()
        except asyncio.CancelledError:
            if not conn.was_reset:
                raise
        finally:
            self.connections.discard(conn)


class Files:
    """The relay's side of its directory: read control.json when it changes, write state.json and relay.pid."""

    def __init__(self, directory: Path, listen: tuple[str, int], target: tuple[str, int]):
        self.dir = directory
        self.listen = listen
        self.target = target
        self.seen: tuple[int, int, int] | None = None
        self.control: Control | None = None  # the last valid content of control.json
        self.error: str | None = None  # why its current content is not valid

    def control_changed(self) -> bool:
        """Read control.json if it changed since the last call (link.py replaces it whole, by rename)."""
        path = self.dir / CONTROL_FILE
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature == self.seen:
            return False
        self.seen = signature
        try:
            self.control, self.error = parse_control(path.read_text()), None
        except (OSError, ValueError, TypeError) as exc:
            self.error = f"{path}: {exc}"
            log.warning("ignoring %s", self.error)
        return True

    def write_state(self, relay: Relay) -> None:
        state = {
            **asdict(relay.control),
            "pid": os.getpid(),
            "listen": {"host": self.listen[0], "port": self.listen[1]},
            "target": {"host": self.target[0], "port": self.target[1]},
            "connections": len(relay.connections),
            "last_cut": relay.last_cut,
            "error": self.error,
            "code": CODE,
        }
        atomic_write(self.dir / STATE_FILE, json.dumps(state) + "\n")

    @property
    def pidfile(self) -> Path:
        return self.dir / PID_FILE


async def watch(relay: Relay, files: Files) -> None:
    """Apply each new control generation, then acknowledge it (or report a control file that does not parse)."""
    while True:
        if files.control_changed():
            if files.control is not None and files.control.generation != relay.control.generation:
                relay.apply(files.control)
                log.info("generation %d: %s, %g ms each way (%d connection(s) reset)", relay.control.generation,
                         relay.control.state, relay.control.delay_ms,
                         relay.last_cut if relay.control.state == "cut" else 0)
            files.write_state(relay)
        await asyncio.sleep(POLL_S)


async def serve(listen: tuple[str, int], target: tuple[str, int], directory: Path, delay_ms: float,
                ready_fd: int | None = None) -> None:
    files = Files(directory, listen, target)
    files.control_changed()  # a restarted relay takes up the state it was told last
    relay = Relay(target, files.control or Control(delay_ms=delay_ms))
    server = await asyncio.start_server(relay.serve, *listen)
    files.listen = (listen[0], server.sockets[0].getsockname()[1])  # port 0: the one the kernel chose
    async with server:
        log.info("listening on %s:%d, forwarding to %s:%d; %s, %g ms each way", *files.listen, *target,
                 relay.control.state, relay.control.delay_ms)
        files.write_state(relay)
        listening(files.pidfile, ready_fd)  # last: a live pid means state.json is there and the port accepts
        await watch(relay, files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.lab.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=loopback_address, required=True, help="loopback HOST:PORT (port 0: any free)")
    parser.add_argument("--target", type=loopback_address, required=True, help="loopback HOST:PORT to forward to")
    parser.add_argument("--dir", type=Path, required=True, help="directory of control.json, state.json, relay.pid")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="one-way delay when control.json has none")
    parser.add_argument("--daemon", action="store_true", help="detach; exit 0 once listening, 1 if it cannot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s relay[%(process)d] %(message)s")
    ready_fd = daemonize() if args.daemon else None
    asyncio.run(serve(args.listen, args.target, args.dir, args.delay_ms, ready_fd))


if __name__ == "__main__":
    main()
