"""The one way tests wait: poll a condition until a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60, interval: float = 0.2) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` and the last value when the deadline passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)  # polling interval of a deadline-bounded wait, not a fixed delay
    pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
