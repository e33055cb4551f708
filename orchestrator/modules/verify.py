"""invoke verify's vocabulary (playbooks/verify.yml): the deployed checkout and where secrets leaked, version
pairs, CI's word (Woodpecker), and the stop-release rules over all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops import secretfiles
from orchestrator.ops.ci import token as ci_token
from orchestrator.ops.ci.watch import Repo, watch
from orchestrator.ops.ci.woodpecker import Client
from orchestrator.ops.verify import live, rules

STATE_WORDS = {"pass": "ok", "fail": "failed", "blocked": "error"}


class DeployedStackModule(Module):
    name = "deployed_stack"
    doc = ("The stack checkout's commit, branch and untracked files, and where a known secret value shows up in "
           "the containers' current logs or in untracked files (read-only; only the places are kept).")
    params = {"stack_dir": Param(str, required=True),
              "project": Param(str, default="", doc="Compose project whose container logs are searched."),
              "lines": Param(int, default=500, doc="Log lines searched per container (its current run).")}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        a = self.with_defaults(args)
        files = secretfiles.paths(host.spec)
        return ([Read(secretfiles.read_command(files), 30)] if files else []) + [
            Read(live.command(a["stack_dir"], a["project"], a["lines"]), live.TIMEOUT)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        files = secretfiles.paths(host.spec)
        secretfiles.load(host, files)  # first: every later record of this run is redacted with them
        out = host.run(live.command(a["stack_dir"], a["project"], a["lines"]),
                       timeout=ctx.deadline.timeout(live.TIMEOUT), warn=True).stdout
        found = live.parse(out, redact.current().known, files)
        if found.problem:
            return Outcome("skipped", found.problem, found.facts())
        reason = (f"{found.branch} at {found.commit[:12]}; {len(found.untracked)} untracked file(s); "
                  f"searched the current logs of {len(found.logs_read)} container(s)")
        return Outcome("ok", reason, found.facts())


class VersionPairsModule(Module):
    name = "version_pairs"
    doc = "Pairs of HTTP probes (by name) whose served versions must agree; both values are named when they differ."
    params = {"pairs": Param(list, required=True), "probes": Param(list, required=True,
                                                                   doc="The http_probes task's registered checks.")}

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        served = {c["name"]: (c.get("data") or {}).get("served_version") for c in args["probes"]}
        checks, facts = [], []
        for left, right in args["pairs"]:
            label = f"{left} = {right}"
            lv, rv = served.get(left), served.get(right)
            if lv is None or rv is None:
                missing = left if lv is None else right
                checks.append(Check(label, "skipped", f"{missing} served no version to compare"))
                continue
            agree = lv == rv
            facts.append({"left": left, "right": right, "left_version": lv, "right_version": rv, "agree": agree})
            checks.append(Check(label, "ok" if agree else "failed",
                                f"both serve {lv}" if agree else f"{left} serves {lv} but {right} serves {rv}"))
        outcome = Outcome.from_checks(checks) if checks else Outcome("skipped", "no version pairs declared")
        outcome.data["pairs"] = facts
        return outcome


class CiPipelinesModule(Module):
    name = "ci_pipelines"
    doc = ("CI's word (Woodpecker): per declared repo, the pipeline that built what is deployed, waited on until "
           "final; success passes, failure/error/killed/canceled/declined fail, not final in time is blocked.")
    params = {"ci": Param(dict, required=True, doc="The host's `ci` declaration."),
              "wait": Param((int, float), default=None, doc="Seconds to wait for final pipelines (default ci.wait)."),
              "commit": Param(str, default="", doc="The deployed checkout's commit (for match: commit)."),
              "version": Param(str, default="", doc="The deployed VERSION (for match: version).")}
    own_check_names = True

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        ci = a["ci"]
        wait = float(a["wait"] if a["wait"] is not None else ci.get("wait", 120))
        token = ci_token.load(ci, host.spec.origins.get("ci", "inventory"))
        repos = [Repo.from_decl(r) for r in ci["repos"]]
        with Client(ci["server"], token, timeout=float(ci.get("timeout", 10))) as client:
            words = watch(client, repos, commit=a["commit"], version=a["version"].strip(), wait=wait,
                          poll=float(ci.get("poll", 2)), secrets=redact.current().known)
        checks = [Check(f"ci: {w.repo.name}", STATE_WORDS[w.state], w.reason, w.facts()) for w in words]
        outcome = Outcome.from_checks(checks)
        outcome.data.update({"repos": [w.facts() for w in words],
                             "secret_hits": [h for w in words for h in w.secret_hits], "wait": wait})
        return outcome


class ReleaseRulesModule(Module):
    name = "release_rules"
    doc = ("The stop-release rules (playbooks/rules/verify.yml) over verify's facts: a P0 hit fails and decides "
           "the verdict; P1/P2 hits are warnings.")
    params = {"facts": Param(dict, required=True),
              "rules": Param(str, default=str(rules.RULES_FILE), doc="The rules file.")}
    own_check_names = True

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        table = rules.load(Path(a["rules"]))
        stops = rules.evaluate(table, {**host.spec.vars, **a["facts"]})
        checks = [Check(f"{s.severity} {s.id}", "failed" if s.stops_release else "ok",
                        s.message if s.stops_release else f"warning, does not stop the release: {s.message}",
                        {"rule": s.id, "severity": s.severity, "decisive": s.stops_release}) for s in stops]
        return Outcome.from_checks(checks or [Check("stop-release rules", "ok",
                                                    f"none of the {len(table)} rules holds")])


MODULES_VERIFY = (DeployedStackModule, VersionPairsModule, CiPipelinesModule, ReleaseRulesModule)
