"""shakedown's command line: `invoke --list`. Tasks are thin; the work is in orchestrator/.

Imports of the orchestrator happen inside each task so that `invoke --list` and --help stay fast.
"""

from __future__ import annotations

from invoke import Collection, Exit, task

COMMON_HELP = {
    "host": "Host, group, `all` or `local`; comma lists allowed (default: all).",
    "inventory": "Inventory file (default: $SHAKEDOWN_INVENTORY, else inventory/lab.yml).",
    "json": "Print the machine-readable result on stdout (the table goes to stderr).",
    "forks": "Hosts worked on in parallel (default 10).",
}


@task(help=COMMON_HELP, auto_shortflags=False)
def check(c, host="all", inventory=None, json=False, forks=10):
    """Read-only health of hosts: SSH, Docker, compose containers, disk, HTTP probes (playbooks/check.yml).

    Exit codes: 0 pass, 1 a check failed, 2 bad input, 3 host unreachable / infrastructure error.
    """
    from orchestrator.cli import run_playbook_task

    code = run_playbook_task("check", host=host, inventory_path=inventory, as_json=json, forks=int(forks))
    if code:
        raise Exit(code=code)


@task(name="up")
def lab_up(c):
    """Start the local lab (root): sshd + dockerd per host on loopback, and the sample stack on dev."""
    from orchestrator.cli import run_lab

    run_lab("up")


@task(name="down", help={"purge": "Also delete the lab's state (keys, engines' data, stack)."})
def lab_down(c, purge=False):
    """Stop the lab's sshd and dockerd processes (by their pid files)."""
    from orchestrator.cli import run_lab

    run_lab("down", purge=purge)


@task(name="status", help={"json": "Print the lab's hosts as JSON (ssh, docker_host, stack_dir, up)."})
def lab_status(c, json=False):
    """Show the lab's hosts and whether each is up."""
    from orchestrator.cli import run_lab

    run_lab("status", as_json=json)


lab = Collection("lab", lab_up, lab_down, lab_status)
ns = Collection(check, lab)
