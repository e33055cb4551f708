"""One e2e run's borrowed hosts: every change goes through `apply`, which journals it before making it.

Modules (orchestrator/modules/e2e.py) describe their changes as Steps; a Session either applies them
(journal first, then the command) or, for --dry-run, only records them for the printed plan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import InfraError
from orchestrator.host import Host, Result
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.ops.e2e.journal import Command, Journal

Echo = Callable[[str], None]


@dataclass
class Step:
    title: str
    do: Command
    undo: list[Command] = field(default_factory=list)
    cleanup: list[Command] = field(default_factory=list)
    pidfile: str | None = None  # where the host records the running command's pid (restore can end it)


@dataclass
class Session:
    cfg: StackConfig
    run_id: str
    branch: str
    commit: str
    repo: str
    compose: str  # compose CLI on the target host, e.g. "docker-compose"
    hosts: dict[str, Host]
    journal: Journal
    salt: str
    dry_run: bool = False
    echo: Echo = print
    plan: list[Step] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # baseline facts per host name
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> Host:
        return self.hosts[self.cfg.host]

    @property
    def run_dir(self) -> str:
        return self.cfg.run_dir(self.run_id)

    def compose_env(self) -> dict[str, str]:
        return {**self.cfg.compose_env, "COMPOSE": self.compose}

    def apply(self, step: Step) -> Result | None:
        """Journal the step (with its undo) on the target host, then run it; in a dry run, only plan it."""
        with self._lock:
            self.plan.append(step)
        if self.dry_run:
            return None
        if step.undo or step.cleanup:
            self.journal.mutation(step.title, step.do.host, step.undo, step.cleanup)
        host = self.hosts.get(step.do.host)
        if host is None:
            raise InfraError(f"{step.title}: host {step.do.host} is not part of this run")
        return host.run(step.do.line(), timeout=step.do.timeout, env=step.do.env or None, pidfile=step.pidfile)
