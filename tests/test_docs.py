"""The README is the newcomer's contract: keep it true."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.config import settings
from orchestrator.modules import MODULES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_inventory_variable_is_documented():
    section = README.split("### Inventory variables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.M))
    assert documented == set(settings.KNOWN_VARS)


def test_every_module_is_listed():
    modules_line = README.split("Modules (`orchestrator/modules/`):", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", modules_line)) == set(MODULES)


def test_ci_runs_exactly_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_command = blocks[1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert test_command in ci_lines
    assert "pytest" in test_command and "setup.sh" in test_command
