"""Run a validated playbook: plays fan out over hosts (bounded by forks), tasks run in order per host.

Semantics follow Ansible where they overlap: `when` skips, `register` stores the result, a failed task
stops the host's play unless `ignore_errors` (play-level default allowed), a failure inside `block` runs
`rescue`, `always` runs whatever happened, `until` retries (`retries` more attempts, `delay` apart) within
the task's `timeout`. An unreachable host stops running tasks; the rest are reported as skipped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from orchestrator import redact, templating
from orchestrator.cancel import CANCEL
from orchestrator.config.inventory import HostSpec
from orchestrator.engine import prefetch
from orchestrator.engine.playbook import HOST_PROBLEMS, Play, Playbook, Task, in_play, play_variables
from orchestrator.errors import (
    CommandError,
    CommandTimeout,
    HostUnreachable,
    InfraError,
)
from orchestrator.host import Host
from orchestrator.modules import MODULES, Deadline, Outcome, TaskContext
from orchestrator.run.results import CheckRecord, HostReport, RunResult


class TaskFailed(Exception):
    """A task failed without ignore_errors: unwinds to the nearest rescue, or ends the host's play."""


Listener = Callable[[str, CheckRecord], None]


class HostRunner:
    """Runs one play's tasks on one host, keeping that host's variables and report."""

    def __init__(self, host: Host, variables: dict[str, Any], play: Play, report: HostReport,
                 listener: Listener | None = None, resources: dict[str, Any] | None = None):
        self.host, self.vars, self.play, self.report = host, variables, play, report
        self.listener = listener
        self.resources = resources or {}
        self.answers: dict[int, tuple[dict[str, Any], dict[str, float]]] = {}  # task id -> its batched reads

    def run(self) -> None:
        # A failure is recorded already; the host's play just ends here, as in Ansible.
        with contextlib.suppress(TaskFailed):
            self.run_list(self.play.tasks)

    def run_list(self, tasks: list[Task]) -> None:
        for i, task in enumerate(tasks):
            if id(task) not in self.answers and not self.report.unreachable and not CANCEL.is_set():
                self._gather(tasks, i)
            self.run_task(task)

    def _gather(self, tasks: list[Task], start: int) -> None:
        """One round trip for the stretch of read-only tasks starting here (engine/prefetch.py)."""
        run = prefetch.stretch(tasks, start)
        if not run:
            return
        planned = prefetch.plan(self.host, run, self.vars)
        gathered = prefetch.gather(self.host, planned)
        for task in run:
            self.answers[id(task)] = (gathered.get(id(task), {}),
                                      {r.command: r.timeout for r in planned.get(id(task), [])})

    def run_task(self, task: Task) -> None:
        if self.report.unreachable or CANCEL.is_set():
            why = "host unreachable" if self.report.unreachable else "run cancelled"
            return self._skip_tree(task, why)
        self.vars[HOST_PROBLEMS] = len(self.report.problems())
        try:
            if task.when is not None and not templating.evaluate(task.when, self.vars):
                if task.report_skipped:
                    self._store(task, Outcome("skipped", f"condition false: {task.when}"), 0.0)
                return
        except templating.TemplateError as exc:
            return self._finish(task, Outcome("error", f"{task.where}: {exc}"), 0.0)
        if task.block is not None:
            return self.run_block(task)
        start = time.monotonic()
        outcome = self.attempt(task)
        self._finish(task, outcome, time.monotonic() - start)

    def run_block(self, task: Task) -> None:
        try:
            self.run_list(task.block or [])
        except TaskFailed:
            if not task.rescue:
                raise
            self.run_list(task.rescue)  # a failure here propagates after `always` has run
        finally:
            self.run_list(task.always)

    def attempt(self, task: Task) -> Outcome:
        """Run the module, retrying until `until` holds, within the task's deadline."""
        try:
            deadline = Deadline(_seconds(task.timeout, self.vars))
        except (templating.TemplateError, ValueError) as exc:
            return Outcome("error", f"{task.where}: timeout: {exc}")
        attempts = 1 + (task.retries or 0) if task.until else 1
        outcome = observed = Outcome("error", "not run")
        number = 0
        while number < attempts and not (number and (deadline.expired() or CANCEL.is_set())):
            number += 1
            outcome = self._call(task, deadline)
            if self.report.unreachable or not task.until:
                return outcome
            outcome.data["attempts"] = number
            self._store_var(task, outcome)
            if outcome.status != "error":  # an attempt that could not run has nothing to test `until` on
                observed = outcome
                try:
                    if templating.evaluate(task.until, self.vars):
                        return outcome
                except templating.TemplateError as exc:
                    return Outcome("error", f"{task.where}: until: {exc}")
                if outcome.final:  # waiting cannot help: the verdict is certain now, not at the deadline
                    why = "; ".join(outcome.data.get("cannot_recover") or []) or outcome.reason
                    return Outcome("failed", f"until `{task.until}` cannot become true ({why}), gave up after "
                                   f"{number} attempt(s); last: {outcome.reason}", outcome.data)
            if number < attempts and not deadline.expired():
                left = deadline.remaining()
                CANCEL.wait(task.delay if left is None else min(task.delay, left))
        why = "the deadline" if deadline.expired() else f"{number} attempts"
        last = observed if observed.reason != "not run" else outcome
        return Outcome("failed", f"until `{task.until}` still false after {why}; last: {_describe(last)}",
                       last.data, last.checks)

    def _call(self, task: Task, deadline: Deadline) -> Outcome:
        module = MODULES[task.module or ""]
        try:
            args = templating.render(task.args, self.vars)
            problems = module.check_args(args)
            if problems:
                return Outcome("error", f"{task.where}: {'; '.join(problems)}")
            answers, timeouts = self.answers.pop(id(task), ({}, {}))
            host = prefetch.Answered(self.host, answers, timeouts) if answers else self.host
            outcome = module.run(host, args, TaskContext(deadline, self.vars, self.resources))  # type: ignore[arg-type]
            return Outcome("error", "cancelled by SIGINT/SIGTERM") if CANCEL.is_set() else outcome
        except templating.TemplateError as exc:
            return Outcome("error", f"{task.where}: {exc}")
        except HostUnreachable as exc:
            self.report.unreachable = str(exc)
            return Outcome("error", str(exc))
        except CommandTimeout as exc:
            return Outcome("error", f"timed out: {exc}")
        except CommandError as exc:
            return Outcome("failed", str(exc))
        except InfraError as exc:
            return Outcome("error", str(exc))

    def _finish(self, task: Task, outcome: Outcome, duration: float) -> None:
        self._store(task, outcome, duration)
        for key, value in outcome.facts.items():
            self.vars[key] = value
        ignore = task.ignore_errors if task.ignore_errors is not None else self.play.ignore_errors
        # Unreachable is not a task failure to rescue: every later task is reported skipped instead.
        if outcome.status in ("failed", "error") and not ignore and not self.report.unreachable:
            raise TaskFailed(outcome.reason)

    def _store(self, task: Task, outcome: Outcome, duration: float) -> None:
        self._store_var(task, outcome)
        # Redacted as they are made: reasons and data go to the console, reports and listeners.
        own = task.module is not None and MODULES[task.module].own_check_names
        records = [CheckRecord(c.name if own else f"{task.name}: {c.name}", c.status, _scrub(c.reason),
                               duration if c.duration is None else c.duration, task.where, _scrub(c.data))
                   for c in outcome.checks] or [
                   CheckRecord(task.name, outcome.status, _scrub(outcome.reason), duration, task.where,
                               _scrub(outcome.data))]
        for record in records:
            self.report.checks.append(record)
            if self.listener:
                self.listener(self.report.name, record)

    def _store_var(self, task: Task, outcome: Outcome) -> None:
        if task.register:
            self.vars[task.register] = {
                **outcome.data, "status": outcome.status, "reason": outcome.reason, "changed": outcome.changed,
                "failed": outcome.status in ("failed", "error"), "skipped": outcome.status == "skipped",
                "checks": [{"name": c.name, "status": c.status, "reason": c.reason, "data": c.data}
                           for c in outcome.checks],
            }

    def _skip_tree(self, task: Task, why: str) -> None:
        for sub in task.walk():
            if sub.block is None and sub.report_skipped:
                self._store(sub, Outcome("skipped", why), 0.0)


def _scrub(value: Any) -> Any:
    return redact.scrub(value)


def _seconds(timeout: float | str | None, variables: dict[str, Any]) -> float | None:
    if not isinstance(timeout, str):
        return timeout
    value = templating.render(timeout, variables)
    if isinstance(value, bool) or not isinstance(value, int | float | str) or float(value) <= 0:
        raise ValueError(f"must render to a positive number of seconds, got {value!r}")
    return float(value)


def _describe(outcome: Outcome) -> str:
    """The last observed value, Goss style: what a person needs to see why a wait gave up."""
    text = outcome.status + (f" ({outcome.reason})" if outcome.reason else "")
    stdout = str(outcome.data.get("stdout", "")).strip()
    return text + (f", stdout {stdout[-200:]!r}" if stdout else "")


def run(book: Playbook, targets: list[HostSpec], *, forks: int = 10, extra_vars: dict[str, Any] | None = None,
        listener: Listener | None = None, hosts: dict[str, Host] | None = None,
        resources: dict[str, Any] | None = None) -> RunResult:
    """Run every play of `book` on the `targets` it selects; one connection per host for the whole run.

    `hosts` lends already-open Hosts (the caller closes them); `resources` reach modules as ctx.resources.
    """
    result = RunResult.for_hosts([s.name for s in targets])
    lent = hosts or {}
    hosts = {s.name: lent.get(s.name) or Host(s) for s in targets}
    try:
        for play in book.plays:
            selected = [s for s in targets if in_play(s, play)]
            with ThreadPoolExecutor(max_workers=max(1, min(forks, len(selected) or 1))) as pool:
                futures = [pool.submit(_run_host, hosts[s.name], s, play, result.hosts[s.name], extra_vars,
                                       listener, resources) for s in selected]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    # Ctrl-C / SIGTERM: stop starting tasks and end what runs now, on the hosts themselves.
                    CANCEL.set()
                    for host in hosts.values():
                        host.cancel()
                    raise
    finally:
        for name, host in hosts.items():
            result.hosts[name].remote_commands = host.remote_commands
            result.hosts[name].connect_seconds = host.connect_seconds
            if name not in lent:
                host.close()
        result.ended = time.time()
    return result


def _run_host(host: Host, spec: HostSpec, play: Play, report: HostReport, extra_vars: dict[str, Any] | None,
              listener: Listener | None, resources: dict[str, Any] | None) -> None:
    variables = play_variables(spec, play, extra_vars)
    variables["inventory_hostname"] = spec.name
    HostRunner(host, variables, play, report, listener, resources).run()

