"""The one way a task turns --inventory and --host into the hosts it works on (bad input: exit 2)."""

from __future__ import annotations

from orchestrator.config import inventory
from orchestrator.errors import BadInput
from orchestrator.host import check_spec


def select(inventory_path: str | None, pattern: str, *, exactly_one: str | None = None
           ) -> tuple[inventory.Inventory, list[inventory.HostSpec]]:
    """Load the inventory, select `pattern`, check each host's connection settings before anything runs.
    `exactly_one` names the task that works on one host only (e2e borrows one, restore restores one)."""
    inv = inventory.load(inventory_path)
    targets = inv.select(pattern)
    if exactly_one and len(targets) != 1:
        raise BadInput(f"--host {pattern!r} matches {len(targets)} hosts ({', '.join(t.name for t in targets)}); "
                       f"{exactly_one} works on exactly one host")
    for spec in targets:
        check_spec(spec)
    return inv, targets
