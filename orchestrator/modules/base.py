"""What a playbook task can name: a Module declares its parameters and runs against one Host."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from orchestrator.errors import InfraError
from orchestrator.host import Host
from orchestrator.host.batch import Read

Status = Literal["ok", "failed", "skipped", "error"]
TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", dict: "mapping"}


@dataclass(frozen=True)
class Param:
    kind: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""

    def accepts(self, value: Any) -> bool:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if isinstance(value, bool) and bool not in kinds:
            return False  # YAML `yes` must not pass as a number
        if float in kinds and isinstance(value, int):
            return True
        return isinstance(value, kinds)

    def describe(self) -> str:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)


@dataclass
class Check:
    name: str
    status: Status
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    duration: float | None = None  # its own, when known (a named test); else the task's


@dataclass
class Outcome:
    status: Status
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # exposed to `register`
    checks: list[Check] = field(default_factory=list)  # sub-checks (e.g. one per container)
    changed: bool = False
    facts: dict[str, Any] = field(default_factory=dict)  # variables set for later tasks (set_fact)
    # True: retrying cannot change this answer (a crash loop, a container nothing will restart): an `until`
    # loop ends now with this reason instead of waiting for its deadline.
    final: bool = False

    @classmethod
    def from_checks(cls, checks: list[Check], data: dict[str, Any] | None = None) -> Outcome:
        """The worst sub-check decides; the reason lists every failed one so none is hidden."""
        worst: Status = "ok"
        for status in ("skipped", "failed", "error"):
            if any(c.status == status for c in checks):
                worst = status  # type: ignore[assignment]
        if worst == "skipped" and any(c.status == "ok" for c in checks):
            worst = "ok"
        bad = [f"{c.name}: {c.reason}" for c in checks if c.status in ("failed", "error")]
        reason = "; ".join(bad) or "; ".join(c.reason for c in checks if c.status == "skipped")
        return cls(worst, reason, data or {}, checks)


class DeadlineReached(InfraError):
    """The task's own `timeout:` ran out before a command could start."""


class Deadline:
    """The time budget of one task (its `timeout:`), shared by every command and retry inside it."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = time.monotonic() + seconds if seconds else None

    def remaining(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def timeout(self, default: float | None = None) -> float | None:
        """Timeout for one command: the smaller of `default` and what is left of the task."""
        left = self.remaining()
        if left is None:
            return default
        if left <= 0:
            raise DeadlineReached(f"the task's timeout of {self.seconds:g}s was reached")
        return left if default is None else min(default, left)


@dataclass
class TaskContext:
    deadline: Deadline
    variables: dict[str, Any]  # read-only view for modules that evaluate expressions (assert)
    resources: dict[str, Any] = field(default_factory=dict)  # run-wide objects, e.g. the e2e session

    def echo(self, line: str) -> None:
        """A progress line for people (the run layer's redacted echo), for what takes long before a record."""
        echo = self.resources.get("echo")
        if echo is not None:
            echo(line)


class Module:
    name: ClassVar[str]
    params: ClassVar[dict[str, Param]] = {}
    conditions: ClassVar[tuple[str, ...]] = ()  # params holding bare expressions (validated like `when`)
    # True: each sub-check is a check of its own ("lock", "stopped containers"), not "<task>: <check>".
    own_check_names: ClassVar[bool] = False
    # The arguments `reads` needs (None: all). Others may name registered results not known before the run.
    read_params: ClassVar[tuple[str, ...] | None] = None

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        """The read-only host commands run() will send, exactly as it sends them (pyinfra's facts idea): the
        engine runs a stretch of such tasks as one batch, one round trip, and run() gets each answer from it.
        Only modules that change nothing may declare reads."""
        return []
    doc: ClassVar[str] = ""

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        raise NotImplementedError

    def with_defaults(self, args: dict[str, Any]) -> dict[str, Any]:
        return {name: args.get(name, p.default) for name, p in self.params.items()}

    def check_args(self, args: dict[str, Any], *, skip_templates: bool = False) -> list[str]:
        """Problems with `args` (empty when fine); values still holding templates can be skipped."""
        from orchestrator.templating import is_template

        problems = [f"unknown argument {k!r} (allowed: {', '.join(self.params) or 'none'})"
                    for k in args if k not in self.params]
        for name, param in self.params.items():
            if name not in args:
                if param.required:
                    problems.append(f"missing required argument {name!r}")
                continue
            value = args[name]
            if skip_templates and is_template(value):
                continue
            if value is None and not param.required:
                continue
            if not param.accepts(value):
                problems.append(f"argument {name!r} must be {param.describe()}, got {value!r}")
        return problems
