"""`invoke canaries`: prove the tool still turns known-bad branches RED and known-good ones GREEN.

Each canary of the file (playbooks/canaries.yml) pins a branch to a commit, an expected verdict and assertions
over its report. Before anything runs, every selected branch must still be at its pinned commit (read with
`git ls-remote` on the host, as e2e's preflight does): a moved branch is refused (exit 2) naming both commits.
Then each canary is the real `invoke e2e --json` in a subprocess (its own SHAKEDOWN_ARTIFACTS under this run's
directory), so the real exit-code contract is what is judged, with two flags: a clean teardown (the host's
baseline facts, read with e2e's own read-only capture, identical before and after) and no leak (the e2e did
not report LEAK and a sweep of its directory finds no known secret value). `--tamper` then, after every clean
run (mutation testing's order: a clean baseline first), judges each passing assertion against a copy of the
report in which its check flips, and requires it to fail there: one that still passes is toothless.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INFRA, EXIT_PASS
from orchestrator.host import Host
from orchestrator.ops import secretfiles
from orchestrator.ops.canaries import judge, model, refs
from orchestrator.ops.e2e import baseline, config
from orchestrator.ops.e2e.config import StackConfig
from orchestrator.paths import ROOT
from orchestrator.procedures.canaries.show import printer
from orchestrator.procedures.targets import select
from orchestrator.run import rundir
from orchestrator.run.results import CheckRecord, HostReport, RunResult
from orchestrator.run.task import Run

GOT = {EXIT_PASS: "GREEN", EXIT_FAILED: "RED", EXIT_BAD_INPUT: "BAD INPUT", EXIT_INFRA: "ERROR"}
RUN_MARGIN = 120  # seconds beyond the e2e's own bounds before a hung child is ended


@dataclass
class CanaryOptions:
    host: str = "dev"
    inventory: str | None = None
    file: str | None = None
    names: list[str] | None = None
    tamper: bool = False


def canaries_task(run: Run, opts: CanaryOptions) -> int:
    suite = model.load(opts.file)
    chosen = suite.select(opts.names)
    inv, targets = select(opts.inventory, opts.host, exactly_one="canaries (each canary borrows the host)")
    spec = targets[0]
    cfg = config.load(spec, need_tests=False, known_hosts=set(inv.hosts))
    hosts = {spec.name: Host(spec), **{p.host: Host(inv.hosts[p.host]) for p in cfg.peers}}
    started = time.time()
    salt = secrets.token_hex(16)  # one salt for every fingerprint of this run, so they compare
    outcomes: list[dict[str, Any]] = []
    reports: list[dict[str, Any] | None] = []
    try:
        repo, now = refs.read(hosts[spec.name], cfg.stack_dir, cfg.repo, [c.branch for c in chosen])
        refs.refuse_moved(chosen, now, repo)
        # The host's secret values, in memory only: this run's console and files are redacted with them, and
        # the sweeps below look for them.
        secretfiles.load(hosts[spec.name], [cfg.abs_path(f) for f in cfg.secret_files])
        run.echo(f"canaries: {len(chosen)} of {suite.path} on {spec.name} (every branch at its pinned commit in "
                 f"{repo})")
        for canary in chosen:
            outcome, report = _one(run, canary, spec.name, cfg, hosts, salt, opts.inventory)
            outcomes.append(outcome)
            reports.append(report)
    finally:
        for host in hosts.values():
            host.close()
    if opts.tamper:
        run.echo("canaries: --tamper: every assertion that held, judged again on its report with the check flipped")
        for canary, outcome, report in zip(chosen, outcomes, reports, strict=True):
            _tamper(canary, outcome, report, spec.name)
    result = _result(spec.name, chosen, outcomes, opts.tamper)
    result.started, result.ended = started, time.time()
    data = {"file": str(suite.path), "sha256": suite.sha256, "tamper": opts.tamper, "repo": repo,
            "canaries": outcomes}
    return run.finish(result, inv.path, title="", extra={"canaries": data},
                      manifest_extra={"canaries": {"file": str(suite.path), "sha256": suite.sha256,
                                                   "selected": [c.name for c in chosen]}},
                      printer=printer(result, run.run_id, data))


def _one(run: Run, canary: model.Canary, host: str, cfg: StackConfig, hosts: dict[str, Host], salt: str,
         inventory_path: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    folder = run.dir() / "canaries" / canary.name
    folder.mkdir(parents=True, exist_ok=True)
    run.echo(f"canary {canary.name}: e2e --branch {canary.branch} (at {canary.commit[:12]}), expecting "
             f"{canary.expect}")
    before = _fingerprint(hosts, cfg, salt)
    start = time.monotonic()
    code, stdout, stderr = _e2e(run, canary, host, cfg, folder, inventory_path)
    seconds = time.monotonic() - start
    rundir.write_text(folder / "e2e.stdout.json", stdout)
    rundir.write_text(folder / "e2e.console.txt", stderr)
    differences = _settled(hosts, cfg, salt, before)
    report = _report(stdout, folder)
    got = GOT.get(code, f"EXIT {code}")
    leaks = rundir.sweep(folder)
    leak_said = [ln for ln in (stdout + "\n" + stderr).splitlines() if "LEAK" in ln]
    assertions = []
    for a in canary.assertions:
        j = judge.judge(a, report, host) if report is not None else judge.Judged(False, "no report.json")
        assertions.append({"assertion": a.text, "ok": j.ok, "seen": j.why, "teeth": None})
    outcome = {"name": canary.name, "branch": canary.branch, "commit": canary.commit, "expected": canary.expect,
               "got": got, "exit_code": code, "seconds": round(seconds, 1),
               "run_id": (report or {}).get("run_id"), "assertions": assertions,
               "teardown_clean": not differences, "teardown_differences": differences,
               "no_leak": not leaks and not leak_said, "leaks": leaks + leak_said[:3]}
    outcome["met"] = (code == canary.expected_exit and all(a["ok"] for a in assertions)
                      and outcome["teardown_clean"] and outcome["no_leak"])
    run.echo(f"canary {canary.name}: expected {canary.expect}, got {got} in {seconds:.1f}s: "
             f"{'MET' if outcome['met'] else 'NOT MET'}")
    return outcome, report


def _e2e(run: Run, canary: model.Canary, host: str, cfg: StackConfig, folder: Path, inventory_path: str | None
         ) -> tuple[int, str, str]:
    """The real `invoke e2e --json` as a user runs it; its artifacts go under this canary's folder."""
    argv = [sys.executable, "-m", "invoke", "e2e", "--branch", canary.branch, "--host", host, "--json",
            *(["--inventory", str(Path(inventory_path).resolve())] if inventory_path else []), *canary.flags]
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(folder)}
    bound = cfg.deploy_timeout * 2 + cfg.ready_timeout * 3 + 600 + RUN_MARGIN
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        stdout, stderr = proc.communicate(timeout=bound)
    except KeyboardInterrupt:
        # Ctrl-C reached the child too (same process group); SIGTERM may have been ours alone: pass it on and
        # let the child restore the host before this run ends.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        with run.signals.protected():
            run.echo(f"canary {canary.name}: interrupted; waiting for its e2e to restore the host")
            proc.communicate(timeout=bound)
        raise
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=RUN_MARGIN)
        stderr += f"\ncanaries: the e2e ran past {bound:.0f}s and was ended (SIGTERM)"
        return EXIT_INFRA, stdout, stderr
    return proc.returncode, stdout, stderr


def _fingerprint(hosts: dict[str, Host], cfg: StackConfig, salt: str) -> dict[str, baseline.Facts]:
    """e2e's own read-only baseline facts of the target (and its borrowed peers' files): one round trip each."""
    facts = {cfg.host: baseline.capture(hosts[cfg.host], baseline.stack_command(cfg, salt), timeout=120)}
    for peer in cfg.peers:
        facts[f"{peer.host}:{peer.file}"] = baseline.capture(hosts[peer.host], baseline.peer_command([peer]))
    return facts


def _settled(hosts: dict[str, Host], cfg: StackConfig, salt: str, before: dict[str, baseline.Facts]) -> list[str]:
    """The differences after the canary; containers still settling (health checks) get ready_timeout."""
    deadline = time.monotonic() + cfg.ready_timeout
    while True:
        after = _fingerprint(hosts, cfg, salt)
        found = [f"{where}: {d}" for where in before for d in baseline.differences(before[where], after.get(where, {}))]
        settling = all(baseline.only_settling(before[w], after.get(w, {})) for w in before)
        if not found or not settling or time.monotonic() > deadline:
            return found
        time.sleep(1)


def _report(stdout: str, folder: Path) -> dict[str, Any] | None:
    """The e2e's report.json (its run id from --json), else the newest run under the canary's folder."""
    run_id = None
    with contextlib.suppress(ValueError, AttributeError):
        run_id = json.loads(stdout).get("run_id")
    path = folder / run_id / "report.json" if run_id else folder / "latest" / "report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _tamper(canary: model.Canary, outcome: dict[str, Any], report: dict[str, Any] | None, host: str) -> None:
    """Each assertion that held on the clean report must fail on the report with its check flipped."""
    for a, row in zip(canary.assertions, outcome["assertions"], strict=True):
        if row["ok"] and report is not None:
            survived = judge.toothless(a, report, host)
            row["teeth"] = "toothless" if survived.ok else "bites"
            row["tampered_seen"] = survived.why
    outcome["toothless"] = [row["assertion"] for row in outcome["assertions"] if row["teeth"] == "toothless"]
    outcome["met"] = outcome["met"] and not outcome["toothless"]


def _result(host: str, chosen: list[model.Canary], outcomes: list[dict[str, Any]], tamper: bool) -> RunResult:
    """One check per verdict, assertion, flag (and tooth): the run layer's report.json, junit.xml, exit code."""
    checks: list[CheckRecord] = []
    for canary, o in zip(chosen, outcomes, strict=True):
        prefix = f"canary {canary.name}"
        if o["exit_code"] in (EXIT_PASS, EXIT_FAILED):
            status = "ok" if o["exit_code"] == canary.expected_exit else "failed"
        else:
            status = "error"  # the e2e could not reach a verdict: nothing to judge, never a pass
        checks.append(CheckRecord(f"{prefix}: verdict", status, f"expected {o['expected']}, got {o['got']} "
                                  f"(exit {o['exit_code']}, {o['seconds']}s, e2e run {o['run_id']})",
                                  o["seconds"], data={"branch": o["branch"], "commit": o["commit"]}))
        for row in o["assertions"]:
            checks.append(CheckRecord(f"{prefix}: assert {row['assertion']}", "ok" if row["ok"] else "failed",
                                      row["seen"]))
        checks.append(CheckRecord(f"{prefix}: clean teardown", "ok" if o["teardown_clean"] else "failed",
                                  "host fingerprint identical before and after" if o["teardown_clean"]
                                  else "; ".join(o["teardown_differences"])))
        checks.append(CheckRecord(f"{prefix}: no leak", "ok" if o["no_leak"] else "failed",
                                  "no LEAK reported, sweep clean" if o["no_leak"] else "; ".join(o["leaks"])))
        for row in o["assertions"] if tamper else ():
            if row["teeth"] is None:
                checks.append(CheckRecord(f"{prefix}: teeth {row['assertion']}", "skipped",
                                          "not tampered: the assertion did not hold on the clean run"))
            else:
                bites = row["teeth"] == "bites"
                checks.append(CheckRecord(f"{prefix}: teeth {row['assertion']}", "ok" if bites else "failed",
                                          ("fails on the tampered report" if bites else
                                           "TOOTHLESS: still holds on the tampered report") +
                                          f" ({row['tampered_seen']})"))
    return RunResult({host: HostReport(host, checks)})
