"""Error types, each carrying the CLI exit code it maps to (docs/design.md, "Command contract")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_PASS = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INFRA = 3


class ShakedownError(Exception):
    exit_code = EXIT_INFRA


class BadInput(ShakedownError):
    """The user's input is wrong (usage, inventory, playbook, host pattern): nothing was changed."""

    exit_code = EXIT_BAD_INPUT


class LeakFound(ShakedownError):
    """A known secret value was found in the run directory after a run: fail loudly, name the files."""

    exit_code = EXIT_FAILED


class InfraError(ShakedownError):
    """The tool could not reach a verdict: host unreachable, timeout, lock not obtained."""

    exit_code = EXIT_INFRA


class HostUnreachable(InfraError):
    pass


class CommandError(InfraError):
    """A command on a host exited non-zero where success was required.

    The message is built from the result, never from Invoke's UnexpectedExit (which claims hidden output
    "was printed"), and carries only the tail of stderr.
    """

    def __init__(self, host: str, command: str, exit_code: int | None, stderr: str, note: str = ""):
        self.host = host
        self.command = command
        self.returncode = exit_code
        self.stderr_tail = tail(stderr)
        what = note or f"exited {exit_code}"
        msg = f"{host}: command {shorten(command)!r} {what}"
        if self.stderr_tail:
            msg += f"; stderr: {self.stderr_tail}"
        super().__init__(msg)


class CommandTimeout(CommandError):
    def __init__(self, host: str, command: str, timeout: float, stderr: str = ""):
        self.timeout = timeout
        super().__init__(host, command, None, stderr, note=f"timed out after {timeout:g}s")


class Cancelled(KeyboardInterrupt):
    """A host command was ended because the run was cancelled (SIGINT/SIGTERM): unwinds like Ctrl-C, so
    every `except KeyboardInterrupt` cleanup path (e2e's restore, the one guard's exit 3) handles it."""


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def tail(text: str, lines: int = 5, chars: int = 600) -> str:
    kept = "\n".join(text.strip().splitlines()[-lines:])
    return kept[-chars:]


def shorten(command: str, limit: int = 160) -> str:
    one_line = " ".join(command.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
