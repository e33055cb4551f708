"""The sample app's bare git repository, built deterministically from tests/lab/ sources.

main is tests/lab/app; every folder tests/lab/branches/<name>/ becomes branch <name>: main with that folder's
files laid over it. Fixed identity and dates make each commit id a pure function of the sources, so lab.up
can tell whether the repository is current by recomputing the ids.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .proc import run
from .spec import APP_SRC, BRANCHES_SRC, GIT_IDENTITY, MAIN_BRANCH, REPO_DIR

GIT_TIMEOUT = 60


def git(git_dir: Path, *args: str, work_tree: Path | None = None, index: Path | None = None) -> str:
    extra = dict(GIT_IDENTITY)
    extra["GIT_DIR"] = str(git_dir)
    if work_tree is not None:
        extra["GIT_WORK_TREE"] = str(work_tree)
    if index is not None:
        extra["GIT_INDEX_FILE"] = str(index)
    return run(["git", "-c", "core.autocrlf=false", "-c", "core.fileMode=true", *args],
               extra_env=extra, timeout=GIT_TIMEOUT).stdout.strip()


def branch_sources() -> dict[str, list[Path]]:
    """Branch name -> source folders laid over one another, in order."""
    branches = {MAIN_BRANCH: [APP_SRC]}
    if BRANCHES_SRC.is_dir():
        for overlay in sorted(p for p in BRANCHES_SRC.iterdir() if p.is_dir()):
            branches[overlay.name] = [APP_SRC, overlay]
    return branches


def _commit(git_dir: Path, layers: list[Path], message: str, parent: str | None) -> str:
    with tempfile.TemporaryDirectory(prefix="shakedown-lab-") as tmp:
        tree_dir = Path(tmp) / "tree"
        for layer in layers:
            shutil.copytree(layer, tree_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        index = Path(tmp) / "index"
        git(git_dir, "add", "-A", ".", work_tree=tree_dir, index=index)
        tree = git(git_dir, "write-tree", index=index)
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    return git(git_dir, *args)


def expected_refs(git_dir: Path) -> dict[str, str]:
    """Write the objects for every branch into git_dir and return branch -> commit id."""
    refs: dict[str, str] = {}
    for name, layers in branch_sources().items():
        parent = refs.get(MAIN_BRANCH)
        message = "Sample app" if name == MAIN_BRANCH else f"Sample app: {name}"
        refs[name] = _commit(git_dir, layers, message, parent)
    return refs


def current_refs(git_dir: Path) -> dict[str, str]:
    out = git(git_dir, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def ensure(echo: Callable[[str], None]) -> tuple[str, bool]:
    """Make the bare repo match the sources; returns (main commit, whether the repo was (re)built)."""
    if (REPO_DIR / "HEAD").exists():
        want = expected_refs(REPO_DIR)
        have = current_refs(REPO_DIR)
        if all(have.get(b) == c for b, c in want.items()):
            echo(f"lab: repo {REPO_DIR} already current (main {want[MAIN_BRANCH][:12]})")
            return want[MAIN_BRANCH], False
        echo(f"lab: repo {REPO_DIR} differs from tests/lab sources: rebuilding it")
        shutil.rmtree(REPO_DIR)
    REPO_DIR.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "--bare", "-b", MAIN_BRANCH, str(REPO_DIR)], timeout=GIT_TIMEOUT)
    want = expected_refs(REPO_DIR)
    for branch, commit in want.items():
        git(REPO_DIR, "update-ref", f"refs/heads/{branch}", commit)
    # Readable by the login users (they fetch from it over the filesystem); writable by root only.
    run(["chmod", "-R", "a+rX,go-w", str(REPO_DIR)])
    echo(f"lab: repo {REPO_DIR} created (main {want[MAIN_BRANCH][:12]}; branches {', '.join(want)})")
    return want[MAIN_BRANCH], True
