"""The house stays one-way (docs/design.md, "The house"): the import-linter contract in pyproject.toml
holds, it has teeth, and each cross-cutting concern has one home."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orchestrator"
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)


def test_the_layers_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_breaks_the_contract(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "orchestrator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    low = tmp_path / "orchestrator" / "host" / "__init__.py"
    low.write_text(low.read_text() + "\nfrom orchestrator.engine import run as _up_the_layers  # noqa: E402\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "orchestrator.host -> orchestrator.engine" in result.stdout, result.stdout


def sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in PACKAGE.rglob("*.py")}


def homes(pattern: str) -> set[str]:
    return {name for name, text in sources().items() if re.search(pattern, text)}


def test_signals_are_handled_in_one_place():
    assert homes(r"signal\.signal\(") == {"run/signals.py"}


def test_the_run_directory_and_exit_map_have_one_home_each():
    assert homes(r"def write_run_dir\(|write_run_dir\(") == {"run/rundir.py", "run/task.py"}
    assert homes(r"\"pass\":\s*(EXIT_PASS|0)\b") == {"run/results.py"}
    assert homes(r"def guard\(") == {"cli/__init__.py"}


def test_hosts_fan_out_in_one_place():
    """The engine's bounded executor is the one fan-out over inventory hosts (the lab starts its own
    daemons in parallel, which is not a run over hosts)."""
    assert homes(r"ThreadPoolExecutor\(") - {"lab/fleet.py"} == {"engine/__init__.py"}


def test_df_output_is_read_in_one_place():
    """Every script's `df -Pk` line goes through ops/parsers/df.py (its Capacity column ends in %)."""
    assert homes(r'rstrip\("%"\)|1024-blocks') == {"ops/parsers/df.py"}


def test_docker_inspect_output_is_read_in_one_place():
    """Every `docker inspect` JSON we read (the host scripts', the lab's) goes through ops/parsers/docker_inspect.py."""
    assert homes(r'"State"|"RestartCount"|"Health"') == {"ops/parsers/docker_inspect.py"}


def test_console_tables_are_built_by_the_run_layer_and_one_procedures_module():
    """run/console.py shows every task's checks; procedures/tables.py the few task-specific tables."""
    assert homes(r"\bTable\(") == {"run/console.py", "procedures/tables.py"}
    assert homes(r"(?<![.\w])print\(") - {"run/console.py"} <= {"procedures/bench/contenders.py"}  # its probes
