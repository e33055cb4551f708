"""Ansible-shaped inventories: load (YAML, INI, a directory of them, group_vars/ and host_vars/ beside them),
validate, merge variables exactly as Ansible does, select hosts by Ansible host patterns.

Variable precedence, lowest first (Ansible's VariableManager with its default VARIABLE_PRECEDENCE):
  1. `all`'s inline vars                   2. each group's inline vars, in group order
  3. group_vars/all                        4. group_vars/<group>, in group order
  5. the host's inline vars (a host listed several times: the later listing wins)
  6. host_vars/<host>
Group order is Ansible's sort_groups: by depth (the longest chain of parents from `all`), then
`ansible_group_priority` (default 1; set inline only, as Ansible), then name (ASCII). Play vars and registered
results layer on top in the engine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config import hostrange, inisrc, settings, varsfiles, yamlsrc
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.paths import DEFAULT_INVENTORY

GROUP_KEYS = ("hosts", "vars", "children")
NAME_RE = re.compile(r"^[^\W_][\w.-]{0,62}$")
YAML_SUFFIXES = (".yml", ".yaml", ".json")
# A directory source: what Ansible skips in it (INVENTORY_IGNORE_EXTS, hidden files, the vars folders).
IGNORED_NAMES = ("group_vars", "host_vars", "vars_plugins")
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg",
                    ".retry")


@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    priority: int = 1
    file_vars: dict[str, Any] = field(default_factory=dict)  # from group_vars/
    file_origins: dict[str, str] = field(default_factory=dict)
    where: str = "?"


@dataclass
class _Host:
    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    file_vars: dict[str, Any] = field(default_factory=dict)  # from host_vars/
    file_origins: dict[str, str] = field(default_factory=dict)
    lenient: set[str] = field(default_factory=set)  # vars whose value came from INI text


@dataclass(frozen=True)
class HostSpec:
    name: str
    vars: dict[str, Any]
    groups: tuple[str, ...]
    origins: dict[str, str]  # var name -> "file:line" that set the winning value

    def get(self, name: str) -> Any:
        """A variable with its documented default (settings.py) when not set, typed as shakedown uses it
        (an INI `ansible_become=yes` is the text 'yes' in the inventory, True here, as in Ansible)."""
        if name in self.vars:
            return settings.coerce(name, self.vars[name])
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
        """Hosts matching an Ansible host pattern (see patterns.py), in inventory order."""
        from orchestrator.config import patterns

        return patterns.select(self, pattern)

    def members(self, group: str) -> set[str]:
        g = self.groups[group]
        found = set(g.hosts)
        for child in g.children:
            found |= self.members(child)
        return found

    _members = members


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """--inventory, else $SHAKEDOWN_INVENTORY, else inventory/lab.yml."""
    chosen = path or os.environ.get("SHAKEDOWN_INVENTORY") or DEFAULT_INVENTORY
    return Path(chosen).expanduser()


def load(path: str | os.PathLike[str] | None = None) -> Inventory:
    """An inventory file (YAML or INI) or a directory of them, with group_vars/ and host_vars/ beside it."""
    source = resolve_path(path)
    loader = _Loader()
    if source.is_dir():
        files = list(_directory_sources(source))
        if not files:
            raise BadInput(f"{source}: inventory directory holds no inventory files")
        for file in files:
            _parse_file(file, loader)
        basedir = source
    else:
        _parse_file(source, loader)
        basedir = source.parent
    loader.reconcile()
    if not loader.hosts:
        raise BadInput(f"{source}: inventory defines no hosts")
    varsfiles.load_into(basedir, loader)
    return Inventory(source, loader.merge(), loader.groups)


def _directory_sources(directory: Path):
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES):
            continue
        if entry.is_dir():
            yield from _directory_sources(entry)
        elif entry.is_file():
            yield entry


def _parse_file(path: Path, loader: _Loader) -> None:
    """YAML by extension; INI by extension; otherwise YAML if it reads as a mapping, else INI (as Ansible's
    plugin order, yaml before ini, decides)."""
    if path.suffix in YAML_SUFFIXES:
        _parse_yaml(yamlsrc.load(path), path, loader)
        return
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from None
    if path.suffix != ".ini":
        try:
            data = yamlsrc.loads(text, str(path))
        except BadInput:
            data = None
        if isinstance(data, dict):
            _parse_yaml(data, path, loader)
            return
    if _only_comments(text):
        raise BadInput(f"{path}: inventory is empty")
    inisrc.parse(text, str(path), loader)


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip()[0] in "#;" for line in text.splitlines())


def _parse_yaml(data: Any, path: Path, loader: _Loader) -> None:
    if data is None:
        raise BadInput(f"{path}: inventory is empty")
    if not isinstance(data, dict):
        raise BadInput(f"{path}:1: inventory must be a mapping of groups (e.g. `all:`)")
    for name, body in data.items():
        loader.yaml_group(name, body, data, name, parent=None, source=str(path))


class _Loader:
    """Builds groups and hosts from any number of sources, in order (the INI parser drives it too)."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {"all": Group("all"), "ungrouped": Group("ungrouped")}
        self.hosts: dict[str, _Host] = {}
        self.add_child("all", "ungrouped", "?")

    # -- the builder (inisrc.Builder) ---------------------------------------------------------------
    def has_group(self, name: str) -> bool:
        return name in self.groups

    def add_group(self, name: str, where: str) -> None:
        _check_name(name, "group", where)
        if name in self.hosts:
            raise BadInput(f"{where}: {name!r} is both a host and a group")
        if name not in self.groups:
            self.groups[name] = Group(name, where=where)

    def add_child(self, parent: str, child: str, where: str) -> None:
        self.add_group(parent, where)
        self.add_group(child, where)
        if child == parent or _descends(self.groups, child, parent):
            raise BadInput(f"{where}: group {child!r} is its own ancestor (cycle through {parent!r})")
        if child not in self.groups[parent].children:
            self.groups[parent].children.append(child)
        if parent not in self.groups[child].parents:
            self.groups[child].parents.append(parent)

    def set_group_var(self, group: str, key: str, value: Any, where: str, *, lenient: bool = False) -> None:
        _check_var(str(key), value, where, lenient=lenient)
        g = self.groups[group]
        if key == "ansible_group_priority":  # structure, not a variable (Ansible's Group.set_variable)
            g.priority = int(settings.coerce(key, value))
            return
        g.vars[key] = value
        g.origins[key] = where

    def add_host(self, name: str, group: str, where: str, port: int | None) -> None:
        _check_name(name, "host", where)
        if name in self.groups:
            raise BadInput(f"{where}: {name!r} is both a host and a group")
        new = name not in self.hosts
        host = self.hosts.setdefault(name, _Host())
        if new and port is not None:  # Ansible: `name:port` sets ansible_port when the host is first seen
            host.vars["ansible_port"], host.origins["ansible_port"] = port, where
        if group not in host.groups:
            host.groups.append(group)
        if name not in self.groups[group].hosts:
            self.groups[group].hosts.append(name)

    def set_host_var(self, host: str, key: str, value: Any, where: str, *, lenient: bool = False) -> None:
        _check_var(str(key), value, where, lenient=lenient)
        self.hosts[host].vars[key] = value
        self.hosts[host].origins[key] = where

    # -- YAML ---------------------------------------------------------------------------------------
    def yaml_group(self, name: Any, body: Any, container: Any, key: Any, parent: str | None, source: str) -> None:
        where = yamlsrc.where(container, key, source)
        if not isinstance(name, str):
            raise BadInput(f"{where}: group name {name!r} must be a string")
        self.add_group(name, where)
        if parent:
            self.add_child(parent, name, where)
        if body is None:
            return
        if not isinstance(body, dict):
            raise BadInput(f"{where}: group {name!r} must be a mapping with hosts/vars/children")
        yamlsrc.reject_unknown(body, GROUP_KEYS, "key", where, suffix=f" in group {name!r}", list_allowed=True)
        body_vars = body.get("vars")
        if body_vars is not None:
            vwhere = yamlsrc.where(body, "vars", where)
            if not isinstance(body_vars, dict):
                raise BadInput(f"{vwhere}: vars must be a mapping")
            for var, value in body_vars.items():
                self.set_group_var(name, var, value, yamlsrc.where(body_vars, var, vwhere))
        self.yaml_hosts(name, _mapping(body.get("hosts")), yamlsrc.where(body, "hosts", where))
        children = _mapping(body.get("children"))
        if children is not None:
            if not isinstance(children, dict):
                raise BadInput(f"{yamlsrc.where(body, 'children', where)}: children must be a mapping of groups")
            for child, child_body in children.items():
                self.yaml_group(child, child_body, children, child, parent=name, source=source)

    def yaml_hosts(self, group: str, hosts: Any, where: str) -> None:
        if hosts is None:
            return
        if not isinstance(hosts, dict):
            raise BadInput(f"{where}: hosts must be a mapping of host name to vars")
        for pattern, hvars in hosts.items():
            hwhere = yamlsrc.where(hosts, pattern, where)
            if not isinstance(pattern, str):
                raise BadInput(f"{hwhere}: invalid host name {pattern!r}: host names must be strings "
                               "(quote a number)")
            if hvars is not None and not isinstance(hvars, dict):
                raise BadInput(f"{hwhere}: vars must be a mapping")
            name, port = hostrange.split_port(pattern, hwhere)
            for host in hostrange.expand(name, hwhere):
                self.add_host(host, group, hwhere, port)
                for var, value in (hvars or {}).items():
                    self.set_host_var(host, var, value, yamlsrc.where(hvars, var, hwhere))

    # -- after every source -------------------------------------------------------------------------
    def reconcile(self) -> None:
        """As Ansible's reconcile_inventory: every group descends from `all`; a host in no group but `all`
        is in `ungrouped`, and only there if it is in no other group."""
        for name in list(self.groups):
            if name != "all" and not self.groups[name].parents:
                self.add_child("all", name, self.groups[name].where)
        ungrouped = self.groups["ungrouped"]
        for name, host in self.hosts.items():
            others = [g for g in host.groups if g not in ("all", "ungrouped")]
            if others and "ungrouped" in host.groups:
                host.groups.remove("ungrouped")
                ungrouped.hosts.remove(name)
            elif not others and "ungrouped" not in host.groups:
                host.groups.append("ungrouped")
                ungrouped.hosts.append(name)

    def merge(self) -> dict[str, HostSpec]:
        depth = _depths(self.groups)
        order = sorted((g for g in self.groups.values() if g.name != "all"),
                       key=lambda g: (depth[g.name], g.priority, g.name))
        top = self.groups["all"]
        specs: dict[str, HostSpec] = {}
        for name, host in self.hosts.items():
            mine = _ancestors(self.groups, host.groups) - {"all"}
            groups = [g for g in order if g.name in mine]
            merged: dict[str, Any] = {}
            origins: dict[str, str] = {}
            layers = [(top.vars, top.origins), *((g.vars, g.origins) for g in groups),
                      (top.file_vars, top.file_origins), *((g.file_vars, g.file_origins) for g in groups),
                      (host.vars, host.origins), (host.file_vars, host.file_origins)]
            for values, where in layers:
                merged.update(values)
                origins.update(where)
            merged.setdefault("inventory_hostname", name)
            specs[name] = HostSpec(name, merged, ("all", *(g.name for g in groups)), origins)
        return specs


def _mapping(value: Any) -> Any:
    """Ansible's YAML plugin takes `hosts: web1` for `hosts: {web1: }` (and the same for children)."""
    return {value: None} if isinstance(value, str) else value


def _check_name(name: Any, what: str, where: str) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(f"{where}: invalid {what} name {name!r} (letters, digits, '_', '.', '-')")


def check_var(name: str, value: Any, where: str, *, lenient: bool = False) -> None:
    _check_var(name, value, where, lenient=lenient)


def _check_var(name: str, value: Any, where: str, *, lenient: bool = False) -> None:
    if name in settings.REFUSED_VARS:
        raise BadInput(f"{where}: {name} is not supported: {settings.REFUSED_VARS[name]}")
    spec = settings.KNOWN_VARS.get(name)
    if spec is None:
        if name.startswith("ansible_"):
            raise BadInput(f"{where}: unknown connection variable {name!r}"
                           f"{did_you_mean(name, settings.CONNECTION_VARS)}")
        return
    if lenient:
        value = settings.coerce(name, value)
    if not spec.check(value):
        details = spec.explain(value) if spec.explain else []
        if details:
            raise BadInput(f"{where}: {name}: {'; '.join(details)}")
        raise BadInput(f"{where}: {name} must be a {spec.kind}, got {value!r}")


def _depths(groups: dict[str, Group]) -> dict[str, int]:
    """Ansible's Group.depth: the longest chain of parents up to `all` (0)."""
    found: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in found:
            parents = groups[name].parents
            found[name] = 0 if not parents else 1 + max(depth(p) for p in parents)
        return found[name]

    for name in groups:
        depth(name)
    return found


def _ancestors(groups: dict[str, Group], direct: list[str]) -> set[str]:
    found: set[str] = {"all"}
    stack = list(direct)
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(groups[name].parents)
    return found


def _descends(groups: dict[str, Group], start: str, target: str) -> bool:
    """True when `target` is a descendant of `start` (then making `target` its parent closes a cycle)."""
    return any(c == target or _descends(groups, c, target) for c in groups[start].children)
