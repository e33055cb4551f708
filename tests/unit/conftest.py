"""Shared fixtures: a temp inventory with one `local` host, and a helper that runs a YAML playbook on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.config.inventory import HostSpec
from orchestrator.engine import playbook
from orchestrator.host import Host
from tests.unit.helpers import write

LOCAL_INVENTORY = """\
all:
  hosts:
    local:
      ansible_connection: local
      command_timeout: 20
"""


@pytest.fixture(autouse=True)
def _no_leftover_cancel() -> Iterator[None]:
    engine.CANCEL.clear()
    yield
    engine.CANCEL.clear()


@pytest.fixture
def local_inventory(tmp_path: Path) -> inventory.Inventory:
    return inventory.load(write(tmp_path / "inventory.yml", LOCAL_INVENTORY))


@pytest.fixture
def local_spec(local_inventory: inventory.Inventory) -> HostSpec:
    return local_inventory.select("local")[0]


@pytest.fixture
def local_host(local_spec: HostSpec) -> Iterator[Host]:
    with Host(local_spec) as host:
        yield host


RunPlaybook = Callable[..., engine.RunResult]


@pytest.fixture
def run_playbook(tmp_path: Path, local_inventory: inventory.Inventory) -> RunPlaybook:
    """Write `text` as a playbook, load and validate it for `local`, run it; returns the RunResult."""

    def run(text: str, **extra_vars: object) -> engine.RunResult:
        book = playbook.load(write(tmp_path / "playbook.yml", text))
        targets = local_inventory.select("local")
        playbook.validate(book, targets, extra_vars)
        return engine.run(book, targets, extra_vars=extra_vars)

    return run
