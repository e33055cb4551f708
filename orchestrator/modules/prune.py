"""Prune vocabulary (playbooks/prune.yml): stuck prunes found (and ended), the locked prune, the dry run.

Each step is a check of its own (own_check_names), so the table reads "lock", "stopped containers", ...
"""

from __future__ import annotations

from typing import Any

from orchestrator.host import Host
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.prune import dryrun, pruning, stuck
from orchestrator.run.results import CheckRecord

ENDED = ("ENDED", "KILLED", "GONE")


def _checks(records: list[CheckRecord]) -> list[Check]:
    return [Check(r.name, r.status, r.reason, r.data) for r in records]  # type: ignore[arg-type]


class PruneStuckModule(Module):
    name = "prune_stuck"
    doc = ("Find stuck prunes (the prune lock held, or a prune running, longer than `stuck_after` s); with "
           "`kill`, end exactly those pids (each only if still the same process).")
    params = {"lock": Param(str, required=True), "stuck_after": Param((int, float), default=3600),
              "kill": Param(bool, default=False)}
    own_check_names = True

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        found, _ = stuck.find(host, a["lock"], float(a["stuck_after"]), timeout=ctx.deadline.timeout(60))
        return Outcome.from_checks([_stuck_check(host, found, a["kill"])])


def _stuck_check(host: Host, found: list[stuck.Proc], kill: bool) -> Check:
    if not found:
        return Check("stuck prunes", "ok", "none")
    data: dict[str, Any] = {"processes": [vars(p) for p in found]}
    if not kill:
        return Check("stuck prunes", "failed", "; ".join(p.describe() for p in found)
                     + " (end them with --kill-stuck)", data)
    ended = stuck.end(host, found)
    data["ended"] = ended
    done = ", ".join(f"pid {pid} {word.lower()}" for pid, word in ended.items())
    status = "ok" if all(w in ENDED for w in ended.values()) else "failed"
    return Check("stuck prunes", status, f"ended by --kill-stuck: {done}", data)  # type: ignore[arg-type]


class PruneModule(Module):
    name = "prune"
    doc = ("Take the host's prune lock (waiting at most `lock_wait` s) and prune stopped containers, dangling "
           "and old unused images and build cache older than `older_than` s, each step bounded by `step_timeout`"
           " on the host. Never volumes.")
    params = {"lock": Param(str, required=True), "keep_label": Param(str, default=""),
              "lock_wait": Param((int, float), default=60), "step_timeout": Param((int, float), default=600),
              "older_than": Param(int, default=259200)}
    own_check_names = True

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        ctx.echo(f"{host.name}: taking {a['lock']} (waiting at most {float(a['lock_wait']):g}s), then pruning; "
                 "no step touches volumes")
        done = pruning.prune(host, a["lock"], a["keep_label"] or "", float(a["lock_wait"]),
                             float(a["step_timeout"]), a["older_than"])
        return Outcome.from_checks(_checks(done.records), {"disk": done.disk})


class PrunePlanModule(Module):
    name = "prune_plan"
    doc = "--dry-run: what a prune would remove, from read-only listings with the engine's own rules."
    params = {"keep_label": Param(str, default=""), "older_than": Param(int, default=259200),
              "step_timeout": Param((int, float), default=60)}
    own_check_names = True

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        plan = dryrun.plan(host, a["older_than"], min(float(a["step_timeout"]), 60), a["keep_label"] or "")
        return Outcome.from_checks(_checks(plan.records()), {"would_remove": plan.public()})


MODULES_PRUNE = (PruneStuckModule, PruneModule, PrunePlanModule)
