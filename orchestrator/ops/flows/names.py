"""Which names a flow's templates may use, step by step: a template using a capture no earlier step makes is
bad input naming file:line, before any request (the same guarantee playbooks give)."""

from __future__ import annotations

from typing import Any

from orchestrator.errors import BadInput
from orchestrator.ops.flows.model import LOOP, Await, Flow, Request, Step
from orchestrator.templating import TemplateError, required_names

# What every flow's templates see: the declared secrets, where the flow runs, a per-flow unique hex.
GIVEN = frozenset({"secrets", "worker", "round", "level", "uniq", "flow", "run_id"})


def check_templates(flow: Flow) -> None:
    for actor in flow.actors.values():
        _need({"email": actor.email, "password": actor.password}, set(GIVEN), f"{flow.file}: actor {actor.name}")
    for mode in flow.modes:
        known = set(GIVEN) | set(flow.actors)
        for step in flow.steps(mode):
            scope = known | ({LOOP} if step.for_each else set())
            _need(_templates(step), scope, f"{step.where} (mode {mode})")
            if isinstance(step, Request):
                known |= {name for name in step.capture if "." not in name}


def _templates(step: Step) -> Any:
    if isinstance(step, Await):
        return step.find
    return [step.path, step.headers, step.json, step.expect]


def _need(value: Any, known: set[str], at: str) -> None:
    try:
        missing = required_names(value) - known
    except TemplateError as exc:
        raise BadInput(f"{at}: {exc}") from None
    if missing:
        raise BadInput(f"{at}: the template uses {', '.join(sorted(missing))}, which no earlier step captures "
                       f"and no actor is named (known here: {', '.join(sorted(known))})")
