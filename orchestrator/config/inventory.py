"""Ansible-shaped YAML inventory: load, validate, merge variables, select hosts.

Variable precedence (lowest first), as in Ansible: the `all` group, then other groups by depth
(parents before children; siblings alphabetically, later wins), then the host's own vars (if a host
is listed in several places, later listings win). Play vars and registered results layer on top in
the engine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config import settings, yamlsrc
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.paths import DEFAULT_INVENTORY

GROUP_KEYS = ("hosts", "vars", "children")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class HostSpec:
    name: str
    vars: dict[str, Any]
    groups: tuple[str, ...]
    origins: dict[str, str]  # var name -> "file:line" that set the winning value

    def get(self, name: str) -> Any:
        """A variable with its documented default (settings.py) when not set."""
        if name in self.vars:
            return self.vars[name]
        return settings.default(name)

    @property
    def is_local(self) -> bool:
        return self.get("ansible_connection") == "local"


@dataclass
class Inventory:
    path: Path
    hosts: dict[str, HostSpec]
    groups: dict[str, Group]

    def select(self, pattern: str) -> list[HostSpec]:
        """Hosts matching a comma list of host names, group names or `all`, in inventory order."""
        wanted: set[str] = set()
        tokens = [t.strip() for t in pattern.split(",")]
        if not pattern.strip() or any(not t for t in tokens):
            raise BadInput(f"--host {pattern!r}: empty host name in pattern")
        for token in tokens:
            if token in self.hosts:
                wanted.add(token)
            elif token in self.groups:
                wanted.update(self._members(token))
            else:
                raise BadInput(f"--host: unknown host or group {token!r} in {self.path} "
                               f"(hosts: {', '.join(self.hosts)}; groups: {', '.join(self.groups)})")
        if not wanted:
            raise BadInput(f"--host {pattern!r}: matches no hosts in {self.path}")
        return [h for name, h in self.hosts.items() if name in wanted]

    def _members(self, group: str) -> set[str]:
        g = self.groups[group]
        found = set(g.hosts)
        for child in g.children:
            found |= self._members(child)
        return found


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """--inventory, else $SHAKEDOWN_INVENTORY, else inventory/lab.yml."""
    chosen = path or os.environ.get("SHAKEDOWN_INVENTORY") or DEFAULT_INVENTORY
    return Path(chosen).expanduser()


def load(path: str | os.PathLike[str] | None = None) -> Inventory:
    source = resolve_path(path)
    data = yamlsrc.load(source)
    if data is None:
        raise BadInput(f"{source}: inventory is empty")
    if not isinstance(data, dict):
        raise BadInput(f"{source}:1: inventory must be a mapping of groups (e.g. `all:`)")
    loader = _Loader(source)
    loader.group("all", data.get("all"), data, "all", parent=None)
    for name, body in data.items():
        if name != "all":
            loader.group(name, body, data, name, parent="all")
    if not loader.host_vars:
        raise BadInput(f"{source}: inventory defines no hosts")
    return Inventory(source, loader.merge(), loader.groups)


class _Loader:
    def __init__(self, source: Path):
        self.source = source
        self.groups: dict[str, Group] = {}
        # host -> list of (vars, origins) in the order the host was listed
        self.host_vars: dict[str, list[tuple[dict[str, Any], dict[str, str]]]] = {}
        self.host_groups: dict[str, list[str]] = {}

    def group(self, name: str, body: Any, container: Any, key: str, parent: str | None) -> None:
        where = yamlsrc.where(container, key, str(self.source))
        _check_name(name, "group", where)
        if name in self.host_vars:
            raise BadInput(f"{where}: {name!r} is both a host and a group")
        g = self.groups.setdefault(name, Group(name))
        if parent:
            if _reaches(self.groups, name, parent):
                raise BadInput(f"{where}: group {name!r} is its own ancestor (cycle through {parent!r})")
            g.parents.add(parent)
            if name not in self.groups[parent].children:
                self.groups[parent].children.append(name)
        if body is None:
            return
        if not isinstance(body, dict):
            raise BadInput(f"{where}: group {name!r} must be a mapping with hosts/vars/children")
        yamlsrc.reject_unknown(body, GROUP_KEYS, "key", where, suffix=f" in group {name!r}", list_allowed=True)
        if body.get("vars") is not None:
            g.vars.update(self.vars(body["vars"], yamlsrc.where(body, "vars", where), g.origins))
        self.hosts(g, body.get("hosts"), yamlsrc.where(body, "hosts", where))
        children = body.get("children")
        if children is not None:
            if not isinstance(children, dict):
                raise BadInput(f"{yamlsrc.where(body, 'children', where)}: children must be a mapping of groups")
            for child, child_body in children.items():
                self.group(child, child_body, children, child, parent=name)

    def hosts(self, g: Group, hosts: Any, where: str) -> None:
        if hosts is None:
            return
        if not isinstance(hosts, dict):
            raise BadInput(f"{where}: hosts must be a mapping of host name to vars")
        for host, hvars in hosts.items():
            hwhere = yamlsrc.where(hosts, host, where)
            _check_name(host, "host", hwhere)
            if host in self.groups:
                raise BadInput(f"{hwhere}: {host!r} is both a host and a group")
            origins: dict[str, str] = {}
            parsed = self.vars(hvars, hwhere, origins) if hvars is not None else {}
            self.host_vars.setdefault(host, []).append((parsed, origins))
            self.host_groups.setdefault(host, [])
            if g.name not in self.host_groups[host]:
                self.host_groups[host].append(g.name)
            if host not in g.hosts:
                g.hosts.append(host)

    def vars(self, body: Any, where: str, origins: dict[str, str]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadInput(f"{where}: vars must be a mapping")
        for name, value in body.items():
            vwhere = yamlsrc.where(body, name, where)
            _check_var(str(name), value, vwhere)
            origins[name] = vwhere
        return dict(body)

    def merge(self) -> dict[str, HostSpec]:
        order = sorted(self.groups.values(), key=lambda g: (_depth(self.groups, g.name), g.name))
        specs: dict[str, HostSpec] = {}
        for host, listings in self.host_vars.items():
            groups = _ancestors(self.groups, self.host_groups[host])
            merged: dict[str, Any] = {}
            origins: dict[str, str] = {}
            for g in order:
                if g.name in groups:
                    merged.update(g.vars)
                    origins.update(g.origins)
            for hvars, horigins in listings:
                merged.update(hvars)
                origins.update(horigins)
            merged.setdefault("inventory_hostname", host)
            specs[host] = HostSpec(host, merged, tuple(g.name for g in order if g.name in groups), origins)
        return specs


def _check_name(name: Any, what: str, where: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(f"{where}: invalid {what} name {name!r} (letters, digits, '_', '.', '-')")


def _check_var(name: str, value: Any, where: str) -> None:
    if name in settings.REFUSED_VARS:
        raise BadInput(f"{where}: {name} is not supported: {settings.REFUSED_VARS[name]}")
    spec = settings.KNOWN_VARS.get(name)
    if spec is None:
        if name.startswith("ansible_"):
            raise BadInput(f"{where}: unknown connection variable {name!r}"
                           f"{did_you_mean(name, settings.CONNECTION_VARS)}")
        return
    if not spec.check(value):
        details = spec.explain(value) if spec.explain else []
        if details:
            raise BadInput(f"{where}: {name}: {'; '.join(details)}")
        raise BadInput(f"{where}: {name} must be a {spec.kind}, got {value!r}")



def _depth(groups: dict[str, Group], name: str) -> int:
    parents = groups[name].parents
    return 0 if not parents else 1 + max(_depth(groups, p) for p in parents)


def _ancestors(groups: dict[str, Group], direct: list[str]) -> set[str]:
    found: set[str] = {"all"}
    stack = list(direct)
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(groups[name].parents)
    return found


def _reaches(groups: dict[str, Group], start: str, target: str) -> bool:
    """True when `target` is `start` or one of its descendants (adding the edge would make a cycle)."""
    if start == target:
        return True
    return any(_reaches(groups, c, target) for c in groups.get(start, Group(start)).children)
