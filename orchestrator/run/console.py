"""The console of every task: tables, the verdict line, errors, and the redacted echo of progress.

Everything shown passes the redactor and is escaped, so host output can never be read as Rich markup.
With --json the machine-readable result owns stdout and everything for people goes to stderr.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator import redact
from orchestrator.errors import EXIT_BAD_INPUT, ShakedownError
from orchestrator.run.results import RunResult

Echo = Callable[[str], None]
STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow", "error": "bold magenta",
         "pass": "bold green", "fail": "bold red"}


def make(stderr: bool) -> Console:
    # Rich wraps at 80 columns when not on a terminal; CI logs and pipes deserve the full reason lines.
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)


class Consoles:
    """stdout for the result (the table, or JSON with --json), stderr for progress and errors."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.err = make(stderr=True)
        self.out = self.err if as_json else make(stderr=False)
        self._lock = threading.Lock()

    def echo(self, line: str) -> None:
        """One progress line on stderr, redacted; safe from the fan-out's threads."""
        with self._lock:
            self.err.print(redact.current().text(line), markup=False, highlight=False, soft_wrap=True)

    def json(self, data: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(data, indent=2))
            sys.stdout.flush()

    def error(self, exc: ShakedownError, run_id: str) -> int:
        """A run-level error: stderr, and the --json shape on stdout; returns its exit code."""
        code = exc.exit_code
        kind = "bad input" if code == EXIT_BAD_INPUT else "error"
        text = escape(redact.current().text(str(exc)))
        self.err.print(f"[bold red]{kind}:[/] {text}", highlight=False, markup=True, soft_wrap=True)
        if self.as_json:
            print(json.dumps({"verdict": "error", "exit_code": code, "run_id": run_id,
                              "error": redact.current().text(str(exc)), "hosts": {}}))
        return code


def shown(text: str) -> str:
    """Console text from a record: redacted and escaped."""
    return escape(redact.current().text(text))


def table(result: RunResult, title: str) -> Table:
    t = Table(title=title, title_justify="left", expand=False)
    for col in ("host", "check", "status", "detail"):
        t.add_column(col, overflow="fold")
    for name, host in result.hosts.items():
        for i, c in enumerate(host.checks):
            t.add_row(name if i == 0 else "", shown(c.name), f"[{STYLE[c.status]}]{c.status}[/]", shown(c.reason))
        t.add_section()
    return t


def print_human(result: RunResult, run_id: str, run_dir: Path | None, console: Console, title: str) -> None:
    console.print(table(result, title))
    print_verdict(result, run_id, run_dir, console)


def print_verdict(result: RunResult, run_id: str, run_dir: Path | None, console: Console, most: int = 0) -> None:
    """Each host's verdict with its problems (the first `most` of them when `most`), then the run's verdict."""
    for name, host in result.hosts.items():
        bad = host.problems()
        line = f"[{STYLE[host.verdict]}]{name}: {host.verdict.upper()}[/]"
        if bad:
            listed = bad[:most] if most else bad
            line += f" — {len(bad)} problem(s): " + "; ".join(f"{shown(c.name)}: {shown(c.reason)}" for c in listed)
            line += f"; … {len(bad) - len(listed)} more in the report" if len(listed) < len(bad) else ""
        console.print(line, highlight=False)
    elapsed = result.ended - result.started
    where = f", report {run_dir}" if run_dir else ""
    console.print(f"[{STYLE[result.verdict]}]verdict: {result.verdict.upper()}[/] (exit {result.exit_code}) "
                  f"in {elapsed:.2f}s, run {run_id}{where}", highlight=False)
