"""Tasks that are a playbook and nothing more: load + validate + engine.run + the run layer's report.

check, prune and triage all come through here, so they fan out over hosts in parallel (--forks), obey
the signal policy and report in the one shape. What differs per task is only its flags (as extra vars),
its input checks and the tables it shows before the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import BadInput
from orchestrator.ops.prune import scripts
from orchestrator.ops.triage import rules
from orchestrator.procedures import tables
from orchestrator.procedures.targets import select
from orchestrator.run.results import RunResult
from orchestrator.run.task import Run


@dataclass
class Job:
    """One playbook task as the user asked for it."""
    task: str
    host: str
    inventory: str | None
    forks: int
    playbook: str | None = None  # default: playbooks/<task>.yml
    extra_vars: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    progress: bool = False  # echo each record as it is made (long-running tasks)


def run_playbook(run: Run, job: Job, *, precheck: Callable[[inventory.Inventory, list[inventory.HostSpec]], None]
                 | None = None, extra: Callable[[RunResult], dict[str, Any]] | None = None,
                 before: Callable[[RunResult], Iterable[RenderableType]] | None = None) -> int:
    inv, targets = select(job.inventory, job.host)
    if precheck is not None:
        precheck(inv, targets)
    book = playbook.load(job.playbook or job.task)
    playbook.validate(book, targets, extra_vars=job.extra_vars, inventory_names=set(inv.hosts) | set(inv.groups))
    listener = run.progress if job.progress else None
    result = engine.run(book, targets, forks=job.forks, extra_vars=job.extra_vars, listener=listener,
                        resources={"run_dir": run.dir(), "echo": run.echo})
    return run.finish(result, inv.path, title=job.title or f"shakedown {job.task} --host {job.host}",
                      extra=extra(result) if extra else None, before=before(result) if before else ())


# -- check ------------------------------------------------------------------------------------------------
def check(run: Run, *, host: str, inventory_path: str | None, forks: int, playbook_name: str | None = None) -> int:
    return run_playbook(run, Job("check", host, inventory_path, forks, playbook_name))


# -- prune ------------------------------------------------------------------------------------------------
def prune(run: Run, *, host: str, inventory_path: str | None, forks: int, dry_run: bool, older_than: int,
          lock_wait: float, timeout: float, kill_stuck: bool, stuck_after: float | None) -> int:
    extra_vars: dict[str, Any] = {"dry_run": dry_run, "older_than": older_than, "lock_wait": lock_wait,
                                  "step_timeout": timeout, "kill_stuck": kill_stuck}
    if stuck_after is not None:
        extra_vars["stuck_after"] = stuck_after
    title = f"shakedown prune --host {host}" + (" --dry-run" if dry_run else "")
    job = Job("prune", host, inventory_path, forks, extra_vars=extra_vars, title=title, progress=True)
    return run_playbook(run, job, precheck=_need_prune_lock,
                        extra=lambda result: {"prune": _prune_fields(result), "dry_run": dry_run},
                        before=_disk_tables)


def _need_prune_lock(inv: inventory.Inventory, targets: list[inventory.HostSpec]) -> None:
    for spec in targets:
        if not spec.get("prune_lock_file"):
            raise BadInput(f"{spec.origins.get('ansible_host', inv.path)}: host {spec.name} has no "
                           "prune_lock_file: prune needs the lock every pipeline on that host shares")


def _prune_fields(result: RunResult) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, host in result.hosts.items():
        found = {c.name: c for c in host.checks}
        if "disk" in found:
            fields[name] = {"disk": found["disk"].data,
                            "steps": [c.public() for c in host.checks if c.name in scripts.STEP_COMMANDS]}
        elif any("would_remove" in c.data for c in host.checks):
            fields[name] = {"would_remove": {c.name: c.data["would_remove"] for c in host.checks
                                             if "would_remove" in c.data}}
    return fields


def _disk_tables(result: RunResult) -> list[Table]:
    return [tables.disk(name, c.data) for name, host in result.hosts.items() for c in host.checks
            if c.name == "disk" and c.data]


# -- triage -----------------------------------------------------------------------------------------------
def triage(run: Run, *, host: str, inventory_path: str | None, forks: int, lines: int) -> int:
    rules.load()  # a broken rules file is bad input before anything runs
    job = Job("triage", host, inventory_path, forks, extra_vars={"lines": lines})
    return run_playbook(run, job, before=lambda result: [tables.findings(result)])
