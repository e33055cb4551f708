"""The result model every task reports in: one record per check, one report per host, one run result.

The verdict -> exit-code map lives here and nowhere else (docs/design.md's contract: 0 pass, 1 a check failed,
2 bad input, 3 infrastructure). Tasks with verdicts of their own (e2e's GREEN/RED) derive them from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import EXIT_FAILED, EXIT_INFRA, EXIT_PASS

VERDICT_EXIT = {"pass": EXIT_PASS, "fail": EXIT_FAILED, "error": EXIT_INFRA}
PROBLEMS = ("failed", "error")


def exit_code(verdict: str) -> int:
    return VERDICT_EXIT[verdict]


def worst(verdicts: set[str]) -> str:
    """When hosts disagree the worst wins: error over fail over pass."""
    return "error" if "error" in verdicts else "fail" if "fail" in verdicts else "pass"


@dataclass
class CheckRecord:
    name: str
    status: str  # ok | failed | skipped | error
    reason: str = ""
    duration: float = 0.0
    where: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason,
                "duration": round(self.duration, 3), "data": self.data}


@dataclass
class HostReport:
    name: str
    checks: list[CheckRecord] = field(default_factory=list)
    unreachable: str | None = None
    remote_commands: int | None = None  # executions on the host after connecting: the run's round trips
    connect_seconds: float | None = None

    @property
    def verdict(self) -> str:
        statuses = {c.status for c in self.checks}
        if any(c.status == "failed" and c.data.get("decisive") for c in self.checks):
            return "fail"  # a certain "no" (verify's P0 rules) stands whatever could not be checked
        if self.unreachable or "error" in statuses:
            return "error"
        return "fail" if "failed" in statuses else "pass"

    def problems(self) -> list[CheckRecord]:
        return [c for c in self.checks if c.status in PROBLEMS]


@dataclass
class RunResult:
    hosts: dict[str, HostReport]
    started: float = field(default_factory=time.time)
    ended: float = 0.0

    @classmethod
    def for_hosts(cls, names: list[str]) -> RunResult:
        return cls({name: HostReport(name) for name in names})

    @property
    def verdict(self) -> str:
        return worst({h.verdict for h in self.hosts.values()})

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)
