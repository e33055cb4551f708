"""CI's word on a deploy: per declared repo, find the pipeline that built what is deployed, wait until it is
final (or the wait runs out), and judge it by Woodpecker's pipeline status, never by its steps alone.

The pipeline is found as the inventory says (`match`): `commit`, the one that built the deployed checkout's
commit; `version`, the tag pipeline of the deployed VERSION (`refs/tags/1.4.2` or `refs/tags/v1.4.2`);
`newest`, the newest pipeline of the deploy branch and event. When the deployed commit or version has no
pipeline, the newest one is reported with `matched: false`, which the stop-release rules turn into "the
deployed version is not what CI built".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.cancel import CANCEL
from orchestrator.ops.ci.woodpecker import (
    FAILED,
    MAX_PAGES,
    NOT_FINAL,
    PER_PAGE,
    SUCCESS,
    CIUnavailable,
    Client,
    Pipeline,
    is_final,
)
from orchestrator.ops.verify.live import lines_hits


@dataclass(frozen=True)
class Repo:
    """One `ci.repos` entry of the inventory."""
    name: str
    id: int
    branch: str = "main"
    event: str = "push"
    match: str = "newest"
    steps: tuple[str, ...] = ()

    @classmethod
    def from_decl(cls, raw: dict[str, Any]) -> Repo:
        return cls(raw["name"], raw["id"], raw.get("branch", "main"), raw.get("event", "push"),
                   raw.get("match", "newest"), tuple(raw.get("steps") or ()))


@dataclass
class Word:
    """What CI says about one repo: the verdict (pass, fail or blocked) and why."""
    repo: Repo
    state: str = "blocked"
    reason: str = "not asked yet"
    wanted: str = ""  # the deployed commit or version looked for ("" for match: newest)
    pipeline: Pipeline | None = None
    matched: bool | None = None
    secret_hits: list[dict[str, Any]] = field(default_factory=list)
    logs_unscanned: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        """The stop-release rules' view (no log text, no token)."""
        p = self.pipeline
        return {"repo": self.repo.name, "id": self.repo.id, "match": self.repo.match, "wanted": self.wanted,
                "matched": self.matched, "state": self.state, "reason": self.reason,
                "number": p.number if p else None, "status": p.status if p else None,
                "commit": p.commit if p else "", "ref": p.ref if p else "", "branch": p.branch if p else "",
                "steps": {s.name: s.state for s in p.steps} if p else {},
                "logs_unscanned": self.logs_unscanned}


def watch(client: Client, repos: list[Repo], *, commit: str, version: str, wait: float, poll: float,
          secrets: dict[str, str]) -> list[Word]:
    """Ask until every repo's pipeline is final or `wait` seconds pass; then scan the final ones' step logs for
    `secrets` (value -> its name). Ctrl-C ends the wait at once (the engine's cancel event)."""
    words = [Word(r, wanted=_wanted(r, commit, version)) for r in repos]
    deadline = time.monotonic() + wait
    open_ = list(words)
    while open_ and not CANCEL.is_set():
        for word in open_:
            _ask(client, word)
        open_ = [w for w in open_ if w.pipeline is not None and not is_final(w.pipeline.status)
                 and w.reason != "unreachable"]
        left = deadline - time.monotonic()
        if not open_ or left <= 0:
            break
        CANCEL.wait(min(poll, left))
    for word in words:
        _judge(word, wait)
        if word.pipeline is not None and is_final(word.pipeline.status) and not CANCEL.is_set():
            _scan_logs(client, word, secrets)
    return words


def _wanted(repo: Repo, commit: str, version: str) -> str:
    return {"commit": commit, "version": version}.get(repo.match, "")


def _ask(client: Client, word: Word) -> None:
    try:
        found, matched = find(client, word.repo, word.wanted)
        word.pipeline = client.pipeline(word.repo.id, found.number) if found else None
        word.matched = matched
        word.reason = "asked"
    except CIUnavailable as exc:
        word.reason, word.state = "unreachable", "blocked"
        word.logs_unscanned = [str(exc)]


def find(client: Client, repo: Repo, wanted: str) -> tuple[Pipeline | None, bool | None]:
    """The pipeline that built `wanted` (matched True), else the newest of the branch and event (False);
    for match: newest, the newest (None). Lists newest first, a page of 50 at a time, at most 200 back."""
    newest: Pipeline | None = None
    for page in range(1, MAX_PAGES + 1):
        listed = client.pipelines(repo.id, page, branch=None if repo.match == "version" else repo.branch,
                                  event=repo.event)
        fitting = [p for p in listed if _fits(repo, p)]
        newest = newest or (fitting[0] if fitting else None)
        if repo.match == "newest" or not wanted:
            return newest, None
        hit = next((p for p in fitting if _built(repo, p, wanted)), None)
        if hit is not None:
            return hit, True
        if len(listed) < PER_PAGE:
            break
    return newest, False


def _fits(repo: Repo, p: Pipeline) -> bool:
    # v2 servers ignore the list filters: apply them here as well.
    if repo.match == "version":
        return p.event == repo.event or p.ref.startswith("refs/tags/")
    return p.branch == repo.branch and p.event == repo.event


def _built(repo: Repo, p: Pipeline, wanted: str) -> bool:
    if repo.match == "commit":
        return len(wanted) >= 7 and (p.commit == wanted or p.commit.startswith(wanted) or wanted.startswith(p.commit))
    return p.ref in (f"refs/tags/{wanted}", f"refs/tags/v{wanted}")


def _judge(word: Word, wait: float) -> None:
    p, repo = word.pipeline, word.repo
    if word.reason == "unreachable":
        word.reason = f"blocked: {word.logs_unscanned[0]}"
        return
    if p is None:
        word.state = "fail"
        word.reason = (f"{repo.name} (repo {repo.id}) has no pipeline of branch {repo.branch}, event {repo.event}: "
                       "CI never built what is deployed")
        return
    head = f"{repo.name} pipeline #{p.number} ({p.commit[:12] or p.ref or '?'})"
    if p.status in NOT_FINAL or not is_final(p.status):
        word.state = "blocked"
        word.reason = (f"blocked: {head} still {p.status or 'without a status'} after waiting {wait:g}s "
                       f"(steps: {_step_states(p)})")
    elif p.status in FAILED or p.status == "skipped":
        word.state = "fail"
        word.reason = f"{head} {p.status}" + _still_running(p) + _failed_steps(p)
    else:
        missing = [f"{name} {p.step(name).state if p.step(name) else 'missing'}" for name in repo.steps
                   if (p.step(name) is None or p.step(name).state != SUCCESS)]  # type: ignore[union-attr]
        word.state = "fail" if missing else "pass"
        word.reason = (f"{head} success, but expected step(s) did not succeed: {', '.join(missing)}" if missing
                       else f"{head} success; steps {_step_states(p, repo.steps)}")


def _step_states(p: Pipeline, names: tuple[str, ...] = ()) -> str:
    steps = [s for s in p.steps if not names or s.name in names]
    return ", ".join(f"{s.name} {s.state}" for s in steps) or "none listed"


def _still_running(p: Pipeline) -> str:
    open_steps = [f"{s.name} {s.state}" for s in p.steps if s.state in NOT_FINAL]
    if not open_steps:
        return ""
    return (f"; step(s) still say {', '.join(open_steps)}: Woodpecker leaves a {p.status} pipeline's steps as the "
            "agent last reported them, so the pipeline's status is what counts")


def _failed_steps(p: Pipeline) -> str:
    failed = [f"{s.name} (exit {s.exit_code})" for s in p.steps if s.state in FAILED]
    return f"; failed step(s): {', '.join(failed)}" if failed else ""


def _scan_logs(client: Client, word: Word, secrets: dict[str, str]) -> None:
    """Every step's log of the final pipeline, searched for known secret values; hits name where, never what."""
    p = word.pipeline
    assert p is not None
    for step in p.steps:
        try:
            lines = client.step_log(word.repo.id, p.number, step.id)
        except CIUnavailable as exc:
            word.logs_unscanned.append(f"{word.repo.name} #{p.number} step {step.name}: {exc}")
            continue
        word.secret_hits += lines_hits(lines, secrets, f"CI {word.repo.name} pipeline #{p.number} step {step.name}"
                                       " log")
