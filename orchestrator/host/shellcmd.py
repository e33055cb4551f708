"""Our host-side scripts and the command lines that run them: every value a quoted argument, never syntax.

Each script is a POSIX sh file shipped in the package beside the code that parses its output (README, "Host
scripts"), so shellcheck can read it. A host gets the script's text with `sh -c`: nothing is installed there.
"""

from __future__ import annotations

import re
import shlex
from importlib import resources

SHEBANG = "#!/bin/sh\n"
KILL_GRACE = 5  # seconds between SIGTERM and SIGKILL when a command overruns (`timeout -k`)
# The file's opening comment says what the script takes and prints, for its reader: the host needs none of it.
_HEADER = re.compile(r"\A#!/bin/sh\n(?:#[^\n]*\n)*")


def load(package: str, name: str) -> str:
    """The text of host script NAME.sh shipped in `package`, as we send it (its header left out)."""
    text = resources.files(package).joinpath(f"{name}.sh").read_text(encoding="utf-8")
    if not text.startswith(SHEBANG):
        raise ValueError(f"{package}/{name}.sh: a host script starts with {SHEBANG!r} (POSIX sh, no bashisms)")
    return _HEADER.sub("", text, count=1)


def call(script: str, *args: str) -> str:
    """`sh -c SCRIPT name ARGS...` with every argument quoted: values never become shell syntax."""
    return " ".join(["sh", "-c", shlex.quote(script), "shakedown", *(shlex.quote(str(a)) for a in args)])


def seconds(value: float) -> str:
    """A duration as the host's `timeout` gets it: millisecond precision, no float noise, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")
