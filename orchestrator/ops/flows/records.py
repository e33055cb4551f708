"""What a flow run observed: per flow its checkpoints, wrong recipients and ids; per level its flows and every
request's latency, by route template. Plain data, turned into flow.json / flow.md by report.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from orchestrator.ops.flows.outcomes import fails


@dataclass
class CheckpointRecord:
    id: str
    actor: str
    role: str
    outcome: str  # found | missing | known_gap | fixed
    expected: dict[str, Any]
    detail: str = ""
    unread: Any = None
    polls: int = 0
    seconds: float = 0.0
    defect: str | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "actor": self.actor, "role": self.role, "outcome": self.outcome,
                "expected": self.expected, "expected_related_id": self.expected.get("relatedId"),
                "unread": self.unread, "polls": self.polls, "seconds": round(self.seconds, 3),
                "defect": self.defect, "detail": self.detail}


@dataclass
class WrongRecipientRecord:
    id: str
    actor: str
    role: str
    found: int  # notifications the actor must not have had
    expected: dict[str, Any]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "actor": self.actor, "role": self.role, "found": self.found, "find": self.expected}


@dataclass
class FlowRecord:
    level: int
    worker: int
    round: int
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    wrong: list[WrongRecipientRecord] = field(default_factory=list)
    ids: dict[str, Any] = field(default_factory=dict)
    actors: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_step: str | None = None
    requests: int = 0
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"c{self.level} w{self.worker} r{self.round}"

    def passed(self, strict: bool) -> bool:
        return (self.failed_step is None and not any(w.found for w in self.wrong)
                and not any(fails(c.outcome, strict) for c in self.checkpoints))

    def public(self, strict: bool) -> dict[str, Any]:
        return {"flow": self.label, "level": self.level, "worker": self.worker, "round": self.round,
                "passed": self.passed(strict), "failed_step": self.failed_step, "ids": self.ids,
                "actors": self.actors, "requests": self.requests, "seconds": round(self.seconds, 3),
                "checkpoints": [c.public() for c in self.checkpoints],
                "wrong_recipient": [w.public() for w in self.wrong]}


@dataclass
class LevelRecord:
    concurrency: int
    rounds: int
    flows: list[FlowRecord] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # route -> ms
    cancelled: int = 0  # flows begun but cut short (--abort-on-failure, blocked)
    seconds: float = 0.0  # wall time of the level: its client opened to its last worker's end
    cpu_seconds: float = 0.0  # this process's user+sys CPU in that time (the client's own cost)

    def record(self, route: str, ms: float) -> None:
        self.samples[route].append(ms)

    def all_samples(self) -> list[float]:
        return [ms for samples in self.samples.values() for ms in samples]


@dataclass
class RunRecord:
    flow: str
    mode: str
    base_url: str
    strict: bool
    levels: list[LevelRecord] = field(default_factory=list)
    rate_limited: int = 0
    rate_limit_wait: float = 0.0
    blocked: str | None = None  # why the run ended without a verdict (rate limited out, unreachable, deadline)
    aborted: str | None = None  # --abort-on-failure: the first failure

    def flows(self) -> list[FlowRecord]:
        return [f for level in self.levels for f in level.flows]
