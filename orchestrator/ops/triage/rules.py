"""The symptom -> cause table (playbooks/rules/triage.yml): data the team extends, evaluated over gathered facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import templating
from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput
from orchestrator.paths import RULES_DIR

RULE_KEYS = {"symptom", "for_each", "when", "cause", "evidence"}
RULES_FILE = RULES_DIR / "triage.yml"


@dataclass(frozen=True)
class Rule:
    symptom: str
    when: str | bool
    cause: str
    for_each: str | None
    evidence: str | None
    where: str


@dataclass(frozen=True)
class Finding:
    symptom: str
    cause: str
    evidence: str | None


def load(path: Path = RULES_FILE) -> list[Rule]:
    data = yamlsrc.load(path)
    if not isinstance(data, list):
        raise BadInput(f"{path}:1: triage rules are a list of {{symptom, when, cause}} mappings")
    rules = []
    for raw in data:
        where = yamlsrc.where(raw, None, f"{path}:1")
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: a rule must be a mapping")
        yamlsrc.reject_unknown(raw, sorted(RULE_KEYS), "rule key", where)
        for key in ("symptom", "when", "cause"):
            if key not in raw:
                raise BadInput(f"{where}: rule needs {key!r}")
        rule = Rule(str(raw["symptom"]), raw["when"], str(raw["cause"]), raw.get("for_each"), raw.get("evidence"),
                    where)
        for expression in (rule.when, rule.for_each):
            if isinstance(expression, str):
                try:
                    templating.required_names(expression, condition=True)
                except templating.TemplateError as exc:
                    raise BadInput(f"{where}: {exc}") from None
        rules.append(rule)
    return rules


def evaluate(rules: list[Rule], facts: dict[str, Any]) -> list[Finding]:
    """Every rule that holds; a rule whose expression fails is reported as its own finding, not skipped."""
    found = []
    for rule in rules:
        try:
            items = [None] if rule.for_each is None else templating.render("{{ " + rule.for_each + " }}", facts)
            for item in items or []:
                scope = {**facts, "item": item}
                if templating.evaluate(rule.when, scope):
                    evidence = templating.render(rule.evidence, scope) if rule.evidence else None
                    found.append(Finding(rule.symptom, str(templating.render(rule.cause, scope)), evidence))
        except templating.TemplateError as exc:
            found.append(Finding(rule.symptom, f"rule at {rule.where} could not be evaluated: {exc}", None))
    return found
