"""The signal policy of every task: SIGINT and SIGTERM cancel the run, promptly, on the hosts too.

On the first signal: CANCEL is set (no new task starts, waits end), every command in flight is ended on
its host (from a helper thread, so the handler never re-enters a connection the interrupted frame holds),
and KeyboardInterrupt unwinds the main thread to the one guard in cli, which answers exit 3.
Inside `protected()` (a restore) a signal is noted and reported, not obeyed: the section finishes first.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from orchestrator import cancel
from orchestrator.cancel import CANCEL

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalPolicy:
    def __init__(self, echo: Callable[[str], None] | None = None):
        self.echo = echo or (lambda line: None)
        self._protected = threading.Event()
        self.received: list[str] = []

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    def handler(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self._protected.is_set():
            self.echo(f"{name}: restore in progress, not interrupting it (if you must, kill -9 this process "
                      "and run `invoke restore`)")
            return
        CANCEL.set()
        threading.Thread(target=cancel.cancel_all, name="cancel-on-signal", daemon=True).start()
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[SignalPolicy]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread can take signals; a caller in a thread is cancelled by its owner
            return
        previous = {sig: signal.signal(sig, self.handler) for sig in SIGNALS}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            CANCEL.clear()

    @contextmanager
    def protected(self) -> Iterator[None]:
        """A section no signal may cut short (a restore); commands in it run even after a cancel."""
        self._protected.set()
        CANCEL.clear()
        try:
            yield
        finally:
            self._protected.clear()
