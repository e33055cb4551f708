"""The deployed stack as verify sees it: the checkout's commit and untracked files, and where (not what) a
known secret value shows up in the stack's container logs or in files git would commit.

The raw text (logs, untracked files) stays in memory: only the places of hits leave this module.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field
from typing import Any

from orchestrator.host.shellcmd import call, load
from orchestrator.ops.triage.gather import split

CHECKOUT = load("orchestrator.ops.verify", "deployed_checkout")
TIMEOUT = 90
UNTRACKED_BYTES = 65536
UNTRACKED_MOST = 50
# File names that hold secrets by convention; with the host's secret_files they make an untracked file a hit
# even when no known value is in it (a copy of .env from another environment holds values we never saw).
SECRET_NAMES = (".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "id_rsa*", "id_ed25519*")


@dataclass
class Deployed:
    commit: str = ""
    branch: str = ""
    status: list[str] = field(default_factory=list)  # git status --porcelain lines
    untracked: list[str] = field(default_factory=list)
    logs_read: list[str] = field(default_factory=list)  # containers whose current run was searched
    secret_hits: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""  # why the checkout could not be read (not a git checkout, dubious ownership, ...)

    def facts(self) -> dict[str, Any]:
        return {"commit": self.commit, "branch": self.branch, "status": self.status, "untracked": self.untracked,
                "changes": [ln for ln in self.status if not ln.startswith("??")],
                "logs_read": self.logs_read, "secret_hits": self.secret_hits, "problem": self.problem}


def command(stack_dir: str, project: str, lines: int) -> str:
    return call(CHECKOUT, stack_dir, project, str(lines), str(UNTRACKED_BYTES), str(UNTRACKED_MOST))


def parse(text: str, secrets: dict[str, str], secret_files: list[str]) -> Deployed:
    """checkout.sh's answer, searched for `secrets` (value -> its name)."""
    sections = split(text)
    found = Deployed()
    head = sections.get("commit", "").strip()
    if len(head) == 40 and all(c in "0123456789abcdef" for c in head):
        found.commit = head
        found.branch = sections.get("branch", "").strip()
        found.status = [ln for ln in sections.get("status", "").splitlines() if ln.strip()]
    else:
        found.problem = f"cannot read the stack checkout's commit: {head.splitlines()[-1] if head else 'no answer'}"
    names = [posixpath.basename(f) for f in secret_files]
    for name, body in sections.items():
        kind, _, what = name.partition(" ")
        if kind == "untracked":
            found.untracked.append(what)
            found.secret_hits += _file_hits(what, body, secrets, names)
        elif kind == "log":
            found.logs_read.append(what)
            found.secret_hits += _hits(body, secrets, f"container log of {what}")
    return found


def _file_hits(path: str, body: str, secrets: dict[str, str], names: list[str]) -> list[dict[str, Any]]:
    where = f"untracked file {path} in the stack checkout (git status shows it; not ignored)"
    hits = _hits(body, secrets, where)
    base = posixpath.basename(path)
    if not hits and any(fnmatch.fnmatch(base, pattern) for pattern in (*SECRET_NAMES, *names)):
        hits.append({"secret": "a secret file by its name", "where": where})
    return hits


def _hits(text: str, secrets: dict[str, str], where: str) -> list[dict[str, Any]]:
    """One hit per secret found in `text`, naming every line it is on (not the value)."""
    return lines_hits(text.splitlines(), secrets, where)


def lines_hits(lines: list[str], secrets: dict[str, str], where: str) -> list[dict[str, Any]]:
    found: dict[str, list[int]] = {}
    for number, line in enumerate(lines, 1):
        for value, name in secrets.items():
            if value in line:
                found.setdefault(name, []).append(number)
    return [{"secret": name, "where": f"{where}, line{'s' if len(numbers) > 1 else ''} "
             f"{', '.join(map(str, numbers[:10]))}{' …' if len(numbers) > 10 else ''}"}
            for name, numbers in found.items()]
