"""A host's declared secret files (`secret_files`: KEY=value lines), read into memory for the redactor.

The values are registered with orchestrator.redact and never written anywhere: every report, log and
console line is redacted with them, and the leak sweep checks the run directory for them.
"""

from __future__ import annotations

import posixpath
import re
import stat
from pathlib import Path

from orchestrator import redact
from orchestrator.config.inventory import HostSpec
from orchestrator.errors import BadInput
from orchestrator.host import Host, shellcmd

_READ = shellcmd.load("orchestrator.ops", "secretfiles")  # one round trip for all of a host's secret files


def paths(spec: HostSpec) -> list[str]:
    """The host's secret files as absolute paths (default: the stack's .env, when there is a stack)."""
    stack = spec.get("stack_dir") or ""
    files = spec.get("secret_files") if stack or "secret_files" in spec.vars else []
    return [f if f.startswith("/") or not stack else posixpath.join(stack, f) for f in files]


def read_private(path: Path, what: str, where: str) -> str:
    """A local file of credentials (a CI token, a flow's secrets), refused unless only its owner can read it,
    like ssh refuses a private key others can read: a secret others can read is a secret others have."""
    try:
        info = path.stat()
    except OSError as exc:
        raise BadInput(f"{where}: {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"{where}: {what} {path} is not a regular file")
    if info.st_mode & 0o077:
        raise BadInput(f"{where}: {what} {path} is mode {stat.S_IMODE(info.st_mode):04o}; it must be readable by "
                       f"its owner only (chmod 600 {path})")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{where}: {what} {path}: cannot read: {exc}") from None


def read_command(files: list[str]) -> str:
    """secretfiles.sh's command line (read-only; triage batches it with its other reads)."""
    return shellcmd.call(_READ, *files)


# Keys a run declared to be configuration, not secrets (a matrix axis's key: its values are the run's own
# choices, shown in every report). Refused for keys that sound secret (see declare_public).
_PUBLIC: set[str] = set()


def declare_public(keys: set[str]) -> None:
    """These keys' values are not secrets for the rest of this process (the caller refused secret-sounding ones)."""
    _PUBLIC.update(k for k in keys if not redact.looks_secret(k))


def is_public(key: str) -> bool:
    return key in _PUBLIC


def load(host: Host, files: list[str]) -> dict[str, str]:
    """KEY -> value from every readable file (one round trip); unreadable files are skipped, not fatal."""
    if not files:
        return {}
    out = host.run(read_command(files), timeout=30, warn=True).stdout
    public = _PUBLIC | set(host.spec.get("not_secret_keys") or [])
    found = {k: v for k, v in parse(out).items() if worth_hiding(k, v) and k not in public}
    redact.register(found)
    return found


_PLAIN = re.compile(r"(?i)\d+(\.\d+)*|true|false|yes|no|on|off|/[\w./-]*|https?://[\w.:/-]*")
# A path segment that is a token, not a word: long, of token characters, and mixing at least two of lower
# case, upper case and digits (a webhook's secret, a bot token, a ping UUID; not `getting-started`).
_TOKEN_SEGMENT = re.compile(r"[\w:-]{16,}")
_CHAR_CLASSES = (re.compile("[a-z]"), re.compile("[A-Z]"), re.compile("[0-9]"))


def worth_hiding(key: str, value: str) -> bool:
    """A value from a secret file is treated as a secret unless it is plainly not one (a number, a
    boolean, a path, a URL without credentials) under a key that does not sound secret: redacting every
    port number and data path would make the evidence useless without protecting anything. A URL whose
    path carries a token (a Slack or Discord webhook, a bot or ping URL) is not plainly not secret: whoever
    has the URL has the credential."""
    return redact.looks_secret(key) or not _PLAIN.fullmatch(value) or _carries_token(value)


def _carries_token(url: str) -> bool:
    path = url.partition("://")[2].partition("/")[2]
    return any(_is_token(part) for part in path.split("/"))


def _is_token(part: str) -> bool:
    return bool(_TOKEN_SEGMENT.fullmatch(part)) and sum(bool(c.search(part)) for c in _CHAR_CLASSES) >= 2


def parse(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key.strip().replace("_", "").isalnum() and value:
            found[key.strip()] = value
    return found
