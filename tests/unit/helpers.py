"""Small helpers shared by the unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(path: Path, text: str) -> Path:
    """Write dedented `text` to `path` and return the path."""
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
