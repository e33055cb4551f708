"""Ansible's host patterns in inventory files: `name[:port]` where name may hold ranges.

`web[01:10]` (zero-padded: both bounds the same width), `db-[a:f]` (letters), `[0:10:2]` (a stride), an
empty start (`[:3]` = from 0), several ranges in one name (expanded left to right). The rules and the error
cases are those of ansible/inventory/helpers' expand_hostname_range, written again here so the inventory
needs no Ansible; the corpus test (tests/integration/test_inventory_corpus.py) compares the results.
"""

from __future__ import annotations

import re
import string

from orchestrator.errors import BadInput

MAX_HOSTS = 100_000  # a typo like [0:9999999] must not eat the machine
_PORT = re.compile(r"^(?P<name>.*[^:]):(?P<port>\d+)$")


def split_port(pattern: str, where: str) -> tuple[str, int | None]:
    """`name:port` -> (name, port). A colon inside a range (`web[1:3]`) is not a port."""
    pattern = pattern.strip()
    if pattern.endswith(":"):
        raise BadInput(f"{where}: invalid host pattern {pattern!r}: ending in ':' is reserved for a port")
    m = _PORT.match(pattern)
    if m and m["name"].count("[") == m["name"].count("]"):
        port = int(m["port"])
        if not 0 < port < 65536:
            raise BadInput(f"{where}: host pattern {pattern!r}: port {port} is out of range")
        return m["name"], port
    return pattern, None


def expand(name: str, where: str) -> list[str]:
    """Every host name a pattern stands for, in Ansible's order."""
    if "[" not in name:
        return [name]
    out: list[str] = []
    _expand(name, where, out)
    return out


def _expand(name: str, where: str, out: list[str]) -> None:
    if "[" not in name:
        out.append(name)
        return
    head, _, rest = name.partition("[")
    body, closed, tail = rest.partition("]")
    if not closed:
        raise BadInput(f"{where}: host range in {name!r} has no closing ']'")
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise BadInput(f"{where}: host range [{body}] in {name!r} must be begin:end or begin:end:step")
    beg, end = bounds[0] or "0", bounds[1]
    if not end:
        raise BadInput(f"{where}: host range [{body}] in {name!r} must specify an end value")
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
    except ValueError:
        raise BadInput(f"{where}: host range [{body}] in {name!r}: step {bounds[2]!r} is not a number") from None
    if step <= 0:
        raise BadInput(f"{where}: host range [{body}] in {name!r}: step must be positive")
    width = len(beg) if beg[0] == "0" and len(beg) > 1 else 0
    if width and len(end) != width:
        raise BadInput(f"{where}: host range [{body}] in {name!r} must give begin and end the same width")
    if beg in string.ascii_letters and end in string.ascii_letters:
        i, j = string.ascii_letters.index(beg), string.ascii_letters.index(end)
        if i > j:
            raise BadInput(f"{where}: host range [{body}] in {name!r} must have begin <= end")
        values: list[str] = list(string.ascii_letters[i:j + 1:step])
    else:
        try:
            lo, hi = int(beg), int(end)
        except ValueError:
            raise BadInput(f"{where}: host range [{body}] in {name!r}: bounds must be two numbers or two "
                           "letters") from None
        if (hi - lo) // step + 1 > MAX_HOSTS:
            raise BadInput(f"{where}: host range [{body}] in {name!r} makes more than {MAX_HOSTS} hosts")
        values = [str(v).zfill(width) if width else str(v) for v in range(lo, hi + 1, step)]
    for value in values:
        _expand(f"{head}{value}{tail}", where, out)
