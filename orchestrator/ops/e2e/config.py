"""What an e2e needs from the inventory, checked once before anything runs (exit 2 naming the variable)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from orchestrator.config.inventory import HostSpec
from orchestrator.errors import BadInput

MODES = ("check", "targeted", "matrix")


@dataclass(frozen=True)
class Peer:
    host: str
    file: str
    replace: dict[str, str]
    reload: str | None = None


@dataclass(frozen=True)
class StackConfig:
    host: str
    stack_dir: str
    project: str
    state_dir: str
    repo: str | None
    config_files: list[str]
    secret_files: list[str]
    data_dirs: list[str]
    test_command: str | None
    compose_command: str | None
    compose_env: dict[str, str]
    services: list[str]
    peers: list[Peer] = field(default_factory=list)
    deploy_timeout: float = 900
    ready_timeout: float = 180
    min_free_mb: float = 1024
    command_timeout: float = 60
    test_results: str | None = None  # "tap" (on the test output) or a JUnit XML file in the checkout
    min_tests: int = 1
    test_causes: str | None = None  # the stack repository's cause table, relative to the checkout

    # Paths on the host, all under state_dir (which only shakedown writes to).
    @property
    def lease_path(self) -> str:
        return f"{self.state_dir}/lease.json"

    @property
    def journal_path(self) -> str:
        return f"{self.state_dir}/journal.jsonl"

    @property
    def checkout(self) -> str:
        return f"{self.state_dir}/checkout"

    def run_dir(self, run_id: str) -> str:
        return f"{self.state_dir}/runs/{run_id}"

    def abs_path(self, path: str) -> str:
        """A config file or data dir as an absolute path on the host (relative ones live in stack_dir)."""
        return path if path.startswith("/") else posixpath.join(self.stack_dir, path)


def load(spec: HostSpec, *, need_tests: bool, known_hosts: set[str]) -> StackConfig:
    """The e2e view of one inventory host; BadInput naming the inventory line when something is missing."""
    missing = [k for k in ("stack_dir", "compose_project", "state_dir") if not spec.vars.get(k)]
    if need_tests and not spec.vars.get("test_command"):
        missing.append("test_command")
    if missing:
        raise BadInput(f"{_origin(spec)}: host {spec.name}: e2e needs inventory variable(s) {', '.join(missing)}"
                       " (see README, Inventory variables)")
    for key in ("stack_dir", "state_dir"):
        if not str(spec.get(key)).startswith("/"):
            raise BadInput(f"{spec.origins.get(key, _origin(spec))}: {key} must be an absolute path, "
                           f"got {spec.get(key)!r}")
    for key in ("test_results", "test_causes"):
        value = spec.get(key)
        if value and (value.startswith("/") or ".." in value.split("/")):
            raise BadInput(f"{spec.origins.get(key, _origin(spec))}: {key} is a path inside the checkout (relative, "
                           f"no '..'), got {value!r}")
    for key in ("config_files", "secret_files", "data_dirs"):
        for path in spec.get(key):
            if ".." in path.split("/"):
                raise BadInput(f"{spec.origins.get(key, _origin(spec))}: {key}: {path!r} must not contain '..'")
    peers = [_peer(p, spec, known_hosts) for p in spec.get("e2e_peers")]
    return StackConfig(
        host=spec.name, stack_dir=spec.get("stack_dir").rstrip("/"), project=spec.get("compose_project"),
        state_dir=spec.get("state_dir").rstrip("/"), repo=spec.get("stack_repo"),
        config_files=list(spec.get("config_files")), secret_files=list(spec.get("secret_files")),
        data_dirs=list(spec.get("data_dirs")), test_command=spec.get("test_command"),
        compose_command=spec.get("compose_command"), compose_env=dict(spec.get("compose_env")),
        services=list(spec.get("expected_services")), peers=peers,
        deploy_timeout=float(spec.get("deploy_timeout")), ready_timeout=float(spec.get("ready_timeout")),
        min_free_mb=float(spec.get("min_free_mb")), command_timeout=float(spec.get("command_timeout")),
        test_results=spec.get("test_results"), min_tests=int(spec.get("min_tests")),
        test_causes=spec.get("test_causes"),
    )


def _peer(raw: dict[str, Any], spec: HostSpec, known_hosts: set[str]) -> Peer:
    if raw["host"] not in known_hosts:
        raise BadInput(f"{spec.origins.get('e2e_peers', _origin(spec))}: e2e_peers: unknown host {raw['host']!r}")
    if raw["host"] == spec.name:
        raise BadInput(f"{spec.origins.get('e2e_peers', _origin(spec))}: e2e_peers: {spec.name} cannot borrow "
                       "itself")
    return Peer(raw["host"], raw["file"], dict(raw["replace"]), raw.get("reload"))


def _origin(spec: HostSpec) -> str:
    return spec.origins.get("ansible_host") or next(iter(spec.origins.values()), "inventory")
