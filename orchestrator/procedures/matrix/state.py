"""What a matrix run shares between its phases (runner: the scenarios; lifecycle; faults): the outcome records,
the host's baseline axis values, and how a setting of the axes becomes the scenario playbook's variables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator import templating
from orchestrator.errors import BadInput
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.ops.e2e.restore import Restored
from orchestrator.ops.matrix.model import Matrix, Scenario
from orchestrator.run.results import CheckRecord


@dataclass
class Done:
    """One scenario's outcome, as report.json's `matrix.scenarios` lists it (the lifecycle and faults phases
    add one entry each, named "lifecycle" and "faults")."""
    name: str
    status: str  # passed | failed | skipped
    reason: str
    values: dict[str, str]
    duration: float = 0.0

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "values": self.values,
                "duration": round(self.duration, 3)}


@dataclass
class MatrixRun:
    run_id: str
    host: str
    checks: list[CheckRecord] = field(default_factory=list)
    scenarios: list[Done] = field(default_factory=list)
    restored: Restored | None = None
    interrupted: bool = False
    kept: bool = False
    unreachable: str | None = None
    version: str = ""  # the stack's VERSION under test, for the manifest
    started: float = field(default_factory=time.time)

    @property
    def verdict(self) -> str:
        if self.interrupted or self.unreachable or (self.restored is not None and not self.restored.ok):
            return "error"
        if any(c.status == "error" for c in self.checks):  # the tool could not judge (a fault that would not
            return "error"  # inject, a command that timed out): infrastructure, exit 3, never a plain fail
        return "fail" if any(d.status == "failed" for d in self.scenarios) or any(
            c.status == "failed" for c in self.checks) else "pass"


@dataclass(frozen=True)
class Baseline:
    """An axis as the host runs it before the matrix: the raw text of its key (None: absent) and the axis value
    that text stands for (the raw text itself when it is none of the axis's values: someone set it by hand)."""
    raw: str | None
    value: str


def scenario_vars(cfg: StackConfig, matrix: Matrix, scenario: Scenario, values: dict[str, str],
                  baselines: dict[str, Baseline]) -> dict[str, Any]:
    """The scenario playbook's variables: the settings to write and the matrix's `expect`, rendered. An axis the
    scenario does not name gets its baseline text back (or loses its key, when it had none): an earlier
    scenario may have changed it."""
    try:
        expect = matrix.expect.render(values)
    except templating.TemplateError as exc:
        raise BadInput(f"{matrix.path}: expect, for scenario {scenario.name}: {exc}") from None
    settings = []
    for name, axis in matrix.axes.items():
        if name in scenario.values:
            settings.append([axis.apply.file, axis.apply.key, axis.render(values[name])])
        elif baselines[name].raw is not None:
            settings.append([axis.apply.file, axis.apply.key, baselines[name].raw])
        else:
            settings.append([axis.apply.file, f"-{axis.apply.key}", ""])  # matrix_apply.sh: drop the line
    return {"scenario": scenario.name, "settings": settings, "services": expect["services"],
            "state": expect["state"], "env": expect["env"] or {}, "stack": cfg.stack_dir,
            "ready_timeout": cfg.ready_timeout}


def prefixed(prefix: str, record: CheckRecord) -> CheckRecord:
    return CheckRecord(f"{prefix}: {record.name}", record.status, record.reason, record.duration, record.where,
                       record.data)
