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


def test_the_matrix_example_is_a_valid_matrix(tmp_path):
    from orchestrator.ops.matrix import model

    section = README.split("### `invoke matrix --host dev`", 1)[1].split("\n### ", 1)[0]
    example = re.findall(r"```yaml\n(.*?)\n```", section, re.S)[0]
    (tmp_path / "matrix.yml").write_text(example)
    matrix = model.load(tmp_path / "matrix.yml")
    assert [s.name for s in matrix.runnable] == ["big-pool", "small-pool-no-scanner", "scanner-on-gpu"]


def test_the_flow_example_is_a_valid_flow(tmp_path):
    from orchestrator.ops.flows import loader

    section = README.split("### `invoke flow --flow NAME`", 1)[1].split("\n### ", 1)[0]
    example = re.findall(r"```yaml\n(.*?)\n```", section, re.S)[0]
    (tmp_path / "flow.yml").write_text(example)
    flow = loader.load(tmp_path / "flow.yml")
    assert set(flow.modes) == {"live", "record"} and "accepted-related-id" in flow.known_gaps


def test_the_canary_example_is_a_valid_canary_file_pinned_like_the_suite(tmp_path):
    from orchestrator.ops.canaries import model

    section = README.split("### `invoke canaries`", 1)[1].split("\n### ", 1)[0]
    example = re.findall(r"```yaml\n(.*?)\n```", section, re.S)[0]
    (tmp_path / "canaries.yml").write_text(example)
    canaries = model.load(tmp_path / "canaries.yml").canaries
    pinned = {c.branch: c.commit for c in model.load().canaries}
    assert all(c.commit == pinned[c.branch] for c in canaries), "the README's example pins other commits than the suite"
    assert [len(c.assertions) for c in canaries] == [3, 1] and canaries[0].flags == ["--ready-timeout", "8"]
