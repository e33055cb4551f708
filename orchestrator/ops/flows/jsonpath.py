"""A small JSON path evaluator for captures and expectations: `$`, `.name`, `['name']`, `[N]` (`[-1]` the last).

Captures only ever walk down one object (Tavern's `save: json:`, Hurl's `jsonpath "$.x"`), so filters, wildcards
and recursive descent are left out on purpose: a path either names one value or is refused when the flow file is
loaded, never at request time. jsonpath-ng would add a parser generator for features no capture needs.
"""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[(['\"])(.*?)\3\]")

Part = str | int


class PathError(ValueError):
    """The path is not in the supported syntax (the loader adds file:line)."""


class Missing(LookupError):
    """The document has nothing at the path: says where the walk stopped."""


def parse(path: str) -> tuple[Part, ...]:
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathError(f"JSON path {path!r} must start with `$`")
    parts: list[Part] = []
    at = 1
    while at < len(path):
        match = _PART.match(path, at)
        if not match:
            raise PathError(f"JSON path {path!r}: cannot read {path[at:]!r} (use .name, ['name'] or [N])")
        name, index, _, quoted = match.groups()
        parts.append(int(index) if index is not None else name if name is not None else quoted)
        at = match.end()
    return tuple(parts)


def evaluate(path: str, document: Any) -> Any:
    """The value at `path`; Missing naming the first step that is not there."""
    value = document
    walked = "$"
    for part in parse(path):
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                raise Missing(f"{path}: {walked} has no item [{part}]")
            value = value[part]
            walked += f"[{part}]"
        else:
            if not isinstance(value, dict) or part not in value:
                raise Missing(f"{path}: {walked} has no key {part!r}")
            value = value[part]
            walked += f".{part}"
    return value
