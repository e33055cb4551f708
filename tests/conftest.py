"""Fixtures shared by unit and integration tests: one headless Chromium per test session (tests/browser.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import browser as chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[chromium.Chromium]:
    """Debian's chromium, started once: every browser test opens its page in a tab of this one process.
    Missing, it is a skip with the reason locally and a failure in CI (scripts/setup.sh installs it)."""
    binary = chromium.find()
    if binary is None:
        message = "chromium is not installed (apt-get install chromium; scripts/setup.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    proc = chromium.Chromium(binary)
    try:
        yield proc
    finally:
        proc.close()
