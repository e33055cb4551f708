"""Where the repository's own files are: one home for every path the code derives from its location."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout (tasks.py, inventory/, playbooks/, artifacts/)
INVENTORY_DIR = ROOT / "inventory"
DEFAULT_INVENTORY = INVENTORY_DIR / "lab.yml"
PLAYBOOK_DIR = ROOT / "playbooks"
RULES_DIR = PLAYBOOK_DIR / "rules"
ARTIFACTS = ROOT / "artifacts"
GIT_DIR = ROOT / ".git"
