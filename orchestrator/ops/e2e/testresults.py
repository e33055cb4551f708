"""The stack's own test results, itemised: TAP (on the test command's output) or JUnit XML (a file it writes).

Each test becomes a TestCase with its name, status, duration and failure message, so a RED e2e says which
tests failed; a run that reported fewer tests than the inventory's minimum is not a pass ("ran no tests").
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import yaml

_TAP_LINE = re.compile(r"^(not ok|ok)(?:\s+|$)(\d+)?\s*(?:-\s*)?(.*?)\s*(?:#\s*(SKIP|TODO)\b(.*))?$", re.I)


@dataclass(frozen=True)
class TestCase:
    name: str
    status: str  # ok | failed | skipped
    duration: float | None = None  # seconds, when the output says
    message: str = ""


def parse_tap(text: str) -> list[TestCase]:
    """TAP 12/13/14 test lines; a YAML diagnostic block (`  ---` ... `  ...`) after a line is its message
    (and `duration_ms:`); `# SKIP` is skipped, `# TODO` a failing test that is expected (counted as skipped)."""
    cases: list[TestCase] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _TAP_LINE.match(lines[i].strip())
        i += 1
        if not match:
            continue
        verdict, number, name, directive, why = match.groups()
        diagnostics, i = _diagnostics(lines, i)
        message, duration = _diagnosis(diagnostics)
        status = "ok" if verdict.lower() == "ok" else "failed"
        if directive:
            status, message = "skipped", f"{directive.upper()} {why.strip()}".strip()
        cases.append(TestCase(name.strip() or f"test {number or len(cases) + 1}", status, duration, message))
    return cases


def _diagnostics(lines: list[str], i: int) -> tuple[list[str], int]:
    if i < len(lines) and lines[i].strip() == "---":
        block = []
        i += 1
        while i < len(lines) and lines[i].strip() != "...":
            block.append(lines[i])
            i += 1
        return block, i + 1
    return [], i


def _diagnosis(block: list[str]) -> tuple[str, float | None]:
    """A TAP YAML diagnostic block: its `message` (plus any other keys, e.g. expected/got) and duration_ms."""
    if not block:
        return "", None
    try:
        data = yaml.safe_load(textwrap.dedent("\n".join(block)))
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        return "\n".join(b.strip() for b in block).strip(), None
    duration = data.pop("duration_ms", None)
    seconds = float(duration) / 1000 if isinstance(duration, int | float) else None
    message = str(data.pop("message", "") or "")
    extra = ", ".join(f"{k}: {v}" for k, v in data.items())
    return (f"{message} ({extra})" if message and extra else message or extra), seconds


def parse_junit(text: str) -> list[TestCase]:
    """JUnit XML (one <testsuite> or <testsuites>): every <testcase> with its failure/error/skipped child.
    Python's expat refuses entity expansion bombs; nothing here resolves external entities."""
    root = ET.fromstring(text)
    cases = []
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        klass = case.get("classname")
        label = f"{klass}.{name}" if klass and not name.startswith(klass) else name
        duration = _float(case.get("time"))
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            message = (bad.get("message") or "") + ("\n" + bad.text.strip() if bad.text and bad.text.strip() else "")
            cases.append(TestCase(label, "failed", duration, message.strip()))
        elif case.find("skipped") is not None:
            cases.append(TestCase(label, "skipped", duration, case.find("skipped").get("message", "")))  # type: ignore[union-attr]
        else:
            cases.append(TestCase(label, "ok", duration))
    return cases


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
