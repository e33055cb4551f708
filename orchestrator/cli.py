"""What the Invoke tasks call: parse and validate input, run a playbook, report, return an exit code.

tasks.py stays thin; this module owns the mapping from outcomes to the exit-code contract.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from orchestrator import engine, inventory, playbook, report
from orchestrator.errors import EXIT_BAD_INPUT, BadInput, InfraError, ShakedownError
from orchestrator.host import check_spec


def run_playbook_task(task: str, *, host: str, inventory_path: str | None, as_json: bool, forks: int,
                      playbook_name: str | None = None) -> int:
    """Run playbooks/<task>.yml against --host; print a table or JSON; return the exit code."""
    out = _console(stderr=as_json)
    err = _console(stderr=True)
    run_id = report.new_run_id()
    try:
        if forks < 1:
            raise BadInput(f"--forks must be at least 1, got {forks}")
        inv = inventory.load(inventory_path)
        targets = inv.select(host)
        for spec in targets:
            check_spec(spec)
        book = playbook.load(playbook_name or task)
        playbook.validate(book, targets, inventory_names=set(inv.hosts) | set(inv.groups))
        with _signals_as_cancel():
            result = engine.run(book, targets, forks=forks)
            _evidence_for_failures(result, targets, run_id, err)
        run_dir = report.write_run_dir(result, run_id, task, inv.path)
    except ShakedownError as exc:
        return fail(exc, run_id, as_json, err)
    except KeyboardInterrupt:
        return fail(InfraError("interrupted (SIGINT/SIGTERM) before a verdict"), run_id, as_json, err)
    except OSError as exc:
        return fail(InfraError(f"cannot write the run directory: {exc}"), run_id, as_json, err)
    if as_json:
        print(json.dumps(report.to_json(result, run_id, task), indent=2))
    report.print_human(result, run_id, run_dir, out, title=f"shakedown {task} --host {host}")
    return result.exit_code


def _evidence_for_failures(result: engine.RunResult, targets: list[inventory.HostSpec], run_id: str,
                           err: Console) -> None:
    """A failed host gets its incident bundle in the run directory, so the evidence is there when needed."""
    from orchestrator.host import Host
    from orchestrator.triage.runner import collect

    for spec in targets:
        report_ = result.hosts[spec.name]
        if report_.verdict != "fail" or report_.unreachable:
            continue
        try:
            with Host(spec) as host:
                count = collect(host, report.run_dir_for(run_id) / spec.name)
            err.print(f"{spec.name}: failed, evidence bundle written ({count} files)", highlight=False)
        except ShakedownError as exc:
            err.print(f"{spec.name}: could not gather evidence: {exc}", highlight=False, markup=False)


def _console(stderr: bool) -> Console:
    # Rich wraps at 80 columns when not on a terminal; CI logs and pipes deserve the full reason lines.
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False, width=None if probe.is_terminal else 160)


def fail(exc: ShakedownError, run_id: str, as_json: bool, err: Console) -> int:
    """Print a run-level error (stderr, and the --json shape on stdout); return its exit code."""
    code = exc.exit_code
    kind = "bad input" if code == EXIT_BAD_INPUT else "error"
    err.print(f"[bold red]{kind}:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    if as_json:
        print(json.dumps({"verdict": "error", "exit_code": code, "run_id": run_id, "error": str(exc), "hosts": {}}))
    return code


@contextmanager
def _signals_as_cancel() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: stop starting tasks, let running ones end at their timeouts."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        engine.CANCEL.set()
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        engine.CANCEL.clear()


def exit_with(code: int) -> None:
    sys.stdout.flush()
    raise SystemExit(code)


def run_lab(action: str, *, purge: bool = False, as_json: bool = False) -> None:
    """lab.up / lab.down / lab.status; a LabError becomes its exit code with the message on stderr."""
    from orchestrator import lab

    err = _console(stderr=True)
    try:
        if action == "up":
            lab.up(echo=lambda line: err.print(line, markup=False))
        elif action == "down":
            lab.down(echo=lambda line: err.print(line, markup=False), purge=purge)
        else:
            _print_lab_status(lab.status(), as_json)
    except lab.LabError as exc:
        err.print(f"[bold red]lab {action} failed:[/] {exc}", soft_wrap=True)
        exit_with(exc.exit_code)


def _print_lab_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(status, indent=2))
        return
    from rich.table import Table

    t = Table(title="shakedown lab", title_justify="left")
    for col in ("host", "ssh", "docker", "stack", "up"):
        t.add_column(col)
    for h in status["hosts"]:
        ssh = f"{h['ssh']['user']}@{h['ssh']['host']}:{h['ssh']['port']}"
        t.add_row(h["name"], ssh, h["docker_host"], h.get("stack_dir") or "-",
                  "[green]up[/]" if h["up"] else "[red]down[/]")
    _console(stderr=False).print(t)


def run_e2e(*, host: str, branch: str | None, inventory_path: str | None, mode: str, keep: bool, dry_run: bool,
            test_timeout: Any, ready_timeout: Any, as_json: bool) -> int:
    from orchestrator.e2e.runner import Options
    from orchestrator.e2e.runner import run_e2e as run

    try:
        if not branch:
            raise BadInput("--branch is required (e.g. invoke e2e --branch feature/x --host dev)")
        opts = Options(host, branch, inventory_path, mode, keep, dry_run, _number("--test-timeout", test_timeout),
                       None if ready_timeout is None else _number("--ready-timeout", ready_timeout), as_json)
    except BadInput as exc:
        return fail(exc, report.new_run_id(), as_json, _console(stderr=True))
    return run(opts, _console(stderr=as_json), _console(stderr=True))


def run_restore(*, host: str | None, inventory_path: str | None, force: bool, as_json: bool) -> int:
    from orchestrator.e2e.runner import run_restore as run

    if not host:
        return fail(BadInput("--host is required (the host whose journal to restore from)"), report.new_run_id(),
                    as_json, _console(stderr=True))
    return run(host, inventory_path, force, as_json, _console(stderr=as_json), _console(stderr=True))


def _number(flag: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{flag} must be a number of seconds, got {value!r}") from None


def run_prune(*, host: str, inventory_path: str | None, dry_run: bool, older_than: str, lock_wait: Any,
              timeout: Any, kill_stuck: bool, stuck_after: Any, as_json: bool) -> int:
    from orchestrator.prune.runner import Options
    from orchestrator.prune.runner import run_prune as run

    try:
        opts = Options(host, inventory_path, dry_run, older_than, _number("--lock-wait", lock_wait),
                       _number("--timeout", timeout), kill_stuck,
                       None if stuck_after is None else _number("--stuck-after", stuck_after), as_json)
    except BadInput as exc:
        return fail(exc, report.new_run_id(), as_json, _console(stderr=True))
    return run(opts, _console(stderr=as_json), _console(stderr=True))


def run_triage(*, host: str, inventory_path: str | None, lines: Any, as_json: bool) -> int:
    from orchestrator.triage.runner import run_triage as run

    try:
        count = int(lines)
    except (TypeError, ValueError):
        return fail(BadInput(f"--lines must be a whole number, got {lines!r}"), report.new_run_id(), as_json,
                    _console(stderr=True))
    return run(host, inventory_path, count, as_json, _console(stderr=as_json), _console(stderr=True))


def run_bench(*, hosts: Any, runs: Any, as_json: bool, out: str | None, log_mb: Any, commands: Any) -> int:
    from orchestrator.bench.runner import Options
    from orchestrator.bench.runner import run_bench as run

    try:
        opts = Options(int(hosts), int(runs), as_json, out, int(log_mb), int(commands))
    except (TypeError, ValueError) as exc:
        return fail(BadInput(f"bench: numbers expected: {exc}"), report.new_run_id(), as_json, _console(stderr=True))
    return run(opts, _console(stderr=as_json), _console(stderr=True))
