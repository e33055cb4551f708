"""`invoke restore`: finish an interrupted e2e from the host's journal (idempotent).

It refuses while the lease's holder may be alive (unless --force). Unlike the restore at the end of an
e2e, this one obeys SIGINT/SIGTERM (exit 3, the host command ended): every undo is idempotent and the
journal stays until a restore is verified, so running `invoke restore` again finishes the job.
"""

from __future__ import annotations

from orchestrator.errors import EXIT_INFRA, EXIT_PASS, ShakedownError
from orchestrator.host import Host
from orchestrator.ops.e2e import config, lease, restore
from orchestrator.procedures.targets import select
from orchestrator.run.task import Run


def run_restore(run: Run, host: str, inventory_path: str | None, force: bool) -> int:
    inv, targets = select(inventory_path, host, exactly_one="restore")
    spec = targets[0]
    cfg = config.load(spec, need_tests=False, known_hosts=set(inv.hosts))
    hosts: dict[str, Host] = {}

    def host_for(name: str) -> Host:
        if name not in inv.hosts:
            raise ShakedownError(f"journal names host {name!r}, which is not in {inv.path}")
        return hosts.setdefault(name, Host(inv.hosts[name]))

    try:
        target = host_for(spec.name)
        held, now, _ = lease.status(target, cfg.state_dir)
        if lease.live(held, now) and not force:
            raise lease.LeaseHeld(f"{spec.name}: leased by {held.describe(now)}; that run may still be restoring "
                                  "it. If it is dead, rerun with --force")
        done = restore.restore(target, cfg.state_dir, host_for, ready_timeout=cfg.ready_timeout, echo=run.echo)
        if not done.found_journal and held is not None:
            done.lease = lease.release(target, cfg.state_dir, held.run_id)
            run.echo(f"{spec.name}: no unfinished journal; released the lease of run {held.run_id}")
    finally:
        for h in hosts.values():
            h.close()
    code = EXIT_PASS if done.ok else EXIT_INFRA
    run.consoles.json({"verdict": "pass" if done.ok else "error", "exit_code": code, "run_id": run.run_id,
                       "restored_run": done.run_id, "found_journal": done.found_journal, "undone": done.undone,
                       "verified": done.verified, "problems": done.problems, "lease": done.lease, "hosts": {}})
    _say(run, spec.name, done)
    return code


def _say(run: Run, name: str, done: restore.Restored) -> None:
    console = run.consoles.out
    if not done.found_journal:
        console.print(f"{name}: nothing to restore (no unfinished journal)", highlight=False)
    elif done.ok:
        console.print(f"[green]restored[/] run {done.run_id} on {name}: {'; '.join(done.verified)}", highlight=False)
    else:
        console.print(f"[bold red]RESTORE NOT VERIFIED[/] on {name}: {'; '.join(done.problems)}", highlight=False)
