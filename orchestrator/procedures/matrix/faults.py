"""`invoke matrix --faults`: break the borrowed stack on purpose and prove that the tool's own verdict says so.

Each fault is an inject/heal pair (Jepsen's rule); the heal is journaled on the host BEFORE the inject, so a run
killed mid-fault is healed by `invoke restore`, and every heal is idempotent (the restore may run it again). After
injecting, the tool's own check (playbooks/check.yml, the same the users run) must FAIL and say why; a fault
phase that stays green on a broken stack fails the run. After healing, the stack must be ready again within
ready_timeout and the check must pass (Chaos Toolkit's steady state, before and after).

Container faults (the compose stack): stop the scanner, pause the backend, remove the frontend's container.
Link faults (only where the inventory has the lab's link host, dev-wan): cut the SSH link under a running command
(unreachable at once), blackhole it (keepalive notices within a few intervals, long before the command timeout);
after each heal the run reconnects and a check through the link passes. The link is the lab's relay, healed from
the machine it runs on: its heal is journaled on the inventory's local host.

This is code, not a playbook, because only code can guarantee the order: heal journaled, then inject, then the
verdict, then the heal whatever happened.
"""

from __future__ import annotations

import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import HostUnreachable, ShakedownError
from orchestrator.host import KILL_GRACE, Host
from orchestrator.host.shellcmd import call, load
from orchestrator.lab import link
from orchestrator.lab import spec as lab
from orchestrator.lab.proc import wait_until
from orchestrator.ops.e2e.journal import Command, script
from orchestrator.ops.e2e.session import Session, Step
from orchestrator.ops.matrix import stackop
from orchestrator.procedures.matrix.state import Done, MatrixRun
from orchestrator.run.results import CheckRecord, HostReport
from orchestrator.run.task import Run

PREFIX = "fault"
CHECK_BOOK = "check"
READY_BOOK = "matrix_ready"
BUDGET = 12  # ready_timeouts the phase may take at most (the lease's lifetime counts it)
CUT_AT_ONCE = 2.0  # seconds: a cut link is an RST both ways, noticed as soon as it arrives
_CANCEL = load("orchestrator.host", "cancel")
TIMED_OUT = re.compile(r"time[d ]?out", re.IGNORECASE)


@dataclass(frozen=True)
class ContainerFault:
    """`inject` the service's containers, expect the check to fail with `symptom` in a failed check's reason
    (about the service), heal with `heal` (matrix_stack.sh actions)."""
    name: str
    service: str
    inject: str
    heal: str
    injected: Callable[[list[str]], bool]  # the service's container statuses after the inject
    symptom: str  # a regular expression over the failed check's reason; {container} is the container's name


CONTAINER_FAULTS = (
    ContainerFault("stop scanner", "scanner", "stop", "start", lambda s: bool(s) and set(s) == {"exited"},
                   r"{container} is exited"),
    ContainerFault("pause backend", "backend", "pause", "unpause", lambda s: bool(s) and set(s) == {"paused"},
                   r"{container} is paused"),
    ContainerFault("remove frontend", "frontend", "remove", "up", lambda s: not s,
                   r"expected service 'frontend' has no container"),
)


@dataclass
class Phase:
    run: Run
    session: Session
    spec: inventory.HostSpec
    inv: inventory.Inventory
    done: MatrixRun
    check_book: playbook.Playbook
    ready_book: playbook.Playbook
    failed: list[str] = field(default_factory=list)
    passed: int = 0

    def record(self, name: str, status: str, reason: str, data: dict[str, Any] | None = None,
               duration: float = 0.0) -> None:
        rec = CheckRecord(f"{PREFIX}: {name}", status, reason, duration, data=data or {})
        self.done.checks.append(rec)
        self.run.progress(self.spec.name, rec)
        if status in ("failed", "error"):
            self.failed.append(f"{name}: {reason}")
        elif status == "ok":
            self.passed += 1

    def check(self, target: inventory.HostSpec, under: str, host: Host | None = None) -> tuple[HostReport, float]:
        """The tool's own verdict: check.yml on `target` (dev over the run's connection, or a host of its own)."""
        lent = self.session.hosts if host is None else {target.name: host}
        started = time.monotonic()
        # The VERSION of the stack under test: a branch's checkout under e2e --mode matrix (health.yml's var).
        result = engine.run(self.check_book, [target], hosts=lent,
                            extra_vars={"version_file": f"{self.session.cfg.stack_dir}/VERSION"},
                            resources={"run_dir": self.run.dir() / "faults" / _slug(under)})
        return result.hosts[target.name], time.monotonic() - started

    def ready_again(self, what: str) -> None:
        """After a heal: every expected container running and healthy within ready_timeout, then check passes."""
        started = time.monotonic()
        result = engine.run(self.ready_book, [self.spec], hosts=self.session.hosts,
                            extra_vars={"ready_timeout": self.session.cfg.ready_timeout})
        ready = result.hosts[self.spec.name]
        waited = time.monotonic() - started
        if ready.verdict != "pass":
            why = "; ".join(f"{c.name}: {c.reason}" for c in ready.problems()) or str(ready.unreachable)
            self.record(f"{what}: healthy again", "failed",
                        f"not ready within ready_timeout {self.session.cfg.ready_timeout:g}s: {why}", duration=waited)
            return
        report, took = self.check(self.spec, f"{what} healed")
        status = "ok" if report.verdict == "pass" else "failed"
        self.record(f"{what}: healthy again", status,
                    f"ready {waited:.1f}s after the heal; check {report.verdict}" + _problems(report),
                    {"ready_seconds": round(waited, 3), "check_seconds": round(took, 3)}, waited + took)


def run_faults(run: Run, session: Session, spec: inventory.HostSpec, inv: inventory.Inventory,
               done: MatrixRun) -> None:
    started = time.monotonic()
    phase = Phase(run, session, spec, inv, done, playbook.load(CHECK_BOOK), playbook.load(READY_BOOK))
    run.echo(f"{PREFIX}s: the stack must be healthy first (steady state), then each fault is injected and healed")
    steady, took = phase.check(spec, "steady state")
    phase.record("steady state before", "ok" if steady.verdict == "pass" else "failed",
                 f"check {steady.verdict} in {took:.1f}s" + _problems(steady), duration=took)
    if steady.verdict != "pass":
        why = "the stack is not healthy before any fault: nothing a fault does could be told apart"
        for fault in CONTAINER_FAULTS:
            phase.record(fault.name, "skipped", why)
    else:
        expected = [str(s) for s in spec.get("expected_services") or []]
        for fault in CONTAINER_FAULTS:
            if run.signals.interrupted:
                break
            if fault.service not in expected:
                phase.record(fault.name, "skipped", f"{spec.name} expects no service {fault.service!r} "
                                                    f"(expected_services: {', '.join(expected) or 'none'})")
                continue
            _guarded(phase, fault.name, lambda f=fault: _container_fault(phase, f))
    why_not, wan, local = _link_hosts(spec, inv)
    if why_not:
        for name in ("link cut", "link blackhole"):
            phase.record(name, "skipped", why_not)
    else:
        assert wan is not None and local is not None
        for name, fault in (("link cut", _link_cut), ("link blackhole", _link_blackhole)):
            if run.signals.interrupted:
                break
            _guarded(phase, name, lambda n=name, f=fault: _link_fault(phase, n, wan, local, f))
    status = "failed" if phase.failed else "passed"
    reason = "; ".join(phase.failed) or f"{phase.passed} check(s) passed"
    done.scenarios.append(Done("faults", status, reason, {}, time.monotonic() - started))


def _guarded(phase: Phase, name: str, action: Callable[[], None]) -> None:
    """A fault whose machinery breaks (a command refused, the relay silent) is an error of that fault; the
    others still run, and the journaled heals still run at the restore."""
    try:
        action()
    except ShakedownError as exc:
        phase.record(name, "error", f"the fault could not be run: {exc}")


# --- container faults ---

def _container_fault(phase: Phase, fault: ContainerFault) -> None:
    session, cfg = phase.session, phase.session.cfg

    def op(action: str) -> Command:
        return script(cfg.host, "MATRIX_STACK", action, cfg.stack_dir, cfg.project, fault.service,
                      timeout=cfg.deploy_timeout, title=f"{action} {fault.service} (fault {fault.name})",
                      env=session.compose_env())

    heal = op(fault.heal)
    phase.run.echo(f"{PREFIX}: {fault.name} (heal journaled first: {fault.heal})")
    try:
        result = session.apply(Step(f"fault: {fault.name}", op(fault.inject), undo=[heal]))
        did = stackop.parse(result.stdout if result else "")
        statuses = did.status(fault.service)
        names = did.names(fault.service)
        if not names or not fault.injected(statuses):
            phase.record(f"{fault.name}: injected", "failed",
                         f"the inject did not take: {fault.service} is {', '.join(statuses) or 'gone'} "
                         f"({', '.join(names) or 'no container'} before)", did.public())
            return
        phase.record(f"{fault.name}: injected", "ok", f"{', '.join(names)}: {', '.join(statuses) or 'removed'}",
                     did.public())
        finding = _docker_says(session, names[0]) if fault.inject == "pause" else {}
        report, took = phase.check(phase.spec, fault.name)
        _judge(phase, fault, names[0], report, took, finding)
    finally:
        healed = session.target.run(heal.line(), timeout=heal.timeout, env=heal.env or None)
        phase.run.echo(f"{PREFIX}: {fault.name} healed ({fault.heal}): "
                       f"{fault.service} {', '.join(stackop.parse(healed.stdout).status(fault.service)) or 'gone'}")
    phase.ready_again(fault.name)


def _judge(phase: Phase, fault: ContainerFault, container: str, report: HostReport, took: float,
           finding: dict[str, Any]) -> None:
    """The check must fail (not pass, not error out) and a failed check about the service must say why."""
    symptom = re.compile(fault.symptom.format(container=re.escape(container)))
    named = [c for c in report.problems() if c.status == "failed" and fault.service in c.name
             and symptom.search(c.reason)]
    data: dict[str, Any] = {"verdict": report.verdict, "check_seconds": round(took, 3),
                            "failed": {c.name: c.reason for c in report.problems()}}
    problems = []
    if report.verdict != "fail":
        problems.append(f"check's verdict is {report.verdict}, expected fail")
    if not named:
        problems.append(f"no failed check about {fault.service} says /{symptom.pattern}/")
    if fault.inject == "pause":
        # A paused process answers nothing: the probes that reach it must fail (by timing out), not pass.
        http = [c for c in report.checks if c.name.startswith("http")]
        data["http"] = {c.name: f"{c.status}: {c.reason}" for c in http}
        data["docker"] = finding
        if http and not any(c.status == "failed" and TIMED_OUT.search(c.reason) for c in http):
            problems.append("no HTTP probe timed out against the paused backend")
    said = "; ".join(f"{c.name}: {c.reason}" for c in named)
    extra = (f"; docker: {finding.get('status')}, health {finding.get('health') or 'none'}, failing streak "
             f"{finding.get('failing_streak')}") if finding else ""
    phase.record(f"{fault.name}: check fails", "failed" if problems else "ok",
                 "; ".join(problems) + (f" ({said or _problems(report)})" if problems else "")
                 or f"check fail in {took:.1f}s: {said}{extra}", data, took)


def _docker_says(session: Session, container: str) -> dict[str, Any]:
    """What docker itself reports for the container (status, health, the failing streak of its probes)."""
    fmt = "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}} {{.State.Health.FailingStreak}}{{end}}"
    out = session.target.run(f"docker inspect --format {shlex.quote(fmt)} {shlex.quote(container)}",
                             timeout=30).stdout.split()
    return {"status": out[0] if out else None, "health": out[1] if len(out) > 1 else None,
            "failing_streak": int(out[2]) if len(out) > 2 else None}


# --- link faults ---

def _link_hosts(spec: inventory.HostSpec, inv: inventory.Inventory
                ) -> tuple[str, inventory.HostSpec | None, inventory.HostSpec | None]:
    """(why the link faults cannot run here, or ""; the link host; the local host that journals its heal)."""
    wan = inv.hosts.get(lab.LINK.name)
    if wan is None:
        return f"the inventory has no link host {lab.LINK.name!r} (the lab's latency-and-fault relay)", None, None
    address = (str(wan.get("ansible_host") or wan.name), int(wan.get("ansible_port") or 22))
    if address != (lab.LINK.listen_host, lab.LINK.listen_port):
        return (f"{wan.name} is {address[0]}:{address[1]}, not the lab's link relay "
                f"{lab.LINK.listen_host}:{lab.LINK.listen_port}"), None, None
    if spec.name != lab.LINK.target.name or any(wan.get(k) != spec.get(k) for k in ("stack_dir", "compose_project")):
        return f"the lab's link leads to {lab.LINK.target.name}'s stack, not to {spec.name}'s", None, None
    local = next((h for h in inv.hosts.values() if h.is_local), None)
    if local is None:
        return ("the inventory has no local host (ansible_connection: local) to journal the link's heal on "
                "(the relay is healed on this machine)"), None, None
    if link.state() is None:
        return "the lab's link relay is not running (`invoke lab.up` starts it)", None, None
    return "", wan, local


@dataclass
class Flight:
    """A command running through the link on a thread of its own, so the fault can break the link under it."""
    error: BaseException | None = None
    ended: float = 0.0
    thread: threading.Thread | None = None


def _fly(host: Host, command: str, timeout: float, pidfile: str) -> Flight:
    flight = Flight()

    def target() -> None:
        try:
            host.run(command, timeout=timeout, pidfile=pidfile)
        except BaseException as exc:  # whatever ended it is what the fault judges
            flight.error = exc
        flight.ended = time.monotonic()

    flight.thread = threading.Thread(target=target, name=f"{PREFIX}-link", daemon=True)
    flight.thread.start()
    return flight


def _link_fault(phase: Phase, name: str, wan: inventory.HostSpec, local: inventory.HostSpec,
                body: Callable[[Phase, str, inventory.HostSpec, Host, Flight, float], None]) -> None:
    session = phase.session
    timeout = max(float(wan.get("command_timeout")), 4 * _keepalive_bound(wan))
    pidfile = f"{session.run_dir}/{PREFIX}-link-{secrets.token_hex(4)}.pid"
    host = Host(wan)
    # The heal runs where the relay runs; the in-process restore must reach that host too.
    session.hosts.setdefault(local.name, Host(local))
    try:
        host.connect()
        flight = _fly(host, f"sleep {timeout:g}", timeout, pidfile)
        running = wait_until(lambda: session.target.run(f"test -s {shlex.quote(pidfile)}", timeout=10,
                                                        warn=True).ok, 10, 0.05)
        if not running:
            phase.record(f"{name}: command in flight", "error", f"the command through {wan.name} did not start "
                                                                  "within 10s")
            return
        session.journal.mutation(f"fault: {name}", local.name, undo=[
            script(local.name, "LINK_HEAL", str(link.LAB.dir), timeout=30, title="heal the lab's link")])
        body(phase, name, wan, host, flight, timeout)
    finally:
        link.heal()
        # The command outlived its connection: end it on the host, by its pid, over the direct connection.
        session.target.run(call(_CANCEL, pidfile), timeout=10, warn=True)
        host.close()
    # The same Host reconnects, and the engine's next run through the link goes on.
    report, took = phase.check(wan, f"{name} healed", host=host)
    phase.record(f"{name}: healed, check through {wan.name}", "ok" if report.verdict == "pass" else "failed",
                 f"reconnected; check {report.verdict} in {took:.1f}s" + _problems(report),
                 {"check_seconds": round(took, 3)}, took)
    host.close()


def _link_cut(phase: Phase, name: str, wan: inventory.HostSpec, host: Host, flight: Flight,
              timeout: float) -> None:
    cut_at = time.monotonic()
    link.cut()
    lost = _landed(flight, CUT_AT_ONCE + 5)
    after = (flight.ended or time.monotonic()) - cut_at
    ok = isinstance(flight.error, HostUnreachable) and after < CUT_AT_ONCE
    phase.record(f"{name}: command unreachable at once", "ok" if ok else "failed",
                 f"{type(flight.error).__name__ if flight.error else 'nothing'} {after:.2f}s after the cut "
                 f"(at once: under {CUT_AT_ONCE:g}s): {flight.error}" if lost else
                 f"the command still waits {after:.1f}s after the cut", {"seconds": round(after, 3)}, after)
    report, took = phase.check(wan, f"{name} cut")
    ok = report.verdict == "error" and bool(report.unreachable) and took < CUT_AT_ONCE + 5
    phase.record(f"{name}: check through {wan.name} unreachable", "ok" if ok else "failed",
                 f"check {report.verdict} in {took:.1f}s: {report.unreachable or _problems(report)}",
                 {"check_seconds": round(took, 3)}, took)


def _link_blackhole(phase: Phase, name: str, wan: inventory.HostSpec, host: Host, flight: Flight,
                    timeout: float) -> None:
    bound = _keepalive_bound(wan)
    silent_at = time.monotonic()
    link.blackhole()
    lost = _landed(flight, timeout + KILL_GRACE + 10)
    after = (flight.ended or time.monotonic()) - silent_at
    ok = isinstance(flight.error, HostUnreachable) and "keepalive" in str(flight.error) and after < bound
    interval = float(wan.get("keepalive_interval"))
    phase.record(f"{name}: keepalive notices", "ok" if ok else "failed",
                 (f"{type(flight.error).__name__ if flight.error else 'nothing'} {after:.1f}s after the blackhole "
                  f"(keepalive every {interval:g}s: bound {bound:g}s; the command's timeout {timeout:g}s): "
                  f"{flight.error}") if lost else f"the command still waits {after:.1f}s after the blackhole",
                 {"seconds": round(after, 3), "bound": bound, "command_timeout": timeout}, after)


def _keepalive_bound(wan: inventory.HostSpec) -> float:
    """A silent peer is dropped after 3 unanswered keepalives: at most 4 intervals, plus slack for the load."""
    return 4 * float(wan.get("keepalive_interval")) + 3


def _landed(flight: Flight, limit: float) -> bool:
    assert flight.thread is not None
    flight.thread.join(limit)
    return not flight.thread.is_alive()


def _problems(report: HostReport) -> str:
    bad = report.problems()
    if report.unreachable:
        return f": unreachable: {report.unreachable}"
    return (": " + "; ".join(f"{c.name}: {c.reason}" for c in bad)) if bad else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
