"""Ansible's INI inventory format, parsed as Ansible's `ini` plugin does, into the loader's builder.

    host1 ansible_port=2222 user_var="a b"   # hosts before any section are ungrouped
    [web]                                     # a group; hosts one a line, `name[:port] key=value ...`
    web[01:10]
    [web:vars]                                # the group's variables, `key=value` one a line
    ansible_user=deploy
    [prod:children]                           # child groups; each must be declared somewhere in the file
    web

Values are typed as Ansible types them: a Python literal (`1`, `1.5`, `True`, `[1, 2]`, `{"a": 1}`, `None`,
`'quoted'`) becomes that value, anything else stays a string (`true`, `yes` and `01` are strings). Host lines
are split like a shell line (quotes, `#` comments); vars lines are not. Python-only literals Ansible would keep
(bytes, sets, complex numbers, `...`) have no JSON or YAML form and are refused, naming the line.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any, Protocol

from orchestrator.config import hostrange
from orchestrator.errors import BadInput

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_PLAIN = (str, int, float, bool, type(None))


class Builder(Protocol):
    def add_group(self, name: str, where: str) -> None: ...
    def has_group(self, name: str) -> bool: ...
    def add_child(self, parent: str, child: str, where: str) -> None: ...
    def set_group_var(self, group: str, key: str, value: Any, where: str, *, lenient: bool) -> None: ...
    def add_host(self, name: str, group: str, where: str, port: int | None) -> None: ...
    def set_host_var(self, host: str, key: str, value: Any, where: str, *, lenient: bool) -> None: ...


def parse(text: str, source: str, out: Builder) -> None:
    group, state = "ungrouped", "hosts"
    # group -> (line, what) for a [g:vars] or a [p:children] entry naming a group not declared (yet)
    pending: dict[str, tuple[int, str, list[str]]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{source}:{number}"
        if not line or line[0] in "#;":
            continue
        section = _SECTION.match(line)
        if section:
            group, state = section[1], section[2] or "hosts"
            if state not in ("hosts", "children", "vars"):
                raise BadInput(f"{where}: section [{group}:{state}] has unknown type {state!r} "
                               "(hosts, vars or children)")
            if not out.has_group(group):
                if state == "vars" and group not in pending:
                    pending[group] = (number, "vars", [])
                out.add_group(group, where)
            if group in pending and state != "vars":
                _resolve(group, pending, out, where)
            continue
        if line.startswith("[") and line.endswith("]"):
            raise BadInput(f"{where}: invalid section {line!r} (no spaces; [name], [name:vars] or "
                           "[name:children])")
        if state == "hosts":
            _host_line(line, where, group, out)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise BadInput(f"{where}: expected key=value in [{group}:vars], got {line!r}")
            out.set_group_var(group, key.strip(), typed(value.strip(), where), where, lenient=True)
        else:
            m = _GROUP_NAME.match(line)
            if not m:
                raise BadInput(f"{where}: expected a group name in [{group}:children], got {line!r}")
            child = m[1]
            if out.has_group(child):
                out.add_child(group, child, where)
            else:
                pending.setdefault(child, (number, "children", []))[2].append(group)
    for name, (number, what, parents) in pending.items():
        if what == "vars":
            raise BadInput(f"{source}:{number}: section [{name}:vars] is for a group declared nowhere in the file")
        raise BadInput(f"{source}:{number}: [{parents[-1]}:children] names group {name!r}, declared nowhere in "
                       f"the file (add a [{name}] section)")


def _resolve(group: str, pending: dict[str, tuple[int, str, list[str]]], out: Builder, where: str) -> None:
    """A group named in [p:children] before its own section: attach it to its parents now (as Ansible)."""
    _, what, parents = pending.pop(group)
    if what != "children":
        return
    for parent in parents:
        out.add_child(parent, group, where)
        if parent in pending and pending[parent][1] == "children":
            _resolve(parent, pending, out, where)


def _host_line(line: str, where: str, group: str, out: Builder) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise BadInput(f"{where}: cannot parse host line {line!r}: {exc}") from None
    if not tokens:
        return
    name, port = hostrange.split_port(tokens[0], where)
    names = hostrange.expand(name, where)
    assignments: list[tuple[str, Any]] = []
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise BadInput(f"{where}: expected key=value host variable, got {token!r}")
        assignments.append((key, typed(value, where)))
    for host in names:
        out.add_host(host, group, where, port)
        for key, value in assignments:
            out.set_host_var(host, key, value, where, lenient=True)


def typed(text: str, where: str) -> Any:
    """Ansible's INI value typing: a Python literal becomes its value, anything else stays the text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if not _plain(value):
        raise BadInput(f"{where}: value {text!r} is a Python {type(value).__name__}, which has no JSON/YAML form; "
                       "quote it to keep it a string, or write a list/mapping")
    return list(value) if isinstance(value, tuple) else value


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, _PLAIN) and _plain(v) for k, v in value.items())
    return False
