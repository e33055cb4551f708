"""One round trip for a stretch of read-only tasks: the engine gathers what their modules read in one host
batch, then each module runs as usual against a Host that answers its command from that batch.

Only consecutive tasks whose modules declare `reads` are batched (no blocks, no `until` loops, nothing after
a mutating task), so nothing can change on the host between the batch and the check that reads it. A task
whose arguments cannot be rendered yet (they name a result registered inside the stretch) reads alone.
"""

from __future__ import annotations

from typing import Any

from orchestrator import templating
from orchestrator.engine.playbook import Task
from orchestrator.errors import CommandError, CommandTimeout, InfraError
from orchestrator.host import TIMEOUT_CODES, Host, Result
from orchestrator.host.batch import Read
from orchestrator.modules import MODULES, Module


def batchable(task: Task) -> bool:
    module = MODULES.get(task.module or "")
    return module is not None and type(module).reads is not Module.reads and task.until is None


def stretch(tasks: list[Task], start: int) -> list[Task]:
    """The consecutive batchable tasks from `start` on."""
    found = []
    for task in tasks[start:]:
        if task.block is not None or not batchable(task):
            break
        found.append(task)
    return found


def plan(host: Host, tasks: list[Task], variables: dict[str, Any]) -> dict[int, list[Read]]:
    """Per task (by id) the reads it will make, for those that will run and can be rendered now."""
    planned: dict[int, list[Read]] = {}
    for task in tasks:
        try:
            if task.when is not None and not templating.evaluate(task.when, variables):
                continue
            module = MODULES[task.module or ""]
            wanted = {k: v for k, v in task.args.items() if module.read_params is None or k in module.read_params}
            args = templating.render(wanted, variables)
            reads = module.reads(host, args)
        except (templating.TemplateError, KeyError, TypeError, ValueError):
            continue  # it reads alone, when it runs, and reports its own error there
        limit = task.timeout if isinstance(task.timeout, int | float) else None
        planned[id(task)] = [Read(r.command, min(r.timeout, limit) if limit else r.timeout) for r in reads]
    return planned


def gather(host: Host, planned: dict[int, list[Read]]) -> dict[int, dict[str, Result]]:
    """Run every planned read in one batch; per task, its answers by command line ({} where none came)."""
    reads = [r for task_reads in planned.values() for r in task_reads]
    if len(reads) < 2:
        return {}  # one command costs one round trip either way
    try:
        results = host.run_batch(reads)
    except (CommandError, InfraError):
        return {}  # unreachable or cut short: each task finds out for itself and reports it
    answers = iter(results)
    return {task_id: {r.command: res for r in task_reads if (res := next(answers)) is not None}
            for task_id, task_reads in planned.items()}


class Answered:
    """A Host whose run() answers a gathered command from the batch (once), and runs anything else for real."""

    def __init__(self, host: Host, answers: dict[str, Result], timeouts: dict[str, float]):
        self._host, self._answers, self._timeouts = host, dict(answers), timeouts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def run(self, command: str, *, timeout: float | None = None, warn: bool = False, sudo: bool | None = None,
            env: dict[str, str] | None = None, pidfile: str | None = None) -> Result:
        if sudo is None and env is None and pidfile is None and command in self._answers:
            return _as_run_would(self._answers.pop(command), self._timeouts.get(command, 0.0), warn)
        return self._host.run(command, timeout=timeout, warn=warn, sudo=sudo, env=env, pidfile=pidfile)


def _as_run_would(result: Result, limit: float, warn: bool) -> Result:
    """The errors Host.run raises for a result, raised for a batched one."""
    if result.exit_code in TIMEOUT_CODES:
        raise CommandTimeout(result.host, result.command, limit, result.stderr)
    if not warn and not result.ok:
        raise CommandError(result.host, result.command, result.exit_code, result.stderr)
    return result
