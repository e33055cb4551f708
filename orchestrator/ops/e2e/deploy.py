"""What deploy.sh reports once the branch runs: its commit and VERSION, and the images its containers run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deployed:
    commit: str
    version: str  # the first line of the branch's VERSION file ("" when it has none)
    images: list[str] = field(default_factory=list)  # image ids the project's running containers use, sorted


def parse(text: str) -> Deployed:
    """deploy.sh's output (compose's own lines among ours are ignored)."""
    lines = text.splitlines()
    found = dict(line.split(" ", 1) for line in lines if line.startswith(("COMMIT ", "VERSION ")))
    images = sorted({line.split()[1] for line in lines if line.startswith("IMAGE ")})
    return Deployed(found.get("COMMIT", "").strip(), found.get("VERSION", "").strip(), images)
