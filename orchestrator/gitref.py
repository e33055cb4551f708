"""Branch names from the command line, validated before they go anywhere near a shell or git.

The rules are git's own (`git check-ref-format --branch`, see git-check-ref-format(1)), checked here so
that a hostile name is refused on the orchestrator with exit 2 before any host is touched. On top of
git's rules a name may not start with '-' (it would read as an option) and must be printable ASCII:
branch names with shell metacharacters are valid for git, so every use is shlex-quoted as well.
"""

from __future__ import annotations

import re

from orchestrator.errors import BadInput

MAX_LENGTH = 200
# Allowed characters: git forbids space ~ ^ : ? * [ \ and control characters; we also refuse the shell's
# favourites ($ ` ; & | < > ( ) { } ' " ! #) so a name can be pasted into a terminal safely.
_ALLOWED = re.compile(r"[A-Za-z0-9._/+=,%@-]+")


def branch_problem(name: str) -> str | None:
    """Why `name` is not an acceptable branch name, or None when it is."""
    if not name:
        return "it is empty"
    if len(name) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    if not _ALLOWED.fullmatch(name):
        bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
        return f"it contains {', '.join(repr(c) for c in bad)} (allowed: letters, digits and . _ / + = , % @ -)"
    if name.startswith("-"):
        return "it starts with '-'"
    if name == "@" or "@{" in name:
        return "it is '@' or contains '@{'"
    if ".." in name:
        return "it contains '..'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "it has an empty path component (leading, trailing or double '/')"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"component {part!r} starts with '.'"
        if part.endswith(".lock"):
            return f"component {part!r} ends with '.lock'"
    if name == "HEAD":
        return "HEAD is not a branch"
    return None


def validate_branch(name: str) -> str:
    """`name` if it is a valid branch name, else BadInput (exit 2) saying exactly why."""
    problem = branch_problem(name)
    if problem:
        raise BadInput(f"--branch {name!r} is not a valid branch name: {problem}")
    return name
