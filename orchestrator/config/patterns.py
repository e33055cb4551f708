"""Ansible host patterns, as `--host` takes them (and as `ansible --limit` does).

A pattern is a list of terms split on `,` (or on `:` when it holds no comma, unless a `:` is part of an IPv6
address or a range). Each term is a host or group name, `all` or `*`, a glob (`dev*`, `web-?`), or a regex
(`~dev\\d+`, matched from the start); `name[0]`, `name[1:3]` and `name[-1]` slice a group's hosts. Terms add
hosts, except `&term` (keep only those also in term) and `!term` (take term's hosts away); as in Ansible the
plain terms are gathered first, then the intersections, then the exclusions, whatever their order.
A term that matches nothing, or a pattern that selects no host, is bad input naming it (exit 2).
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from orchestrator.errors import BadInput

if TYPE_CHECKING:
    from orchestrator.config.inventory import HostSpec, Inventory

_SLICE = re.compile(r"^(?P<name>.+?)\[(?P<start>-?\d+)?(?::(?P<end>-?\d+)?)?\]$")


def split(pattern: str) -> list[str]:
    """Ansible's split_host_pattern: commas, else colons that are not part of an address or a range."""
    if "," in pattern:
        return [t.strip() for t in pattern.split(",")]
    text = pattern.strip()
    if not text:
        return [""]
    # Colons inside [...] belong to a range/slice; a bare IPv6 address has 2+ colons and no brackets.
    if text.count(":") >= 2 and "[" not in text and not text.startswith(("~", "!", "&")) and \
            re.fullmatch(r"[0-9A-Fa-f:.]+", text):
        return [text]
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0 and not current.startswith("~"):
            terms.append(current.strip())
            current = ""
        else:
            current += ch
    terms.append(current.strip())
    return terms


def select(inv: Inventory, pattern: str) -> list[HostSpec]:
    terms = split(pattern)
    if not pattern.strip() or any(not t for t in terms):
        raise BadInput(f"--host {pattern!r}: empty host name in pattern")
    plain = [t for t in terms if t[0] not in "&!"]
    inter = [t[1:] for t in terms if t[0] == "&"]
    exclude = [t[1:] for t in terms if t[0] == "!"]
    wanted: set[str] = set()
    for term in plain or ["all"]:
        wanted |= _match(inv, term, pattern)
    for term in inter:
        wanted &= _match(inv, term, pattern)
    for term in exclude:
        wanted -= _match(inv, term, pattern)
    if not wanted:
        raise BadInput(f"--host {pattern!r}: matches no hosts in {inv.path}")
    return [h for name, h in inv.hosts.items() if name in wanted]


def _match(inv: Inventory, term: str, pattern: str) -> set[str]:
    """A term that names nothing is refused even after `!`: `all:!prodd` must not quietly include prod."""
    if not term:
        raise BadInput(f"--host {pattern!r}: empty term after '&' or '!'")
    found = _term(inv, term)
    if found is None:
        raise BadInput(f"--host {pattern!r}: unknown host or group {term!r} (matches nothing) in {inv.path} "
                       f"(hosts: {', '.join(inv.hosts)}; groups: {', '.join(inv.groups)})")
    return found


def _term(inv: Inventory, term: str) -> set[str] | None:
    """The hosts a term names, or None when it names nothing."""
    if term in ("all", "*"):
        return set(inv.hosts)
    if term in inv.hosts:
        return {term}
    if term in inv.groups:
        return inv.members(term)
    sliced = _SLICE.match(term)
    if sliced and sliced["name"] in inv.groups:
        members = [h for h in inv.hosts if h in inv.members(sliced["name"])]
        start = int(sliced["start"]) if sliced["start"] else 0
        if ":" not in term[term.rindex("[") :]:
            return set(members[start:start + 1] if start != -1 else members[-1:]) or None
        end = int(sliced["end"]) + 1 if sliced["end"] else None
        return set(members[start:end]) or None
    if term.startswith("~"):
        try:
            regex = re.compile(term[1:])
        except re.error as exc:
            raise BadInput(f"--host: invalid regular expression {term!r}: {exc}") from None
        names = {n for n in (*inv.hosts, *inv.groups) if regex.match(n)}
    elif any(c in term for c in "*?["):
        names = {n for n in (*inv.hosts, *inv.groups) if fnmatch.fnmatchcase(n, term)}
    else:
        return None
    if not names:
        return None
    return {h for n in names for h in ({n} if n in inv.hosts else inv.members(n))}
