"""`invoke triage`: read-only incident bundle per host, and what looks wrong with its likely cause.

Per host: the host's secret values are read into memory (so every file and line is redacted with them),
one round trip gathers containers, health, logs, disk, versions, config files and HTTP answers, then the
rules of playbooks/triage.yml turn those facts into findings. The bundle goes to artifacts/<run>/<host>/.
"""

from __future__ import annotations

import json
import posixpath
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchestrator import inventory, redact, report, secretfiles
from orchestrator.e2e import lease
from orchestrator.engine import CheckRecord, HostReport, RunResult
from orchestrator.errors import BadInput, HostUnreachable, ShakedownError
from orchestrator.host import Host, check_spec
from orchestrator.prune import stuck
from orchestrator.triage import gather, rules


def run_triage(host: str, inventory_path: str | None, lines: int, as_json: bool, out: Console,
               err: Console) -> int:
    from orchestrator.cli import fail

    run_id = report.new_run_id()
    try:
        if lines < 1:
            raise BadInput(f"--lines must be at least 1, got {lines}")
        table_rules = rules.load()
        inv = inventory.load(inventory_path)
        targets = inv.select(host)
        for spec in targets:
            check_spec(spec)
        result = RunResult({s.name: HostReport(s.name) for s in targets}, time.time())
        run_dir = report.run_dir_for(run_id)
        for spec in targets:
            with Host(spec) as h:
                _one(h, spec, lines, table_rules, result.hosts[spec.name], run_dir / spec.name)
        result.ended = time.time()
        run_dir = report.write_run_dir(result, run_id, "triage", inv.path)
    except ShakedownError as exc:
        return fail(exc, run_id, as_json, err)
    console = err if as_json else out
    console.print(_findings_table(result))
    report.print_human(result, run_id, run_dir, console, title=f"shakedown triage --host {host}")
    if as_json:
        print(json.dumps(report.to_json(result, run_id, "triage"), indent=2))
    return result.exit_code


def _one(host: Host, spec: inventory.HostSpec, lines: int, table_rules: list[rules.Rule], rep: HostReport,
         bundle: Path) -> None:
    started = time.monotonic()
    try:
        secretfiles.load(host, secretfiles.paths(spec))
        found = _gather(host, spec, lines)
        found.facts["stuck_prunes"] = _stuck(host, spec)
        found.facts["lease_problem"] = _lease_problem(host, spec)
    except HostUnreachable as exc:
        rep.unreachable = str(exc)
        rep.checks.append(CheckRecord("reachable", "error", str(exc)))
        return
    _write_bundle(bundle, found)
    findings = rules.evaluate(table_rules, {**spec.vars, **found.facts})
    elapsed = time.monotonic() - started
    for f in findings:
        rep.checks.append(CheckRecord(f.symptom, "failed", str(redact.scrub(f.cause)), elapsed,
                                      data={"evidence": f.evidence}))
    if not findings:
        rep.checks.append(CheckRecord("symptoms", "ok", f"none of the {len(table_rules)} known symptoms", elapsed))


def collect(host: Host, bundle: Path, lines: int = 200) -> int:
    """Write the host's incident bundle (redacted) into `bundle`; returns how many files were written.

    Used by triage, by e2e's rescue (while the failing branch is still deployed) and by a failed check.
    """
    secretfiles.load(host, secretfiles.paths(host.spec))
    found = _gather(host, host.spec, lines)
    _write_bundle(bundle, found)
    return sum(1 for p in bundle.rglob("*") if p.is_file())


def _gather(host: Host, spec: inventory.HostSpec, lines: int) -> gather.Gathered:
    stack = spec.get("stack_dir") or ""
    files = [f if f.startswith("/") or not stack else posixpath.join(stack, f)
             for f in (spec.get("config_files") if stack else [])]
    urls = [p["url"] for p in spec.get("http_probes") if p.get("via") == "host" or p.get("match_version")]
    paths = list(dict.fromkeys([*spec.get("disk_paths")]))
    return gather.gather(host, project=spec.get("compose_project") or "", lines=lines, stack_dir=stack,
                         paths=paths, files=files, urls=urls, expected=list(spec.get("expected_services")))


def _stuck(host: Host, spec: inventory.HostSpec) -> list[str]:
    lock = spec.get("prune_lock_file")
    if not lock:
        return []
    found, _ = stuck.find(host, lock, float(spec.get("prune_stuck_after")), timeout=30)
    return [p.describe() for p in found]


def _lease_problem(host: Host, spec: inventory.HostSpec) -> str:
    state = spec.get("state_dir")
    if not state:
        return ""
    held, now, first = lease.status(host, state)
    if first is not None and not (lease.live(held, now) and held.run_id == first.get("run_id")):
        return (f"an e2e run ({first.get('run_id')}) left an unfinished journal: the host may still run "
                f"a branch; run `invoke restore --host {host.name}`")
    if held and held.expires <= now:
        return f"stale e2e lease: {held.describe(now)}"
    return ""


def _write_bundle(bundle: Path, found: gather.Gathered) -> None:
    """The incident bundle; every file goes through report's redacting writer."""
    write = report.write_text
    write(bundle / "facts.json", json.dumps(found.facts, indent=2, default=str))
    sections = found.sections
    if "inspect" in sections:
        write(bundle / "inspect.json", gather.inspect_without_env(sections["inspect"]))
    disk = [sections.get("df", ""), sections.get("docker-df", "")]
    disk += [f"top of {name[4:]}:\n{body}" for name, body in sections.items() if name.startswith("top ")]
    write(bundle / "disk.txt", "\n".join(disk))
    write(bundle / "versions.txt", "\n".join(f"{k}: {v}" for k, v in found.facts["versions"].items()))
    for name, body in sections.items():
        kind, _, what = name.partition(" ")
        target = {"log": f"logs/{what}.log", "file": f"config/{_safe(what)}", "http": f"http/{_safe(what)}.txt"}
        if kind in target:
            write(bundle / target[kind], body)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("_")[:120] or "item"


def _findings_table(result: RunResult) -> Table:
    t = Table(title="triage: what looks wrong", title_justify="left")
    for col in ("host", "symptom", "likely cause", "evidence"):
        t.add_column(col, overflow="fold")
    for name, host in result.hosts.items():
        for c in host.checks:
            if c.status != "ok":
                t.add_row(name, c.name, c.reason, str(c.data.get("evidence") or ""))
    return t
