"""A flow as data: actors, phases of steps, modes choosing phases, known gaps (see README, `invoke flow`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.ops.flows.stats import route

LOOP = "actor"  # the name a `for_each` step binds each actor to


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    email: str | None = None  # a template (e.g. from secrets) for an actor that already exists; else generated
    password: str | None = None


@dataclass(frozen=True)
class Request:
    """One HTTP request; with `checkpoint` an unexpected answer is that checkpoint missing, not a failed flow."""

    name: str
    method: str
    path: str
    where: str
    as_actor: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    status: tuple[int, ...] = (200,)
    capture: dict[str, str] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    for_each: tuple[str, ...] = ()
    checkpoint: str | None = None

    @property
    def route(self) -> str:
        return route(self.method, self.path)


@dataclass(frozen=True)
class Await:
    """A checkpoint (`wrong=False`: the actor must get a matching notification before the deadline) or a
    wrong-recipient check (`wrong=True`: the actor must not have one; watched `watch` seconds)."""

    id: str
    where: str
    actor: str | None
    find: dict[str, Any]
    for_each: tuple[str, ...] = ()
    wrong: bool = False
    deadline: float | None = None
    watch: float = 0.0


Step = Request | Await


@dataclass(frozen=True)
class KnownGap:
    id: str
    defect: str
    note: str = ""


@dataclass(frozen=True)
class Notifications:
    path: str = "/api/notifications"
    items: str = "$.items"
    unread: str = "$.unread"


@dataclass(frozen=True)
class Limits:
    request_timeout: float = 10.0
    checkpoint_deadline: float = 5.0
    poll_interval: float = 0.1
    max_consecutive_429: int = 5


@dataclass
class Flow:
    name: str
    file: Path
    actors: dict[str, Actor]
    phases: dict[str, list[Step]]
    modes: dict[str, list[str]]
    default_mode: str
    secrets: list[str] = field(default_factory=list)
    known_gaps: dict[str, KnownGap] = field(default_factory=dict)
    notifications: Notifications = field(default_factory=Notifications)
    limits: Limits = field(default_factory=Limits)
    description: str = ""

    def steps(self, mode: str) -> list[Step]:
        return [step for phase in self.modes[mode] for step in self.phases[phase]]

    def checkpoint_ids(self) -> set[str]:
        ids = set()
        for steps in self.phases.values():
            for step in steps:
                if isinstance(step, Await) and not step.wrong:
                    ids.add(step.id)
                elif isinstance(step, Request) and step.checkpoint:
                    ids.add(step.checkpoint)
        return ids
