"""`invoke inventory --list`: the resolved inventory in ansible-inventory's --list JSON shape (config/ansiblelist.py),
on stdout. Reads the inventory only; no host is contacted."""

from __future__ import annotations

from orchestrator.config import ansiblelist, inventory
from orchestrator.run.task import Run


def show(run: Run, inventory_path: str | None, pattern: str | None) -> int:
    inv = inventory.load(inventory_path)
    run.consoles.json(ansiblelist.listing(inv, pattern))
    return 0
