"""Building the command lines our host-side scripts run as: every value a quoted argument, never syntax."""

from __future__ import annotations

import shlex


def call(script: str, *args: str) -> str:
    """`sh -c SCRIPT name ARGS...` with every argument quoted: values never become shell syntax."""
    return " ".join(["sh", "-c", shlex.quote(script), "shakedown", *(shlex.quote(str(a)) for a in args)])
