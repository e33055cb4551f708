"""The lab's link relay on its own, without the lab: a real relay process between a client and an upstream
echo server, all on 127.0.0.1 ephemeral ports, driven through link.py's controls."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from orchestrator.lab import link as link_module
from orchestrator.lab import relay
from orchestrator.lab.errors import LabError
from orchestrator.lab.link import Link
from tests.waiting import wait_for

DELAY_MS = 50.0
QUIET_S = 0.5  # how long "nothing arrives" is watched for: a bounded wait, expected to run out


class Upstream:
    """The relay's target: echoes every byte back and records what it received and how each connection ended."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.server.getsockname()
        self.received = bytearray()
        self.endings: dict[int, str] = {}  # connection index -> "eof", "reset" or "closed", once it ended
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed by close()
            with self.lock:
                self.conns.append(conn)
                index = len(self.conns) - 1
            threading.Thread(target=self._echo, args=(conn, index), daemon=True).start()

    def _echo(self, conn: socket.socket, index: int) -> None:
        ending = "eof"
        try:
            while data := conn.recv(65536):
                with self.lock:
                    self.received += data
                conn.sendall(data)
        except ConnectionResetError:
            ending = "reset"
        except OSError:
            ending = "closed"
        conn.close()  # the echo's own EOF, so the relay's other direction ends too
        with self.lock:
            self.endings[index] = ending

    def push(self, data: bytes) -> None:
        """Send from the server side, unasked, on the newest connection (the other direction)."""
        with self.lock:
            conn = self.conns[-1]
        conn.sendall(data)

    def close(self) -> None:
        self.server.close()
        with self.lock:
            for conn in self.conns:
                conn.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture(scope="module")
def relay_link(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Link, int]]:
    """One relay process for the module (its start-up is the slow part); yields its Link and port."""
    base = tmp_path_factory.mktemp("link")
    link = Link(base / "run")
    state = link.start(("127.0.0.1", 0), upstream.address, DELAY_MS, base / "relay.log")
    try:
        yield link, state["listen"]["port"]
    finally:
        link.stop()


@pytest.fixture
def link(relay_link: tuple[Link, int]) -> Iterator[Link]:
    """The module's relay, open at DELAY_MS at the start of each test, and again after it."""
    relay_link[0].set(state="open", delay_ms=DELAY_MS)
    yield relay_link[0]
    relay_link[0].set(state="open", delay_ms=DELAY_MS)


@pytest.fixture
def port(relay_link: tuple[Link, int]) -> int:
    return relay_link[1]


def connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"EOF after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    start = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def test_every_round_trip_gains_twice_the_one_way_delay(link: Link, port: int) -> None:
    with connect(port) as client:
        round_trip(client)  # the first carries the upstream connect
        rtts = [round_trip(client) for _ in range(3)]
        assert min(rtts) >= 2 * DELAY_MS / 1000, rtts
        assert link.set_delay(0)["delay_ms"] == 0
        fast = [round_trip(client) for _ in range(3)]
        assert min(fast) < DELAY_MS / 1000, fast  # the new delay applies on the same connection


def test_a_delayed_stream_arrives_whole_and_in_order(link: Link, port: int) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: many chunks in flight at once
    with connect(port) as client:
        sender = threading.Thread(target=client.sendall, args=(payload,))
        sender.start()
        assert recv_exactly(client, len(payload)) == payload
        sender.join(10)


def test_one_connection_does_not_wait_on_another(link: Link, port: int) -> None:
    link.set_delay(200)
    clients = [connect(port) for _ in range(5)]
    try:
        start = time.monotonic()
        with ThreadPoolExecutor(len(clients)) as pool:
            rtts = list(pool.map(round_trip, clients))
        elapsed = time.monotonic() - start
        assert min(rtts) >= 0.4
        assert elapsed < 2 * 0.4, (elapsed, rtts)  # one after the other would take 5 x 0.4 s
    finally:
        for client in clients:
            client.close()


def test_cut_resets_both_sides_at_once_and_refuses_new_connections_until_healed(
        link: Link, port: int, upstream: Upstream) -> None:
    with connect(port) as client:
        round_trip(client)
        with upstream.lock:
            ours = len(upstream.conns) - 1  # the round trip went through: its upstream connection is the newest
        acked = link.cut()
        # At least ours: earlier tests' connections may still be closing (their EOFs are delayed too).
        assert acked["state"] == "cut" and acked["last_cut"] >= 1 and acked["connections"] == 0
        start = time.monotonic()
        with pytest.raises(ConnectionResetError):
            client.recv(10)
        assert time.monotonic() - start < 1.0
        wait_for(lambda: upstream.endings.get(ours) == "reset", "the upstream side to see an RST",
                 timeout=5, interval=0.01)
    with pytest.raises(ConnectionResetError), connect(port) as late:  # the reset may beat connect() itself
        late.recv(10)  # accepted by the kernel, then reset: the link is down
    assert link.heal()["state"] == "open"
    with connect(port) as again:
        round_trip(again)


def test_blackhole_passes_nothing_either_way_and_keeps_the_connection(
        link: Link, port: int, upstream: Upstream) -> None:
    with connect(port) as client:
        round_trip(client)
        with upstream.lock:
            received_before = len(upstream.received)
        assert link.blackhole()["state"] == "blackhole"
        client.sendall(b"to-server")
        upstream.push(b"to-client")
        client.settimeout(QUIET_S)
        with pytest.raises(TimeoutError):  # not EOF, not a reset: the socket is open, and silent
            client.recv(100)
        assert len(upstream.received) == received_before
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        assert link.heal()["state"] == "open"
        client.settimeout(10)
        # Held, not dropped: after the outage both directions flow on, in order, on the same connection.
        assert recv_exactly(client, len(b"to-client" + b"to-server")) == b"to-client" + b"to-server"


def test_a_new_connection_during_a_blackhole_hangs_until_healed(link: Link, port: int) -> None:
    link.blackhole()
    with connect(port) as client:
        client.sendall(b"hello")
        client.settimeout(QUIET_S)
        with pytest.raises(TimeoutError):
            client.recv(10)
        link.heal()
        client.settimeout(10)
        assert recv_exactly(client, 5) == b"hello"


def test_the_control_file_is_an_interface_of_its_own(link: Link) -> None:
    """Written by hand (lab.status names it), the relay acknowledges it in state.json just the same."""
    generation = link.state()["generation"] + 1
    link.control_file.write_text(json.dumps({"generation": generation, "state": "open", "delay_ms": 7}))
    acked = wait_for(lambda: (link.state() or {}).get("generation") == generation and link.state(),
                     "the relay to acknowledge a hand-written control file", timeout=5, interval=0.01)
    assert acked["delay_ms"] == 7 and acked["error"] is None
    link.control_file.write_text('{"generation": 99, "state": "sideways"}')
    broken = wait_for(lambda: (link.state() or {}).get("error"), "the relay to report a broken control file",
                      timeout=5, interval=0.01)
    assert "sideways" in broken and link.state()["generation"] == generation  # nothing applied
    assert link.set_delay(DELAY_MS)["generation"] == generation + 1  # the API takes over from a broken file


def test_bad_requests_are_refused_before_reaching_the_relay(link: Link) -> None:
    before = link.state()
    for bad in ({"state": "down"}, {"delay_ms": -1}, {"delay_ms": float("nan")}):
        with pytest.raises(LabError) as err:
            link.set(**bad)  # type: ignore[arg-type]
        assert err.value.exit_code == 2
    assert link.state() == before


def test_no_relay_no_acknowledgement(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no relay is running"):
        Link(tmp_path).cut()


def test_a_taken_port_fails_the_start_at_once(upstream: Upstream, tmp_path: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        start = time.monotonic()
        with pytest.raises(LabError, match="did not start") as err:
            Link(tmp_path / "run").start(taken.getsockname(), upstream.address, 1, tmp_path / "relay.log")
        assert time.monotonic() - start < 10
        assert "address already in use" in str(err.value).lower()
    finally:
        taken.close()


def test_only_loopback_addresses_are_accepted(tmp_path: Path) -> None:
    for listen, target in (("0.0.0.0:0", "127.0.0.1:1"), ("127.0.0.1:0", "192.0.2.1:22")):
        out = subprocess.run([sys.executable, "-m", relay.__name__, "--listen", listen, "--target", target,
                              "--dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and "not a loopback address" in out.stderr


def test_the_relay_logs_what_it_did_and_nothing_alarming(link: Link) -> None:
    link.set_delay(7)
    text = (link.dir.parent / "relay.log").read_text()
    assert " listening on 127.0.0.1:" in text and ": open, 7 ms each way" in text
    # e.g. runpy's RuntimeWarning, were the package to import relay.py before `-m` runs it as __main__
    assert "Warning" not in text and "Traceback" not in text, text


def test_the_lab_link_module_acts_on_the_lab_s_link_directory() -> None:
    assert link_module.LAB.dir == Path("/run/shakedown-lab/link")
    assert link_module.LISTEN == ("127.0.0.1", 2322) and link_module.TARGET == ("127.0.0.1", 2222)
