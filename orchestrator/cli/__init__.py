"""What the Invoke tasks call: flags in, a procedure run under the one guard, an exit code out.

tasks.py stays thin. Every task goes through `guard`, the single place that turns a result, an error or
an interrupt into the exit-code contract (0 pass, 1 failed, 2 bad input, 3 infrastructure/interrupted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.cli import flags
from orchestrator.errors import BadInput, InfraError, ShakedownError
from orchestrator.run.task import Run

Body = Callable[[Run], int]


class Interrupted(InfraError):
    """SIGINT/SIGTERM ended the run before a verdict (exit 3); host-side commands were ended too."""


def guard(task: str, as_json: bool, body: Body) -> int:
    """Run `body` under the signal policy; map whatever happens to an exit code, printed the one way."""
    run = Run(task, as_json)
    try:
        with run.signals.installed():
            return body(run)
    except ShakedownError as exc:
        return run.consoles.error(exc, run.run_id)
    except KeyboardInterrupt:
        return run.consoles.error(Interrupted("interrupted (SIGINT/SIGTERM) before a verdict"), run.run_id)


def run_playbook_task(task: str, *, host: str, inventory_path: str | None, as_json: bool, forks: Any,
                      playbook_name: str | None = None) -> int:
    """check (and any plain playbook task): playbooks/<task>.yml against --host."""
    from orchestrator.procedures import playbook

    return guard(task, as_json, lambda run: playbook.check(
        run, host=host, inventory_path=inventory_path, forks=flags.whole("--forks", forks),
        playbook_name=playbook_name))


def run_prune(*, host: str, inventory_path: str | None, dry_run: bool, older_than: Any, lock_wait: Any,
              timeout: Any, kill_stuck: bool, stuck_after: Any, as_json: bool, forks: Any = 10) -> int:
    from orchestrator.procedures import playbook

    return guard("prune", as_json, lambda run: playbook.prune(
        run, host=host, inventory_path=inventory_path, forks=flags.whole("--forks", forks), dry_run=dry_run,
        older_than=flags.age("--older-than", older_than), lock_wait=flags.number("--lock-wait", lock_wait, minimum=0),
        timeout=flags.number("--timeout", timeout, positive=True), kill_stuck=kill_stuck,
        stuck_after=flags.optional("--stuck-after", stuck_after, minimum=0)))


def run_triage(*, host: str, inventory_path: str | None, lines: Any, as_json: bool, forks: Any = 10) -> int:
    from orchestrator.procedures import playbook

    return guard("triage", as_json, lambda run: playbook.triage(
        run, host=host, inventory_path=inventory_path, forks=flags.whole("--forks", forks),
        lines=flags.whole("--lines", lines)))


def run_verify(*, host: str, inventory_path: str | None, wait: Any, no_ci: bool, evidence: str | None,
               summary: str | None, as_json: bool, forks: Any = 10) -> int:
    from orchestrator.procedures.verify import VerifyOptions, verify

    def body(run: Run) -> int:
        seconds = flags.optional("--wait", wait, minimum=0)
        command = " ".join(["invoke verify", f"--host {host}"] + ([f"--wait {seconds:g}"] if seconds is not None
                           else []) + (["--no-ci"] if no_ci else []) + ([f"--evidence {evidence}"] if evidence else []))
        return verify(run, VerifyOptions(host, inventory_path, flags.whole("--forks", forks), seconds, no_ci,
                                         evidence, summary, command))
    return guard("verify", as_json, body)


def run_e2e(*, host: str, branch: str | None, inventory_path: str | None, mode: str, keep: bool, dry_run: bool,
            test_timeout: Any, ready_timeout: Any, as_json: bool) -> int:
    from orchestrator.procedures.e2e.runner import E2EOptions, run_e2e

    def body(run: Run) -> int:
        if not branch:
            raise BadInput("--branch is required (e.g. invoke e2e --branch feature/x --host dev)")
        opts = E2EOptions(host, branch, inventory_path, mode, keep, dry_run,
                          flags.number("--test-timeout", test_timeout, positive=True),
                          flags.optional("--ready-timeout", ready_timeout, positive=True))
        return run_e2e(run, opts)
    return guard("e2e", as_json, body)


def run_restore(*, host: str | None, inventory_path: str | None, force: bool, as_json: bool) -> int:
    from orchestrator.procedures.e2e.restore import run_restore

    def body(run: Run) -> int:
        if not host:
            raise BadInput("--host is required (the host whose journal to restore from)")
        return run_restore(run, host, inventory_path, force)
    return guard("restore", as_json, body)


def run_bench(*, hosts: Any, runs: Any, as_json: bool, out: str | None, log_mb: Any, commands: Any, flows: Any = 64,
              flow_concurrency: Any = "1,8,32", flow_runs: Any = 3, only: Any = None) -> int:
    from orchestrator.procedures.bench.runner import BenchOptions, run_bench

    return guard("bench", as_json, lambda run: run_bench(run, BenchOptions(
        hosts=flags.whole("--hosts", hosts, minimum=2), runs=flags.whole("--runs", runs), out=out,
        log_mb=flags.whole("--log-mb", log_mb), commands=flags.whole("--commands", commands),
        flows=flags.whole("--flows", flows, minimum=0),
        flow_concurrency=flags.whole_list("--flow-concurrency", flow_concurrency),
        flow_runs=flags.whole("--flow-runs", flow_runs), only=_groups(only))))


def _groups(only: Any) -> list[str]:
    from orchestrator.procedures.bench.runner import GROUPS

    names = _names("--only", only) or []
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise BadInput(f"--only: unknown group(s) {', '.join(unknown)}; groups: {', '.join(GROUPS)}")
    return names


def run_matrix(*, host: str, inventory_path: str | None, matrix_file: str | None, list_only: bool,
               scenario: str | None, shard: Any, lifecycle: bool, faults: bool, keep: bool, merge: Any,
               as_json: bool) -> int:
    from orchestrator.ops.matrix.shards import parse_shard
    from orchestrator.procedures.matrix import matrix_task
    from orchestrator.procedures.matrix.options import MatrixOptions

    def body(run: Run) -> int:
        opts = MatrixOptions(host, inventory_path, matrix_file, list_only, _names("--scenario", scenario),
                             None if shard is None else parse_shard(shard, "--shard"), lifecycle, faults, keep,
                             _names("--merge", merge) or [], as_json)
        return matrix_task(run, opts)
    return guard("matrix", as_json, body)


def run_flow(*, flow: str | None, host: str, inventory_path: str | None, base_url: str | None, concurrency: Any,
             rounds: Any, deadline: Any, strict: bool, abort_on_failure: bool, mode: str | None, as_json: bool) -> int:
    from orchestrator.procedures.flow import FlowOptions, flow_task

    def body(run: Run) -> int:
        if not flow:
            raise BadInput("--flow is required (a name under playbooks/flows/, e.g. --flow marketplace)")
        opts = FlowOptions(flow, host, inventory_path, base_url, flags.whole_list("--concurrency", concurrency),
                           flags.whole("--rounds", rounds), flags.number("--deadline", deadline, positive=True),
                           mode, strict, abort_on_failure)
        return flow_task(run, opts)
    return guard("flow", as_json, body)


def run_inventory(*, list_only: bool, inventory_path: str | None, host: str | None) -> int:
    """The resolved inventory as JSON (always JSON, like ansible-inventory; errors on stderr, exit 2)."""
    from orchestrator.procedures import inventorylist

    def body(run: Run) -> int:
        if not list_only:
            raise BadInput("inventory: nothing to do; give --list (optionally --inventory F and --host PATTERN)")
        return inventorylist.show(run, inventory_path, host)
    return guard("inventory", True, body)


def _names(flag: str, value: Any) -> list[str] | None:
    """A comma list (or Invoke's repeated flag's list of comma lists) -> names; given but empty is bad input."""
    if value is None or value == []:
        return None
    parts = [p.strip() for item in ([value] if isinstance(value, str) else value) for p in str(item).split(",")]
    names = [p for p in parts if p]
    if not names:
        raise BadInput(f"{flag} needs at least one name, got {value!r}")
    return list(dict.fromkeys(names))


def run_report(*, open_browser: bool) -> int:
    """Rebuild artifacts/index.html and print its path (then open it in the default browser with --open)."""
    from orchestrator.run import rundir

    def body(run: Run) -> int:
        path = rundir.write_index()
        run.consoles.out.print(str(path), markup=False, highlight=False, soft_wrap=True)
        if open_browser:
            import webbrowser

            webbrowser.open(path.as_uri())
        return 0
    return guard("report", False, body)


def run_lab(action: str, *, purge: bool = False, as_json: bool = False) -> int:
    """lab.up / lab.down / lab.status; a LabError becomes its exit code with the message on stderr."""
    from orchestrator.procedures import labtask

    return guard(f"lab.{action}", as_json, lambda run: labtask.run(run, action, purge=purge))


def run_canaries(*, host: str, inventory_path: str | None, canaries_file: str | None, canary: Any, tamper: bool,
                 as_json: bool) -> int:
    from orchestrator.procedures.canaries import CanaryOptions, canaries_task

    return guard("canaries", as_json, lambda run: canaries_task(run, CanaryOptions(
        host, inventory_path, canaries_file, _names("--canary", canary), tamper)))
