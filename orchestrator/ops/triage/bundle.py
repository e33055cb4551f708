"""The incident bundle of one host: what triage, e2e's rescue and a failed check gather (read-only).

The host's secret values are read into memory first (so every file and line is redacted with them), then
one round trip gathers containers, health, logs, disk, versions, config files and HTTP answers; stuck
prunes and the e2e lease are added. `write` puts the bundle into the run directory through the redacting
writer.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

from orchestrator.config.inventory import HostSpec
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.ops import secretfiles
from orchestrator.ops.e2e import lease
from orchestrator.ops.prune import stuck
from orchestrator.ops.triage import gather
from orchestrator.run.rundir import write_text


def collect(host: Host, lines: int = 200) -> gather.Gathered:
    """Everything the bundle and the symptom rules need, from the host, in memory."""
    secretfiles.load(host, secretfiles.paths(host.spec))
    found = _gather(host, host.spec, lines)
    found.facts["stuck_prunes"] = _stuck(host, host.spec)
    found.facts["lease_problem"] = lease_problem(host, host.spec)
    return found


def _gather(host: Host, spec: HostSpec, lines: int) -> gather.Gathered:
    return gather.gather(host, **_gather_args(spec, lines), expected=list(spec.get("expected_services")))


def _gather_args(spec: HostSpec, lines: int) -> dict[str, Any]:
    stack = spec.get("stack_dir") or ""
    files = [f if f.startswith("/") or not stack else posixpath.join(stack, f)
             for f in (spec.get("config_files") if stack else [])]
    urls = [p["url"] for p in spec.get("http_probes") if p.get("via") == "host" or p.get("match_version")]
    paths = list(dict.fromkeys([*spec.get("disk_paths")]))
    return {"project": spec.get("compose_project") or "", "lines": lines, "stack_dir": stack, "paths": paths,
            "files": files, "urls": urls}


def reads(host: Host, lines: int) -> list[Read]:
    """Every command collect() sends, exactly as it sends it: the engine answers them from one batch."""
    spec = host.spec
    found = [Read(gather.command(**_gather_args(spec, lines)), gather.TIMEOUT)]
    files = secretfiles.paths(spec)
    if files:
        found.append(Read(secretfiles.read_command(files), 30))
    if spec.get("prune_lock_file"):
        found.append(Read(stuck.command(spec.get("prune_lock_file"), float(spec.get("prune_stuck_after"))), 30))
    if spec.get("state_dir"):
        found.append(Read(lease.status_command(spec.get("state_dir")), host.default_timeout))
    return found


def _stuck(host: Host, spec: HostSpec) -> list[str]:
    lock = spec.get("prune_lock_file")
    if not lock:
        return []
    found, _ = stuck.find(host, lock, float(spec.get("prune_stuck_after")), timeout=30)
    return [p.describe() for p in found]


def lease_problem(host: Host, spec: HostSpec) -> str:
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


def write(bundle: Path, found: gather.Gathered) -> int:
    """Write the bundle into `bundle` (every file redacted); returns how many files it holds."""
    write_text(bundle / "facts.json", json.dumps(found.facts, indent=2, default=str))
    sections = found.sections
    if "inspect" in sections:
        write_text(bundle / "inspect.json", gather.inspect_without_env(sections["inspect"]))
    disk = [sections.get("df", ""), sections.get("docker-df", "")]
    disk += [f"top of {name[4:]}:\n{body}" for name, body in sections.items() if name.startswith("top ")]
    write_text(bundle / "disk.txt", "\n".join(disk))
    write_text(bundle / "versions.txt", "\n".join(f"{k}: {v}" for k, v in found.facts["versions"].items()))
    for name, body in sections.items():
        kind, _, what = name.partition(" ")
        target = {"log": f"logs/{what}.log", "file": f"config/{_safe(what)}", "http": f"http/{_safe(what)}.txt"}
        if kind in target:
            write_text(bundle / target[kind], body)
    return sum(1 for p in bundle.rglob("*") if p.is_file())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("_")[:120] or "item"
