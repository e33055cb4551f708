"""`invoke matrix --lifecycle`: after the scenarios, the stack's lifecycle on the borrowed host.

The procedure is data (playbooks/matrix_lifecycle.yml): back to the host's own configuration, a compose restart
that must come back healthy within ready_timeout, then ONE axis changed from its baseline value (the first axis
that has another value) and reverted. Each apply must recreate exactly the affected services: those whose
rendered `expect.env` differs between the two settings, plus those that appear or disappear in
`expect.services`; anything else recreated is a failure (compose recreating more than it must costs an outage).
This module only works out those variables and records the outcome; every change goes through the run's
journal (matrix_apply, matrix_restart), so the runner's restore in `finally` covers it.
"""

from __future__ import annotations

import time
from typing import Any

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.ops.e2e.session import Session
from orchestrator.ops.matrix.model import Matrix, Scenario
from orchestrator.procedures.matrix.state import Baseline, Done, MatrixRun, prefixed, scenario_vars
from orchestrator.run.results import CheckRecord
from orchestrator.run.task import Run

BOOK = "matrix_lifecycle"
PREFIX = "lifecycle"


def plan(session: Session, matrix: Matrix, baselines: dict[str, Baseline]) -> tuple[str, str, dict[str, Any]] | None:
    """(axis, its other value, the playbook's variables); None when no axis has a value other than its baseline."""
    base = {name: b.value for name, b in baselines.items()}
    for name, axis in matrix.axes.items():
        other = next((v for v in axis.values if v != base[name]), None)
        if other is None:
            continue
        changed = {**base, name: other}
        before = scenario_vars(session.cfg, matrix, _scenario({}), base, baselines)
        after = scenario_vars(session.cfg, matrix, _scenario({name: other}), changed, baselines)
        return name, other, {
            "stack": session.cfg.stack_dir, "ready_timeout": session.cfg.ready_timeout,
            "baseline_settings": before["settings"], "changed_settings": after["settings"],
            "services": before["services"], "changed_services": after["services"],
            "affected": affected(before, after)}
    return None


def affected(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The services an apply from `before` to `after` (rendered expects) must recreate, and no others."""
    running = set(before["services"]) | set(after["services"])
    env_changed = {s for s in set(before["env"]) | set(after["env"])
                   if before["env"].get(s) != after["env"].get(s)}
    return sorted((env_changed & running) | (set(before["services"]) ^ set(after["services"])))


def sample_vars(stack: str, ready_timeout: float) -> dict[str, Any]:
    """For validating the playbook before anything is contacted."""
    return {"stack": stack, "ready_timeout": ready_timeout, "baseline_settings": [], "changed_settings": [],
            "services": [], "changed_services": [], "affected": []}


def run_lifecycle(run: Run, session: Session, spec: inventory.HostSpec, matrix: Matrix,
                  baselines: dict[str, Baseline], done: MatrixRun) -> None:
    started = time.monotonic()
    planned = plan(session, matrix, baselines)
    if planned is None:
        reason = "no axis has a value other than the host's baseline: nothing to change and revert"
        done.checks.append(CheckRecord(f"{PREFIX}: change one axis", "skipped", reason))
        done.scenarios.append(Done(PREFIX, "skipped", reason, {}))
        run.echo(f"{PREFIX}: SKIPPED ({reason})")
        return
    axis, other, extra = planned
    values = {axis: f"{baselines[axis].value} -> {other} -> {baselines[axis].value}"}
    run.echo(f"{PREFIX}: restart, then {axis}={other} and back (may recreate only "
             f"{', '.join(extra['affected']) or 'nothing'})")
    result = engine.run(playbook.load(BOOK), [spec], extra_vars=extra, hosts=session.hosts,
                        listener=lambda host, record: run.progress(host, prefixed(PREFIX, record)),
                        resources={"session": session, "run_dir": run.dir(), "echo": run.echo})
    host = result.hosts[spec.name]
    done.checks += [prefixed(PREFIX, c) for c in host.checks]
    bad = host.problems()
    restart = next((c for c in host.checks if c.name.startswith("healthy after the restart")), None)
    healthy_in = f"; healthy {restart.duration:.1f}s after the restart" if restart and restart.status == "ok" else ""
    reason = "; ".join(f"{c.name}: {c.reason}" for c in bad) or (
        f"{len(host.checks)} check(s) passed{healthy_in}; {axis} changed and reverted recreating only "
        f"{', '.join(extra['affected']) or 'nothing'}")
    done.scenarios.append(Done(PREFIX, "passed" if host.verdict == "pass" else "failed", reason, values,
                               time.monotonic() - started))
    if host.unreachable:
        done.unreachable = host.unreachable


def _scenario(values: dict[str, str]) -> Scenario:
    return Scenario(PREFIX, values, None, (), PREFIX)
