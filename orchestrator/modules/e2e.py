"""The e2e vocabulary: borrow peers, snapshot, deploy a branch, run the stack's tests, restore.

Each module describes its changes as Steps (command + undo) and applies them through the run's Session,
which journals every step on the host before making it. They only work inside `invoke e2e`, which
creates the session (orchestrator/procedures/e2e/runner.py); the restore is guaranteed there too, whatever the
playbook says.
"""

from __future__ import annotations

import dataclasses
import posixpath
import shlex
from pathlib import Path
from typing import Any

from orchestrator.errors import InfraError, ShakedownError
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.e2e import causes, lease, testrun
from orchestrator.ops.e2e.deploy import parse as parse_deployed
from orchestrator.ops.e2e.journal import Command, script
from orchestrator.ops.e2e.session import Session, Step
from orchestrator.ops.e2e.testresults import TestCase, parse_junit, parse_tap


def session_of(ctx: TaskContext) -> Session:
    session = ctx.resources.get("session")
    if not isinstance(session, Session):
        raise InfraError("this module only runs inside `invoke e2e` (it needs the run's journal and lease)")
    return session


class SessionModule(Module):
    def steps(self, session: Session, args: dict[str, Any]) -> list[Step]:
        raise NotImplementedError

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        for step in self.steps(session, self.with_defaults(args)):
            session.apply(step)
        return Outcome("ok", changed=True)


class BorrowPeers(SessionModule):
    name = "borrow_peers"
    doc = "Back up each e2e_peers file on its host, then repoint it (text replacements made on that host)."

    def steps(self, session: Session, args: dict[str, Any]) -> list[Step]:
        steps = []
        for peer in session.cfg.peers:
            backup = f"{peer.file}.shakedown-{session.run_id}"
            pairs = [x for old, new in peer.replace.items() for x in (old, new)]
            undo = [script(peer.host, "PEER_RESTORE", peer.file, backup, timeout=60, title=f"restore {peer.file}")]
            if peer.reload:
                undo.append(Command(peer.host, peer.reload, 120, f"reload {peer.host} after restore"))
            steps.append(Step(f"borrow {peer.host} ({peer.file})",
                              script(peer.host, "PEER_BORROW", peer.file, backup, *pairs, timeout=60,
                                     title=f"repoint {peer.file}"),
                              undo=undo,
                              cleanup=[Command(peer.host, f"rm -f -- {shlex.quote(backup)}", 30, "remove the backup")]))
            if peer.reload:
                steps.append(Step(f"reload {peer.host}", Command(peer.host, peer.reload, 120, "reload peer")))
        return steps

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        if not session.cfg.peers:
            return Outcome("skipped", "no e2e_peers declared for this host")
        super().run(host, args, ctx)
        return Outcome("ok", ", ".join(f"{p.host}:{p.file}" for p in session.cfg.peers), changed=True)


class Snapshot(SessionModule):
    name = "snapshot"
    doc = "Copy the stack's config files on the host (mode kept) so restore can put them back."

    def steps(self, session: Session, args: dict[str, Any]) -> list[Step]:
        files = [session.cfg.abs_path(f) for f in session.cfg.config_files]
        host = session.cfg.host
        return [Step("snapshot config files",
                     script(host, "SNAPSHOT", session.run_dir, *files, timeout=60, title="copy config files"),
                     undo=[script(host, "RESTORE_FILES", session.run_dir, *files, timeout=60,
                                  title="put back changed config files")])]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        super().run(host, args, ctx)
        facts = session.facts.get(session.cfg.host, {})
        keys = sum(len(v or {}) for v in facts.get("secrets", {}).values())
        summary = (f"{len(facts.get('files', {}))} config file(s) hashed and copied, {keys} secret(s) "
                   f"fingerprinted on the host, {len(facts.get('volumes', {}))} volume(s) and "
                   f"{len(facts.get('data', {}))} data dir(s) recorded")
        return Outcome("ok", summary, {"files": sorted(facts.get("files", {}))}, changed=True)


class DeployBranch(SessionModule):
    name = "deploy_branch"
    doc = ("Check the branch out in the e2e checkout (never the canonical one), seed it with the stack's "
           "config, build and start it under the same compose project (volumes are reused).")
    params = {"branch": Param(str, required=True)}

    def steps(self, session: Session, args: dict[str, Any]) -> list[Step]:
        cfg, host = session.cfg, session.cfg.host
        facts = session.facts.get(host, {})
        containers = facts.get("containers", {})
        pairs = [x for c in containers.values() for x in (c["image"], c["service"])]
        tag = session.run_id.lower()
        images = sorted({(c["image"], c["image_name"]) for c in containers.values()})
        stopped = sorted({c["service"] for c in containers.values() if c["state"] != "running"})
        files = [cfg.abs_path(f) for f in cfg.config_files]
        seeds = [f for f in cfg.config_files if not f.startswith("/")]
        pidfile = f"{session.run_dir}/deploy.pid"
        env = session.compose_env()
        protect = Step("protect baseline images",
                       script(host, "PROTECT_IMAGES", cfg.project, tag, *pairs, timeout=60,
                              title="tag baseline images"),
                       undo=[script(host, "UNPROTECT_IMAGES", cfg.project, tag, *pairs, timeout=60,
                                    title="drop baseline tags")])
        deploy = Step(f"deploy {args['branch']}",
                      script(host, "DEPLOY", cfg.stack_dir, cfg.checkout, session.repo, args["branch"], cfg.project,
                             *seeds, timeout=cfg.deploy_timeout, title="checkout, build and start the branch",
                             env=env),
                      undo=[script(host, "END_INFLIGHT", pidfile, timeout=60, title="end a running deploy"),
                            script(host, "RESTORE_FILES", session.run_dir, *files, timeout=60,
                                   title="put back changed config files"),
                            script(host, "REDEPLOY_BASELINE", cfg.stack_dir, cfg.project,
                                   *([x for pair in images for x in pair] + ["--stopped", *stopped]
                                     if containers else ["--down"]),
                                   timeout=cfg.deploy_timeout,
                                   title="redeploy the baseline images from the canonical checkout", env=env),
                            script(host, "DROP_BUILD_LEFTOVERS", *sorted(facts.get("engine", {})), timeout=120,
                                   title="remove containers the build left behind")],
                      pidfile=pidfile)
        return [protect, deploy]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        protect, deploy = self.steps(session, args)
        session.apply(protect)
        result = session.apply(deploy)
        deployed = parse_deployed(result.stdout if result else "")
        commit, version = deployed.commit, deployed.version
        baseline = {c["image"] for c in session.facts.get(session.cfg.host, {}).get("containers", {}).values()}
        built = sorted(set(deployed.images) - baseline)
        if built and not session.dry_run:
            session.journal.mutation("images built by the branch", session.cfg.host, undo=[], cleanup=[
                script(session.cfg.host, "DROP_IMAGES", *built, timeout=120, title="remove the branch's images")])
        data = {"commit": commit, "version": version, "checkout": session.cfg.checkout,
                "version_file": f"{session.cfg.checkout}/VERSION"}
        return Outcome("ok", f"{args['branch']} at {commit[:12]} (VERSION {version or 'unknown'})", data,
                       changed=True)


class StackTests(Module):
    name = "stack_tests"
    doc = ("Run the inventory's test_command on the host in the e2e checkout, detached (it survives an SSH "
           "drop), streaming its log; bounded by `timeout` seconds on the host.")
    params = {"timeout": Param((int, float), required=True)}
    own_check_names = True  # "tests" and "test: <name>", not "tests: test: <name>"

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        run_dir: Path | None = ctx.resources.get("run_dir")
        log_file = run_dir / host.name / "test.log" if run_dir else None
        result = testrun.run(session, float(args["timeout"]), log_file, session.echo)
        data = {"exit_code": result.exit_code, "reconnects": result.reconnects, "tail": result.tail[-20:]}
        reason = result.reason + (f" (re-attached after {result.reconnects} dropped connection(s))"
                                  if result.reconnects else "")
        if result.status == "error":  # cancelled or the host is gone: nothing to itemise
            return Outcome("error", reason, data)
        return itemised(host, session, Outcome(result.status, reason, data), log_file,  # type: ignore[arg-type]
                        result.tail)


def itemised(host: Host, session: Session, overall: Outcome, log_file: Path | None, tail: list[str]) -> Outcome:
    """The test command's own tests, one check each, with the likely cause of each failing one; a run that
    reported fewer tests than min_tests is not a pass. Without test_results: the exit code alone, said so."""
    cfg = session.cfg
    if not cfg.test_results:
        overall.reason += " (tests not itemised: no test_results declared in the inventory)"
        return overall
    try:
        cases = _cases(host, session, log_file, tail)
    except (ValueError, ShakedownError) as exc:
        return Outcome("failed", f"{overall.reason}; its {cfg.test_results} results could not be read: {exc}",
                       overall.data)
    table = _causes(host, session)
    checks = [_test_check(case, table) for case in cases]
    ran = sum(1 for c in cases if c.status != "skipped")
    failed = [c.name for c in cases if c.status == "failed"]
    overall.data["tests"] = {"ran": ran, "failed": len(failed), "skipped": len(cases) - ran}
    if overall.status == "ok" and ran < cfg.min_tests:
        head = Check("tests", "failed", f"ran no tests: the test command exited 0 but reported {ran} test(s) "
                     f"(at least {cfg.min_tests} expected, as {cfg.test_results})", overall.data)
    elif overall.status == "ok" and failed:
        head = Check("tests", "failed", f"exit 0, but {len(failed)} test(s) failed: {', '.join(failed)}",
                     overall.data)
    else:
        summary = f"{ran} test(s) ran, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else "")
        head = Check("tests", overall.status, f"{overall.reason}; {summary}", overall.data)
    return Outcome.from_checks([head, *checks], overall.data)


def _cases(host: Host, session: Session, log_file: Path | None, tail: list[str]) -> list[TestCase]:
    cfg = session.cfg
    if cfg.test_results == "tap":
        text = log_file.read_text(errors="replace") if log_file and log_file.exists() else "\n".join(tail)
        return parse_tap(text)
    path = posixpath.join(cfg.checkout, cfg.test_results or "")
    result = host.run(f"cat -- {shlex.quote(path)}", timeout=60, warn=True)
    if not result.ok:
        raise ValueError(f"cannot read {path}: {result.stderr.strip()[-200:]}")
    return parse_junit(result.stdout)


def _causes(host: Host, session: Session) -> list[causes.Cause]:
    """The stack's own table (test_causes, from the deployed checkout), else the one beside the playbooks."""
    cfg = session.cfg
    if cfg.test_causes:
        path = posixpath.join(cfg.checkout, cfg.test_causes)
        result = host.run(f"cat -- {shlex.quote(path)}", timeout=60, warn=True)
        if result.ok:
            return causes.load_text(result.stdout, f"{session.branch}:{cfg.test_causes}")
    return causes.load_default()


def _test_check(case: TestCase, table: list[causes.Cause]) -> Check:
    data: dict[str, Any] = {"test": case.name}
    reason = case.message or {"ok": "passed", "skipped": "skipped"}.get(case.status, "failed")
    if case.status == "failed":
        why = causes.explain(case.name, table)
        if why is not None:
            data.update(likely_cause=why.cause, look=why.look)
            reason += f" — likely cause: {why.cause}" + (f" (look at {why.look})" if why.look else "")
    return Check(f"test: {case.name}", case.status, reason, data, duration=case.duration)  # type: ignore[arg-type]


class Restore(Module):
    name = "restore"
    doc = "Undo every journaled change newest-first and verify the host against its baseline."

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        if "session" not in ctx.resources:
            raise InfraError("restore only runs inside `invoke e2e`; use `invoke restore --host NAME` otherwise")
        restorer = ctx.resources.get("restore")
        if restorer is None:
            later = ctx.resources.get("restore_later")
            return Outcome("skipped", later or "--keep: the host stays on the branch; lease and journal remain")
        done = restorer()
        if done.ok:
            return Outcome("ok", "; ".join(done.verified) or "nothing to restore", changed=bool(done.undone))
        return Outcome("error", "; ".join(done.problems))




class LeaseStatus(Module):
    name = "lease_status"
    doc = "Who holds the host's e2e lease, and whether an unfinished journal waits for `invoke restore`."
    params = {"state_dir": Param(str, required=True)}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(lease.status_command(args["state_dir"].rstrip("/")), host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        state_dir = args["state_dir"].rstrip("/")
        held, now, first = lease.status(host, state_dir)
        data: dict[str, Any] = {"lease": dataclasses.asdict(held) if held else None, "journal": first is not None}
        if first is not None:
            run_id = first.get("run_id")
            alive = lease.live(held, now) and held.run_id == run_id
            if not alive:
                return Outcome("failed", f"unfinished e2e journal of run {run_id} and nobody is running it: "
                                         f"run `invoke restore --host {host.name}`", data)
        if held is None:
            return Outcome("ok", "free (no e2e lease)", data)
        if held.expires <= now:
            return Outcome("failed", f"stale lease: {held.describe(now)}", data)
        return Outcome("ok", f"leased by {held.describe(now)}", data)


MODULES_E2E = [BorrowPeers, Snapshot, DeployBranch, StackTests, Restore, LeaseStatus]
