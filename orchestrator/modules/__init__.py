"""The vocabulary of playbooks: each module is one small class, registered here by name."""

from __future__ import annotations

from orchestrator.modules.base import Check, Deadline, Module, Outcome, Param, TaskContext
from orchestrator.modules.browser import BrowserProbesModule
from orchestrator.modules.core import AssertModule, FailModule, SetFactModule, ShellModule
from orchestrator.modules.docker import ContainersModule, DockerEngineModule
from orchestrator.modules.e2e import MODULES_E2E
from orchestrator.modules.matrix import MODULES_MATRIX
from orchestrator.modules.prune import MODULES_PRUNE
from orchestrator.modules.system import DiskModule, PingModule, PruneStatusModule, ReadFileModule
from orchestrator.modules.triage import MODULES_TRIAGE
from orchestrator.modules.verify import MODULES_VERIFY
from orchestrator.modules.web import HttpProbesModule

MODULES: dict[str, Module] = {
    m.name: m()
    for m in (PingModule, ShellModule, AssertModule, FailModule, SetFactModule, ReadFileModule, DiskModule,
              DockerEngineModule, ContainersModule, HttpProbesModule, BrowserProbesModule, PruneStatusModule,
              *MODULES_PRUNE, *MODULES_TRIAGE, *MODULES_E2E, *MODULES_VERIFY, *MODULES_MATRIX)
}

__all__ = ["MODULES", "Check", "Deadline", "Module", "Outcome", "Param", "TaskContext"]
