"""Flag parsing, in one place: Invoke hands every flag over as a string (or its default), and a flag that
is not what it should be is bad input (exit 2) naming the flag and the value, never a traceback."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.errors import BadInput

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def number(flag: str, value: Any, *, minimum: float | None = None, positive: bool = False,
           what: str = "a number of seconds") -> float:
    """A float flag: `positive` excludes zero, `minimum` is inclusive."""
    parsed = _parse(flag, value, float, what)
    if (positive and not parsed > 0) or (minimum is not None and not parsed >= minimum):
        bound = "positive" if positive else f"at least {minimum:g}"
        raise BadInput(f"{flag} must be {bound} ({what}), got {value!r}")
    return parsed


def whole(flag: str, value: Any, *, minimum: int = 1, what: str = "a whole number") -> int:
    parsed = _parse(flag, value, int, what)
    if parsed < minimum:
        raise BadInput(f"{flag} must be at least {minimum}, got {value!r}")
    return parsed


def optional(flag: str, value: Any, **kwargs: Any) -> float | None:
    return None if value is None else number(flag, value, **kwargs)


def age(flag: str, text: Any) -> int:
    """'72h' -> seconds; s, m, h, d units."""
    match = re.fullmatch(r"(\d+)([smhd])", str(text).strip())
    if not match:
        raise BadInput(f"{flag} must be a number with a unit s, m, h or d (e.g. 72h), got {text!r}")
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def _parse(flag: str, value: Any, kind: type, what: str) -> Any:
    if isinstance(value, bool):
        raise BadInput(f"{flag} must be {what}, got {value!r}")
    try:
        parsed = kind(str(value).strip()) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise BadInput(f"{flag} must be {what}, got {value!r}") from None
    if parsed != parsed or parsed in (float("inf"), float("-inf")):  # nan, inf: not a usable number
        raise BadInput(f"{flag} must be {what}, got {value!r}")
    return parsed


def whole_list(flag: str, value: Any, *, minimum: int = 1) -> list[int]:
    """A comma list of whole numbers (`--concurrency 1,2,4,8`), each at least `minimum`, in the order given."""
    items = [part.strip() for part in str(value).split(",")]
    if isinstance(value, bool) or not all(items):
        raise BadInput(f"{flag} must be a comma list of whole numbers (e.g. 1,2,4,8), got {value!r}")
    return [whole(flag, item, minimum=minimum) for item in items]
