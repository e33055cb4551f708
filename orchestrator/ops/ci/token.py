"""The CI token: from an environment variable or a 0600 file named in the inventory, never from a flag.

It lives in memory only: registered with the redactor the moment it is read, so no console line, report,
exception or log can show it, and the run directory's leak sweep looks for it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.errors import BadInput
from orchestrator.ops import secretfiles

REDACT_KEY = "CI token"


def load(ci: dict[str, Any], where: str) -> str:
    """The token `ci` names: token_env when that variable is set, else token_file (which must be 0600)."""
    env = ci.get("token_env")
    if env and os.environ.get(env, "").strip():
        return _known(os.environ[env].strip())
    file = ci.get("token_file")
    if not file:
        raise BadInput(f"{where}: ci.token_env {env} is not set in the environment and no ci.token_file is named")
    return _known(_read_file(Path(file).expanduser(), where))


def _read_file(path: Path, where: str) -> str:
    token = secretfiles.read_private(path, "ci.token_file", where).strip()
    if not token:
        raise BadInput(f"{where}: ci.token_file {path} is empty")
    return token


def _known(token: str) -> str:
    redact.register({REDACT_KEY: token})
    return token
