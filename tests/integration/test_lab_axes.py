"""The sample app's runtime settings against the lab's dev stack: a key changed in the stack's .env, applied with
`docker-compose up -d` exactly as the lab runs it (stack.compose: DOCKER_HOST, the classic builder), recreates only
the service that uses it and changes what that service answers; SCANNER_SCALE removes and restores the scanner;
the backend's /api/private wants the stack's token; a second `up -d` recreates nothing.

Every test puts .env back byte for byte, brings the stack back with `up -d` and waits until it is healthy, in a
`finally`, then checks the lab's fingerprint is what it was.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrator.lab import spec, stack
from tests.integration.labkit import docker, fingerprint, health, stack_healthy
from tests.waiting import wait_for

pytestmark = pytest.mark.lab

STACK_DIR = Path(spec.DEV.stack_dir or "")
ENV = STACK_DIR / ".env"
BACKEND = f"http://127.0.0.1:{spec.BACKEND_PORT}"
FRONTEND = f"http://127.0.0.1:{spec.FRONTEND_PORT}"
# No proxy, whatever the environment says: these requests stay on loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def up() -> str:
    """`docker-compose -p sample -f docker-compose.yml up -d` in the stack checkout, as the lab runs compose."""
    return stack.compose(spec.DEV, "up", "-d")


def ids() -> dict[str, str]:
    """Service -> container id of the sample project (any state)."""
    return {c.service: c.id for c in stack.containers(spec.DEV)}


def get(url: str, password: str | None = None) -> tuple[int, str]:
    """(status, body) of a GET; with `password`, HTTP basic auth as user scanner."""
    request = urllib.request.Request(url)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"scanner:{password}".encode()).decode())
    try:
        with OPENER.open(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def get_json(url: str) -> object:
    try:
        status, body = get(url)
    except OSError:
        return None  # not listening (yet)
    return json.loads(body) if status == 200 else None


def token() -> str:
    return next(line.split("=", 1)[1] for line in ENV.read_text().splitlines()
                if line.startswith(f"{spec.API_TOKEN_VAR}="))


def version() -> str:
    return (STACK_DIR / "VERSION").read_text().strip()


def with_key(text: str, key: str, value: str) -> str:
    """.env text with `key` set to `value` (its line replaced in place, or appended)."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f"{key}="):
            lines[i] = f"{key}={value}\n"
            return "".join(lines)
    return text + ("" if text.endswith("\n") or not text else "\n") + f"{key}={value}\n"


def write_env(data: bytes) -> None:
    # In place: the file keeps its inode, owner (the login user) and mode (0640).
    with ENV.open("r+b") as fh:
        fh.write(data)
        fh.truncate()


def healthy(service: str) -> bool:
    found = ids().get(service)
    return found is not None and health(found) == "running/healthy"


@contextlib.contextmanager
def edited_env() -> Iterator[Callable[..., None]]:
    """Yields set(**keys), which rewrites .env with those keys changed (compose is not run). Afterwards, whatever
    happened: .env back byte for byte, `up -d`, the whole stack healthy."""
    original = ENV.read_bytes()

    def set_keys(**keys: str) -> None:
        text = ENV.read_text()
        for key, value in keys.items():
            text = with_key(text, key, value)
        write_env(text.encode())

    try:
        yield set_keys
    finally:
        write_env(original)
        up()
        wait_for(stack_healthy, "the dev stack to be healthy again after putting .env back", timeout=120)
        assert ENV.read_bytes() == original


def test_each_key_recreates_only_its_service_and_changes_what_it_answers(healthy_stack: None) -> None:
    before = fingerprint()
    assert get_json(f"{BACKEND}/api/state") == {"service": "backend", "version": version(), "mode": "normal",
                                                "pool": 4}
    assert get_json(f"{FRONTEND}/version.json") == {"version": version(), "service": "frontend", "secure": True}
    start = ids()
    assert sorted(start) == sorted(spec.STACK_SERVICES)
    up()  # the lab's own .env, applied again: nothing to do
    assert ids() == start

    with edited_env() as set_keys:
        set_keys(BACKEND_MODE="readonly", BACKEND_POOL="7")
        up()
        after_backend = ids()
        assert after_backend["backend"] != start["backend"]
        assert {s: after_backend[s] for s in ("frontend", "scanner")} == {s: start[s] for s in ("frontend", "scanner")}
        wait_for(lambda: healthy("backend"), "the recreated backend to be healthy")
        assert get_json(f"{BACKEND}/api/state") == {"service": "backend", "version": version(), "mode": "readonly",
                                                    "pool": 7}
        up()  # the same .env again recreates nothing
        assert ids() == after_backend

        set_keys(FRONTEND_SECURE="false")
        up()
        after_frontend = ids()
        assert after_frontend["frontend"] != after_backend["frontend"]
        assert {s: after_frontend[s] for s in ("backend", "scanner")} == {
            s: after_backend[s] for s in ("backend", "scanner")}
        wait_for(lambda: healthy("frontend"), "the recreated frontend to be healthy")
        assert get_json(f"{FRONTEND}/version.json") == {"version": version(), "service": "frontend",
                                                        "secure": False}
        status, page = get(f"{FRONTEND}/")
        assert status == 200 and '<span id="secure">false</span>' in page and "insecure-warning" in page
        up()
        assert ids() == after_frontend

    assert get_json(f"{BACKEND}/api/state") == {"service": "backend", "version": version(), "mode": "normal",
                                                "pool": 4}
    assert get_json(f"{FRONTEND}/version.json") == {"version": version(), "service": "frontend", "secure": True}
    assert fingerprint() == before


def test_scanner_scale_zero_removes_the_scanner_and_one_brings_it_back(healthy_stack: None) -> None:
    before = fingerprint()
    start = ids()
    with edited_env() as set_keys:
        set_keys(SCANNER_SCALE="0")
        up()
        gone = ids()
        assert "scanner" not in gone, gone
        assert gone == {s: start[s] for s in ("backend", "frontend")}  # the others untouched
        assert docker("ps", "-aq", "--filter", "label=com.docker.compose.service=scanner").stdout.strip() == ""
        up()
        assert ids() == gone

        set_keys(SCANNER_SCALE="1")
        up()
        back = ids()
        assert back.keys() == start.keys() and back["scanner"] != start["scanner"]
        assert {s: back[s] for s in ("backend", "frontend")} == {s: start[s] for s in ("backend", "frontend")}
        wait_for(lambda: healthy("scanner"), "the scanner to be back and healthy")
        up()
        assert ids() == back
    assert fingerprint() == before


def test_private_wants_the_token_and_the_scanner_uses_it_without_depending_on_backend(healthy_stack: None) -> None:
    before = fingerprint()
    secret = token()
    assert get(f"{BACKEND}/api/private")[0] == 401
    assert get(f"{BACKEND}/api/private", password="not-the-token")[0] == 401
    status, body = get(f"{BACKEND}/api/private", password=secret)
    assert (status, json.loads(body)) == (200, {"service": "backend", "private": "ok"})
    check = spec.DATA_DIR / "private-check"

    def scanner_saw(status: str, since: float) -> bool:
        try:
            got, when = check.read_text().split()
        except (FileNotFoundError, ValueError):
            return False
        return got == status and int(when) >= since

    wait_for(lambda: scanner_saw("200", time.time() - 1), "the scanner to fetch /api/private with the token")

    backend = ids()["backend"]
    scanner = ids()["scanner"]
    try:
        docker("stop", "-t", "5", backend)
        stopped_at = time.time()
        # Past the scanner's health limit (3 x SCANNER_INTERVAL + 2 s) with the backend gone, and healthy all along.
        limit = 3 * int(spec.STACK_ENV["SCANNER_INTERVAL"]) + 2

        def unreachable_long_enough() -> bool:
            assert health(scanner) == "running/healthy", "the scanner's health must not depend on the backend"
            return scanner_saw("unreachable", stopped_at + limit + 1)

        wait_for(unreachable_long_enough, "the scanner to find the backend unreachable, past its health limit",
                 timeout=60)
    finally:
        docker("start", backend)
        wait_for(stack_healthy, "the dev stack to be healthy again with the backend started", timeout=120)
    wait_for(lambda: scanner_saw("200", time.time() - 1), "the scanner to reach /api/private again")

    logs = {service: docker("logs", cid) for service, cid in ids().items()}
    leaked = [service for service, out in logs.items() if secret in out.stdout + out.stderr]
    assert leaked == [], "these services printed the token to their log"
    assert fingerprint() == before


def test_an_unknown_backend_mode_fails_loudly(healthy_stack: None) -> None:
    before = fingerprint()
    start = ids()
    with edited_env() as set_keys:
        set_keys(BACKEND_MODE="bogus")
        up()
        backend = ids()["backend"]
        assert backend != start["backend"]

        def fatal_logged() -> bool:
            out = docker("logs", backend, check=False)
            return "backend: FATAL: BACKEND_MODE 'bogus' is unknown (expected normal or readonly)" in out.stderr

        wait_for(fatal_logged, "the backend to log why it refuses BACKEND_MODE=bogus")
        assert get_json(f"{BACKEND}/api/state") is None
        wait_for(lambda: docker("inspect", "--format", "{{.RestartCount}}", backend).stdout.strip() not in ("", "0"),
                 "restart: unless-stopped to restart the failing backend (a crash loop)")
    assert fingerprint() == before
