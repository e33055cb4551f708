"""The matrix file (playbooks/matrix.yml): axes, what every scenario must show, and the scenarios.

Loading checks everything that can be checked without a host, naming file:line, so a matrix that would waste a
CI hour (a typo'd axis, a value no scenario runs) is bad input (exit 2) before anything is contacted. The
coverage guarantee is PICT's `/o:1`: every value of every axis is named by at least one scenario that runs.

Values are compared as strings after normalising YAML scalars (true -> "true", 1 -> "1"): the stack's config
file holds text, and `pool: 16` and `pool: "16"` mean the same setting. Templates see the normalised strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator import templating
from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.paths import PLAYBOOK_DIR, ROOT

DEFAULT_FILE = PLAYBOOK_DIR / "matrix.yml"
TOP_KEYS = ("axes", "expect", "scenarios")
AXIS_KEYS = ("values", "default", "apply")
APPLY_KEYS = ("file", "key", "value")
EXPECT_KEYS = ("services", "state", "env")
STATE_KEYS = ("url", "fields")
SCENARIO_KEYS = ("name", "values", "skip", "requires")
REQUIREMENT_KINDS = ("path", "host", "command")
SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")  # a scenario's name becomes a folder of the run directory
AXIS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # an axis is a variable of the expect templates
CONFIG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # the KEY of a KEY=value line
DEFAULT_VALUE_TEMPLATE = "{{ value }}"


def normalise(value: Any) -> str:
    """A YAML scalar as the string it is compared as: true -> "true", 1 -> "1", "on" -> "on"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str)


def shown(value: Any) -> str:
    """A value as it was written, for people: YAML's true stays `true`, a quoted "on" stays `on`."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class Apply:
    """How an axis value reaches the stack: the KEY=value line `key` of `file` (relative to stack_dir)."""
    file: str
    key: str
    value_template: str = DEFAULT_VALUE_TEMPLATE


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[str, ...]
    default: str | None
    apply: Apply
    where: str
    originals: tuple[Any, ...] = ()  # the values as written, for display

    def render(self, value: str) -> str:
        """The text written after KEY= in the config file for this axis value."""
        try:
            return normalise(templating.render(self.apply.value_template, {"value": value}))
        except templating.TemplateError as exc:
            raise BadInput(f"{self.where}: axis {self.name!r}: apply value for {value!r}: {exc}") from None

    def value_of(self, raw: str | None) -> str | None:
        """The axis value a config file's raw text stands for (None: the key is absent -> the default); None
        when the text is no value of the axis (someone set the host by hand)."""
        if raw is None:
            return self.default
        candidates = [*self.values, *([self.default] if self.default is not None else [])]
        return next((v for v in candidates if self.render(v) == raw.strip()), None)

    def original(self, value: str) -> Any:
        """The value as the file wrote it (for display); the normalised string when it is not one of ours."""
        return dict(zip(self.values, self.originals, strict=False)).get(value, value)


@dataclass(frozen=True)
class Requirement:
    """Checked on the host at run time; unmet -> the scenario is SKIPPED with the reason."""
    kind: str  # path | host | command
    what: str

    def public(self) -> dict[str, str]:
        return {"kind": self.kind, "what": self.what}


@dataclass(frozen=True)
class Scenario:
    name: str
    values: dict[str, str]  # axis -> normalised value; axes not named keep the host's baseline value
    skip: str | None  # skipped by design (with the reason): never run, never counts for coverage
    requires: tuple[Requirement, ...]
    where: str

    @property
    def runnable(self) -> bool:
        return self.skip is None


@dataclass(frozen=True)
class Expect:
    """Templates over the axis values: the services that must run, the state the API must report, and the
    environment each service's container must have."""
    services: str | list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None  # {"url": ..., "fields": {name: template}}
    env: dict[str, dict[str, str]] = field(default_factory=dict)  # service -> {KEY: template}

    def render(self, values: dict[str, str]) -> dict[str, Any]:
        """What a host whose axes have `values` (every axis, normalised) must show."""
        services = templating.render(self.services, values)
        return {
            "services": [normalise(s) for s in (services if isinstance(services, list) else [services])],
            "state": None if self.state is None else {
                "url": self.state["url"],
                "fields": {k: normalise(templating.render(v, values)) for k, v in self.state["fields"].items()}},
            "env": {svc: {k: normalise(templating.render(v, values)) for k, v in env.items()}
                    for svc, env in self.env.items()},
        }


@dataclass(frozen=True)
class Matrix:
    path: str
    sha256: str
    axes: dict[str, Axis]
    expect: Expect
    scenarios: tuple[Scenario, ...]

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)

    @property
    def runnable(self) -> tuple[Scenario, ...]:
        return tuple(s for s in self.scenarios if s.runnable)


def load(path: str | Path | None = None) -> Matrix:
    """The matrix at `path` (default playbooks/matrix.yml), fully checked; every problem is BadInput naming
    file:line."""
    path = Path(path) if path else DEFAULT_FILE
    data = yamlsrc.load(path)
    top = f"{path}:1"
    if not isinstance(data, dict):
        raise BadInput(f"{top}: a matrix is a mapping with {', '.join(TOP_KEYS)}")
    yamlsrc.reject_unknown(data, TOP_KEYS, "matrix key", top, list_allowed=True)
    for key in ("axes", "scenarios"):
        if key not in data:
            raise BadInput(f"{top}: the matrix needs {key!r}")
    axes = _axes(data["axes"], yamlsrc.where(data, "axes", top))
    expect = _expect(data.get("expect"), yamlsrc.where(data, "expect", top), axes)
    scenarios = _scenarios(data["scenarios"], yamlsrc.where(data, "scenarios", top), axes)
    matrix = Matrix(_shown_path(path), hashlib.sha256(path.read_bytes()).hexdigest(), axes, expect, scenarios)
    check_coverage(matrix)
    return matrix


def coverage(matrix: Matrix) -> dict[str, dict[str, list[str]]]:
    """axis -> value -> the scenarios that run it (skipped-by-design ones never count)."""
    table = {name: {value: [] for value in axis.values} for name, axis in matrix.axes.items()}
    for s in matrix.runnable:
        for axis, value in s.values.items():
            table[axis][value].append(s.name)
    return table


def check_coverage(matrix: Matrix) -> None:
    """The guarantee: every value of every axis is named by at least one scenario that runs."""
    uncovered = [(axis, value) for axis, values in coverage(matrix).items() for value, names in values.items()
                 if not names]
    if not uncovered:
        return
    axis, value = uncovered[0]
    only_skipped = [s.name for s in matrix.scenarios if not s.runnable and s.values.get(axis) == value]
    why = (f" (only {', '.join(only_skipped)}, skipped by design, names it)" if only_skipped else "")
    more = (f"; also uncovered: {', '.join(f'{a}={v}' for a, v in uncovered[1:])}" if len(uncovered) > 1 else "")
    raise BadInput(f"{matrix.axes[axis].where}: coverage: axis {axis!r} value {value!r} is named by no scenario "
                   f"that runs{why}: add a scenario with {axis}: {value}{more}")


def _shown_path(path: Path) -> str:
    """The file as a listing names it: relative to the checkout when inside it, so every CI machine agrees."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -- parts ----------------------------------------------------------------------------------------------------
def _mapping(raw: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: {what} must be a mapping")
    return raw


def _scalar(raw: Any, where: str, what: str) -> str:
    if not is_scalar(raw):
        raise BadInput(f"{where}: {what} must be a string, number or boolean, got {raw!r}")
    return normalise(raw)


def _names_in(template: Any, where: str, what: str, allowed: set[str]) -> None:
    """The template parses and mentions only `allowed` names (the axes, or `value`)."""
    try:
        names = templating.required_names(template, include_guarded=True)
    except templating.TemplateError as exc:
        raise BadInput(f"{where}: {what}: {exc}") from None
    for name in sorted(names - allowed):
        raise BadInput(f"{where}: {what} uses {name!r}, which is not one of {', '.join(sorted(allowed))}"
                       f"{did_you_mean(name, allowed)}")


def _axes(raw: Any, where: str) -> dict[str, Axis]:
    raw = _mapping(raw, where, "axes")
    if not raw:
        raise BadInput(f"{where}: axes is empty: a matrix needs at least one axis")
    axes = {}
    for name, body in raw.items():
        awhere = yamlsrc.where(raw, name, where)
        if not isinstance(name, str) or not AXIS_NAME.fullmatch(name):
            raise BadInput(f"{awhere}: axis name {name!r} must be a plain identifier (letters, digits, _): "
                           "templates use it as a variable")
        body = _mapping(body, awhere, f"axis {name!r}")
        yamlsrc.reject_unknown(body, AXIS_KEYS, f"key of axis {name!r}", awhere, list_allowed=True)
        for key in ("values", "apply"):
            if key not in body:
                raise BadInput(f"{awhere}: axis {name!r} needs {key!r}")
        vwhere = yamlsrc.where(body, "values", awhere)
        originals = body["values"]
        if not isinstance(originals, list) or not originals:
            raise BadInput(f"{vwhere}: axis {name!r} has no values (a non-empty list)")
        values = [_scalar(v, vwhere, f"a value of axis {name!r}") for v in originals]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise BadInput(f"{vwhere}: axis {name!r} lists {', '.join(map(repr, dupes))} more than once "
                           "(values are compared as strings: 1 and \"1\" are the same)")
        default = (None if body.get("default") is None
                   else _scalar(body["default"], yamlsrc.where(body, "default", awhere), f"default of axis {name!r}"))
        apply = _apply(body["apply"], yamlsrc.where(body, "apply", awhere), name)
        axis = Axis(name, tuple(values), default, apply, awhere, tuple(originals))
        _check_renders(axis)
        axes[name] = axis
    return axes


def _apply(raw: Any, where: str, axis: str) -> Apply:
    raw = _mapping(raw, where, f"apply of axis {axis!r}")
    yamlsrc.reject_unknown(raw, APPLY_KEYS, f"key of apply (axis {axis!r})", where, list_allowed=True)
    for key in ("file", "key"):
        if key not in raw:
            raise BadInput(f"{where}: apply of axis {axis!r} needs {key!r}")
    file, key = raw["file"], raw["key"]
    fwhere, kwhere = yamlsrc.where(raw, "file", where), yamlsrc.where(raw, "key", where)
    if not isinstance(file, str) or not file.strip():
        raise BadInput(f"{fwhere}: apply file of axis {axis!r} must be a path (relative to stack_dir)")
    if ".." in PurePosixPath(file).parts or "\n" in file or "\0" in file:
        raise BadInput(f"{fwhere}: apply file {file!r} of axis {axis!r} must not contain '..': it names a file "
                       "of the stack (relative to stack_dir) or an absolute path")
    if not isinstance(key, str) or not CONFIG_KEY.fullmatch(key):
        raise BadInput(f"{kwhere}: apply key {key!r} of axis {axis!r} must be a KEY of a KEY=value line "
                       "(letters, digits, _; not starting with a digit)")
    value = raw.get("value", DEFAULT_VALUE_TEMPLATE)
    vwhere = yamlsrc.where(raw, "value", where)
    if not isinstance(value, str):
        raise BadInput(f"{vwhere}: apply value of axis {axis!r} must be a template string, got {value!r}")
    _names_in(value, vwhere, f"apply value of axis {axis!r}", {"value"})
    return Apply(file, key, value)


def _check_renders(axis: Axis) -> None:
    """Each value renders to one line, and distinct values to distinct text (else the host's file could not
    tell which value it holds)."""
    seen: dict[str, str] = {}
    for value in (*axis.values, *([axis.default] if axis.default is not None else [])):
        text = axis.render(value)
        if "\n" in text or "\r" in text:
            raise BadInput(f"{axis.where}: axis {axis.name!r}: value {value!r} renders to more than one line")
        if seen.get(text, value) != value:
            raise BadInput(f"{axis.where}: axis {axis.name!r}: values {seen[text]!r} and {value!r} both render to "
                           f"{text!r}: the config file could not tell them apart")
        seen[text] = value


def _expect(raw: Any, where: str, axes: dict[str, Axis]) -> Expect:
    if raw is None:
        return Expect()
    raw = _mapping(raw, where, "expect")
    yamlsrc.reject_unknown(raw, EXPECT_KEYS, "expect key", where, list_allowed=True)
    names = set(axes)
    services = raw.get("services", [])
    swhere = yamlsrc.where(raw, "services", where)
    if not (isinstance(services, str) or (isinstance(services, list) and all(isinstance(s, str) for s in services))):
        raise BadInput(f"{swhere}: expect services must be a list of names or one template giving a list")
    _names_in(services, swhere, "expect services", names)
    state = raw.get("state")
    if state is not None:
        stwhere = yamlsrc.where(raw, "state", where)
        state = _mapping(state, stwhere, "expect state")
        yamlsrc.reject_unknown(state, STATE_KEYS, "expect state key", stwhere, list_allowed=True)
        if not isinstance(state.get("url"), str):
            raise BadInput(f"{stwhere}: expect state needs 'url' (the API answering the stack's state)")
        fields = _mapping(state.get("fields", {}), yamlsrc.where(state, "fields", stwhere), "expect state fields")
        for key, template in fields.items():
            fwhere = yamlsrc.where(fields, key, stwhere)
            _scalar(template, fwhere, f"expect state field {key!r}")
            _names_in(template, fwhere, f"expect state field {key!r}", names)
        state = {"url": state["url"], "fields": {str(k): v if isinstance(v, str) else normalise(v)
                                                 for k, v in fields.items()}}
    env = _mapping(raw.get("env", {}), yamlsrc.where(raw, "env", where), "expect env")
    envs: dict[str, dict[str, str]] = {}
    for service, pairs in env.items():
        ewhere = yamlsrc.where(env, service, where)
        pairs = _mapping(pairs, ewhere, f"expect env of {service!r}")
        for key, template in pairs.items():
            kwhere = yamlsrc.where(pairs, key, ewhere)
            _scalar(template, kwhere, f"expect env {service}.{key}")
            _names_in(template, kwhere, f"expect env {service}.{key}", names)
        envs[str(service)] = {str(k): v if isinstance(v, str) else normalise(v) for k, v in pairs.items()}
    return Expect(services, state, envs)


def _scenarios(raw: Any, where: str, axes: dict[str, Axis]) -> tuple[Scenario, ...]:
    if not isinstance(raw, list) or not raw:
        raise BadInput(f"{where}: scenarios must be a non-empty list")
    seen: dict[str, str] = {}
    scenarios = []
    for body in raw:
        swhere = yamlsrc.where(body, None, where)
        body = _mapping(body, swhere, "a scenario")
        yamlsrc.reject_unknown(body, SCENARIO_KEYS, "scenario key", swhere, list_allowed=True)
        for key in ("name", "values"):
            if key not in body:
                raise BadInput(f"{swhere}: a scenario needs {key!r}")
        name = body["name"]
        nwhere = yamlsrc.where(body, "name", swhere)
        if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or name in (".", ".."):
            raise BadInput(f"{nwhere}: scenario name {name!r} must be letters, digits, '.', '_' or '-' "
                           "(it becomes a folder of the run directory)")
        if name in seen:
            raise BadInput(f"{nwhere}: scenario {name!r} is defined twice (first at {seen[name]})")
        seen[name] = nwhere
        values = _scenario_values(body["values"], yamlsrc.where(body, "values", swhere), name, axes)
        skip = body.get("skip")
        if skip is not None and (not isinstance(skip, str) or not skip.strip()):
            raise BadInput(f"{yamlsrc.where(body, 'skip', swhere)}: skip of scenario {name!r} must be the reason "
                           "(text)")
        requires = _requires(body.get("requires", []), yamlsrc.where(body, "requires", swhere), name)
        scenarios.append(Scenario(name, values, skip, requires, swhere))
    return tuple(scenarios)


def _scenario_values(raw: Any, where: str, name: str, axes: dict[str, Axis]) -> dict[str, str]:
    raw = _mapping(raw, where, f"values of scenario {name!r}")
    values = {}
    for axis, value in raw.items():
        vwhere = yamlsrc.where(raw, axis, where)
        if axis not in axes:
            raise BadInput(f"{vwhere}: scenario {name!r} names axis {axis!r}, which the matrix does not have "
                           f"(axes: {', '.join(axes)}){did_you_mean(axis, axes)}")
        text = _scalar(value, vwhere, f"value of axis {axis!r} in scenario {name!r}")
        if text not in axes[axis].values:
            raise BadInput(f"{vwhere}: scenario {name!r} gives axis {axis!r} the value {text!r}, which it does not "
                           f"have (values: {', '.join(axes[axis].values)}){did_you_mean(text, axes[axis].values)}")
        values[axis] = text
    return values


def _requires(raw: Any, where: str, name: str) -> tuple[Requirement, ...]:
    if not isinstance(raw, list):
        raise BadInput(f"{where}: requires of scenario {name!r} must be a list of {{path|host|command: ...}}")
    found = []
    for item in raw:
        iwhere = yamlsrc.where(item, None, where)
        if not isinstance(item, dict) or len(item) != 1:
            raise BadInput(f"{iwhere}: a requirement of scenario {name!r} is one of "
                           f"{', '.join(f'{{{k}: ...}}' for k in REQUIREMENT_KINDS)}")
        yamlsrc.reject_unknown(item, REQUIREMENT_KINDS, f"requirement kind (scenario {name!r})", iwhere,
                               list_allowed=True)
        (kind, what), = item.items()
        if not isinstance(what, str) or not what.strip():
            raise BadInput(f"{yamlsrc.where(item, kind, iwhere)}: requirement {kind!r} of scenario {name!r} needs "
                           "a non-empty string")
        found.append(Requirement(kind, what))
    return tuple(found)
