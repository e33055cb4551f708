"""The CI token: from an environment variable or a 0600 file named in the inventory, never from a flag.

It lives in memory only: registered with the redactor the moment it is read, so no console line, report,
exception or log can show it, and the run directory's leak sweep looks for it too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.errors import BadInput

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
    try:
        info = path.stat()
    except OSError as exc:
        raise BadInput(f"{where}: ci.token_file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"{where}: ci.token_file {path} is not a regular file")
    if info.st_mode & 0o077:
        # Like ssh with a private key: a token others can read is a token others have.
        raise BadInput(f"{where}: ci.token_file {path} is mode {stat.S_IMODE(info.st_mode):04o}; it must be "
                       f"readable by its owner only (chmod 600 {path})")
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{where}: ci.token_file {path}: cannot read: {exc}") from None
    if not token:
        raise BadInput(f"{where}: ci.token_file {path} is empty")
    return token


def _known(token: str) -> str:
    redact.register({REDACT_KEY: token})
    return token
