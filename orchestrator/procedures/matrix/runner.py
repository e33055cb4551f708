"""`invoke matrix`: borrow the host, run every selected scenario of the matrix on its deployed stack, and always
put the host back exactly as it was.

The guarantees are code, like e2e's (procedures/e2e/runner.py, whose lease, baseline and restorer this reuses):
the lease is taken and the baseline recorded before anything changes; the way back is journaled before the
first change (the stack redeployed from its own files, which the snapshot puts back first); each scenario's
change is journaled before it is made; the restore runs in `finally` and is verified against the baseline, and
after a kill -9 `invoke restore --host dev` finishes it from the journal. Each scenario is a playbook
(playbooks/matrix_scenario.yml): apply, wait for readiness, the battery; a failed scenario gets its evidence
folder and the matrix goes on.
"""

from __future__ import annotations

import dataclasses
import posixpath
import secrets
import shlex
import time
from typing import Any

from orchestrator import engine, redact
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import BadInput
from orchestrator.host import Host
from orchestrator.modules.e2e import Snapshot
from orchestrator.ops import secretfiles
from orchestrator.ops.e2e import config, lease, preflight
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.ops.e2e.cycle import LEASE_MARGIN, Restorer, record_baselines
from orchestrator.ops.e2e.journal import Journal, script
from orchestrator.ops.e2e.session import Session
from orchestrator.ops.matrix.model import Matrix, Scenario
from orchestrator.procedures import tables
from orchestrator.procedures.matrix import faults, lifecycle
from orchestrator.procedures.matrix.options import MatrixOptions
from orchestrator.procedures.matrix.state import Baseline, Done, MatrixRun, prefixed, scenario_vars
from orchestrator.procedures.targets import select
from orchestrator.run.results import CheckRecord, HostReport, RunResult, exit_code
from orchestrator.run.task import Run

SCENARIO_BOOK = "matrix_scenario"
BRANCH = "(matrix)"  # what the lease and journal say is deployed: the host's own stack, reconfigured


def run_matrix(run: Run, opts: MatrixOptions, matrix: Matrix, selected: list[Scenario]) -> int:
    spec, cfg, inv, book = _prepare(opts, matrix)
    target = Host(spec)
    session: Session | None = None
    try:
        ready = preflight.check(target, {}, cfg, None)
        # The axes' keys are the matrix's own configuration: shown in reports, not redacted as secrets.
        secretfiles.declare_public({axis.apply.key for axis in matrix.axes.values()})
        secretfiles.load(target, [cfg.abs_path(f) for f in cfg.secret_files])
        session = Session(cfg, run.run_id, BRANCH, "", ready.repo, ready.compose, {spec.name: target},
                          Journal(target, cfg.state_dir, run.run_id), salt=secrets.token_hex(16), echo=run.echo)
        done = _borrow(run, session, spec, inv, opts, matrix, selected, book, ready)
    finally:
        target.close()
        if session is not None:  # hosts a phase added (the faults' journaling host for the link's heal)
            for host in session.hosts.values():
                host.close()
    return _report(run, done, session, inv.path, matrix, opts)


def _prepare(opts: MatrixOptions, matrix: Matrix
             ) -> tuple[inventory.HostSpec, StackConfig, inventory.Inventory, playbook.Playbook]:
    """Input checks, before any connection: exit 2 naming the file:line or the value at fault."""
    inv, targets = select(opts.inventory, opts.host, exactly_one="matrix (it borrows the host)")
    spec = targets[0]
    # The matrix reconfigures the host's own stack: it borrows no peers (e2e_peers are for a branch under test).
    cfg = dataclasses.replace(config.load(spec, need_tests=False, known_hosts=set(inv.hosts)), peers=[])
    files = set(cfg.config_files) | {cfg.abs_path(f) for f in cfg.config_files}
    for axis in matrix.axes.values():
        if redact.looks_secret(axis.apply.key):
            raise BadInput(f"{axis.where}: axis {axis.name} sets {axis.apply.key}, which names a secret: a matrix "
                           "changes configuration, never secrets (they must stay exactly as they are)")
        if axis.apply.file not in files:
            raise BadInput(f"{axis.where}: axis {axis.name} applies to {axis.apply.file}, which is not one of "
                           f"{spec.name}'s config_files ({', '.join(cfg.config_files)}): the matrix could not put "
                           "it back")
    names = set(inv.hosts) | set(inv.groups)
    book = playbook.load(SCENARIO_BOOK)
    playbook.validate(book, [spec], extra_vars=_sample_vars(cfg), inventory_names=names)
    if opts.lifecycle:
        playbook.validate(playbook.load(lifecycle.BOOK), [spec], inventory_names=names,
                          extra_vars=lifecycle.sample_vars(cfg.stack_dir, cfg.ready_timeout))
    if opts.faults:
        for name in (faults.CHECK_BOOK, faults.READY_BOOK):
            playbook.validate(playbook.load(name), [spec], extra_vars={"ready_timeout": cfg.ready_timeout},
                              inventory_names=names)
    return spec, cfg, inv, book


def _sample_vars(cfg: StackConfig) -> dict[str, Any]:
    return {"scenario": "x", "settings": [], "services": [], "state": {"url": "http://127.0.0.1/", "fields": {}},
            "env": {}, "stack": cfg.stack_dir,
            "ready_timeout": cfg.ready_timeout}


def _borrow(run: Run, session: Session, spec: inventory.HostSpec, inv: inventory.Inventory, opts: MatrixOptions,
            matrix: Matrix, selected: list[Scenario], book: playbook.Playbook, ready: preflight.Ready) -> MatrixRun:
    cfg, target = session.cfg, session.target
    done = MatrixRun(session.run_id, spec.name)
    if ready.stale is not None:
        run.echo(f"{target.name}: breaking a stale lease: {ready.stale.describe(ready.now)}")
        lease.release(target, cfg.state_dir, ready.stale.run_id)
    ttl = len(selected) * (cfg.deploy_timeout + cfg.ready_timeout * 3) + cfg.deploy_timeout + LEASE_MARGIN
    ttl += (3 * cfg.deploy_timeout + 4 * cfg.ready_timeout if opts.lifecycle else 0) + \
        (faults.BUDGET * cfg.ready_timeout if opts.faults else 0)
    lease.take(target, cfg.state_dir, lease.new(session.run_id, BRANCH, ready.now, ttl))
    run.echo(f"{target.name}: leased for matrix run {session.run_id} ({len(selected)} scenario(s))")
    restorer = Restorer(session, cfg.ready_timeout, run.signals)
    try:
        session.journal.append("begin", owner=lease.owner(), branch=BRANCH, host=target.name, mode="matrix",
                               matrix=str(matrix.path), sha256=matrix.sha256)
        record_baselines(session)
        done.version = target.run(f"cat -- {shlex.quote(cfg.stack_dir + '/VERSION')} 2>/dev/null || true",
                                  timeout=30).stdout.strip()
        _journal_way_back(session)
        run_phases(run, session, spec, inv, matrix, selected, opts, session.cfg.stack_dir, done, book)
    except KeyboardInterrupt:
        done.interrupted = True
        run.echo(f"{target.name}: interrupted; restoring the host before exiting")
    finally:
        if opts.keep:
            done.kept = True
            run.echo(f"KEPT (--keep): {target.name} is left in its last scenario's configuration; its lease and "
                     f"journal stay. Put it back with: invoke restore --host {target.name}")
        else:
            done.restored, _ = restorer.final()
            done.checks.append(CheckRecord("restore", "ok" if done.restored.ok else "error",
                                           "; ".join(done.restored.verified if done.restored.ok
                                                     else done.restored.problems) or "nothing to restore"))
    done.interrupted = done.interrupted or run.signals.interrupted
    return done


def run_phases(run: Run, session: Session, spec: inventory.HostSpec, inv: inventory.Inventory, matrix: Matrix,
               selected: list[Scenario], opts: MatrixOptions, stack_dir: str, done: MatrixRun,
               book: playbook.Playbook | None = None) -> None:
    """The matrix on a borrowed host whose way back is journaled already (by `invoke matrix`, or by the e2e
    that deployed a branch into `stack_dir`): each scenario, then the lifecycle and fault phases asked for."""
    book = book or playbook.load(SCENARIO_BOOK)
    if stack_dir != session.cfg.stack_dir:  # a branch's checkout (e2e --mode matrix): the phases work there
        session = dataclasses.replace(session, cfg=dataclasses.replace(session.cfg, stack_dir=stack_dir))
    baselines = _baselines(session, matrix, stack_dir)
    for scenario in selected:
        if done.unreachable or run.signals.interrupted:
            break
        _scenario(run, session, spec, inv, matrix, scenario, baselines, book, done)
    if opts.lifecycle and not done.unreachable and not run.signals.interrupted:
        lifecycle.run_lifecycle(run, session, spec, matrix, baselines, done)
    if opts.faults and not done.unreachable and not run.signals.interrupted:
        faults.run_faults(run, session, spec, inv, done)


def _journal_way_back(session: Session) -> None:
    """Before the first change: how the stack goes back. Restore undoes newest first, so the snapshot (files
    back) comes after this entry (the stack redeployed from those files, its baseline images re-tagged)."""
    cfg = session.cfg
    containers = session.facts.get(cfg.host, {}).get("containers", {})
    images = sorted({(c["image"], c["image_name"]) for c in containers.values()})
    stopped = sorted({c["service"] for c in containers.values() if c["state"] != "running"})
    args = [x for pair in images for x in pair] + ["--stopped", *stopped] if containers else ["--down"]
    session.journal.mutation("matrix: the stack back to its baseline", cfg.host, undo=[
        script(cfg.host, "REDEPLOY_BASELINE", cfg.stack_dir, cfg.project, *args, timeout=cfg.deploy_timeout,
               title="redeploy the baseline from the stack's own (restored) files", env=session.compose_env())],
        cleanup=[])
    for step in Snapshot().steps(session, {}):
        session.apply(step)


def _baselines(session: Session, matrix: Matrix, stack_dir: str) -> dict[str, Baseline]:
    """Every axis's key line in one round trip (grep -H: `file:KEY=value`, the first line of each key counts).
    Only the axes' keys are read: never a whole file that may hold secrets."""
    paths = {name: posixpath.join(stack_dir, axis.apply.file) for name, axis in matrix.axes.items()}
    patterns = [x for axis in matrix.axes.values() for x in ("-e", f"^{axis.apply.key}=")]
    files = list(dict.fromkeys(paths.values()))
    out = session.target.run(" ".join(["grep", "-H", *map(shlex.quote, patterns), "--", *map(shlex.quote, files)])
                             + " || true", timeout=30).stdout
    lines: dict[tuple[str, str], str] = {}
    for line in out.splitlines():
        path = next((f for f in files if line.startswith(f + ":")), None)  # a path may hold a ":" itself
        if path is not None:
            key, _, raw = line[len(path) + 1:].partition("=")
            lines.setdefault((path, key), raw)
    found: dict[str, Baseline] = {}
    for name, axis in matrix.axes.items():
        raw = lines.get((paths[name], axis.apply.key))
        value = axis.value_of(raw)
        found[name] = Baseline(raw, value if value is not None else (raw or ""))
    return found


def _scenario(run: Run, session: Session, spec: inventory.HostSpec, inv: inventory.Inventory, matrix: Matrix,
              scenario: Scenario, baselines: dict[str, Baseline], book: playbook.Playbook, done: MatrixRun) -> None:
    values = {**{name: b.value for name, b in baselines.items()}, **scenario.values}
    started = time.monotonic()
    if scenario.skip:
        done.scenarios.append(Done(scenario.name, "skipped", f"skipped by design: {scenario.skip}", values))
        run.echo(f"{scenario.name}: SKIPPED by design ({scenario.skip})")
        return
    unmet = _unmet(session.target, inv, scenario)
    if unmet:
        done.scenarios.append(Done(scenario.name, "skipped", f"prerequisite missing: {unmet}", values))
        run.echo(f"{scenario.name}: SKIPPED ({unmet})")
        return
    run.echo(f"{scenario.name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    extra = scenario_vars(session.cfg, matrix, scenario, values, baselines)
    result = engine.run(book, [spec], extra_vars=extra, hosts=session.hosts,
                        listener=lambda host, record: run.progress(host, prefixed(scenario.name, record)),
                        resources={"session": session, "run_dir": run.dir(), "echo": run.echo})
    host = result.hosts[spec.name]
    done.checks += [prefixed(scenario.name, c) for c in host.checks]
    bad = host.problems()
    status = "passed" if host.verdict == "pass" else "failed"
    reason = "; ".join(f"{c.name}: {c.reason}" for c in bad) or f"{len(host.checks)} check(s) passed"
    done.scenarios.append(Done(scenario.name, status, reason, values, time.monotonic() - started))
    if host.unreachable:
        done.unreachable = host.unreachable


def _unmet(target: Host, inv: inventory.Inventory, scenario: Scenario) -> str:
    """Why the scenario cannot run here ("" when it can): a path, a command or a peer host it requires."""
    for need in scenario.requires:
        if need.kind == "host":
            if need.what not in inv.hosts:
                return f"requires host {need.what}, which is not in the inventory"
            continue
        test = f"test -e {shlex.quote(need.what)}" if need.kind == "path" else \
            f"command -v {shlex.quote(need.what)} >/dev/null"
        if not target.run(test, timeout=30, warn=True).ok:
            what = "path" if need.kind == "path" else "command"
            return f"requires {what} {need.what}, which {target.name} does not have"
    return ""


def _report(run: Run, done: MatrixRun, session: Session, inventory_path: Any, matrix: Matrix,
            opts: MatrixOptions) -> int:
    report = HostReport(done.host, done.checks, unreachable=done.unreachable)
    result = RunResult({done.host: report}, done.started, time.time())
    base = session.facts.get(session.cfg.host, {})
    shard = f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None
    extra = {"matrix": {"file": str(matrix.path), "sha256": matrix.sha256, "shard": shard,
                        "scenarios": [d.public() for d in done.scenarios]}}
    stack = {"host": done.host, "stack_dir": session.cfg.stack_dir, "version": done.version,
             "checkout": base.get("head"),
             "images": {c["service"]: c["image"] for c in base.get("containers", {}).values()},
             "matrix": str(matrix.path), "matrix_sha256": matrix.sha256}
    code = exit_code(done.verdict)
    return run.finish(result, inventory_path, title=f"shakedown matrix --host {done.host}", extra=extra,
                      manifest_extra={"stack": stack}, before=[tables.matrix_results(extra["matrix"])], code=code)
