"""`invoke e2e` and `invoke restore`: borrow a host, run playbooks/e2e.yml on it, and always put it back.

The guarantee lives here, not in the playbook: once the lease is taken, the restore in `finally` runs on
success, failure, exceptions, SIGINT and SIGTERM (a second signal during the restore is reported, not
obeyed). If this process dies anyway, the journal on the host lets `invoke restore` finish the job.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from orchestrator import engine, inventory, playbook, redact, report, secretfiles
from orchestrator.cancel import CANCEL
from orchestrator.e2e import baseline, config, lease, plan, preflight, restore
from orchestrator.e2e.config import StackConfig
from orchestrator.e2e.journal import Journal
from orchestrator.e2e.restore import Restored
from orchestrator.e2e.session import Session
from orchestrator.engine import CheckRecord, RunResult
from orchestrator.errors import EXIT_FAILED, EXIT_INFRA, EXIT_PASS, BadInput, ShakedownError
from orchestrator.gitref import validate_branch
from orchestrator.host import Host, check_spec

LEASE_MARGIN = 900  # seconds on top of the run's own budgets before a lease counts as stale


@dataclass
class Options:
    host: str
    branch: str
    inventory: str | None = None
    mode: str = "targeted"
    keep: bool = False
    dry_run: bool = False
    test_timeout: float = 600
    ready_timeout: float | None = None
    as_json: bool = False


@dataclass
class Outcome:
    """What the console, --json and the run directory report."""
    run_id: str
    result: RunResult | None = None
    restored: Restored | None = None
    interrupted: bool = False
    kept: bool = False
    commit: str = ""
    extra_checks: list[CheckRecord] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.interrupted or (self.restored is not None and not self.restored.ok) or self.result is None:
            return EXIT_INFRA
        return self.result.exit_code

    @property
    def word(self) -> str:
        return {EXIT_PASS: "GREEN", EXIT_FAILED: "RED"}.get(self.exit_code, "ERROR")


class _Signals:
    """SIGINT/SIGTERM cancel the run, except while restoring: then they are noted and the restore goes on."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo
        self.restoring = threading.Event()
        self.received = False

    def handler(self, signum: int, frame: Any) -> None:
        self.received = True
        if self.restoring.is_set():
            self.echo(f"{signal.Signals(signum).name}: restore in progress, not interrupting it (if you must, "
                      "kill -9 this process and run `invoke restore`)")
            return
        CANCEL.set()
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            CANCEL.clear()


def run_e2e(opts: Options, out: Console, err: Console) -> int:
    run_id = report.new_run_id()
    echo = _echo(err)
    hosts: dict[str, Host] = {}
    try:
        spec, cfg, book, inv = _prepare(opts)
        hosts = {spec.name: Host(spec), **{p.host: Host(inv.hosts[p.host]) for p in cfg.peers}}
        signals = _Signals(echo)
        with signals.installed():
            ready = preflight.check(hosts[spec.name], hosts, cfg, opts.branch)
            # The values stay in memory: every console line, log and report is redacted with them.
            secretfiles.load(hosts[spec.name], [cfg.abs_path(f) for f in cfg.secret_files])
            session = Session(cfg, run_id, opts.branch, ready.commit, ready.repo, ready.compose, hosts,
                              Journal(hosts[spec.name], cfg.state_dir, run_id), salt=_salt(), dry_run=opts.dry_run,
                              echo=echo)
            if opts.dry_run:
                _record_baselines(session)  # read-only: the plan shows the real image ids to restore
                variables = playbook.play_variables(spec, book.plays[0], _extra_vars(opts, cfg))
                plan.show(session, book, variables, out)
                return EXIT_PASS
            outcome = _cycle(session, book, spec, opts, ready, signals, echo)
    except ShakedownError as exc:
        return _fail(exc, run_id, opts.as_json, err)
    except KeyboardInterrupt:
        return _fail(ShakedownError("interrupted before anything changed"), run_id, opts.as_json, err)
    finally:
        for host in hosts.values():
            host.close()
    try:
        return _report(outcome, session, inv.path, opts, out, err)
    except ShakedownError as exc:  # e.g. the leak sweep found a secret in the run directory
        return _fail(exc, run_id, opts.as_json, err)


def _prepare(opts: Options) -> tuple[inventory.HostSpec, StackConfig, playbook.Playbook, inventory.Inventory]:
    """Input checks, all before any connection: exit 2 with the file:line or the value at fault."""
    validate_branch(opts.branch)
    if opts.mode not in config.MODES:
        raise BadInput(f"--mode must be one of {', '.join(config.MODES)}, got {opts.mode!r}")
    for name, value in (("--test-timeout", opts.test_timeout), ("--ready-timeout", opts.ready_timeout)):
        if value is not None and not value > 0:
            raise BadInput(f"{name} must be a positive number of seconds, got {value!r}")
    inv = inventory.load(opts.inventory)
    targets = inv.select(opts.host)
    if len(targets) != 1:
        raise BadInput(f"--host {opts.host!r} matches {len(targets)} hosts ({', '.join(t.name for t in targets)}); "
                       "an e2e borrows exactly one host")
    spec = targets[0]
    check_spec(spec)
    cfg = config.load(spec, need_tests=opts.mode == "targeted", known_hosts=set(inv.hosts))
    for peer in cfg.peers:
        check_spec(inv.hosts[peer.host])
    book = playbook.load("e2e")
    playbook.validate(book, [spec], extra_vars=_extra_vars(opts, cfg),
                      inventory_names=set(inv.hosts) | set(inv.groups))
    return spec, cfg, book, inv


def _extra_vars(opts: Options, cfg: StackConfig) -> dict[str, Any]:
    return {"branch": opts.branch, "mode": opts.mode, "test_timeout": opts.test_timeout,
            "ready_timeout": opts.ready_timeout or cfg.ready_timeout}


def _cycle(session: Session, book: playbook.Playbook, spec: inventory.HostSpec, opts: Options,
           ready: preflight.Ready, signals: _Signals, echo: Callable[[str], None]) -> Outcome:
    cfg, target = session.cfg, session.target
    outcome = Outcome(session.run_id, commit=session.commit)
    ready_timeout = opts.ready_timeout or cfg.ready_timeout
    if ready.stale is not None:
        echo(f"{target.name}: breaking a stale lease: {ready.stale.describe(ready.now)}")
        lease.release(target, cfg.state_dir, ready.stale.run_id)
    ttl = cfg.deploy_timeout * 2 + ready_timeout * 3 + opts.test_timeout + LEASE_MARGIN
    lease.take(target, cfg.state_dir, lease.new(session.run_id, opts.branch, ready.now, ttl))
    echo(f"{target.name}: leased for run {session.run_id} (branch {opts.branch} at {session.commit[:12]})")
    restorer = _Restorer(session, ready_timeout, signals, echo)
    run_dir = report.run_dir_for(session.run_id)
    (run_dir / target.name).mkdir(exist_ok=True)
    try:
        session.journal.append("begin", owner=lease.owner(), branch=opts.branch, commit=session.commit,
                               host=target.name, mode=opts.mode)
        _record_baselines(session)
        outcome.result = engine.run(book, [spec], extra_vars=_extra_vars(opts, cfg), hosts=session.hosts,
                                    listener=_progress(echo),
                                    resources={"session": session,
                                               "restore": None if opts.keep else restorer.once,
                                               "artifact_dir": run_dir / target.name})
    except KeyboardInterrupt:
        outcome.interrupted = True
        echo(f"{target.name}: interrupted; restoring the host before exiting")
    finally:
        if opts.keep:
            outcome.kept = True
            echo(f"KEPT (--keep): {target.name} is left running {opts.branch}; its lease and journal stay. "
                 f"Put it back with: invoke restore --host {target.name}")
        else:
            outcome.restored, ran_now = restorer.final()
            if ran_now:
                outcome.extra_checks.append(_restore_record(outcome.restored))
    outcome.interrupted = outcome.interrupted or signals.received
    return outcome


def _record_baselines(session: Session) -> None:
    cfg = session.cfg
    commands = {cfg.host: baseline.stack_command(cfg, session.salt)}
    for host_name in {p.host for p in cfg.peers}:
        commands[host_name] = baseline.peer_command([p for p in cfg.peers if p.host == host_name])
    for host_name, command in commands.items():
        facts = baseline.capture(session.hosts[host_name], command)
        if facts.get("docker_error"):
            raise ShakedownError(f"{host_name}: cannot read the baseline: docker: {facts['docker_error']}")
        session.facts[host_name] = facts
        if not session.dry_run:
            session.journal.append("baseline", host=host_name, command=command, facts=facts)


class _Restorer:
    """Runs the journal restore; again at the end unless an earlier attempt (the playbook's) verified."""

    def __init__(self, session: Session, ready_timeout: float, signals: _Signals, echo: Callable[[str], None]):
        self.session, self.ready_timeout, self.signals, self.echo = session, ready_timeout, signals, echo
        self.last: Restored | None = None

    def once(self) -> Restored:
        self.signals.restoring.set()
        try:
            cfg = self.session.cfg
            self.last = restore.restore(self.session.target, cfg.state_dir, self._host_for,
                                        ready_timeout=self.ready_timeout, echo=self.echo)
            if not self.last.found_journal:  # the run died before its first journal entry
                self.last.lease = lease.release(self.session.target, cfg.state_dir, self.session.run_id)
            return self.last
        finally:
            self.signals.restoring.clear()

    def final(self) -> tuple[Restored, bool]:
        if self.last is not None and self.last.ok:
            return self.last, False
        self.signals.restoring.set()  # before anything else: a signal now must not cut the restore short
        try:
            return self.once(), True
        except ShakedownError as exc:
            failed = Restored(self.session.run_id, True, problems=[f"restore failed: {exc}"])
            return failed, True

    def _host_for(self, name: str) -> Host:
        host = self.session.hosts.get(name)
        if host is None:
            raise ShakedownError(f"journal names host {name!r}, which is not part of this run")
        return host


def _restore_record(done: Restored) -> CheckRecord:
    if done.ok:
        return CheckRecord("restore", "ok", "; ".join(done.verified) or "nothing to restore")
    return CheckRecord("restore", "error", "; ".join(done.problems))


def _progress(echo: Callable[[str], None]) -> engine.Listener:
    def show(host: str, record: CheckRecord) -> None:
        echo(f"{host}: {record.name}: {record.status}" + (f" — {record.reason}" if record.reason else ""))
    return show


def _report(outcome: Outcome, session: Session, inventory_path: Any, opts: Options, out: Console,
            err: Console) -> int:
    from orchestrator.e2e import summary

    result = outcome.result or RunResult({session.cfg.host: engine.HostReport(session.cfg.host)}, 0.0)
    result.hosts[session.cfg.host].checks.extend(outcome.extra_checks)
    outcome.result = result
    extra = summary.e2e_fields(outcome, session, opts)
    baseline_facts = session.facts.get(session.cfg.host, {})
    stack = {"host": session.cfg.host, "branch": session.branch, "commit": session.commit, "repo": session.repo,
             "baseline checkout": baseline_facts.get("head"),
             "baseline images": {c["service"]: c["image"] for c in baseline_facts.get("containers", {}).values()}}
    run_dir = report.write_run_dir(result, outcome.run_id, "e2e", inventory_path, extra, {"stack": stack})
    summary.print_console(outcome, session, opts, run_dir, out if not opts.as_json else err)
    if opts.as_json:
        import json

        print(json.dumps(report.to_json(result, outcome.run_id, "e2e", extra), indent=2))
    return outcome.exit_code


def _fail(exc: ShakedownError, run_id: str, as_json: bool, err: Console) -> int:
    from orchestrator.cli import fail

    return fail(exc, run_id, as_json, err)


def _salt() -> str:
    import secrets

    return secrets.token_hex(16)


def _echo(err: Console) -> Callable[[str], None]:
    lock = threading.Lock()

    def echo(line: str) -> None:
        with lock:
            err.print(redact.current().text(line), markup=False, highlight=False, soft_wrap=True)
    return echo


def run_restore(host: str, inventory_path: str | None, force: bool, as_json: bool, out: Console,
                err: Console) -> int:
    """`invoke restore`: finish an interrupted e2e from the host's journal (idempotent)."""
    import json

    run_id = report.new_run_id()
    echo = _echo(err)
    hosts: dict[str, Host] = {}
    try:
        inv = inventory.load(inventory_path)
        targets = inv.select(host)
        if len(targets) != 1:
            raise BadInput(f"--host {host!r} matches {len(targets)} hosts; restore works on exactly one")
        spec = targets[0]
        check_spec(spec)
        cfg = config.load(spec, need_tests=False, known_hosts=set(inv.hosts))
        target = hosts.setdefault(spec.name, Host(spec))

        def host_for(name: str) -> Host:
            if name not in inv.hosts:
                raise ShakedownError(f"journal names host {name!r}, which is not in {inv.path}")
            return hosts.setdefault(name, Host(inv.hosts[name]))

        held, now, _ = lease.status(target, cfg.state_dir)
        if lease.live(held, now) and not force:
            raise lease.LeaseHeld(f"{spec.name}: leased by {held.describe(now)}; that run may still be restoring "
                                  "it. If it is dead, rerun with --force")
        signals = _Signals(echo)
        with signals.installed():
            signals.restoring.set()
            done = restore.restore(target, cfg.state_dir, host_for, ready_timeout=cfg.ready_timeout, echo=echo)
        if not done.found_journal and held is not None:
            done.lease = lease.release(target, cfg.state_dir, held.run_id)
            echo(f"{spec.name}: no unfinished journal; released the lease of run {held.run_id}")
    except ShakedownError as exc:
        return _fail(exc, run_id, as_json, err)
    finally:
        for h in hosts.values():
            h.close()
    code = EXIT_PASS if done.ok else EXIT_INFRA
    if as_json:
        print(json.dumps({"verdict": "pass" if done.ok else "error", "exit_code": code, "run_id": run_id,
                          "restored_run": done.run_id, "found_journal": done.found_journal,
                          "undone": done.undone, "verified": done.verified, "problems": done.problems,
                          "lease": done.lease, "hosts": {}}, indent=2))
    console = err if as_json else out
    if not done.found_journal:
        console.print(f"{spec.name}: nothing to restore (no unfinished journal)", highlight=False)
    elif done.ok:
        console.print(f"[green]restored[/] run {done.run_id} on {spec.name}: {'; '.join(done.verified)}",
                      highlight=False)
    else:
        console.print(f"[bold red]RESTORE NOT VERIFIED[/] on {spec.name}: {'; '.join(done.problems)}",
                      highlight=False)
    return code
