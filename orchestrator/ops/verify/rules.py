"""Stop-release rules (playbooks/rules/verify.yml): id, severity, condition over verify's facts, message.

A P0 hit stops the release: verify exits 1 with the rule's id and message first, whatever else it found (a
certain "no" outranks a check that could not run). P1/P2 hits are reported and written to the evidence entry
but do not stop the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.ops import ruletable
from orchestrator.paths import RULES_DIR

RULES_FILE = RULES_DIR / "verify.yml"
SEVERITIES = ("P0", "P1", "P2")
STOPS = "P0"


@dataclass(frozen=True)
class Stop:
    id: str
    severity: str
    message: str

    @property
    def stops_release(self) -> bool:
        return self.severity == STOPS


def load(path: Path = RULES_FILE) -> list[ruletable.Rule]:
    seen: dict[str, str] = {}

    def check(raw: dict[str, Any], where: str) -> None:
        if raw["severity"] not in SEVERITIES:
            raise BadInput(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {raw['severity']!r}")
        rule_id = str(raw["id"])
        if rule_id in seen:
            raise BadInput(f"{where}: rule id {rule_id} is already used at {seen[rule_id]}")
        seen[rule_id] = where

    return ruletable.load(path, required=("id", "severity", "message"), what="stop-release rule", check=check)


def evaluate(rules: list[ruletable.Rule], facts: dict[str, Any]) -> list[Stop]:
    """Every hit; a rule that cannot be evaluated stops the release too (its silence would be a false pass)."""
    return [Stop(str(hit.rule.fields["id"]), STOPS if hit.error else str(hit.rule.fields["severity"]),
                 hit.error or str(hit.rendered["message"]))
            for hit in ruletable.evaluate(rules, facts, render=("message",))]
