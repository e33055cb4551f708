"""Everything an e2e checks before it changes anything: one read-only round trip per host.

Bad input (a branch that does not exist, a missing stack dir) exits 2; a host that cannot be borrowed
(unreachable, leased, an unfinished journal, too little disk, no compose) exits 3. Either way nothing
on any host has changed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from orchestrator.errors import BadInput, InfraError
from orchestrator.host import Host
from orchestrator.ops.e2e import lease, scripts
from orchestrator.ops.e2e.config import StackConfig


@dataclass(frozen=True)
class Ready:
    now: float  # the host's clock
    repo: str
    commit: str
    compose: str
    stale: lease.Lease | None = None  # an expired lease with no journal behind it: safe to break


def check(target: Host, peers: dict[str, Host], cfg: StackConfig, branch: str) -> Ready:
    out = target.run(scripts.call(scripts.PREFLIGHT, cfg.state_dir, cfg.stack_dir, cfg.repo or "", branch))
    facts: dict[str, str] = {}
    refs: dict[str, str] = {}
    for line in out.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "REF":
            commit, _, ref = rest.partition("\t")
            refs[ref.strip()] = commit.strip()
        else:
            facts[kind] = rest.strip()
    name = target.name
    if "STACK_DIR" not in facts:
        raise BadInput(f"{name}: stack_dir {cfg.stack_dir} does not exist on the host")
    repo = facts.get("REPO", "")
    if not repo:
        raise BadInput(f"{name}: no stack_repo in the inventory and {cfg.stack_dir} has no git origin")
    if "REPO_ERROR" in facts:
        raise InfraError(f"{name}: cannot read {repo}: {facts['REPO_ERROR']}")
    commit = refs.get(f"refs/heads/{branch}")
    if not commit:
        raise BadInput(f"--branch {branch!r} does not exist in {repo} (as seen from {name})")
    now = float(facts.get("NOW", "0") or 0)
    stale = _free_to_borrow(name, facts, now)
    if "WRITABLE" not in facts:
        raise InfraError(f"{name}: cannot write state_dir {cfg.state_dir} (or the directory above it)")
    free_mb = int(facts.get("FREE_KB") or 0) / 1024
    if free_mb < cfg.min_free_mb:
        raise InfraError(f"{name}: only {free_mb:.0f} MB free at {cfg.state_dir}; e2e needs {cfg.min_free_mb:g} MB "
                         "(min_free_mb); clean up first (e.g. `invoke prune`)")
    compose = cfg.compose_command or facts.get("COMPOSE", "")
    if not compose:
        raise InfraError(f"{name}: neither `docker compose` nor `docker-compose` is available on the host")
    for peer in cfg.peers:
        _check_peer(peers[peer.host], peer.file)
    return Ready(now, repo, commit, compose, stale)


def _free_to_borrow(name: str, facts: dict[str, str], now: float) -> lease.Lease | None:
    if "JOURNAL" in facts:
        first = facts["JOURNAL"]
        run = lease.parse(facts.get("LEASE", ""))
        if lease.live(run, now) and run.run_id in first:
            raise lease.LeaseHeld(f"{name}: leased by {run.describe(now)}; not starting")
        raise InfraError(f"{name}: an earlier e2e did not finish restoring (journal {first[:120]}); "
                         f"run `invoke restore --host {name}` first")
    held = lease.parse(facts.get("LEASE", ""))
    if lease.live(held, now):
        raise lease.LeaseHeld(f"{name}: leased by {held.describe(now)}; not starting")
    return held


def _check_peer(host: Host, path: str) -> None:
    q = shlex.quote(path)
    result = host.run(f'test -f {q} && test -w {q} && test -w "$(dirname -- {q})"', warn=True)
    if not result.ok:
        raise InfraError(f"{host.name}: borrowed peer file {path} is missing, or it or its directory is not "
                         "writable (the backup goes beside it)")
