"""The lab's Woodpecker-compatible CI API (ciserver.py) from outside: its token, its state, start, stop, report.

The server on spec.CI_URL answers from spec.CI_STATE_FILE, which it reads again on every request, so a test sets
any pipeline state by writing that file, and puts the seed back afterwards:

    from orchestrator.lab import ci
    state = ci.read_state()
    state["repos"][0]["pipelines"][0]["status"] = "failure"
    ci.write_state(state)
    try:
        ...  # GET {ci.CI_URL}/api/repos/5/pipelines with "Authorization: Bearer " + ci.token()
    finally:
        ci.reset()

The seed (seed_state) has, for each of spec.CI_REPOS, two green `push` pipelines on main: the newest at the
deployed stack's commit, its message naming the stack's VERSION, and an older one at a made-up commit before it.
Its content is a pure function of (commit, VERSION), so lab.up rewrites the file only when a test left it otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.paths import ROOT

from .errors import EXIT_INFRA, LabError
from .proc import cmdline, env, pid_alive, read_pid, run, stop_pid, tail_file, tcp_open, wait_until, write_if_changed
from .spec import (
    CI_BRANCH,
    CI_DIR,
    CI_DIR_MODE,
    CI_EVENT,
    CI_HOST,
    CI_LOG,
    CI_PIDFILE,
    CI_PORT,
    CI_REPOS,
    CI_RUN_DIR,
    CI_STATE_FILE,
    CI_STATE_MODE,
    CI_TOKEN_FILE,
    CI_TOKEN_MODE,
    CI_URL,
    DEV,
    GIT_IDENTITY,
    CiRepo,
)

__all__ = ["CI_URL", "deployed", "ensure", "pid", "read_state", "reset", "seed_state", "status", "stop", "token",
           "write_state"]

Echo = Callable[[str], None]
MODULE = "orchestrator.lab.ciserver"
# ciserver.py's code, as the server reports it on /version: lab.up restarts a server started from other code.
# (Hashed here, not imported: `python -m orchestrator.lab.ciserver` must not find it imported already.)
CODE = hashlib.sha256(Path(__file__).with_name("ciserver.py").read_bytes()).hexdigest()[:16]
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,}")
BASE_TIME = 1704067200  # 2024-01-01T00:00:00Z, as the lab repo's commits (spec.GIT_IDENTITY)
STEP_SECONDS = 10
AUTHOR = GIT_IDENTITY["GIT_AUTHOR_NAME"]
AUTHOR_EMAIL = GIT_IDENTITY["GIT_AUTHOR_EMAIL"]


# --- the token and the state file ---

def token() -> str:
    """The token the server wants (`Authorization: Bearer <token>`); LabError if lab.up has not made it."""
    found = _read_token()
    if found is None:
        raise LabError(f"ci: no token in {CI_TOKEN_FILE} (`invoke lab.up` makes it)", EXIT_INFRA)
    return found


def _read_token() -> str | None:
    try:
        text = CI_TOKEN_FILE.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if TOKEN_RE.fullmatch(text) else None


def read_state() -> dict[str, Any]:
    """The state file as the server reads it."""
    try:
        data = json.loads(CI_STATE_FILE.read_text())
    except (OSError, ValueError) as exc:
        raise LabError(f"ci: cannot read {CI_STATE_FILE}: {exc}", EXIT_INFRA) from None
    if not isinstance(data, dict):
        raise LabError(f"ci: {CI_STATE_FILE} is not a JSON object", EXIT_INFRA)
    return data


def write_state(data: dict[str, Any]) -> bool:
    """Replace the state file (atomically, 0644) if it differs; True if it wrote. The server's next request sees
    it: no restart, no wait."""
    CI_DIR.mkdir(parents=True, exist_ok=True)
    return write_if_changed(CI_STATE_FILE, json.dumps(data, indent=1) + "\n", CI_STATE_MODE)


def deployed() -> tuple[str, str]:
    """(commit, VERSION) of dev's stack checkout: what the lab has deployed (or an e2e has, while it borrows dev)."""
    assert DEV.stack_dir is not None
    commit = run(["git", "-c", "safe.directory=*", "-C", str(DEV.stack_dir), "rev-parse", "HEAD"]).stdout.strip()
    try:
        version = (DEV.stack_dir / "VERSION").read_text().strip()
    except OSError as exc:
        raise LabError(f"ci: cannot read the deployed VERSION in {DEV.stack_dir}: {exc.strerror}", EXIT_INFRA) \
            from None
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise LabError(f"ci: {DEV.stack_dir} has no commit checked out ({commit!r})", EXIT_INFRA)
    return commit, version


def reset() -> dict[str, Any]:
    """Put the seed for the currently deployed stack back (tests: after changing the state); returns it."""
    seed = seed_state(*deployed())
    write_state(seed)
    return seed


def seed_state(commit: str, version: str) -> dict[str, Any]:
    """The green state: for each lab repo an older success at a made-up commit, then the newest success `push`
    on main at `commit`, its message naming `version`. A pure function of its arguments."""
    repos = []
    for repo in CI_REPOS:
        previous = hashlib.sha1(f"{repo.full_name} before {commit}".encode()).hexdigest()
        repos.append({
            "id": repo.id,
            "full_name": repo.full_name,
            "owner": repo.full_name.split("/")[0],
            "name": repo.full_name.split("/")[1],
            "default_branch": CI_BRANCH,
            "pipelines": [
                _pipeline(repo, repo.number, commit, f"Release {version}", f"version {version}"),
                _pipeline(repo, repo.number - 1, previous, "Update dependencies", f"commit {previous[:12]}"),
            ],
        })
    return {"repos": repos}


def _pipeline(repo: CiRepo, number: int, commit: str, message: str, what: str) -> dict[str, Any]:
    pipeline_id = repo.id * 1000 + number
    created = BASE_TIME + number * 3600 + repo.id * 60
    started = created + 5
    finished = started + STEP_SECONDS * len(repo.steps)
    steps = [{
        "id": pipeline_id * 10 + n,
        "pipeline_id": pipeline_id,
        "pid": n + 1,  # the workflow is pid 1
        "ppid": 1,
        "name": name,
        "state": "success",
        "exit_code": 0,
        "error": "",
        "type": "commands",
        "started": started + STEP_SECONDS * (n - 1),
        "finished": started + STEP_SECONDS * n,
        "log": _log(name, repo, what),
    } for n, name in enumerate(repo.steps, 1)]
    return {
        "id": pipeline_id,
        "number": number,
        "status": "success",
        "event": CI_EVENT,
        "branch": CI_BRANCH,
        "commit": commit,
        "ref": f"refs/heads/{CI_BRANCH}",
        "message": message,
        "author": AUTHOR,
        "author_email": AUTHOR_EMAIL,
        "sender": AUTHOR,
        "created": created,
        "started": started,
        "finished": finished,
        "workflows": [{"id": pipeline_id * 10, "pipeline_id": pipeline_id, "pid": 1, "name": "ci",
                       "state": "success", "error": "", "started": started, "finished": finished,
                       "children": steps}],
    }


def _log(step: str, repo: CiRepo, what: str) -> list[str]:
    lines = {
        "typecheck": ["+ make typecheck", "typecheck: no issues found"],
        "build": ["+ make build", f"built {what}"],
        "test": ["+ make test", "all tests passed"],
        "deploy": ["+ make deploy", f"deployed {what}"],
        "build-and-deploy": ["+ make build", f"built {what}", "+ make deploy", f"deployed {what}"],
        "notify": ["+ make notify", f"{repo.full_name}: {what} is out"],
    }
    return lines.get(step, [f"+ make {step}", f"{step}: ok"])


# --- the server process ---

def pid() -> int | None:
    """The server's live pid, only if its command line is this module serving CI_DIR (pid reuse)."""
    found = read_pid(CI_PIDFILE)
    if found is None or not pid_alive(found):
        return None
    line = cmdline(found)
    return found if MODULE in line and f"--dir {CI_DIR} " in f"{line} " else None


def _served_code() -> str | None:
    """The code the server on CI_URL says it runs (its /version), or None."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever the env says
    try:
        with opener.open(f"{CI_URL}/version", timeout=3) as resp:
            return str(json.loads(resp.read()).get("code"))
    except (OSError, ValueError, AttributeError):
        return None


def ensure(echo: Echo) -> None:
    """lab.up: CI_DIR, a kept token (0600), the state file at the seed for the deployed stack, and the server
    running this code on CI_URL (one of other code or another address is restarted)."""
    CI_DIR.mkdir(parents=True, exist_ok=True)
    CI_DIR.chmod(CI_DIR_MODE)
    CI_RUN_DIR.mkdir(parents=True, exist_ok=True)
    kept = _read_token()
    if write_if_changed(CI_TOKEN_FILE, f"{kept or secrets.token_urlsafe(32)}\n", CI_TOKEN_MODE):
        echo(f"ci: token {'file fixed' if kept else 'made'} in {CI_TOKEN_FILE} ({CI_TOKEN_MODE:04o})")
    commit, version = deployed()
    if write_state(seed_state(commit, version)):
        echo(f"ci: state set to the seed (every repo green at {commit[:12]}, {version}) in {CI_STATE_FILE}")
    else:
        echo(f"ci: state already the seed (every repo green at {commit[:12]}, {version})")
    running = pid()
    if running is not None and not _as_specified(running):
        _stop()
        echo(f"ci: server (pid {running}) stopped: it ran other code or listened elsewhere")
        running = None
    if running is None:
        echo(f"ci: Woodpecker-compatible API started on {CI_URL} (pid {_start()})")
    else:
        echo(f"ci: Woodpecker-compatible API already running on {CI_URL} (pid {running})")


def _as_specified(running: int) -> bool:
    return f"--listen {CI_HOST}:{CI_PORT} " in f"{cmdline(running)} " and _served_code() == CODE


def _start() -> int:
    if tcp_open(CI_HOST, CI_PORT):
        raise LabError(f"ci: {CI_HOST}:{CI_PORT} is already taken by another process (not this lab's CI server, "
                       f"per {CI_PIDFILE}); free the port and run lab.up again", EXIT_INFRA)
    CI_PIDFILE.unlink(missing_ok=True)
    argv = [sys.executable, "-m", MODULE, "--listen", f"{CI_HOST}:{CI_PORT}", "--dir", str(CI_DIR),
            "--pidfile", str(CI_PIDFILE), "--daemon"]
    with CI_LOG.open("ab") as out:
        # The parent exits once its detached child listens (or cannot); the child keeps the log as its output.
        started = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                                 env=env({"PYTHONPATH": str(ROOT)}), timeout=START_TIMEOUT, check=False)
    found = wait_until(pid, 2.0, 0.01) if started.returncode == 0 else None
    if not found:
        raise LabError(f"ci: the server on {CI_HOST}:{CI_PORT} did not start (exit {started.returncode}); last "
                       f"lines of {CI_LOG}:\n{tail_file(CI_LOG)}", EXIT_INFRA)
    return found


def _stop() -> int | None:
    running = pid()
    if running is not None:
        stop_pid(running, STOP_TIMEOUT)
    CI_PIDFILE.unlink(missing_ok=True)
    return running


def stop(echo: Echo) -> None:
    """lab.down: stop the server by its pid (the token and state file stay)."""
    stopped = _stop()
    echo(f"ci: server stopped (pid {stopped})" if stopped else "ci: server not running")


def status() -> dict[str, Any]:
    """lab.status's `ci`: where the API is, the files that drive it, whether it is up; never raises."""
    running = pid()
    return {
        "url": CI_URL,
        "token_file": str(CI_TOKEN_FILE),
        "state_file": str(CI_STATE_FILE),
        "log": str(CI_LOG),
        "up": running is not None and tcp_open(CI_HOST, CI_PORT),
        "pid": running,
        "repos": [{"id": r.id, "full_name": r.full_name} for r in CI_REPOS],
    }
