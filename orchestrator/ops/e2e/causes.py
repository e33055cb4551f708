"""Likely root causes of failing tests: a table as data (the stack's own `test_causes` file in its repository,
else playbooks/rules/test_causes.yml): a test name or pattern -> the likely cause -> where to look.

    - test: "frontend reports VERSION"        # a name, a glob (`checkout *`), or ~regex
      cause: the frontend serves another build than VERSION: a partial deploy or a stale image
      look: logs/sample_frontend_1.log
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput
from orchestrator.paths import RULES_DIR

DEFAULT_FILE = RULES_DIR / "test_causes.yml"
KEYS = ("test", "cause", "look")


@dataclass(frozen=True)
class Cause:
    test: str
    cause: str
    look: str
    where: str

    def matches(self, name: str) -> bool:
        if self.test.startswith("~"):
            return re.search(self.test[1:], name) is not None
        return fnmatch.fnmatchcase(name, self.test)


def parse(data: Any, source: str) -> list[Cause]:
    """The table from YAML already loaded; bad input names file:line."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise BadInput(f"{source}:1: test causes are a list of {{test, cause, look}} mappings")
    found = []
    for raw in data:
        where = yamlsrc.where(raw, None, f"{source}:1")
        if not isinstance(raw, dict):
            raise BadInput(f"{where}: a test cause must be a mapping")
        yamlsrc.reject_unknown(raw, list(KEYS), "test cause key", where)
        if not raw.get("test") or not raw.get("cause"):
            raise BadInput(f"{where}: a test cause needs `test` (a name, glob or ~regex) and `cause`")
        test = str(raw["test"])
        if test.startswith("~"):
            try:
                re.compile(test[1:])
            except re.error as exc:
                raise BadInput(f"{where}: test {test!r}: {exc}") from None
        found.append(Cause(test, str(raw["cause"]), str(raw.get("look") or ""), where))
    return found


def load_text(text: str, source: str) -> list[Cause]:
    return parse(yamlsrc.loads(text, source), source)


def load_default(path: Path = DEFAULT_FILE) -> list[Cause]:
    return parse(yamlsrc.load(path), str(path)) if path.exists() else []


def explain(name: str, table: list[Cause]) -> Cause | None:
    """The first cause whose pattern matches the failing test's name."""
    return next((c for c in table if c.matches(name)), None)
