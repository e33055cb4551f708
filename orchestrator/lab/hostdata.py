"""Lab-made state on the hosts outside the stack checkout, which lab.up creates or repairs but never empties.

dev: DATA_DIR (bind-mounted as the scanner's /data) and STATE_DIR (the e2e state directory).
agent: WORKER_CONFIG, a borrowed peer's config holding a secret token generated once and kept afterwards.
"""

from __future__ import annotations

import json
import pwd
import re
import secrets
from collections.abc import Callable

from .proc import ensure_dir, write_if_changed
from .spec import AGENT, DATA_DIR, DEV, STATE_DIR, WORKER_CONFIG, WORKER_CONFIG_MODE, WORKER_DIR, WORKER_STACK_URL

TOKEN = re.compile(r"[0-9a-f]{32}")


def new_token() -> str:
    return secrets.token_hex(16)


def _owner(user: str) -> tuple[int, int]:
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


def ensure_dev_dirs(echo: Callable[[str], None]) -> None:
    owner = _owner(DEV.user)
    for path, mode in ((DATA_DIR, 0o755), (STATE_DIR, 0o700)):
        if ensure_dir(path, mode, owner):
            echo(f"{DEV.name}: {path} made ({DEV.user}, {mode:04o})")
        else:
            echo(f"{DEV.name}: {path} already there")


def worker_config_text(token: str) -> str:
    return json.dumps({"stack_url": WORKER_STACK_URL, "token": token}) + "\n"


def _kept_token(text: str) -> str | None:
    """The token of an existing worker config, even one that no longer parses; None if there is none."""
    try:
        data = json.loads(text)
        token = data.get("token") if isinstance(data, dict) else None
    except ValueError:
        found = re.search(r'"token"\s*:\s*"([0-9a-f]{32})"', text)
        token = found.group(1) if found else None
    return token if isinstance(token, str) and TOKEN.fullmatch(token) else None


def _needs_rewrite(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return True
    return not isinstance(data, dict) or data.get("stack_url") != WORKER_STACK_URL or _kept_token(text) is None


def ensure_worker_config(echo: Callable[[str], None]) -> None:
    """Create WORKER_CONFIG if missing; repair it when it no longer parses or points elsewhere (token kept).

    A config that parses and has the lab's stack_url and a valid token is left as it is (only owner and mode
    are put right), so whatever else a test wrote into it survives a lab.up.
    """
    owner = _owner(AGENT.user)
    if ensure_dir(WORKER_DIR, 0o755, owner):
        echo(f"{AGENT.name}: {WORKER_DIR} made ({AGENT.user}, 0755)")
    try:
        text: str | None = WORKER_CONFIG.read_text()
    except FileNotFoundError:
        text = None
    if text is None:
        what = "created"
        content = worker_config_text(new_token())
    elif _needs_rewrite(text):
        what = "repaired (stack_url or token was wrong; token kept when valid)"
        content = worker_config_text(_kept_token(text) or new_token())
    else:
        what = "owner/mode put right"
        content = text
    if write_if_changed(WORKER_CONFIG, content, WORKER_CONFIG_MODE, owner):
        echo(f"{AGENT.name}: {WORKER_CONFIG} {what}")
    else:
        echo(f"{AGENT.name}: {WORKER_CONFIG} already set up")
