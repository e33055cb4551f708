"""What every borrowing run shares (e2e, matrix): the baseline it records first, and the restorer that puts the
host back from the journal (again at the end unless an earlier attempt verified), signals held off meanwhile."""

from __future__ import annotations

from orchestrator.errors import ShakedownError
from orchestrator.host import Host
from orchestrator.ops.e2e import baseline, lease, restore
from orchestrator.ops.e2e.restore import Restored
from orchestrator.ops.e2e.session import Session
from orchestrator.run.signals import SignalPolicy

LEASE_MARGIN = 900  # seconds on top of the run's own budgets before a lease counts as stale


def record_baselines(session: Session) -> None:
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


class Restorer:
    """Runs the journal restore; again at the end unless an earlier attempt (the playbook's) verified."""

    def __init__(self, session: Session, ready_timeout: float, signals: SignalPolicy):
        self.session, self.ready_timeout, self.signals = session, ready_timeout, signals
        self.last: Restored | None = None

    def once(self) -> Restored:
        with self.signals.protected():
            cfg = self.session.cfg
            self.last = restore.restore(self.session.target, cfg.state_dir, self._host_for,
                                        ready_timeout=self.ready_timeout, echo=self.session.echo)
            if not self.last.found_journal:  # the run died before its first journal entry
                self.last.lease = lease.release(self.session.target, cfg.state_dir, self.session.run_id)
            return self.last

    def final(self) -> tuple[Restored, bool]:
        if self.last is not None and self.last.ok:
            return self.last, False
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


