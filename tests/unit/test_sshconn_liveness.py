"""sshconn.Liveness on a stand-in transport: a peer that stops answering keepalives is dropped after
MISSED_KEEPALIVES intervals, one that answers never is (the real thing, through the lab's blackholed link, is
tests/integration/test_link.py)."""

from __future__ import annotations

import threading
import time

from orchestrator.host import sshconn
from tests.waiting import wait_for

INTERVAL = 0.05


class StandInTransport:
    """What Liveness uses of a paramiko.Transport: is_active, global_request (blocking), close."""

    def __init__(self, answers: bool):
        self.answers = answers
        self.requests: list[tuple[str, bool]] = []
        self.closed = threading.Event()

    def is_active(self) -> bool:
        return not self.closed.is_set()

    def global_request(self, kind: str, data: object = None, wait: bool = True) -> None:
        self.requests.append((kind, wait))
        if not self.answers:
            self.closed.wait()  # a silent peer: Paramiko waits until the transport is closed
        return None  # sshd's answer to an unknown request is a failure: None, and still an answer

    def close(self) -> None:
        self.closed.set()


def test_a_peer_that_stops_answering_is_dropped_after_the_missed_intervals() -> None:
    transport = StandInTransport(answers=False)
    watcher = sshconn.Liveness(transport, INTERVAL)  # type: ignore[arg-type]
    started = time.monotonic()
    watcher.start()
    wait_for(transport.closed.is_set, "the silent peer's transport to be closed", timeout=5, interval=0.01)
    elapsed = time.monotonic() - started
    # One interval before the first keepalive, then MISSED_KEEPALIVES intervals without its answer.
    assert (1 + sshconn.MISSED_KEEPALIVES) * INTERVAL <= elapsed < 2, elapsed
    assert transport.requests == [("keepalive@openssh.com", True)]  # it asks for an answer
    assert watcher.dead is not None and "no SSH keepalive for 0.15s" in watcher.dead


def test_a_peer_that_answers_is_kept_and_asked_every_interval() -> None:
    transport = StandInTransport(answers=True)
    watcher = sshconn.Liveness(transport, INTERVAL)  # type: ignore[arg-type]
    watcher.start()
    try:
        wait_for(lambda: len(transport.requests) >= 10, "ten keepalives", timeout=5, interval=0.01)
        assert transport.is_active() and watcher.dead is None
    finally:
        watcher.stop()
        transport.close()


def test_a_stopped_watcher_closes_nothing() -> None:
    transport = StandInTransport(answers=False)
    watcher = sshconn.Liveness(transport, INTERVAL)  # type: ignore[arg-type]
    watcher.start()
    wait_for(lambda: transport.requests, "the first keepalive", timeout=5, interval=0.01)
    watcher.stop()  # the Host closed the connection itself while a keepalive was unanswered
    watcher._thread.join(5)
    assert not watcher._thread.is_alive() and watcher.dead is None and transport.is_active()
    transport.close()
