"""Rules as data (triage's symptom -> cause table, verify's stop-release rules): a YAML list of mappings, each
with a Jinja2 `when` over gathered facts, an optional `for_each` list, and text fields rendered per hit.

One loader and one evaluator for every such table, so a rule file is checked the same way everywhere (file:line,
misspelt keys, expressions that do not parse) and a rule that cannot be evaluated is reported, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator import templating
from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput


@dataclass(frozen=True)
class Rule:
    fields: dict[str, Any]  # everything but when/for_each, as written
    when: str | bool
    for_each: str | None
    where: str


@dataclass(frozen=True)
class Hit:
    rule: Rule
    rendered: dict[str, Any]  # the rule's rendered fields for this hit
    error: str = ""  # the rule could not be evaluated (rendered is then the rule's fields as written)


def load(path: Path, *, required: tuple[str, ...], optional: tuple[str, ...] = (), what: str = "rule",
         check: Any = None) -> list[Rule]:
    """The rule list at `path`; bad input names file:line. `check(raw, where)` adds a table's own checks."""
    data = yamlsrc.load(path)
    if not isinstance(data, list):
        raise BadInput(f"{path}:1: {what}s are a list of {{{', '.join(required)}}} mappings")
    allowed = sorted({*required, *optional, "when", "for_each"})
    rules = []
    for raw in data:
        where = yamlsrc.where(raw, None, f"{path}:1")
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: a {what} must be a mapping")
        yamlsrc.reject_unknown(raw, allowed, f"{what} key", where)
        for key in (*required, "when"):
            if key not in raw:
                raise BadInput(f"{where}: {what} needs {key!r}")
        for key in ("when", "for_each"):
            if isinstance(raw.get(key), str):
                try:
                    templating.required_names(raw[key], condition=True)
                except templating.TemplateError as exc:
                    raise BadInput(f"{yamlsrc.where(raw, key, where)}: {exc}") from None
        if check is not None:
            check(raw, where)
        fields = {k: v for k, v in raw.items() if k not in ("when", "for_each")}
        rules.append(Rule(fields, raw["when"], raw.get("for_each"), where))
    return rules


def evaluate(rules: list[Rule], facts: dict[str, Any], render: tuple[str, ...]) -> list[Hit]:
    """Every hit of every rule, its `render` fields rendered with `item` (for_each) in scope."""
    hits = []
    for rule in rules:
        try:
            items = [None] if rule.for_each is None else templating.render("{{ " + rule.for_each + " }}", facts)
            for item in items or []:
                scope = {**facts, "item": item}
                if templating.evaluate(rule.when, scope):
                    hits.append(Hit(rule, {k: templating.render(v, scope) if k in render and v is not None else v
                                           for k, v in rule.fields.items()}))
        except templating.TemplateError as exc:
            hits.append(Hit(rule, dict(rule.fields), f"rule at {rule.where} could not be evaluated: {exc}"))
    return hits
