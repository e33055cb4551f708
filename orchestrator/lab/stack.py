"""The dev host's deployed sample stack: a checkout of the lab repo at stack_dir, run by Docker Compose."""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.ops.parsers import docker_inspect

from .dockerd import docker
from .errors import EXIT_INFRA, LabError
from .prereqs import compose_command
from .proc import run, write_if_changed
from .spec import (
    API_TOKEN_VAR,
    BACKEND_PORT,
    ENV_MODE,
    FRONTEND_PORT,
    MAIN_BRANCH,
    STACK_CONFIG,
    STACK_CONFIG_MODE,
    STACK_ENV,
    STACK_SERVICES,
    LabHost,
)

HEALTHY_TIMEOUT = 120.0
COMPOSE_TIMEOUT = 300.0


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    service: str
    state: str  # running, exited, created, restarting, ...
    health: str  # healthy, unhealthy, starting, or "" without a healthcheck
    last_check: str = ""  # output of the latest healthcheck, for error messages

    @property
    def ok(self) -> bool:
        return self.state == "running" and self.health == "healthy"


def _dirs(host: LabHost) -> tuple[Path, str, Path]:
    assert host.stack_dir is not None and host.compose_project is not None and host.repo is not None
    return host.stack_dir, host.compose_project, host.repo


def containers(host: LabHost) -> list[Container]:
    _, project, _ = _dirs(host)
    ids = docker(host, "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}").stdout
    if not ids.split():
        return []
    # check=False: a container removed between ps and inspect is simply not listed.
    inspected = docker_inspect.containers(docker(host, "inspect", *ids.split(), check=False).stdout or "[]")
    return [Container(id=c.id, name=c.name, service=c.service, state=c.state or "", health=c.health or "",
                      last_check=c.health_output[-200:]) for c in inspected]


def describe(found: list[Container]) -> str:
    by_service = {c.service: c for c in found}
    parts = []
    for service in STACK_SERVICES:
        c = by_service.get(service)
        parts.append(f"{service}=missing" if c is None else f"{service}={c.state}/{c.health or 'no-health'}")
    return ", ".join(parts)


def is_healthy(found: list[Container]) -> bool:
    services = [c.service for c in found]
    return sorted(services) == sorted(STACK_SERVICES) and all(c.ok for c in found)


def ensure_checkout(host: LabHost, main_commit: str, echo: Callable[[str], None]) -> bool:
    """stack_dir: a clone of the lab repo on main at main_commit, clean, owned by the login user. True if changed.

    Untracked files the lab writes there (.env, config.json: see ensure_config) survive; a re-clone keeps .env.
    """
    stack_dir, _, repo = _dirs(host)
    owner = pwd.getpwnam(host.user)
    changed = False
    if not (stack_dir / ".git").is_dir():
        kept_env = _read(stack_dir / ".env")  # its secret must outlive a broken checkout
        if stack_dir.exists():
            shutil.rmtree(stack_dir)
        # --no-hardlinks: the chown below must not reach the bare repo's objects through shared inodes.
        _git(None, "clone", "-q", "--no-hardlinks", "-b", MAIN_BRANCH, str(repo), str(stack_dir))
        if kept_env is not None:
            write_if_changed(stack_dir / ".env", kept_env, ENV_MODE)
        echo(f"{host.name}: stack checkout cloned at {stack_dir}")
        changed = True
    elif not _checkout_current(stack_dir, main_commit):
        _git(stack_dir, "fetch", "-q", "--prune", "origin")
        _git(stack_dir, "checkout", "-q", "-f", "-B", MAIN_BRANCH, f"origin/{MAIN_BRANCH}")
        _git(stack_dir, "reset", "-q", "--hard", f"origin/{MAIN_BRANCH}")
        echo(f"{host.name}: stack checkout reset to {MAIN_BRANCH} ({main_commit[:12]})")
        changed = True
    if changed or _owner_differs(stack_dir, owner.pw_uid):
        # The login user deploys branches here over SSH (e2e), so the checkout is theirs.
        run(["chown", "-R", f"{owner.pw_uid}:{owner.pw_gid}", str(stack_dir)])
    if not changed:
        echo(f"{host.name}: stack checkout already on {MAIN_BRANCH} ({main_commit[:12]})")
    return changed


def env_text(token: str) -> str:
    return "".join(f"{k}={v}\n" for k, v in {**STACK_ENV, API_TOKEN_VAR: token}.items())


def config_text() -> str:
    return json.dumps(STACK_CONFIG) + "\n"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _env_token(text: str | None) -> str | None:
    found = re.search(rf"^{API_TOKEN_VAR}=([0-9a-f]{{32}})$", text or "", re.M)
    return found.group(1) if found else None


def ensure_config(host: LabHost, echo: Callable[[str], None]) -> bool:
    """The checkout's untracked config: .env (with a secret kept from the first lab.up) and config.json.

    Both owned by the login user, mode 0640; written only when they differ. True if either was (re)written:
    then the stack must be recreated (a file bind mount keeps seeing the replaced file's old inode).
    """
    stack_dir, _, _ = _dirs(host)
    pw = pwd.getpwnam(host.user)
    owner = (pw.pw_uid, pw.pw_gid)
    env_path, config_path = stack_dir / ".env", stack_dir / "config.json"
    if config_path.is_dir() and not config_path.is_symlink():
        # What the engine leaves when a deploy bind-mounted a missing ./config.json: an empty root-owned dir.
        try:
            config_path.rmdir()
        except OSError as exc:
            raise LabError(f"{host.name}: {config_path} is a directory ({exc.strerror}); remove it and run "
                           f"lab.up again", EXIT_INFRA) from exc
    token = _env_token(_read(env_path)) or secrets.token_hex(16)
    written = []
    for path, content, mode in ((env_path, env_text(token), ENV_MODE),
                                (config_path, config_text(), STACK_CONFIG_MODE)):
        if write_if_changed(path, content, mode, owner):
            written.append(path.name)
    if written:
        echo(f"{host.name}: wrote {', '.join(written)} in {stack_dir}")
    else:
        echo(f"{host.name}: stack .env and config.json already current")
    return bool(written)


def _git(cwd: Path | None, *args: str) -> str:
    # safe.directory: root works in a checkout owned by the login user.
    return run(["git", "-c", "safe.directory=*", *args], cwd=cwd, timeout=120).stdout.strip()


def _checkout_current(stack_dir: Path, main_commit: str) -> bool:
    try:
        head = _git(stack_dir, "rev-parse", "HEAD")
        branch = _git(stack_dir, "symbolic-ref", "-q", "HEAD")
        # --no-optional-locks: a read must not rewrite the index (it would become root's).
        dirty = _git(stack_dir, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    except LabError:
        return False
    return head == main_commit and branch == f"refs/heads/{MAIN_BRANCH}" and not dirty


def _owner_differs(stack_dir: Path, uid: int) -> bool:
    for root, dirs, files in os.walk(stack_dir):
        for name in (*dirs, *files):
            if os.lstat(os.path.join(root, name)).st_uid != uid:
                return True
    return os.stat(stack_dir).st_uid != uid


def compose(host: LabHost, *args: str, timeout: float = COMPOSE_TIMEOUT) -> str:
    stack_dir, project, _ = _dirs(host)
    command = compose_command()
    assert command is not None  # prereqs.check() ran first
    extra = {
        "DOCKER_HOST": host.docker_host,
        # compose v1: build through the engine API (the classic builder), not the docker CLI or BuildKit.
        "COMPOSE_DOCKER_CLI_BUILD": "0",
        "DOCKER_BUILDKIT": "0",
    }
    out = run([*command, "-p", project, "-f", "docker-compose.yml", *args], cwd=stack_dir, extra_env=extra,
              timeout=timeout)
    return out.stdout + out.stderr


def ensure_deployed(host: LabHost, redeploy: bool, echo: Callable[[str], None], recreate: bool = False) -> None:
    """Leave a healthy, current stack alone; otherwise (re)deploy and repair, then wait until healthy.

    recreate=True also recreates containers compose itself would keep (their bind-mounted config changed).
    """
    redeploy = redeploy or recreate
    found = containers(host)
    if not redeploy and is_healthy(found):
        stale = _stale_versions(host)
        if not stale:
            echo(f"{host.name}: stack already healthy ({describe(found)})")
            return
        echo(f"{host.name}: running stack is not the checkout's build ({stale})")
        redeploy = True
    started = time.monotonic()
    running = {c.service for c in found if c.state == "running"}
    if redeploy or len(found) != len(STACK_SERVICES) or running != set(STACK_SERVICES):
        echo(f"{host.name}: deploying stack ({'rebuilding from the checkout' if redeploy else describe(found)})")
        compose(host, "up", "-d", "--build", "--remove-orphans", *(["--force-recreate"] if recreate else []))
        found = containers(host)
    # `up -d` leaves a running container alone even when unhealthy; recreating it clears its state.
    unhealthy = sorted({c.service for c in found if c.state == "running" and c.health == "unhealthy"})
    if unhealthy:
        echo(f"{host.name}: recreating unhealthy {', '.join(unhealthy)}")
        compose(host, "up", "-d", "--force-recreate", "--no-deps", *unhealthy)
    if not is_healthy(containers(host)):
        echo(f"{host.name}: waiting for the stack to be healthy")
    found = wait_healthy(host)
    echo(f"{host.name}: stack healthy in {time.monotonic() - started:.1f}s ({describe(found)})")


def _stale_versions(host: LabHost) -> str:
    """Which services report a version other than the checkout's VERSION ("" if none).

    Catches images left by a branch deploy whose checkout was put back on main without a rebuild.
    """
    stack_dir, _, _ = _dirs(host)
    want = (stack_dir / "VERSION").read_text().strip()
    # No proxy, whatever the environment says: these requests must stay on loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    stale = []
    for service, url in (("backend", f"http://127.0.0.1:{BACKEND_PORT}/api/version"),
                         ("frontend", f"http://127.0.0.1:{FRONTEND_PORT}/version.json")):
        try:
            with opener.open(url, timeout=3) as resp:
                got = str(json.loads(resp.read()).get("version"))
        except (OSError, ValueError) as exc:
            got = f"unreadable: {exc}"
        if got != want:
            stale.append(f"{service} reports {got}, VERSION is {want}")
    return "; ".join(stale)


def wait_healthy(host: LabHost, timeout: float = HEALTHY_TIMEOUT) -> list[Container]:
    deadline = time.monotonic() + timeout
    found = containers(host)
    while not is_healthy(found):
        if time.monotonic() >= deadline:
            checks = "; ".join(f"{c.name}: {c.last_check!r}" for c in found if not c.ok and c.last_check)
            raise LabError(
                f"{host.name}: stack not healthy after {timeout:g}s; last seen: {describe(found)}"
                f"{'; last healthcheck output: ' + checks if checks else ''}. "
                f"See `docker -H {host.docker_host} ps -a` and `docker logs` of the failing container.",
                EXIT_INFRA,
            )
        time.sleep(0.5)
        found = containers(host)
    return found

