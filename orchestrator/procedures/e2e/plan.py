"""--dry-run: the whole e2e as it would run, command by command per host, and what restore would undo.

Built from the same Steps the modules apply, so the plan cannot drift from what a real run does. Only
read-only commands (preflight, baseline) have run when it is printed.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from rich.console import Console

from orchestrator import templating
from orchestrator.engine.playbook import Playbook, Task
from orchestrator.modules import MODULES
from orchestrator.modules.e2e import SessionModule
from orchestrator.ops.e2e import baseline, lease, scripts, testrun
from orchestrator.ops.e2e.journal import Command, script
from orchestrator.ops.e2e.session import Session


def show(session: Session, book: Playbook, variables: dict[str, Any], console: Console) -> None:
    cfg = session.cfg
    lines = [f"DRY RUN: nothing will be changed. Plan for e2e --branch {session.branch} on {cfg.host} "
             f"({session.commit[:12]} from {session.repo}; compose: {session.compose}).",
             "preflight (done, read-only): host reachable, branch exists, no lease, no unfinished journal, disk ok",
             _cmd(1, "take the lease", script(cfg.host, "LEASE_TAKE", cfg.state_dir,
                                               lease.new(session.run_id, session.branch, 0, 0).to_json(),
                                               timeout=30, title="")),
             _cmd(2, "record the baseline (read-only)", Command(cfg.host, baseline.stack_command(cfg), 60, ""))]
    undo: list[list[Command]] = []
    n = 2
    for play in book.plays:
        for task in play.all_tasks():
            if task.module is None:
                continue
            n += 1
            lines += _task_lines(n, task, session, variables, undo)
    lines.append(f"{n + 1}. restore (always, also after Ctrl-C): undo newest-first, then verify the baseline, "
                 "archive the journal and release the lease:")
    lines += [f"     [{c.host}] {_readable(c.line())}" for step in reversed(undo) for c in step]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _task_lines(n: int, task: Task, session: Session, variables: dict[str, Any],
                undo: list[list[Command]]) -> list[str]:
    module = MODULES[task.module or ""]
    args = _render(task.args, variables)
    when = f" (when {task.when})" if task.when is not None else ""
    if isinstance(module, SessionModule):
        steps = module.steps(session, module.with_defaults(args))
        if not steps:
            return [f"{n}. {task.name}: nothing to do{when}"]
        out = [f"{n}. {task.name}{when}:"]
        for step in steps:
            out.append(f"     [{step.do.host}] {_readable(step.do.line())}")
            undo.append(step.undo)
        return out
    if task.module == "stack_tests":
        step = testrun.launch_step(session, float(args.get("timeout", 0) or 0))
        undo.append(step.undo)
        return [f"{n}. {task.name}{when}: [{step.do.host}] {_readable(step.do.line())}",
                f"     then every {testrun.POLL}s: [{session.cfg.host}] "
                f"{_readable(scripts.call(scripts.TEST_POLL, session.run_dir, '<offset>'))}"]
    if task.module == "restore":
        return [f"{n}. {task.name}: see the restore below"]
    retry = f", retried until `{task.until}` within {task.timeout}s" if task.until else ""
    return [f"{n}. {task.name}{when}: {task.module} {json.dumps(args, default=str)} (read-only{retry})"]


def _render(args: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    rendered = {}
    for key, value in args.items():
        try:
            rendered[key] = templating.render(value, variables)
        except templating.TemplateError:
            rendered[key] = value  # depends on a value only the run produces (e.g. the deployed version)
    return rendered


def _cmd(n: int, title: str, command: Command) -> str:
    return f"{n}. {title}: [{command.host}] {_readable(command.line())}"


_NAMES = {shlex.quote(text): f"<{name.lower()}.sh>" for name, text in scripts.BY_NAME.items()}


def _readable(command: str) -> str:
    """A command with our multi-line host scripts shown by name, so the plan fits a terminal."""
    for body, name in _NAMES.items():
        command = command.replace(body, name)
    return command
