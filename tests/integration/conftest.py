"""The lab is brought up once per session (idempotent; repairs a broken stack) and shared by all tests.

Tests that break something restore it in a `finally` or through `healthy_stack`; every wait is a poll
with a deadline.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from orchestrator import lab
from tests.integration.labkit import quietly_healthy, stack_healthy
from tests.waiting import wait_for


@pytest.fixture(scope="session")
def lab_up() -> Iterator[None]:
    try:
        lab.up(echo=lambda line: print(line, file=sys.stderr))
    except lab.LabError as exc:
        pytest.fail(f"lab.up failed: {exc}")
    yield


@pytest.fixture
def healthy_stack(lab_up: None) -> Iterator[None]:
    """The dev stack is healthy before the test, and is made healthy again after it (whatever it broke)."""
    if not quietly_healthy():
        lab.up(echo=lambda line: None)
    wait_for(stack_healthy, "the dev stack to be healthy")
    yield
    if not quietly_healthy():
        lab.up(echo=lambda line: None)
        wait_for(stack_healthy, "the dev stack to be healthy again")
