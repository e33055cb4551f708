"""`invoke e2e`: borrow a host, run playbooks/e2e.yml on it, and always put it back.

The guarantee lives here, not in the playbook: once the lease is taken, the restore in `finally` runs on
success, failure, exceptions, SIGINT and SIGTERM (a signal during the restore is reported, not obeyed:
the run layer's protected section). If this process dies anyway, the journal on the host lets
`invoke restore` finish the job. Everything else (run id, consoles, run directory, exit codes) is the
run layer's.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import BadInput
from orchestrator.gitref import validate_branch
from orchestrator.host import Host, check_spec
from orchestrator.ops import secretfiles
from orchestrator.ops.e2e import config, lease, preflight
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.ops.e2e.cycle import LEASE_MARGIN, Restorer, record_baselines
from orchestrator.ops.e2e.journal import Journal
from orchestrator.ops.e2e.restore import Restored
from orchestrator.ops.e2e.session import Session
from orchestrator.ops.matrix import model
from orchestrator.ops.matrix.model import Matrix
from orchestrator.procedures.e2e import plan, summary
from orchestrator.procedures.targets import select
from orchestrator.run.results import CheckRecord, HostReport, RunResult, exit_code
from orchestrator.run.task import Run

WORDS = {"pass": "GREEN", "fail": "RED", "error": "ERROR"}


@dataclass
class E2EOptions:
    host: str
    branch: str
    inventory: str | None = None
    mode: str = "targeted"
    keep: bool = False
    dry_run: bool = False
    test_timeout: float = 600
    ready_timeout: float | None = None


@dataclass
class Cycle:
    """What one borrow-deploy-test-restore cycle came to: the console, --json and the run directory report it."""
    run_id: str
    result: RunResult | None = None
    restored: Restored | None = None
    interrupted: bool = False
    kept: bool = False
    commit: str = ""
    extra_checks: list[CheckRecord] = field(default_factory=list)
    matrix: dict[str, Any] | None = None  # --mode matrix: report.json's `matrix` block
    lease_seconds: float | None = None  # taking the lease and recording the baselines: report.html's first phase

    @property
    def verdict(self) -> str:
        if self.interrupted or (self.restored is not None and not self.restored.ok) or self.result is None:
            return "error"
        return self.result.verdict

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)

    @property
    def word(self) -> str:
        return WORDS[self.verdict]


def run_e2e(run: Run, opts: E2EOptions) -> int:
    spec, cfg, book, inv = _prepare(opts)
    # --mode matrix: the matrix file is bad input before anything runs, like every other input.
    matrix = model.load(None) if opts.mode == "matrix" else None
    if matrix is not None:  # its axes' keys are configuration the reports must show, not secrets
        secretfiles.declare_public({axis.apply.key for axis in matrix.axes.values()})
    hosts = {spec.name: Host(spec), **{p.host: Host(inv.hosts[p.host]) for p in cfg.peers}}
    try:
        ready = preflight.check(hosts[spec.name], hosts, cfg, opts.branch)
        # The values stay in memory: every console line, log and report is redacted with them.
        secretfiles.load(hosts[spec.name], [cfg.abs_path(f) for f in cfg.secret_files])
        session = Session(cfg, run.run_id, opts.branch, ready.commit, ready.repo, ready.compose, hosts,
                          Journal(hosts[spec.name], cfg.state_dir, run.run_id), salt=secrets.token_hex(16),
                          dry_run=opts.dry_run, echo=run.echo)
        if opts.dry_run:
            record_baselines(session)  # read-only: the plan shows the real image ids to restore
            variables = playbook.play_variables(spec, book.plays[0], _extra_vars(opts, cfg))
            plan.show(session, book, variables, run.consoles.out)
            return 0
        cycle = _cycle(run, session, book, spec, opts, ready, inv, matrix)
    finally:
        for host in hosts.values():
            host.close()
    return _report(run, cycle, session, inv.path, opts)


def _prepare(opts: E2EOptions) -> tuple[inventory.HostSpec, StackConfig, playbook.Playbook, inventory.Inventory]:
    """Input checks, all before any connection: exit 2 with the file:line or the value at fault."""
    validate_branch(opts.branch)
    if opts.mode not in config.MODES:
        raise BadInput(f"--mode must be one of {', '.join(config.MODES)}, got {opts.mode!r}")
    inv, targets = select(opts.inventory, opts.host, exactly_one="e2e (it borrows the host)")
    spec = targets[0]
    cfg = config.load(spec, need_tests=opts.mode == "targeted", known_hosts=set(inv.hosts))
    for peer in cfg.peers:
        check_spec(inv.hosts[peer.host])
    book = playbook.load("e2e")
    playbook.validate(book, [spec], extra_vars=_extra_vars(opts, cfg),
                      inventory_names=set(inv.hosts) | set(inv.groups))
    return spec, cfg, book, inv


def _extra_vars(opts: E2EOptions, cfg: StackConfig) -> dict[str, Any]:
    return {"branch": opts.branch, "mode": opts.mode, "test_timeout": opts.test_timeout,
            "ready_timeout": opts.ready_timeout or cfg.ready_timeout}


def _cycle(run: Run, session: Session, book: playbook.Playbook, spec: inventory.HostSpec, opts: E2EOptions,
           ready: preflight.Ready, inv: inventory.Inventory, matrix: Matrix | None = None) -> Cycle:
    cfg, target = session.cfg, session.target
    cycle = Cycle(session.run_id, commit=session.commit)
    ready_timeout = opts.ready_timeout or cfg.ready_timeout
    if ready.stale is not None:
        run.echo(f"{target.name}: breaking a stale lease: {ready.stale.describe(ready.now)}")
        lease.release(target, cfg.state_dir, ready.stale.run_id)
    ttl = cfg.deploy_timeout * 2 + ready_timeout * 3 + opts.test_timeout + LEASE_MARGIN
    leasing = time.monotonic()
    lease.take(target, cfg.state_dir, lease.new(session.run_id, opts.branch, ready.now, ttl))
    run.echo(f"{target.name}: leased for run {session.run_id} (branch {opts.branch} at {session.commit[:12]})")
    restorer = Restorer(session, ready_timeout, run.signals)
    try:
        session.journal.append("begin", owner=lease.owner(), branch=opts.branch, commit=session.commit,
                               host=target.name, mode=opts.mode)
        record_baselines(session)
        cycle.lease_seconds = time.monotonic() - leasing
        matrix_mode = matrix is not None
        cycle.result = engine.run(book, [spec], extra_vars=_extra_vars(opts, cfg), hosts=session.hosts,
                                  listener=run.progress,
                                  resources={"session": session, "run_dir": run.dir(),
                                             "restore": None if opts.keep or matrix_mode else restorer.once,
                                             "restore_later": "the matrix runs on the branch first; the run "
                                                              "restores after it" if matrix_mode else None})
        if matrix is not None:
            _matrix_on_branch(run, session, spec, inv, matrix, cycle)
    except KeyboardInterrupt:
        cycle.interrupted = True
        run.echo(f"{target.name}: interrupted; restoring the host before exiting")
    finally:
        if opts.keep:
            cycle.kept = True
            run.echo(f"KEPT (--keep): {target.name} is left running {opts.branch}; its lease and journal stay. "
                     f"Put it back with: invoke restore --host {target.name}")
        else:
            restoring = time.monotonic()
            cycle.restored, ran_now = restorer.final()
            if ran_now:
                cycle.extra_checks.append(_restore_record(cycle.restored, time.monotonic() - restoring))
    cycle.interrupted = cycle.interrupted or run.signals.interrupted
    return cycle


def _matrix_on_branch(run: Run, session: Session, spec: inventory.HostSpec, inv: inventory.Inventory,
                      matrix: Matrix, cycle: Cycle) -> None:
    """--mode matrix: the matrix (every scenario, lifecycle and faults) on the branch the playbook deployed and
    checked; the e2e's journal already holds the way back (the deploy's undo), so the restore covers it all."""
    from orchestrator.procedures.matrix.options import MatrixOptions
    from orchestrator.procedures.matrix.runner import MatrixRun, run_phases

    host = cycle.result.hosts[spec.name] if cycle.result else None
    if host is None or host.verdict != "pass":
        cycle.extra_checks.append(CheckRecord("matrix", "skipped", "not run: the branch failed its health checks"))
        return
    done = MatrixRun(session.run_id, spec.name)
    run_phases(run, session, spec, inv, matrix, list(matrix.scenarios),
               MatrixOptions(host=spec.name, lifecycle=True, faults=True), session.cfg.checkout, done)
    cycle.extra_checks += done.checks
    cycle.matrix = {"file": str(matrix.path), "sha256": matrix.sha256, "shard": None,
                    "scenarios": [d.public() for d in done.scenarios]}


def _restore_record(done: Restored, seconds: float) -> CheckRecord:
    if done.ok:
        return CheckRecord("restore", "ok", "; ".join(done.verified) or "nothing to restore", seconds)
    return CheckRecord("restore", "error", "; ".join(done.problems), seconds)


def _report(run: Run, cycle: Cycle, session: Session, inventory_path: Any, opts: E2EOptions) -> int:
    result = cycle.result or RunResult({session.cfg.host: HostReport(session.cfg.host)}, 0.0)
    result.hosts[session.cfg.host].checks.extend(cycle.extra_checks)
    cycle.result = result
    extra = summary.e2e_fields(cycle, session, opts)
    baseline_facts = session.facts.get(session.cfg.host, {})
    stack = {"host": session.cfg.host, "branch": session.branch, "commit": session.commit, "repo": session.repo,
             "baseline checkout": baseline_facts.get("head"),
             "baseline images": {c["service"]: c["image"] for c in baseline_facts.get("containers", {}).values()}}
    return run.finish(result, inventory_path, title="", extra=extra, manifest_extra={"stack": stack},
                      printer=lambda run_dir, out: summary.print_console(cycle, session, opts, run_dir, out),
                      code=cycle.exit_code)
