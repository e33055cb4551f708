"""Everything an e2e checks before it changes anything: one read-only round trip per host.

Bad input (a branch that does not exist, a missing stack dir) exits 2; a host that cannot be borrowed
(unreachable, leased, an unfinished journal, too little disk, no compose) exits 3. Either way nothing
on any host has changed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from orchestrator.errors import BadInput, InfraError
from orchestrator.host import Host
from orchestrator.ops.e2e import lease, scripts
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.ops.parsers import df


@dataclass(frozen=True)
class Ready:
    now: float  # the host's clock
    repo: str
    commit: str
    compose: str
    stale: lease.Lease | None = None  # an expired lease with no journal behind it: safe to break


@dataclass(frozen=True)
class Seen:
    """What preflight.sh saw on the host, each fact None (or empty) when the host did not report it."""

    now: float  # the host's clock
    stack_dir: bool
    repo: str
    repo_error: str | None
    lease: str | None  # the lease file's JSON line
    journal: str | None  # the unfinished journal's first entry
    writable: str | None  # the nearest existing directory at or above state_dir, when writable
    free_kb: int
    compose: str
    refs: dict[str, str] = field(default_factory=dict)  # ref name -> commit


def parse(text: str) -> Seen:
    facts: dict[str, str] = {}
    refs: dict[str, str] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "REF":
            commit, _, ref = rest.partition("\t")
            refs[ref.strip()] = commit.strip()
        else:
            facts[kind] = rest.strip()
    return Seen(now=float(facts.get("NOW", "0") or 0), stack_dir="STACK_DIR" in facts, repo=facts.get("REPO", ""),
                repo_error=facts.get("REPO_ERROR"), lease=facts.get("LEASE"), journal=facts.get("JOURNAL"),
                writable=facts.get("WRITABLE"), free_kb=_free_kb(facts.get("DF", "")),
                compose=facts.get("COMPOSE", ""), refs=refs)


def _free_kb(line: str) -> int:
    usage = df.parse_line(line)
    return usage.free_kb if usage else 0


def check(target: Host, peers: dict[str, Host], cfg: StackConfig, branch: str | None) -> Ready:
    """branch None: the run works on the deployed stack itself (invoke matrix), so no repo is needed."""
    seen = parse(target.run(scripts.call(scripts.PREFLIGHT, cfg.state_dir, cfg.stack_dir,
                                         cfg.repo or "" if branch is not None else "-", branch or "")).stdout)
    name = target.name
    if not seen.stack_dir:
        raise BadInput(f"{name}: stack_dir {cfg.stack_dir} does not exist on the host")
    repo, commit = seen.repo, ""
    if branch is not None:
        if not repo:
            raise BadInput(f"{name}: no stack_repo in the inventory and {cfg.stack_dir} has no git origin")
        if seen.repo_error is not None:
            raise InfraError(f"{name}: cannot read {repo}: {seen.repo_error}")
        commit = seen.refs.get(f"refs/heads/{branch}", "")
        if not commit:
            raise BadInput(f"--branch {branch!r} does not exist in {repo} (as seen from {name})")
    now = seen.now
    stale = _free_to_borrow(name, seen, now)
    if seen.writable is None:
        raise InfraError(f"{name}: cannot write state_dir {cfg.state_dir} (or the directory above it)")
    free_mb = seen.free_kb / 1024
    if free_mb < cfg.min_free_mb:
        raise InfraError(f"{name}: only {free_mb:.0f} MB free at {cfg.state_dir}; e2e needs {cfg.min_free_mb:g} MB "
                         "(min_free_mb); clean up first (e.g. `invoke prune`)")
    compose = cfg.compose_command or seen.compose
    if not compose:
        raise InfraError(f"{name}: neither `docker compose` nor `docker-compose` is available on the host")
    for peer in cfg.peers:
        _check_peer(peers[peer.host], peer.file)
    return Ready(now, repo, commit, compose, stale)


def _free_to_borrow(name: str, seen: Seen, now: float) -> lease.Lease | None:
    if seen.journal is not None:
        first = seen.journal
        run = lease.parse(seen.lease or "")
        if lease.live(run, now) and run.run_id in first:
            raise lease.LeaseHeld(f"{name}: leased by {run.describe(now)}; not starting")
        raise InfraError(f"{name}: an earlier e2e did not finish restoring (journal {first[:120]}); "
                         f"run `invoke restore --host {name}` first")
    held = lease.parse(seen.lease or "")
    if lease.live(held, now):
        raise lease.LeaseHeld(f"{name}: leased by {held.describe(now)}; not starting")
    return held


def _check_peer(host: Host, path: str) -> None:
    q = shlex.quote(path)
    result = host.run(f'test -f {q} && test -w {q} && test -w "$(dirname -- {q})"', warn=True)
    if not result.ok:
        raise InfraError(f"{host.name}: borrowed peer file {path} is missing, or it or its directory is not "
                         "writable (the backup goes beside it)")
