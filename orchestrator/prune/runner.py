"""`invoke prune`: a locked, time-bounded Docker prune on CI agents that never touches volumes.

Per host, in one SSH connection: find stuck prunes (and with --kill-stuck end exactly those pids), then
one host-side script takes the host's flock (waiting at most --lock-wait), prunes step by step, each step
under the host's `timeout`, and reports disk before and after. The lock is released when that script
ends, however it ends (the kernel drops a flock with its last file descriptor).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from orchestrator import inventory, redact, report
from orchestrator.engine import CheckRecord, HostReport, RunResult
from orchestrator.errors import BadInput, HostUnreachable, ShakedownError
from orchestrator.host import Host, check_spec
from orchestrator.prune import disk, dryrun, scripts, stuck
from orchestrator.shellcmd import call

Echo = Callable[[str], None]
LOCK_BUSY = 75  # the script's exit code when the lock stayed held
AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class Options:
    host: str = "agents"
    inventory: str | None = None
    dry_run: bool = False
    older_than: str = "72h"
    lock_wait: float = 60
    timeout: float = 600
    kill_stuck: bool = False
    stuck_after: float | None = None
    as_json: bool = False


def parse_age(text: str) -> int:
    """'72h' -> seconds; s, m, h, d units; bad input names the value."""
    match = re.fullmatch(r"(\d+)([smhd])", str(text).strip())
    if not match:
        raise BadInput(f"--older-than must be a number with a unit s, m, h or d (e.g. 72h), got {text!r}")
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def run_prune(opts: Options, out: Console, err: Console) -> int:
    from orchestrator.cli import fail

    run_id = report.new_run_id()
    echo = _echo(err)
    try:
        age = parse_age(opts.older_than)
        for flag, value in (("--lock-wait", opts.lock_wait), ("--timeout", opts.timeout)):
            if not value >= 0 or (flag == "--timeout" and value == 0):
                raise BadInput(f"{flag} must be a positive number of seconds, got {value!r}")
        inv = inventory.load(opts.inventory)
        targets = inv.select(opts.host)
        for spec in targets:
            check_spec(spec)
            if not spec.get("prune_lock_file"):
                raise BadInput(f"{spec.origins.get('ansible_host', inv.path)}: host {spec.name} has no "
                               "prune_lock_file: prune needs the lock every pipeline on that host shares")
        result = RunResult({s.name: HostReport(s.name) for s in targets}, time.time())
        tables: dict[str, Any] = {}
        for spec in targets:
            with Host(spec) as host:
                tables[spec.name] = _one_host(host, spec, opts, age, result.hosts[spec.name], echo)
        result.ended = time.time()
    except ShakedownError as exc:
        return fail(exc, run_id, opts.as_json, err)
    extra = {"prune": {name: t for name, t in tables.items()}, "dry_run": opts.dry_run}
    try:
        run_dir = report.write_run_dir(result, run_id, "prune", inv.path, extra)
    except ShakedownError as exc:
        return fail(exc, run_id, opts.as_json, err)
    console = err if opts.as_json else out
    for name, data in tables.items():
        if data.get("disk"):
            console.print(disk.table(name, data["disk"]))
    report.print_human(result, run_id, run_dir, console, title=f"shakedown prune --host {opts.host}"
                       + (" --dry-run" if opts.dry_run else ""))
    if opts.as_json:
        import json

        print(json.dumps(report.to_json(result, run_id, "prune", extra), indent=2))
    return result.exit_code


def _one_host(host: Host, spec: inventory.HostSpec, opts: Options, age: int, rep: HostReport,
              echo: Echo) -> dict[str, Any]:
    lock = str(spec.get("prune_lock_file"))
    threshold = opts.stuck_after if opts.stuck_after is not None else float(spec.get("prune_stuck_after"))
    try:
        found, _ = stuck.find(host, lock, threshold)
    except HostUnreachable as exc:
        rep.unreachable = str(exc)
        rep.checks.append(CheckRecord("reachable", "error", str(exc)))
        return {}
    rep.checks.append(_stuck_record(host, found, opts.kill_stuck and not opts.dry_run, echo))
    if opts.dry_run:
        plan = dryrun.plan(host, age, min(opts.timeout, 60), str(spec.get("prune_keep_label") or ""))
        rep.checks += plan.records()
        return {"would_remove": plan.public()}
    return _prune(host, lock, str(spec.get("prune_keep_label") or ""), opts, age, rep, echo)


def _stuck_record(host: Host, found: list[stuck.Proc], kill: bool, echo: Echo) -> CheckRecord:
    if not found:
        return CheckRecord("stuck prunes", "ok", "none")
    for proc in found:
        echo(f"{host.name}: stuck: {proc.describe()}")
    data = {"processes": [vars(p) for p in found]}
    if not kill:
        return CheckRecord("stuck prunes", "failed", "; ".join(p.describe() for p in found)
                           + " (end them with --kill-stuck)", data=data)
    ended = stuck.end(host, found)
    for pid, word in ended.items():
        echo(f"{host.name}: pid {pid}: {word.lower()}")
    data["ended"] = ended
    done = ", ".join(f"pid {pid} {word.lower()}" for pid, word in ended.items())
    status = "ok" if all(w in ("ENDED", "KILLED", "GONE") for w in ended.values()) else "failed"
    return CheckRecord("stuck prunes", status, f"ended by --kill-stuck: {done}", data=data)


def _prune(host: Host, lock: str, keep: str, opts: Options, age: int, rep: HostReport,
           echo: Echo) -> dict[str, Any]:
    steps = list(scripts.STEP_COMMANDS)
    limit = max(1, math.ceil(opts.timeout))
    budget = opts.lock_wait + limit * len(steps) + 2 * min(limit, 30) + 30
    echo(f"{host.name}: taking {lock} (waiting at most {opts.lock_wait:g}s), then pruning; no step touches volumes")
    res = host.run(call(scripts.PRUNE, lock, str(math.ceil(opts.lock_wait)), str(limit), f"{age}s", keep, *steps),
                   timeout=budget, warn=True)
    lines = res.stdout.splitlines()
    if res.exit_code == LOCK_BUSY or "LOCK_BUSY" in lines:
        holders = [stuck.Proc("lock holder", int(p), int(a or 0), s, c) for p, a, s, c in
                   (ln.split(" ", 4)[1:] for ln in lines if ln.startswith("HOLDER ") and len(ln.split(" ", 4)) == 5)]
        who = "; ".join(p.describe() for p in holders) or "a process this user cannot see"
        rep.checks.append(CheckRecord("lock", "error", f"{lock} still held after {opts.lock_wait:g}s by {who}; "
                                      "nothing pruned", data={"holders": [vars(p) for p in holders]}))
        return {}
    if "LOCKED" not in lines:
        rep.checks.append(CheckRecord("lock", "error", f"could not take {lock}: {(res.stdout + res.stderr)[-300:]}"))
        return {}
    rep.checks.append(CheckRecord("lock", "ok", f"{lock} taken and released"))
    ran = _step_records(lines, steps, limit)
    rep.checks += ran
    figures = disk.parse(lines)
    rep.checks.append(disk.record(figures, sum(int(r.data.get("bytes", 0)) for r in ran)))
    return {"disk": figures, "steps": [r.public() for r in ran]}


def _step_records(lines: list[str], steps: list[str], limit: int) -> list[CheckRecord]:
    done: dict[str, CheckRecord] = {}
    timed_out = next((ln.split("|", 1)[1] for ln in lines if ln.startswith("TIMEOUT|")), None)
    for line in lines:
        if not line.startswith("STEP|"):
            continue
        _, step, rc, ms, freed, last = [*line.split("|", 5), ""][:6]
        seconds = int(ms) / 1000
        data = {"bytes": disk.to_bytes(freed), "seconds": seconds, "exit_code": int(rc)}
        if step == timed_out:
            done[step] = CheckRecord(step, "error", f"timed out after {limit}s: killed on the host, lock released",
                                     seconds, data=data)
        elif rc != "0":
            done[step] = CheckRecord(step, "error", f"exit {rc}: {last}", seconds, data=data)
        else:
            done[step] = CheckRecord(step, "ok", f"reclaimed {freed} in {seconds:.1f}s", seconds, data=data)
    why = f"not run: step {timed_out!r} timed out" if timed_out else "not run"
    return [done.get(s) or CheckRecord(s, "skipped", why) for s in steps]


def _echo(err: Console) -> Echo:
    return lambda line: err.print(redact.current().text(line), markup=False, highlight=False, soft_wrap=True)
