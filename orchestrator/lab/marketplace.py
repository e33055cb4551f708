"""The lab's marketplace API (marketplace_server.py) from outside: its admin, its config, start, stop, report.

The server on spec.MARKETPLACE_URL re-reads spec.MARKETPLACE_CONFIG_FILE on every request, so a test switches a
known defect (or the rate limit) by writing that file, and puts it back afterwards:

    from orchestrator.lab import marketplace
    config = marketplace.read_config()
    config["defects"]["legacy_payments_500"] = True
    marketplace.write_config(config)
    try:
        ...  # GET {marketplace.MARKETPLACE_URL}/api/legacy/payments?offerId=... answers 500
    finally:
        marketplace.reset_config()

The admin's login is spec.MARKETPLACE_ADMIN_FILE (ADMIN_EMAIL, ADMIN_PASSWORD; 0600, made at the first lab.up and
kept): marketplace.admin(). Users, requests, offers and notifications live in the server's memory only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.paths import ROOT

from .errors import EXIT_INFRA, LabError
from .proc import cmdline, env, pid_alive, read_pid, stop_pid, tail_file, tcp_open, wait_until, write_if_changed
from .spec import (
    MARKETPLACE_ADMIN_EMAIL,
    MARKETPLACE_ADMIN_FILE,
    MARKETPLACE_ADMIN_MODE,
    MARKETPLACE_CONFIG_FILE,
    MARKETPLACE_CONFIG_MODE,
    MARKETPLACE_DIR,
    MARKETPLACE_DIR_MODE,
    MARKETPLACE_HOST,
    MARKETPLACE_LOG,
    MARKETPLACE_PIDFILE,
    MARKETPLACE_PORT,
    MARKETPLACE_RUN_DIR,
    MARKETPLACE_URL,
)

__all__ = ["MARKETPLACE_URL", "admin", "ensure", "pid", "read_config", "reset_config", "status", "stop",
           "write_config"]

Echo = Callable[[str], None]
MODULE = "orchestrator.lab.marketplace_server"
# marketplace_server.py's code, passed to it as --code: lab.up restarts a server started from other code.
# (Hashed here, not imported: `python -m orchestrator.lab.marketplace_server` must not find it imported already.)
CODE = hashlib.sha256(Path(__file__).with_name("marketplace_server.py").read_bytes()).hexdigest()[:16]
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


# --- the admin's credentials ---

def admin() -> tuple[str, str]:
    """(email, password) of the marketplace's admin; LabError if lab.up has not made them."""
    found = _read_admin()
    if found is None:
        raise LabError(f"marketplace: no ADMIN_EMAIL/ADMIN_PASSWORD in {MARKETPLACE_ADMIN_FILE} (`invoke lab.up` "
                       "makes them)", EXIT_INFRA)
    return found


def _read_admin() -> tuple[str, str] | None:
    from .marketplace_server import parse_admin  # the server's own reading (imported late: see CODE)

    try:
        return parse_admin(MARKETPLACE_ADMIN_FILE.read_text())
    except (OSError, UnicodeDecodeError):
        return None


def _admin_env(email: str, password: str) -> str:
    return f"ADMIN_EMAIL={email}\nADMIN_PASSWORD={password}\n"


# --- the config file ---

def read_config() -> dict[str, Any]:
    """The config as the server reads it (every key present; a missing file is all off)."""
    from .marketplace_server import ConfigError, parse_config

    try:
        text = MARKETPLACE_CONFIG_FILE.read_text()
    except FileNotFoundError:
        text = None
    except OSError as exc:
        raise LabError(f"marketplace: cannot read {MARKETPLACE_CONFIG_FILE}: {exc.strerror}", EXIT_INFRA) from None
    try:
        return parse_config(text)
    except ConfigError as exc:
        raise LabError(f"marketplace: {MARKETPLACE_CONFIG_FILE}: {exc}", EXIT_INFRA) from None


def write_config(data: dict[str, Any]) -> bool:
    """Replace the config file (atomically, 0644) if it differs; True if it wrote. Missing keys are off; an unknown
    defect or a malformed value is a LabError (nothing written). The server's next request sees it."""
    from .marketplace_server import ConfigError, parse_config

    try:
        full = parse_config(data)
    except ConfigError as exc:
        raise LabError(f"marketplace: config not written: {exc}", EXIT_INFRA) from None
    MARKETPLACE_DIR.mkdir(parents=True, exist_ok=True)
    return write_if_changed(MARKETPLACE_CONFIG_FILE, json.dumps(full, indent=1) + "\n", MARKETPLACE_CONFIG_MODE)


def reset_config() -> bool:
    """All defects off, no rate limit (tests: in a `finally`); True if it wrote."""
    from .marketplace_server import default_config

    return write_config(default_config())


# --- the server process ---

def pid() -> int | None:
    """The server's live pid, only if its command line is this module serving MARKETPLACE_DIR (pid reuse)."""
    found = read_pid(MARKETPLACE_PIDFILE)
    if found is None or not pid_alive(found):
        return None
    line = cmdline(found)
    return found if MODULE in line and f"--dir {MARKETPLACE_DIR} " in f"{line} " else None


def _healthy() -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever the env says
    try:
        with opener.open(f"{MARKETPLACE_URL}/healthz", timeout=3) as resp:
            return resp.status == 204
    except OSError:
        return False


def ensure(echo: Echo) -> None:
    """lab.up: MARKETPLACE_DIR, the kept admin credentials (0600), the config all off, and the server running this
    code on MARKETPLACE_URL (one of other code or another address is restarted: its memory starts empty)."""
    MARKETPLACE_DIR.mkdir(parents=True, exist_ok=True)
    MARKETPLACE_DIR.chmod(MARKETPLACE_DIR_MODE)
    MARKETPLACE_RUN_DIR.mkdir(parents=True, exist_ok=True)
    kept = _read_admin()
    email, password = kept or (MARKETPLACE_ADMIN_EMAIL, secrets.token_urlsafe(24))
    if write_if_changed(MARKETPLACE_ADMIN_FILE, _admin_env(email, password), MARKETPLACE_ADMIN_MODE):
        echo(f"marketplace: admin credentials {'file fixed' if kept else 'made'} in {MARKETPLACE_ADMIN_FILE} "
             f"({MARKETPLACE_ADMIN_MODE:04o})")
    if reset_config():
        echo(f"marketplace: config reset (all defects off, no rate limit) in {MARKETPLACE_CONFIG_FILE}")
    running = pid()
    if running is not None and not _as_specified(running):
        _stop()
        echo(f"marketplace: server (pid {running}) stopped: it ran other code or listened elsewhere")
        running = None
    if running is None:
        echo(f"marketplace: API started on {MARKETPLACE_URL} (pid {_start()})")
    else:
        echo(f"marketplace: API already running on {MARKETPLACE_URL} (pid {running})")


def _as_specified(running: int) -> bool:
    line = f"{cmdline(running)} "
    return f"--listen {MARKETPLACE_HOST}:{MARKETPLACE_PORT} " in line and f"--code {CODE} " in line and _healthy()


def _start() -> int:
    if tcp_open(MARKETPLACE_HOST, MARKETPLACE_PORT):
        raise LabError(f"marketplace: {MARKETPLACE_HOST}:{MARKETPLACE_PORT} is already taken by another process "
                       f"(not this lab's marketplace, per {MARKETPLACE_PIDFILE}); free the port and run lab.up "
                       "again", EXIT_INFRA)
    MARKETPLACE_PIDFILE.unlink(missing_ok=True)
    argv = [sys.executable, "-m", MODULE, "--listen", f"{MARKETPLACE_HOST}:{MARKETPLACE_PORT}",
            "--dir", str(MARKETPLACE_DIR), "--pidfile", str(MARKETPLACE_PIDFILE), "--code", CODE, "--daemon"]
    with MARKETPLACE_LOG.open("ab") as out:
        # The parent exits once its detached child listens (or cannot); the child keeps the log as its output.
        started = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                                 env=env({"PYTHONPATH": str(ROOT)}), timeout=START_TIMEOUT, check=False)
    found = wait_until(pid, 2.0, 0.01) if started.returncode == 0 else None
    if not found:
        raise LabError(f"marketplace: the server on {MARKETPLACE_HOST}:{MARKETPLACE_PORT} did not start (exit "
                       f"{started.returncode}); last lines of {MARKETPLACE_LOG}:\n{tail_file(MARKETPLACE_LOG)}",
                       EXIT_INFRA)
    return found


def _stop() -> int | None:
    running = pid()
    if running is not None:
        stop_pid(running, STOP_TIMEOUT)
    MARKETPLACE_PIDFILE.unlink(missing_ok=True)
    return running


def stop(echo: Echo) -> None:
    """lab.down: stop the server by its pid (the admin credentials and the config stay; its memory is gone)."""
    stopped = _stop()
    echo(f"marketplace: server stopped (pid {stopped})" if stopped else "marketplace: server not running")


def status() -> dict[str, Any]:
    """lab.status's `marketplace`: where the API is, the files that drive it, whether it is up; never raises."""
    running = pid()
    return {
        "url": MARKETPLACE_URL,
        "admin_credentials_file": str(MARKETPLACE_ADMIN_FILE),
        "config_file": str(MARKETPLACE_CONFIG_FILE),
        "up": running is not None and tcp_open(MARKETPLACE_HOST, MARKETPLACE_PORT),
        "pid": running,
    }
