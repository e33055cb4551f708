"""The matrix vocabulary (playbooks/matrix_scenario.yml): apply a scenario's config through the run's journal,
and the battery that proves it took: the stack's own state endpoint, the containers' environment, applying
again changes nothing, and the secrets on the host are untouched. They run inside `invoke matrix` (or an
`invoke e2e --mode matrix`), which owns the lease, the journal and the restore."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from orchestrator import redact
from orchestrator.errors import tail
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.modules.docker import _inspect
from orchestrator.modules.e2e import session_of
from orchestrator.modules.web import BODY_LIMIT, parse_answers
from orchestrator.ops import secretfiles
from orchestrator.ops.e2e import baseline
from orchestrator.ops.e2e.journal import script
from orchestrator.ops.e2e.session import Step
from orchestrator.ops.matrix import applied, stackop
from orchestrator.ops.parsers import docker_inspect


class MatrixApply(Module):
    name = "matrix_apply"
    doc = ("Set the scenario's KEY=value lines in the stack's config files on the host and let compose recreate "
           "what changed (journaled first: restore puts the files and the stack back). With unchanged: true it "
           "fails if compose recreated anything (idempotency).")
    params = {"dir": Param(str, required=True, doc="The stack directory compose runs in."),
              "settings": Param(list, required=True, doc="[file, key, value] triples."),
              "unchanged": Param(bool, default=False, doc="Expect nothing to be recreated."),
              "recreates": Param(list, doc="Expect exactly these services recreated (added or removed count too).")}

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        session = session_of(ctx)
        cfg = session.cfg
        triples = [str(x) for triple in a["settings"] for x in triple]
        files = [cfg.abs_path(f) for f in cfg.config_files]
        step = Step(f"apply {', '.join(f'{k}={v}' for _, k, v in a['settings'])}",
                    script(cfg.host, "MATRIX_APPLY", a["dir"], cfg.project, *triples, timeout=cfg.deploy_timeout,
                           title="set config keys and let compose recreate what changed", env=session.compose_env()),
                    undo=[script(cfg.host, "RESTORE_FILES", session.run_dir, *files, timeout=60,
                                 title="put back changed config files")])
        result = session.apply(step)
        done = applied.parse(result.stdout if result else "")
        data = done.public()
        if not result or not result.ok:
            return Outcome("failed", f"apply failed: {tail(result.stderr if result else '', lines=3)}", data)
        recreated = ", ".join(done.recreated()) or "nothing"
        if a["unchanged"]:
            if done.recreated():
                return Outcome("failed", f"applying the same scenario again recreated {recreated}", data)
            return Outcome("ok", "applying again recreated nothing (container ids unchanged)", data)
        keys = ", ".join(k.rsplit(" ", 1)[-1] for k in done.changed_keys) or "none"
        if a["recreates"] is not None:
            wanted = sorted({str(s) for s in a["recreates"]})
            if done.recreated() != wanted:
                return Outcome("failed", f"changed {keys}; compose recreated {recreated}, expected exactly "
                                         f"{', '.join(wanted) or 'nothing'}", data)
            return Outcome("ok", f"changed {keys}; compose recreated only {recreated}, as expected", data,
                           changed=True)
        return Outcome("ok", f"changed {keys}; compose recreated {recreated}", data, changed=True)


class MatrixRestart(Module):
    name = "matrix_restart"
    doc = ("compose restart of the stack's project, journaled first with an undo that brings the stack up; fails "
           "unless every container was restarted in place (same container, running, a new start time).")
    params = {"dir": Param(str, required=True, doc="The stack directory compose runs in.")}

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        cfg = session.cfg
        step = Step("restart the stack",
                    script(cfg.host, "MATRIX_STACK", "restart", args["dir"], cfg.project, timeout=cfg.deploy_timeout,
                           title="compose restart of the project", env=session.compose_env()),
                    undo=[script(cfg.host, "MATRIX_STACK", "up", args["dir"], cfg.project,
                                 timeout=cfg.deploy_timeout, title="bring the stack up",
                                 env=session.compose_env())])
        result = session.apply(step)
        done = stackop.parse(result.stdout if result else "")
        if not done.before:
            return Outcome("failed", "the project has no container to restart", done.public())
        missed = done.not_restarted()
        if missed:
            return Outcome("failed", f"compose restart left {', '.join(missed)} not restarted in place", done.public())
        services = ", ".join(sorted({c.service for c in done.before}))
        return Outcome("ok", f"compose restarted {services} in place (same containers, new start times)",
                       done.public(), changed=True)


class HttpJsonModule(Module):
    name = "http_json"
    doc = "GET a JSON endpoint from the host itself; each declared field must equal its value (compared as text)."
    params = {"url": Param(str, required=True), "fields": Param(dict, required=True),
              "timeout": Param((int, float), default=5)}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_probe(args["url"], args.get("timeout", 5)), float(args.get("timeout", 5)) + 5)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        out = host.run(_probe(a["url"], a["timeout"]), timeout=ctx.deadline.timeout(float(a["timeout"]) + 5),
                       warn=True).stdout
        (status, body), = parse_answers(out, _BOUNDARY, 1)
        if status != 200:
            return Outcome("failed", f"{a['url']} answered {status}")
        try:
            seen = json.loads(body)
        except ValueError:
            return Outcome("failed", f"{a['url']} did not answer JSON: {body[:200]!r}")
        wrong = [f"{k} is {_text(seen.get(k)) if isinstance(seen, dict) and k in seen else 'missing'}, "
                 f"expected {_text(v)}" for k, v in a["fields"].items()
                 if not isinstance(seen, dict) or _text(seen.get(k)) != _text(v)]
        if wrong:
            return Outcome("failed", f"{a['url']}: {'; '.join(wrong)}", {"seen": seen})
        return Outcome("ok", f"{a['url']} reports " + ", ".join(f"{k}={_text(v)}" for k, v in a["fields"].items()),
                       {"seen": seen})


_BOUNDARY = "--shakedown-http-json--"


def _probe(url: str, timeout: float) -> str:
    from orchestrator.host.shellcmd import call
    from orchestrator.modules.web import _HOST_PROBE

    return f"echo {_BOUNDARY}; {call(_HOST_PROBE, url, str(timeout), '0', str(BODY_LIMIT))}"


def _text(value: Any) -> str:
    """JSON true and YAML true, 16 and "16": the same text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class ContainerEnvModule(Module):
    name = "container_env"
    doc = ("The configuration reached the running containers: each listed service's container has each "
           "KEY=value in its environment (keys that name secrets are refused: their values are never compared).")
    params = {"project": Param(str, required=True), "env": Param(dict, required=True,
                                                                  doc="service -> {KEY: value}")}

    def check_args(self, args: dict[str, Any], *, skip_templates: bool = False) -> list[str]:
        problems = super().check_args(args, skip_templates=skip_templates)
        env = args.get("env")
        if isinstance(env, dict):
            problems += [f"env key {k!r} of {service} names a secret: its value is never compared or shown"
                         for service, keys in env.items() if isinstance(keys, dict) for k in keys
                         if redact.looks_secret(str(k))]
        return problems

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_inspect(args["project"]), host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        result = host.run(_inspect(args["project"]), timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        if not result.ok:
            return Outcome("failed", f"cannot inspect the containers: {tail(result.stderr, lines=2)}")
        envs = _environments(result.stdout)
        checks = []
        for service, wanted in args["env"].items():
            env = envs.get(service)
            if env is None:
                checks.append(Check(service, "failed", f"no container of service {service}"))
                continue
            wrong = [f"{k}={env.get(k, '(unset)')}, expected {_text(v)}" for k, v in wanted.items()
                     if env.get(k) != _text(v)]
            checks.append(Check(service, "failed" if wrong else "ok", "; ".join(wrong) or
                                ", ".join(f"{k}={_text(v)}" for k, v in wanted.items())))
        return Outcome.from_checks(checks)


def _environments(text: str) -> dict[str, dict[str, str]]:
    """service -> its container's environment (the first container of each service)."""
    found: dict[str, dict[str, str]] = {}
    for item in docker_inspect.load(text or "[]"):
        service = ((item.get("Config") or {}).get("Labels") or {}).get(docker_inspect.SERVICE_LABEL)
        if service and service not in found:
            found[service] = dict(e.partition("=")[::2] for e in (item.get("Config") or {}).get("Env") or [])
    return found


class SecretsPreservedModule(Module):
    name = "secrets_preserved"
    doc = "The stack's secret values on the host hash the same as at the baseline (compared on the host, salted)."

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        session = session_of(ctx)
        before = _by_file(session.facts.get(session.cfg.host, {}).get("secrets", {}))
        after = _by_file(baseline.capture(host, baseline.stack_command(session.cfg, session.salt)).get("secrets", {}))
        # The matrix's own axis keys change on purpose: they are configuration (declared public), not secrets.
        changed = [f"{name}: {key}" for name in sorted(set(before) | set(after))
                   for key in sorted(set(before.get(name) or {}) | set(after.get(name) or {}))
                   if not secretfiles.is_public(key)
                   and (before.get(name) or {}).get(key) != (after.get(name) or {}).get(key)]
        if changed:
            return Outcome("failed", f"secret(s) changed or missing since the baseline: {', '.join(changed)}")
        count = sum(1 for v in after.values() for k in (v or {}) if not secretfiles.is_public(k))
        return Outcome("ok", f"{count} secret(s) unchanged (salted hashes on the host)")


def _by_file(secrets: dict[str, Any]) -> dict[str, Any]:
    """Secret fingerprints keyed by file name: an e2e --mode matrix reads the branch checkout's copy of the
    stack's .env, whose baseline is the canonical checkout's."""
    return {posixpath.basename(path): keys for path, keys in secrets.items()}


MODULES_MATRIX = (MatrixApply, MatrixRestart, HttpJsonModule, ContainerEnvModule, SecretsPreservedModule)
