"""Where each canary's branch is now: `git ls-remote` of the stack's repository, run on the host as e2e's
preflight does (the repository is the inventory's stack_repo, else the stack checkout's origin)."""

from __future__ import annotations

from orchestrator.errors import BadInput, InfraError
from orchestrator.host import Host, shellcmd
from orchestrator.ops.canaries.model import Canary

_REFS = shellcmd.load("orchestrator.ops.canaries", "refs")


def command(stack_dir: str, repo: str | None, branches: list[str]) -> str:
    return shellcmd.call(_REFS, stack_dir, repo or "", *branches)


def parse(text: str) -> tuple[str, str | None, dict[str, str]]:
    """(repo, error, branch -> commit)."""
    repo, error, refs = "", None, {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "REPO":
            repo = rest.strip()
        elif kind == "REPO_ERROR":
            error = rest.strip()
        elif kind == "REF":
            commit, _, ref = rest.partition("\t")
            refs[ref.strip().removeprefix("refs/heads/")] = commit.strip()
    return repo, error, refs


def read(host: Host, stack_dir: str, repo: str | None, branches: list[str]) -> tuple[str, dict[str, str]]:
    found_repo, error, refs = parse(host.run(command(stack_dir, repo, sorted(set(branches))), timeout=60).stdout)
    if not found_repo:
        raise BadInput(f"{host.name}: no stack_repo in the inventory and {stack_dir} has no git origin")
    if error is not None:
        raise InfraError(f"{host.name}: cannot read {found_repo}: {error}")
    return found_repo, refs


def refuse_moved(canaries: list[Canary], refs: dict[str, str], repo: str) -> None:
    """Bad input (exit 2) naming both commits when a canary's branch is not where the file pins it."""
    problems = []
    for c in canaries:
        now = refs.get(c.branch)
        if now is None:
            problems.append(f"{c.where}: canary {c.name}: branch {c.branch} does not exist in {repo}")
        elif now != c.commit:
            problems.append(f"{c.commit_where}: canary {c.name}: branch {c.branch} moved: pinned at {c.commit}, "
                            f"now at {now} in {repo}; re-pin it (after checking the new commit still deserves "
                            f"{c.expect}) or restore the branch")
    if problems:
        raise BadInput("refused: " + "; ".join(problems))
