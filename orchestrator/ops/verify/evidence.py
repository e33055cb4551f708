"""The regression-evidence entry verify appends to the team's log (default artifacts/evidence.md).

The team's own format, one entry per host and run:

    ### 2026-12-01 - <summary>
    - Target: ...
    - Versions: backend ..., frontend ..., scanner ...
    - CI: backend #N status, ...
    - Commands: `invoke verify --host dev`
    - Result: pass | fail | blocked
    - Residual risk: what was not checked
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESULT_WORDS = {0: "pass", 1: "fail", 3: "blocked"}


@dataclass
class Entry:
    date: str
    summary: str
    target: str
    versions: list[str]
    ci: list[str]
    command: str
    result: str
    stops: list[str] = field(default_factory=list)
    residual: list[str] = field(default_factory=list)
    run: str = ""

    def markdown(self) -> str:
        lines = [f"### {self.date} - {self.summary}", "",
                 f"- Target: {self.target}",
                 f"- Versions: {', '.join(self.versions) or 'none read'}",
                 f"- CI: {', '.join(self.ci) or 'not asked'}",
                 f"- Commands: `{self.command}`",
                 f"- Result: {self.result}"]
        if self.stops:
            lines.append(f"- Stop-release: {'; '.join(self.stops)}")
        lines.append(f"- Residual risk: {'; '.join(self.residual) or 'none noticed'}")
        if self.run:
            lines.append(f"- Run: {self.run}")
        return "\n".join(lines) + "\n\n"
