"""Triage vocabulary (playbooks/triage.yml): gather the incident bundle, write it, and name what looks
wrong with its likely cause, by the symptom rules of playbooks/rules/triage.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.triage import bundle, rules


class TriageModule(Module):
    name = "triage"
    doc = ("Read-only incident bundle (containers, inspect without env values, logs, disk, versions, config, "
           "HTTP answers; redacted) into the run directory, and one check per symptom the rules find.")
    params = {"lines": Param(int, default=200, doc="Log lines kept per service."),
              "rules": Param(str, default=str(rules.RULES_FILE), doc="The symptom -> cause table.")}
    own_check_names = True

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return bundle.reads(host, self.with_defaults(args)["lines"])

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        table = rules.load(Path(a["rules"]))
        found = bundle.collect(host, a["lines"])
        run_dir = ctx.resources.get("run_dir")
        if run_dir is not None:
            bundle.write(run_dir / host.name, found)
        findings = rules.evaluate(table, {**host.spec.vars, **found.facts})
        checks = [Check(f.symptom, "failed", str(redact.scrub(f.cause)), {"evidence": f.evidence}) for f in findings]
        return Outcome.from_checks(checks or [Check("symptoms", "ok", f"none of the {len(table)} known symptoms")])


class EvidenceModule(Module):
    name = "evidence"
    doc = ("Write the host's incident bundle (containers, inspect without env values, last log lines, disk, "
           "versions, config files, HTTP answers; all redacted) into this run's directory.")
    params = {"lines": Param(int, default=200, doc="Log lines kept per service."),
              "under": Param(str, default="", doc="A folder inside the host's (e.g. a matrix scenario's name).")}

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        run_dir = ctx.resources.get("run_dir")
        if run_dir is None:
            return Outcome("skipped", "no run directory to write evidence into")
        folder = run_dir / host.name / a["under"] if a["under"] else run_dir / host.name
        count = bundle.write(folder, bundle.collect(host, a["lines"]))
        return Outcome("ok", f"{count} file(s) of evidence in {folder}")


MODULES_TRIAGE = (TriageModule, EvidenceModule)
