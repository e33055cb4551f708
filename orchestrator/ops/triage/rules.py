"""The symptom -> cause table (playbooks/rules/triage.yml): data the team extends, evaluated over gathered facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.ops import ruletable
from orchestrator.paths import RULES_DIR

RULES_FILE = RULES_DIR / "triage.yml"
Rule = ruletable.Rule


@dataclass(frozen=True)
class Finding:
    symptom: str
    cause: str
    evidence: str | None


def load(path: Path = RULES_FILE) -> list[Rule]:
    return ruletable.load(path, required=("symptom", "cause"), optional=("evidence",))


def evaluate(rules: list[Rule], facts: dict[str, Any]) -> list[Finding]:
    """Every rule that holds; a rule whose expression fails is reported as its own finding, not skipped."""
    return [Finding(str(hit.rendered["symptom"]), hit.error or str(hit.rendered["cause"]),
                    None if hit.error else hit.rendered.get("evidence"))
            for hit in ruletable.evaluate(rules, facts, render=("cause", "evidence"))]
