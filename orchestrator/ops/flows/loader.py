"""Load a flow file (playbooks/flows/<name>.yml): every mistake is bad input naming file:line, before any request.

Checked: unknown keys (with a did-you-mean), types, methods, statuses, JSON paths, template syntax, actors a step
names, variables a template uses before any step captured them, checkpoint ids used twice, known gaps naming no
checkpoint, modes naming no phase.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from orchestrator.config.yamlsrc import load as load_yaml
from orchestrator.config.yamlsrc import reject_unknown, where
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.ops.flows import jsonpath
from orchestrator.ops.flows.model import LOOP, Actor, Await, Flow, KnownGap, Limits, Notifications, Request, Step
from orchestrator.ops.flows.names import check_templates
from orchestrator.paths import PLAYBOOK_DIR

FLOWS_DIR = PLAYBOOK_DIR / "flows"
TOP = ("name", "description", "secrets", "actors", "notifications", "limits", "known_gaps", "phases", "modes",
       "default_mode")
ACTOR_KEYS = ("role", "count", "email", "password")
REQUEST_KEYS = ("step", "as", "method", "path", "headers", "json", "status", "capture", "expect", "for_each",
                "checkpoint")
AWAIT_KEYS = ("checkpoint", "actor", "for_each", "find", "deadline")
WRONG_KEYS = ("wrong_recipient", "actor", "for_each", "find", "watch")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CAPTURE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def resolve(name_or_path: str) -> Path:
    """`--flow marketplace` -> playbooks/flows/marketplace.yml; a path (with / or .yml) is taken as it is."""
    if "/" in name_or_path or name_or_path.endswith((".yml", ".yaml")):
        return Path(name_or_path)
    if not ID.match(name_or_path):
        raise BadInput(f"--flow {name_or_path!r} is not a flow name (letters, digits, . _ -) or a file path")
    path = FLOWS_DIR / f"{name_or_path}.yml"
    if not path.exists():
        known = sorted(p.stem for p in FLOWS_DIR.glob("*.yml"))
        raise BadInput(f"--flow {name_or_path!r}: no {path}{did_you_mean(name_or_path, known)} "
                       f"(flows: {', '.join(known) or 'none'})")
    return path


def load(path: str | Path) -> Flow:
    path = Path(path)
    raw = load_yaml(path)
    fallback = f"{path}:1"
    if not isinstance(raw, dict):
        raise BadInput(f"{fallback}: a flow file is a mapping ({', '.join(TOP)})")
    reject_unknown(raw, TOP, "flow key", fallback)
    for key in ("name", "actors", "phases", "modes"):
        if key not in raw:
            raise BadInput(f"{where(raw, None, fallback)}: the flow has no `{key}`")
    actors = _actors(raw["actors"], where(raw, "actors", fallback))
    phases = {name: _steps(steps, actors, where(raw["phases"], name, fallback))
              for name, steps in _mapping(raw["phases"], "phases", where(raw, "phases", fallback)).items()}
    flow = Flow(name=_text(raw["name"], "name", where(raw, "name", fallback)), file=path, actors=actors,
                phases=phases, modes=_modes(raw["modes"], phases, where(raw, "modes", fallback)),
                default_mode="", secrets=_names(raw.get("secrets", []), "secrets", where(raw, "secrets", fallback)),
                notifications=_notifications(raw.get("notifications", {}), where(raw, "notifications", fallback)),
                limits=_limits(raw.get("limits", {}), where(raw, "limits", fallback)),
                description=str(raw.get("description", "")))
    flow.default_mode = _default_mode(raw, flow, fallback)
    _unique_ids(flow)
    flow.known_gaps = _known_gaps(raw.get("known_gaps", []), flow, where(raw, "known_gaps", fallback))
    check_templates(flow)
    return flow


def _mapping(value: Any, what: str, at: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise BadInput(f"{at}: `{what}` must be a non-empty mapping")
    return value


def _text(value: Any, what: str, at: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{at}: `{what}` must be a non-empty string, got {value!r}")
    return value


def _names(value: Any, what: str, at: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and ID.match(v) for v in value):
        raise BadInput(f"{at}: `{what}` must be a list of names, got {value!r}")
    return list(value)


def _number(raw: dict[str, Any], key: str, default: float, at: str, *, whole: bool = False) -> Any:
    value = raw.get(key, default)
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < 0 or (whole and value < 1):
        raise BadInput(f"{where(raw, key, at)}: `{key}` must be a {'whole ' if whole else ''}number "
                       f"{'>= 1' if whole else '>= 0'}, got {value!r}")
    return value


def _actors(raw: Any, at: str) -> dict[str, Actor]:
    actors: dict[str, Actor] = {}
    for name, spec in _mapping(raw, "actors", at).items():
        here = where(raw, name, at)
        if not ID.match(str(name)) or name == LOOP or "." in name:
            raise BadInput(f"{here}: actor name {name!r} must be letters, digits, _ or - (and not `{LOOP}`)")
        if not isinstance(spec, dict):
            raise BadInput(f"{here}: actor {name!r} must be a mapping ({', '.join(ACTOR_KEYS)})")
        reject_unknown(spec, ACTOR_KEYS, "actor key", here)
        role = _text(spec.get("role"), "role", where(spec, "role", here))
        count = _number(spec, "count", 1, here, whole=True)
        for n in range(1, count + 1):
            full = name if count == 1 else f"{name}{n}"
            if full in actors:
                raise BadInput(f"{here}: actor {full!r} is declared twice")
            actors[full] = Actor(full, role, spec.get("email"), spec.get("password"))
    return actors


def _steps(raw: Any, actors: dict[str, Actor], at: str) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise BadInput(f"{at}: a phase is a non-empty list of steps")
    return [_step(item, actors, where(item, None, at)) for item in raw]


def _step(raw: Any, actors: dict[str, Actor], at: str) -> Step:
    if not isinstance(raw, dict):
        raise BadInput(f"{at}: a step is a mapping with `step`, `checkpoint` or `wrong_recipient`")
    if "step" in raw:
        return _request(raw, actors, at)
    if "wrong_recipient" in raw:
        reject_unknown(raw, WRONG_KEYS, "wrong_recipient key", at)
        return _await(raw, "wrong_recipient", actors, at, wrong=True)
    if "checkpoint" in raw:
        reject_unknown(raw, AWAIT_KEYS, "checkpoint key", at)
        return _await(raw, "checkpoint", actors, at, wrong=False)
    raise BadInput(f"{at}: a step needs `step` (a request), `checkpoint` or `wrong_recipient`"
                   f"{did_you_mean(next(iter(raw), ''), ['step', 'checkpoint', 'wrong_recipient'])}")


def _request(raw: dict[str, Any], actors: dict[str, Actor], at: str) -> Request:
    reject_unknown(raw, REQUEST_KEYS, "step key", at)
    method = str(raw.get("method", "GET")).upper()
    if method not in METHODS:
        raise BadInput(f"{where(raw, 'method', at)}: method {raw.get('method')!r} is not one of {', '.join(METHODS)}")
    path = _text(raw.get("path"), "path", where(raw, "path", at))
    if not path.startswith("/"):
        raise BadInput(f"{where(raw, 'path', at)}: path {path!r} must start with / (it is joined to the base URL)")
    for_each = _for_each(raw, actors, at)
    return Request(name=_text(raw["step"], "step", at), method=method, path=path, where=at,
                   as_actor=_actor_ref(raw, "as", actors, for_each, at), headers=_dict(raw, "headers", at),
                   json=raw.get("json"), status=_status(raw, at), capture=_paths(raw, "capture", at, actors, for_each),
                   expect=_expect(raw, at), for_each=for_each, checkpoint=_id(raw, "checkpoint", at))


def _await(raw: dict[str, Any], key: str, actors: dict[str, Actor], at: str, *, wrong: bool) -> Await:
    for_each = _for_each(raw, actors, at)
    actor = _actor_ref(raw, "actor", actors, for_each, at)
    if actor is None:
        raise BadInput(f"{at}: {key} {raw[key]!r} needs `actor` (whose notifications to read) or `for_each`")
    find = _dict(raw, "find", at)
    if not find:
        raise BadInput(f"{where(raw, 'find', at)}: {key} {raw[key]!r} needs `find`: the fields a notification "
                       "must have (e.g. {type: offer.created, relatedId: '{{ offer_id }}'})")
    deadline = _number(raw, "deadline", 0, at) or None
    return Await(id=str(_id(raw, key, at)), where=at, actor=actor, find=find, for_each=for_each, wrong=wrong,
                 deadline=deadline, watch=float(_number(raw, "watch", 0, at)))


def _id(raw: dict[str, Any], key: str, at: str) -> str | None:
    value = raw.get(key)
    if value is not None and not (isinstance(value, str) and ID.match(value)):
        raise BadInput(f"{where(raw, key, at)}: `{key}` must be an id (letters, digits, . _ -), got {value!r}")
    return value


def _for_each(raw: dict[str, Any], actors: dict[str, Actor], at: str) -> tuple[str, ...]:
    names = _names(raw.get("for_each", []), "for_each", where(raw, "for_each", at))
    for name in names:
        if name not in actors:
            raise BadInput(f"{where(raw, 'for_each', at)}: for_each names {name!r}, not an actor"
                           f"{did_you_mean(name, actors)} (actors: {', '.join(actors)})")
    return tuple(names)


def _actor_ref(raw: dict[str, Any], key: str, actors: dict[str, Actor], for_each: tuple[str, ...],
               at: str) -> str | None:
    name = raw.get(key)
    if for_each and name is None and key == "actor":
        return LOOP
    if name is None or name in actors or (name == LOOP and for_each):
        return name
    loop = f" (or `{LOOP}` in a for_each step)" if not for_each else f" or `{LOOP}`"
    raise BadInput(f"{where(raw, key, at)}: `{key}: {name}` is not an actor{did_you_mean(name, actors)}{loop}; "
                   f"actors: {', '.join(actors)}")


def _dict(raw: dict[str, Any], key: str, at: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise BadInput(f"{where(raw, key, at)}: `{key}` must be a mapping, got {value!r}")
    return dict(value)


def _status(raw: dict[str, Any], at: str) -> tuple[int, ...]:
    value = raw.get("status", 200)
    codes = value if isinstance(value, list) else [value]
    if not codes or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
        raise BadInput(f"{where(raw, 'status', at)}: `status` must be an HTTP status or a list of them, got {value!r}")
    return tuple(codes)


def _paths(raw: dict[str, Any], key: str, at: str, actors: dict[str, Actor], for_each: tuple[str, ...]
           ) -> dict[str, str]:
    out = _dict(raw, key, at)
    for name, path in out.items():
        here = where(raw[key], name, at)
        if not CAPTURE_KEY.match(str(name)):
            raise BadInput(f"{here}: capture name {name!r} must be `var` or `<actor>.attr`")
        owner = str(name).split(".")[0] if "." in str(name) else None
        if owner is not None and owner not in actors and not (owner == LOOP and for_each):
            raise BadInput(f"{here}: capture {name!r} names {owner!r}, not an actor{did_you_mean(owner, actors)}")
        _json_path(path, here)
    return out


def _expect(raw: dict[str, Any], at: str) -> dict[str, Any]:
    out = _dict(raw, "expect", at)
    for path in out:
        _json_path(path, where(raw["expect"], path, at))
    return out


def _json_path(path: Any, at: str) -> None:
    try:
        jsonpath.parse(path)
    except jsonpath.PathError as exc:
        raise BadInput(f"{at}: {exc}") from None


def _modes(raw: Any, phases: dict[str, list[Step]], at: str) -> dict[str, list[str]]:
    modes = {}
    for mode, names in _mapping(raw, "modes", at).items():
        here = where(raw, mode, at)
        listed = _names(names, f"modes.{mode}", here)
        for name in listed:
            if name not in phases:
                raise BadInput(f"{here}: mode {mode!r} names phase {name!r}, which the flow lacks"
                               f"{did_you_mean(name, phases)} (phases: {', '.join(phases)})")
        if not listed:
            raise BadInput(f"{here}: mode {mode!r} names no phase")
        modes[str(mode)] = listed
    return modes


def _default_mode(raw: dict[str, Any], flow: Flow, fallback: str) -> str:
    mode = raw.get("default_mode", next(iter(flow.modes)))
    if mode not in flow.modes:
        raise BadInput(f"{where(raw, 'default_mode', fallback)}: default_mode {mode!r} is not a mode"
                       f"{did_you_mean(mode, flow.modes)} (modes: {', '.join(flow.modes)})")
    return str(mode)


def _unique_ids(flow: Flow) -> None:
    seen: dict[str, str] = {}
    for steps in flow.phases.values():
        for step in steps:
            ident = step.id if isinstance(step, Await) else step.checkpoint
            if ident is None:
                continue
            if ident in seen:
                raise BadInput(f"{step.where}: checkpoint id {ident!r} is already used at {seen[ident]}")
            seen[ident] = step.where


def _known_gaps(raw: Any, flow: Flow, at: str) -> dict[str, KnownGap]:
    if not isinstance(raw, list):
        raise BadInput(f"{at}: `known_gaps` must be a list of {{id, defect, note}}")
    gaps: dict[str, KnownGap] = {}
    ids = flow.checkpoint_ids()
    for item in raw:
        here = where(item, None, at)
        if not isinstance(item, dict):
            raise BadInput(f"{here}: a known gap is a mapping {{id, defect, note}}")
        reject_unknown(item, ("id", "defect", "note"), "known gap key", here)
        ident = _text(item.get("id"), "id", here)
        if ident not in ids:
            raise BadInput(f"{where(item, 'id', here)}: known gap {ident!r} names no checkpoint of the flow"
                           f"{did_you_mean(ident, ids)} (checkpoints: {', '.join(sorted(ids))})")
        gaps[ident] = KnownGap(ident, _text(item.get("defect"), "defect", where(item, "defect", here)),
                               str(item.get("note", "")))
    return gaps


def _notifications(raw: Any, at: str) -> Notifications:
    if not isinstance(raw, dict):
        raise BadInput(f"{at}: `notifications` must be a mapping (path, items, unread)")
    reject_unknown(raw, ("path", "items", "unread"), "notifications key", at)
    for key in ("items", "unread"):
        if key in raw:
            _json_path(raw[key], where(raw, key, at))
    return Notifications(**{k: str(v) for k, v in raw.items()})


def _limits(raw: Any, at: str) -> Limits:
    if not isinstance(raw, dict):
        raise BadInput(f"{at}: `limits` must be a mapping")
    defaults = Limits()
    reject_unknown(raw, defaults.__dataclass_fields__, "limits key", at)
    return Limits(request_timeout=_number(raw, "request_timeout", defaults.request_timeout, at),
                  checkpoint_deadline=_number(raw, "checkpoint_deadline", defaults.checkpoint_deadline, at),
                  poll_interval=_number(raw, "poll_interval", defaults.poll_interval, at),
                  max_consecutive_429=_number(raw, "max_consecutive_429", defaults.max_consecutive_429, at,
                                              whole=True))
