"""A flow's credentials: from the inventory's `flow_secrets_file` (KEY=value lines, mode 0600) and the
environment variables named by `flow_secret_env`, never from the command line. Every value is registered with
the redactor the moment it is read, so no console line, report or exception can show it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.errors import BadInput
from orchestrator.ops import secretfiles


def load(file: Any, env_names: Any, needed: list[str], where: str) -> dict[str, str]:
    """The secrets a flow declares it needs; the file first, the environment over it; missing ones are bad input."""
    values: dict[str, str] = {}
    if file:
        values.update(read_file(Path(str(file)).expanduser(), where))
    for name in _env_names(env_names, where):
        if os.environ.get(name):
            values[name] = os.environ[name]
    redact.register({f"flow secret {k}": v for k, v in values.items()})
    missing = [name for name in needed if not values.get(name)]
    if missing:
        raise BadInput(f"{where}: the flow needs the secret(s) {', '.join(missing)}: put them in the file named by "
                       "flow_secrets_file (KEY=value, mode 0600) or in environment variables listed in "
                       "flow_secret_env — never on the command line")
    return {name: values[name] for name in needed}


def read_file(path: Path, where: str) -> dict[str, str]:
    """KEY=value lines, read as the stack's secret files are (blank lines, comments, `export `, quotes)."""
    return secretfiles.parse(secretfiles.read_private(path, "flow_secrets_file", where))


def _env_names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadInput(f"{where}: flow_secret_env must be a list of environment variable names, got {value!r}")
    return names
