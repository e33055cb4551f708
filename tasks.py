"""shakedown's command line: `invoke --list`. Tasks are thin; the work is in orchestrator/.

Imports of the orchestrator happen inside each task so that `invoke --list` and --help stay fast.
Number flags have string defaults on purpose: Invoke would otherwise cast them itself and answer a
non-number with a traceback; orchestrator/cli/flags.py parses them and names the flag (exit 2).
"""

from __future__ import annotations

from invoke import Collection, Exit, task

COMMON_HELP = {
    "host": "Host, group, `all` or `local`; comma lists allowed (default: all).",
    "inventory": "Inventory file (default: $SHAKEDOWN_INVENTORY, else inventory/lab.yml).",
    "json": "Print the machine-readable result on stdout (the table goes to stderr).",
    "forks": "Hosts worked on in parallel (default 10).",
}
NO_FORKS_HELP = {k: v for k, v in COMMON_HELP.items() if k != "forks"}  # tasks that work host by host


@task(help=COMMON_HELP, auto_shortflags=False)
def check(c, host="all", inventory=None, json=False, forks="10"):
    """Read-only health of hosts: SSH, Docker, compose containers, disk, HTTP probes (playbooks/check.yml).

    Exit codes: 0 pass, 1 a check failed, 2 bad input, 3 host unreachable / infrastructure error.
    """
    from orchestrator.cli import run_playbook_task

    _exit(run_playbook_task("check", host=host, inventory_path=inventory, as_json=json, forks=forks))


@task(help={**NO_FORKS_HELP,
            "host": "The host to borrow (exactly one; default dev).",
            "branch": "Branch of the stack's repository to deploy and test (validated as a git ref name).",
            "mode": "`targeted` (default): health checks and the stack's test command; `check`: health checks only; "
                    "`matrix`: health checks, then playbooks/matrix.yml (with --lifecycle and --faults) on the branch.",
            "keep": "Leave the branch deployed (no restore); the lease and journal stay for `invoke restore`.",
            "dry_run": "Print the whole plan (commands per host) and change nothing.",
            "test_timeout": "Seconds the test command may run (default 600); killed on the host after that.",
            "ready_timeout": "Seconds to wait for readiness (default: the inventory's ready_timeout)."},
      auto_shortflags=False)
def e2e(c, branch=None, host="dev", inventory=None, mode="targeted", keep=False, dry_run=False, test_timeout="600",
        ready_timeout=None, json=False):
    """Borrow a host, deploy --branch, wait until ready, test it, and restore the host exactly (playbooks/e2e.yml).

    Exit codes: 0 GREEN, 1 RED (the branch failed), 2 bad input, 3 infrastructure (unreachable, leased,
    interrupted, or the restore could not be verified).
    """
    from orchestrator.cli import run_e2e

    code = run_e2e(host=host, branch=branch, inventory_path=inventory, mode=mode, keep=keep, dry_run=dry_run,
                   test_timeout=test_timeout, ready_timeout=ready_timeout, as_json=json)
    _exit(code)


@task(help={"host": "The host to restore (one).", "inventory": COMMON_HELP["inventory"], "json": COMMON_HELP["json"],
            "force": "Restore even though the lease's holder may still be alive (it runs on another machine)."},
      auto_shortflags=False)
def restore(c, host=None, inventory=None, force=False, json=False):
    """Finish an interrupted e2e from the journal on the host: undo, verify, release the lease.

    Exit codes: 0 restored (or nothing to restore), 2 bad input, 3 leased by a live run or not verified.
    """
    from orchestrator.cli import run_restore

    code = run_restore(host=host, inventory_path=inventory, force=force, as_json=json)
    _exit(code)


@task(help={**COMMON_HELP,
            "host": "Agent host(s) to clean (default: the `agents` group).",
            "dry_run": "Show what would be removed; remove nothing.",
            "older_than": "Prune stopped containers, unused images and build cache older than this (default 72h).",
            "lock_wait": "Seconds to wait for the host's prune lock before giving up (default 60).",
            "timeout": "Seconds each prune step may take; killed on the host after that (default 600).",
            "kill_stuck": "End stuck prunes (by pid, after printing them) before pruning.",
            "stuck_after": "Seconds after which a prune or the held lock counts as stuck (default: inventory)."},
      auto_shortflags=False)
def prune(c, host="agents", inventory=None, dry_run=False, older_than="72h", lock_wait="60", timeout="600",
          kill_stuck=False, stuck_after=None, json=False, forks="10"):
    """Locked, time-bounded Docker cleanup on CI agents: stopped containers, images, build cache — never volumes.

    Exit codes: 0 pruned, 1 stuck prunes left running, 2 bad input, 3 lock not obtained, a step timed out,
    or the host is unreachable.
    """
    from orchestrator.cli import run_prune

    code = run_prune(host=host, inventory_path=inventory, dry_run=dry_run, older_than=older_than,
                     lock_wait=lock_wait, timeout=timeout, kill_stuck=kill_stuck, stuck_after=stuck_after,
                     as_json=json, forks=forks)
    _exit(code)


@task(help={**COMMON_HELP, "host": "Host, group or `all` (default dev).",
            "lines": "Log lines kept per service in the bundle (default 200)."},
      auto_shortflags=False)
def triage(c, host="dev", inventory=None, lines="200", json=False, forks="10"):
    """Incident bundle (read-only): containers, health, logs, disk, versions, config — all redacted — and
    what looks wrong with its likely cause (rules in playbooks/triage.yml).

    Exit codes: 0 nothing known is wrong, 1 symptoms found, 2 bad input, 3 host unreachable.
    """
    from orchestrator.cli import run_triage

    code = run_triage(host=host, inventory_path=inventory, lines=lines, as_json=json, forks=forks)
    _exit(code)


@task(help={**COMMON_HELP, "host": "Host, group or `all` to verify (default dev).",
            "wait": "Seconds to wait for CI pipelines to become final (default: the inventory's ci.wait).",
            "no_ci": "Verify the live state only; the evidence entry records that CI was not asked.",
            "evidence": "Regression-evidence log to append the entry to (default artifacts/evidence.md).",
            "summary": "The evidence entry's title (default: post-deploy verification of HOST at VERSION)."},
      auto_shortflags=False)
def verify(c, host="dev", inventory=None, wait=None, no_ci=False, evidence=None, summary=None, json=False, forks="10"):
    """Post-deploy verification: live state (containers, probes, version pairs, leaked secrets) plus CI's word
    (Woodpecker), judged by the stop-release rules (playbooks/rules/verify.yml); appends an evidence entry.

    Exit codes: 0 pass, 1 a P0 rule or a check failed, 2 bad input, 3 blocked (CI not final in time, CI or
    host unreachable).
    """
    from orchestrator.cli import run_verify

    code = run_verify(host=host, inventory_path=inventory, wait=wait, no_ci=no_ci, evidence=evidence,
                      summary=summary, as_json=json, forks=forks)
    _exit(code)


@task(help={"hosts": "Fleet size for the fan-out comparison (default 10; the lab starts them on loopback).",
            "runs": "Measured runs of each contender after one warm-up (default 5).",
            "json": "Print the results as JSON (they are always written to --out too).",
            "out": "Results file (JSON; a Markdown twin is written beside it). Default: artifacts/bench-<time>.json.",
            "log_mb": "Size of the generated log the redactor is measured on (default 100 MB).",
            "commands": "Commands timed on one open connection (default 100).",
            "flows": "Marketplace flows per concurrency level for `invoke flow` vs Locust (default 64; 0: no flows "
                     "table).",
            "flow_concurrency": "Concurrency levels of the flows table (comma list, default 1,8,32).",
            "flow_runs": "Runs of each flows contender at each level after one warm-up (default 3).",
            "only": "Only these comparisons (comma list of check, fan-out, per-command, redactor, startup, e2e, "
                    "link, flows; default all)."},
      auto_shortflags=False)
def bench(c, hosts="10", runs="5", json=False, out=None, log_mb="100", commands="100", flows="64",
          flow_concurrency="1,8,32", flow_runs="3", only=None):
    """Speed side by side, in one run on the lab: shakedown vs one batched plain ssh vs ansible-playbook,
    fan-out, per-command overhead vs OpenSSH ControlMaster, the redactor, CLI start-up, `invoke flow` vs Locust
    on the lab marketplace (needs root: lab)."""
    from orchestrator.cli import run_bench

    code = run_bench(hosts=hosts, runs=runs, as_json=json, out=out, log_mb=log_mb, commands=commands, flows=flows,
                     flow_concurrency=flow_concurrency, flow_runs=flow_runs, only=only)
    _exit(code)


@task(help={"host": "The host the matrix runs on (exactly one; default dev). Not read by --list or --merge.",
            "inventory": COMMON_HELP["inventory"],
            "json": "--list: print the listing as JSON (list.schema.json); otherwise the run's result, as every task.",
            "matrix": "The matrix file (default playbooks/matrix.yml).",
            "list": "Print the scenarios, their shards and every axis value's coverage; contact nothing.",
            "scenario": "Only these scenarios (comma list); with --shard, those of them in the shard.",
            "shard": "I/N: run (or list) shard I of N; the N shards are disjoint and together the whole matrix.",
            "lifecycle": "Also check each scenario survives the stack's restart (runtime option).",
            "faults": "Also inject the matrix's faults in each scenario (runtime option).",
            "keep": "Leave the host on the last scenario instead of putting its baseline back.",
            "merge": "Run directory (or report.json) of a shard run to merge; repeat the flag or give a comma list. "
                     "Writes one new run with the merged result."},
      iterable=["merge"], auto_shortflags=False)
def matrix(c, host="dev", inventory=None, matrix=None, list=False, scenario=None, shard=None, lifecycle=False,
           faults=False, keep=False, merge=None, json=False):
    """Live configuration matrix on one host (playbooks/matrix.yml): every value of every axis is run by at least
    one scenario; shards split it over CI jobs and --merge combines their runs into one report.

    Exit codes: 0 pass (--list: always), 1 a scenario failed, 2 bad input (matrix file, --shard, --scenario),
    3 infrastructure (host unreachable, a scenario no merged shard ran, interrupted).
    """
    from orchestrator.cli import run_matrix

    _exit(run_matrix(host=host, inventory_path=inventory, matrix_file=matrix, list_only=list, scenario=scenario,
                     shard=shard, lifecycle=lifecycle, faults=faults, keep=keep, merge=merge, as_json=json))


@task(help={"flow": "The flow: a name under playbooks/flows/ (e.g. marketplace) or a file path.",
            "host": "The inventory host whose flow_base_url and flow secrets are used (default dev).",
            "inventory": COMMON_HELP["inventory"], "json": COMMON_HELP["json"],
            "base_url": "The target's base URL (default: the host's flow_base_url).",
            "concurrency": "Concurrency levels, one after another: a comma list of worker counts (default 1).",
            "rounds": "Flows each worker runs per level, each with fresh actors (default 1).",
            "deadline": "Seconds the whole run may take, 429 waits included (default 600).",
            "strict": "Known gaps fail the run too (exit 1), like xfail strict.",
            "abort_on_failure": "Stop the run at the first missing required checkpoint.",
            "mode": "The flow's mode: which step lists run (default: the flow's default_mode)."},
      auto_shortflags=False)
def flow(c, flow=None, host="dev", inventory=None, base_url=None, concurrency="1", rounds="1", deadline="600",
         strict=False, abort_on_failure=False, mode=None, json=False):
    """Multi-actor HTTP flow (playbooks/flows/NAME.yml) as a concurrency ramp: checkpoints with known gaps,
    wrong-recipient checks, exact latency percentiles per endpoint; flow.json + flow.md in the run directory.

    Exit codes: 0 every flow passed, 1 a flow failed or a required checkpoint is missing (or a known gap under
    --strict), 2 bad input (flow file, flags, --mode, secrets file mode), 3 unreachable or rate-limited out.
    """
    from orchestrator.cli import run_flow

    _exit(run_flow(flow=flow, host=host, inventory_path=inventory, base_url=base_url, concurrency=concurrency,
                   rounds=rounds, deadline=deadline, strict=strict, abort_on_failure=abort_on_failure, mode=mode,
                   as_json=json))


@task(help={"host": "The host each canary's e2e borrows (exactly one; default dev).",
            "inventory": COMMON_HELP["inventory"], "json": COMMON_HELP["json"],
            "file": "The canary file (default playbooks/canaries.yml).",
            "canary": "Only these canaries (comma list, or the flag repeated).",
            "tamper": "After the clean runs, prove every assertion that held fails on a report with its check "
                      "flipped; one that still holds is toothless (exit 1)."},
      iterable=["canary"], auto_shortflags=False)
def canaries(c, host="dev", inventory=None, file=None, canary=None, tamper=False, json=False):
    """Pinned branches with expected verdicts (playbooks/canaries.yml): each the real `invoke e2e`, judged by its
    exit code and assertions over its report, with a clean teardown and no leak.

    Exit codes: 0 every canary met, 1 a canary not met (or a toothless assertion under --tamper), 2 bad canary
    file (file:line) or a branch that moved from its pinned commit, 3 infrastructure (an e2e with no verdict).
    """
    from orchestrator.cli import run_canaries

    _exit(run_canaries(host=host, inventory_path=inventory, canaries_file=file, canary=canary, tamper=tamper,
                       as_json=json))


@task(help={"list": "Print every host, group and host's merged variables (ansible-inventory --list's JSON).",
            "inventory": COMMON_HELP["inventory"],
            "host": "Only the hosts this Ansible host pattern selects (like ansible-inventory --limit)."},
      auto_shortflags=False)
def inventory(c, list=False, inventory=None, host=None):
    """The inventory as shakedown resolves it, in the JSON shape of `ansible-inventory --list`; contacts no host.

    Exit codes: 0 listed, 2 bad input (the inventory or the pattern, naming file:line or the pattern).
    """
    from orchestrator.cli import run_inventory

    _exit(run_inventory(list_only=list, inventory_path=inventory, host=host))


@task(help={"open": "Also open the index in the default web browser."}, auto_shortflags=False)
def report(c, open=False):
    """Rebuild artifacts/index.html (the recent runs: task, host, verdict, time, duration, each linking to its
    report.html) and print its path. Every run rebuilds it too; this is for after deleting runs, or to open it.
    """
    from orchestrator.cli import run_report

    _exit(run_report(open_browser=open))


@task(name="up")
def lab_up(c):
    """Start the local lab (root): sshd + dockerd per host on loopback, the sample stack on dev, and the
    latency-and-fault link in front of dev's sshd (inventory host dev-wan)."""
    from orchestrator.cli import run_lab

    _exit(run_lab("up"))


@task(name="down", help={"purge": "Also delete the lab's state (keys, engines' data, stack)."})
def lab_down(c, purge=False):
    """Stop the lab's link relay, sshd and dockerd processes (by their pid files)."""
    from orchestrator.cli import run_lab

    _exit(run_lab("down", purge=purge))


@task(name="status", help={"json": "Print the lab's hosts as JSON (ssh, docker_host, stack_dir, up, link)."})
def lab_status(c, json=False):
    """Show the lab's hosts and whether each is up."""
    from orchestrator.cli import run_lab

    _exit(run_lab("status", as_json=json))


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


lab = Collection("lab", lab_up, lab_down, lab_status)
ns = Collection(check, e2e, restore, prune, triage, verify, matrix, flow, canaries, bench, inventory, report, lab)
