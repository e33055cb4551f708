"""The run directory, the one writer of artifacts: report.json (the --json shape), manifest.json, report.md,
junit.xml, report.html (htmlreport) and one folder per host under artifacts/<run-id>/; artifacts/latest points at
the newest run and artifacts/index.html lists the recent ones.

Every file passes the redactor on its way out, and a leak sweep fails the run if a known secret value is
found in any file anyway (docs/design.md, "Safety rules").
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import re
import secrets
import shlex
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from orchestrator import __version__, redact
from orchestrator.errors import LeakFound
from orchestrator.paths import ARTIFACTS, GIT_DIR
from orchestrator.run import htmlreport
from orchestrator.run.results import RunResult

REPORT_SCHEMA = 1
SCHEMA_FILE = Path(__file__).resolve().parent / "report.schema.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def artifacts_root() -> Path:
    return Path(os.environ.get("SHAKEDOWN_ARTIFACTS") or ARTIFACTS)


def to_json(result: RunResult, run_id: str, task: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The --json / report.json shape (docs/design.md); `extra` adds task-specific top-level fields."""
    return {
        "schema": REPORT_SCHEMA,
        "task": task,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "run_id": run_id,
        "started": _iso(result.started),
        "ended": _iso(result.ended),
        "hosts": {name: {"verdict": h.verdict, "unreachable": h.unreachable,
                         "checks": [c.public() for c in h.checks],
                         **({"remote_commands": h.remote_commands, "connect_seconds": round(h.connect_seconds or 0, 3)}
                            if h.remote_commands is not None else {})}
                  for name, h in result.hosts.items()},
        **(extra or {}),
    }


def run_dir_for(run_id: str) -> Path:
    """The run's directory, created now so a task can write into it while it runs (e.g. a test log)."""
    path = artifacts_root() / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_run_dir(result: RunResult, run_id: str, task: str, inventory: Path,
                  extra: dict[str, Any] | None = None, manifest_extra: dict[str, Any] | None = None) -> Path:
    root = artifacts_root()
    run_dir = run_dir_for(run_id)
    if (run_dir / "report.json").exists():
        raise FileExistsError(f"{run_dir} already holds a report")  # run ids are unique: never overwrite
    data = to_json(result, run_id, task, extra)
    _write(run_dir / "report.json", json.dumps(data, indent=2))
    manifest = {**_manifest(result, run_id, task, inventory), **(manifest_extra or {})}
    _write(run_dir / "manifest.json", json.dumps(manifest, indent=2))
    _write(run_dir / "report.md", _markdown(data, manifest))
    _write(run_dir / "junit.xml", _junit(result, task))
    for name, host in result.hosts.items():
        host_dir = run_dir / name
        host_dir.mkdir(exist_ok=True)
        _write(host_dir / "checks.json", json.dumps([c.public() for c in host.checks], indent=2))
    htmlreport.write(run_dir, data, manifest)  # last: it links to (and shows the logs of) every file above
    _point_latest(root, run_id)
    leaks = sweep(run_dir)
    if leaks:
        raise LeakFound(f"LEAK: known secret values found in the run directory {run_dir} (the run fails): "
                        + "; ".join(leaks))
    write_index()
    return run_dir


def write_index() -> Path:
    """artifacts/index.html, the recent runs linking to their reports (every run and `invoke report` rebuild it)."""
    root = artifacts_root()
    root.mkdir(parents=True, exist_ok=True)
    return htmlreport.write_index(root)


def _manifest(result: RunResult, run_id: str, task: str, inventory: Path) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "task": task,
        "orchestrator_version": __version__,
        "git_revision": _git_revision(),
        "python": platform.python_version(),
        "machine": platform.node(),
        "user": getpass.getuser(),
        "command_line": " ".join(shlex.quote(a) for a in sys.argv),
        "inventory": str(inventory),
        "hosts": list(result.hosts),
        "started": _iso(result.started),
        "ended": _iso(result.ended),
    }


RESULT_WORD = {"ok": "pass", "failed": "fail", "error": "blocked", "skipped": "skipped"}


def _markdown(data: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The regression-evidence shape: target, versions, commands, scenarios with ids, result, residual risk."""
    lines = [f"# shakedown {data['task']}: {data['verdict'].upper()}", "", "## Target", "",
             f"- hosts: {', '.join(data['hosts']) or 'none'} (inventory `{manifest.get('inventory')}`)",
             f"- run: `{data['run_id']}`, {data['started']} to {data['ended']}, exit code {data['exit_code']}", ""]
    lines += ["## Versions", "", f"- shakedown {manifest.get('orchestrator_version')} "
              f"(git {manifest.get('git_revision') or 'unknown'}), Python {manifest.get('python')}"]
    for key, value in (manifest.get("stack") or {}).items():
        lines.append(f"- {key}: {_md_cell(json.dumps(value) if isinstance(value, dict | list) else str(value))}")
    lines += ["", "## Commands", "", f"- `{_md_cell(manifest.get('command_line', ''))}`", "", "## Scenarios", ""]
    counts: dict[str, int] = {}
    risks: list[str] = []
    for h, (name, host) in enumerate(data["hosts"].items(), 1):
        lines += [f"### {name}: {host['verdict']}", "", "| id | scenario | result | detail |", "|---|---|---|---|"]
        if host.get("unreachable"):
            risks.append(f"{name} was unreachable: nothing on it was verified")
        for i, c in enumerate(host["checks"], 1):
            word = RESULT_WORD.get(c["status"], c["status"])
            counts[word] = counts.get(word, 0) + 1
            lines.append(f"| S{h}.{i} | {_md_cell(c['name'])} | {word} | {_md_cell(c['reason'])} |")
            if word in ("blocked", "skipped"):
                risks.append(f"S{h}.{i} {c['name']} on {name} was {word}: not verified ({c['reason'] or 'no reason'})")
        lines.append("")
    summary = ", ".join(f"{n} {w}" for w, n in sorted(counts.items())) or "no scenarios"
    lines += ["## Result", "", f"**{data['verdict'].upper()}** (exit {data['exit_code']}): {summary}", ""]
    lines += _likely_causes(data)
    e2e = data.get("e2e") or {}
    for name, host in data["hosts"].items() if e2e else ():
        first_bad = next((c["name"] for c in host["checks"] if c["status"] in ("failed", "error")), None)
        if first_bad and not any(c["name"] == "tests" for c in host["checks"]):
            risks.append(f"on {name} the cycle stopped at '{first_bad}': the health checks and the test command "
                         "after it did not run, so the branch is untested beyond that point")
    if e2e.get("kept"):
        risks.append("--keep: the host was left on the branch; it is not restored until `invoke restore`")
    if e2e.get("restore") and not e2e["restore"].get("ok"):
        risks.append("the restore was NOT verified: " + "; ".join(e2e["restore"].get("problems", [])))
    lines += ["## Residual risk", ""]
    lines += [f"- {_md_cell(r)}" for r in risks] or ["- none found by this run beyond what the scenarios cover"]
    return "\n".join(lines) + "\n"


def _likely_causes(data: dict[str, Any]) -> list[str]:
    """What failed and why it probably did: every failed check that carries a likely cause (a named test
    matched by the stack's cause table), like a runbook's "interpreting failures", applied."""
    rows = [(name, c) for name, host in data["hosts"].items() for c in host["checks"]
            if c["status"] == "failed" and (c.get("data") or {}).get("likely_cause")]
    if not rows:
        return []
    lines = ["## What failed and why it probably did", "", "| host | failed | likely cause | where to look |",
             "|---|---|---|---|"]
    lines += [f"| {_md_cell(name)} | {_md_cell(c['name'])} | {_md_cell(c['data']['likely_cause'])} | "
              f"{_md_cell(c['data'].get('look') or '')} |" for name, c in rows]
    return [*lines, ""]


def _junit(result: RunResult, task: str) -> str:
    suites = ET.Element("testsuites", name=f"shakedown {task}")
    for name, host in result.hosts.items():
        suite = ET.SubElement(suites, "testsuite", name=f"{task}.{name}", tests=str(len(host.checks)),
                              failures=str(sum(c.status == "failed" for c in host.checks)),
                              errors=str(sum(c.status == "error" for c in host.checks)),
                              skipped=str(sum(c.status == "skipped" for c in host.checks)))
        for c in host.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{task}.{name}", name=_xml_text(c.name),
                                 time=f"{c.duration:.3f}")
            if c.status in ("failed", "error", "skipped"):
                tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[c.status]
                ET.SubElement(case, tag, message=_xml_text(c.reason)).text = _xml_text(c.reason)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: colour codes and control characters from command output are dropped."""
    return _NOT_XML.sub("", _ANSI.sub("", text))


def _md_cell(text: str) -> str:
    return _xml_text(text).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _write(path: Path, text: str) -> None:
    text = redact.current().text(text)  # defence in depth: records were redacted when made
    path.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    """Write a file of the run directory (parents created), redacted like every other artifact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, text)


def write_bytes(path: Path, data: bytes) -> None:
    """Write a binary file of the run directory (a screenshot): it cannot be redacted, the leak sweep covers it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def append_text(path: Path, text: str) -> None:
    """Append streamed text that the caller's streaming redactor has already passed (a test log)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def sweep(run_dir: Path) -> list[str]:
    """Every file under run_dir that holds a known secret value ("file: KEY"), searched as raw bytes."""
    values = {value.encode(): key for value, key in redact.current().known.items()}
    hits = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        if path.name == "report.html":  # minus the package's own CSS and scripts, byte for byte (htmlreport)
            data = htmlreport.without_package(data)
        hits += [f"{path}: {key}" for value, key in values.items() if value in data]
    return hits


def _point_latest(root: Path, run_id: str) -> None:
    link = root / "latest"
    tmp = root / f".latest-{run_id}"
    tmp.symlink_to(run_id)
    os.replace(tmp, link)  # atomic: readers never see a missing `latest`


def _git_revision() -> str | None:
    """This checkout's commit, read from .git without running git (None outside a checkout)."""
    git = GIT_DIR
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = git / ref
            if path.exists():
                return path.read_text().strip()
            packed = (git / "packed-refs").read_text().splitlines()
            return next((ln.split()[0] for ln in packed if ln.endswith(" " + ref)), None)
        return head
    except OSError:
        return None


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else ""
