"""Helpers for tests against the real lab: run the CLI as a user would, talk to the lab's engines, wait
with deadlines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.lab import spec

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventory" / "lab.yml"


@dataclass
class Cli:
    rc: int
    stdout: str
    stderr: str
    elapsed: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def checks(self, host: str) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.json()["hosts"][host]["checks"]}


def invoke(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Cli:
    """Run the real CLI as a user would (a fresh process: imports, SSH, everything)."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    return Cli(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def docker(*args: str, host: spec.HostSpec = spec.DEV, check: bool = True, timeout: float = 60
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", host.docker_host, *args], capture_output=True, text=True,
                          timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def container_of(service: str) -> str:
    out = docker("ps", "-aq", "--filter", "label=com.docker.compose.project=sample",
                 "--filter", f"label=com.docker.compose.service={service}").stdout.split()
    assert out, f"no container for service {service}"
    return out[0]


def health(container: str) -> str:
    out = docker("inspect", "--format", "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}",
                 container, check=False)
    return out.stdout.strip() if out.returncode == 0 else "absent"


def stack_healthy() -> bool:
    return all(health(container_of(s)) == "running/healthy" for s in spec.STACK_SERVICES)




def quietly_healthy() -> bool:
    try:
        return stack_healthy()
    except (AssertionError, subprocess.SubprocessError):
        return False
