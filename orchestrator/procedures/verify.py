"""invoke verify: post-deploy verification as a playbook (playbooks/verify.yml) on the run layer, plus what only
code can do around it: refuse bad input before anything runs, print the stop-release lines first, and append
the regression-evidence entry (default artifacts/evidence.md; a copy goes into the run directory, where the
leak sweep covers it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from orchestrator import redact
from orchestrator.config import inventory
from orchestrator.errors import BadInput
from orchestrator.ops.ci import token as ci_token
from orchestrator.ops.verify import rules
from orchestrator.ops.verify.evidence import RESULT_WORDS, Entry
from orchestrator.paths import ROOT
from orchestrator.procedures.playbook import Job, run_playbook
from orchestrator.run import rundir
from orchestrator.run.console import shown
from orchestrator.run.results import HostReport, RunResult, exit_code
from orchestrator.run.task import Run


@dataclass
class VerifyOptions:
    host: str
    inventory: str | None
    forks: int
    wait: float | None
    no_ci: bool
    evidence: str | None
    summary: str | None
    command: str


def verify(run: Run, opts: VerifyOptions) -> int:
    rules.load()  # a broken rules file is bad input before anything runs
    entries: list[HostEntry] = []
    specs: dict[str, inventory.HostSpec] = {}

    def precheck(inv: inventory.Inventory, targets: list[inventory.HostSpec]) -> None:
        for spec in targets:
            _precheck(spec, inv, opts.no_ci)
            specs[spec.name] = spec

    def extra(result: RunResult) -> dict[str, Any]:
        report = _shown_path(run.dir() / "report.md")
        entries.extend(_entry(specs[name], host, opts, report) for name, host in result.hosts.items())
        # The run directory's copy is written before the run layer's leak sweep, which then covers it.
        rundir.write_text(run.dir() / "evidence.md", _markdown(entries))
        return {"verify": {e.host: e.public() for e in entries},
                "evidence_file": str(_evidence_file(opts.evidence))}

    job = Job("verify", opts.host, opts.inventory, opts.forks, title=f"shakedown verify --host {opts.host}",
              extra_vars={"no_ci": opts.no_ci, "ci_wait": opts.wait}, progress=True)
    code = run_playbook(run, job, precheck=precheck, extra=extra, before=_stop_lines)
    if entries:
        path = _evidence_file(opts.evidence)
        rundir.append_text(path, _markdown(entries))
        run.echo(f"evidence: appended {len(entries)} entry(ies) to {path}")
    return code


def _precheck(spec: inventory.HostSpec, inv: inventory.Inventory, no_ci: bool) -> None:
    where = spec.origins.get("ci", str(inv.path))
    if not no_ci:
        if "ci" not in spec.vars:
            raise BadInput(f"{inv.path}: host {spec.name} declares no `ci` (the Woodpecker server and repos that "
                           "build its stack): declare it, or pass --no-ci to verify the live state only")
        ci_token.load(spec.vars["ci"], where)  # the token's file or variable, checked before anything runs
    probes = {p.get("name") or p.get("url") for p in spec.get("http_probes")}
    for pair in spec.get("version_pairs"):
        unknown = [name for name in pair if name not in probes]
        if unknown:
            raise BadInput(f"{spec.origins.get('version_pairs', inv.path)}: version_pairs names "
                           f"{', '.join(map(repr, unknown))}, which is not one of {spec.name}'s http_probes "
                           f"({', '.join(sorted(map(str, probes))) or 'none'})")


@dataclass
class HostEntry:
    host: str
    entry: Entry
    versions: dict[str, str]
    ci: list[dict[str, Any]]

    def public(self) -> dict[str, Any]:
        return {"result": self.entry.result, "stop_release": self.entry.stops, "residual_risk": self.entry.residual,
                "versions": self.versions, "ci": self.ci}


def _entry(spec: inventory.HostSpec, host: HostReport, opts: VerifyOptions, report: str) -> HostEntry:
    checks = {c.name: c for c in host.checks}
    versions = _versions(spec, host)
    stack_version = versions.get("VERSION", "")
    ci = [c.data for c in host.checks if c.name.startswith("ci: ")]
    ci_words = [f"{d['repo']} #{d['number']} {d['status']}" if d.get("number") else f"{d['repo']}: no pipeline"
                for d in ci]
    deployed = checks.get("deployed checkout")
    commit = (deployed.data.get("commit") or "")[:12] if deployed else ""
    target = (f"{spec.name} ({spec.get('ansible_user') or '?'}@{spec.get('ansible_host') or spec.name}"
              f"{':' + str(spec.get('ansible_port')) if spec.get('ansible_port') else ''})")
    if spec.get("stack_dir"):
        target += f", stack {spec.get('compose_project') or ''} in {spec.get('stack_dir')}"
        target += f" at {commit}" if commit else ""
    summary = opts.summary or f"post-deploy verification of {spec.name}" + (f" at {stack_version}" if stack_version
                                                                             else "")
    stops = [f"{c.name}: {c.reason}" for c in host.checks if c.data.get("decisive") and c.status == "failed"]
    entry = Entry(date=time.strftime("%Y-%m-%d"), summary=summary, target=target,
                  versions=[f"{k} {v}" for k, v in versions.items()], ci=ci_words, command=opts.command,
                  result=RESULT_WORDS[exit_code(host.verdict)], stops=stops,
                  residual=_residual(spec, host, versions, opts.no_ci), run=report)
    return HostEntry(spec.name, entry, versions, ci)


def _versions(spec: inventory.HostSpec, host: HostReport) -> dict[str, str]:
    """service -> the version it serves (a probe named after the service), and the stack's VERSION."""
    found: dict[str, str] = {}
    for c in host.checks:
        served = c.data.get("served_version") if c.name.startswith("http: ") else None
        if served is None:
            continue
        probe = c.name.removeprefix("http: ")
        service = next((s for s in spec.get("expected_services") if probe.split()[0] == s), probe)
        found.setdefault(service, str(served))
    content = next((str(c.data.get("content", "")).strip() for c in host.checks if c.name == "stack VERSION"), "")
    if content:
        found["VERSION"] = content
    return found


def _residual(spec: inventory.HostSpec, host: HostReport, versions: dict[str, str], no_ci: bool) -> list[str]:
    """What this verification did not check: the honest part of the entry."""
    risk = ["CI not asked (--no-ci)"] if no_ci else []
    if host.unreachable:
        risk.append(f"host unreachable: {host.unreachable}")
    risk += [f"{c.name} skipped ({c.reason})" for c in host.checks
             if c.status == "skipped" and c.reason and not (no_ci and c.name == "ci")]
    risk += [f"{c.name} could not be checked ({c.reason})" for c in host.checks if c.status == "error"]
    for c in host.checks:
        risk += [f"CI step log not searched: {why}" for why in c.data.get("logs_unscanned", [])
                 if c.status != "error"]
    risk += [f"{s}: no probe serves its version" for s in spec.get("expected_services") if s not in versions]
    return risk


def _stop_lines(result: RunResult) -> list[RenderableType]:
    """The stop-release rules' hits first, before the table (each one names its rule)."""
    lines: list[RenderableType] = []
    for name, host in result.hosts.items():
        for c in host.checks:
            if c.data.get("decisive") and c.status == "failed":
                lines.append(Text.from_markup(f"[bold red]STOP RELEASE[/] {shown(name)}: {shown(c.name)}: "
                                              f"{shown(c.reason)}"))
    return lines


def _shown_path(path: Path) -> str:
    """The run's report as the team's log should name it: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _evidence_file(path: str | None) -> Path:
    return Path(path) if path else rundir.artifacts_root() / "evidence.md"


def _markdown(entries: list[HostEntry]) -> str:
    return redact.current().text("".join(e.entry.markdown() for e in entries))
