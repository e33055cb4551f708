"""The process-wide cancel flag and the registry of what can be cancelled on a host.

SIGINT/SIGTERM set CANCEL (waits end at once, no new task starts) and cancel_all() ends every command in
flight *on its host*: closing an SSH channel does not stop a remote process. Base layer, so that hosts
register themselves here and the run layer's signal policy reaches them without importing the host layer.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Protocol

CANCEL = threading.Event()


class Cancellable(Protocol):
    def cancel(self) -> None: ...


_live: set[Cancellable] = set()
_lock = threading.Lock()


def register(item: Cancellable) -> None:
    with _lock:
        _live.add(item)


def unregister(item: Cancellable) -> None:
    with _lock:
        _live.discard(item)


def cancel_all() -> None:
    """End every registered item's work; best effort, each failure is the host-side timeout's to bound."""
    with _lock:
        items = list(_live)
    for item in items:
        with contextlib.suppress(Exception):
            item.cancel()
