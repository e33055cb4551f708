"""Playbooks as data: load plays and tasks with their file:line, and validate them whole before any run.

Shape (a subset of Ansible's): a list of plays `{name, hosts, vars, ignore_errors, tasks}`; a task is
either one module call `{<module>: {args}}` or a `block` with optional `rescue` / `always`, plus the
keywords `name, when, register, timeout, retries, delay, until, ignore_errors`. `- import_tasks: FILE`
(relative to the including file) splices in a file holding a list of tasks, at load time, as Ansible does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import templating
from orchestrator.config import yamlsrc
from orchestrator.config.inventory import HostSpec
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.modules import MODULES
from orchestrator.paths import PLAYBOOK_DIR

PLAY_KEYS = {"name", "hosts", "vars", "tasks", "ignore_errors"}
TASK_KEYS = {"name", "when", "register", "timeout", "retries", "delay", "until", "ignore_errors", "report_skipped",
             "block", "rescue", "always"}
# Set by the engine before each task: this host's failed/errored checks so far (`when: host_problems > 0`).
HOST_PROBLEMS = "host_problems"


@dataclass
class Task:
    name: str
    where: str
    module: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    when: str | bool | None = None
    register: str | None = None
    timeout: float | str | None = None  # seconds, or a template rendering to seconds
    retries: int | None = None
    delay: float = 1.0
    until: str | None = None
    ignore_errors: bool | None = None
    block: list[Task] | None = None
    rescue: list[Task] = field(default_factory=list)
    always: list[Task] = field(default_factory=list)
    report_skipped: bool = True  # False: a false `when` leaves no record (e.g. evidence, only for failed hosts)

    def walk(self) -> list[Task]:
        """This task and every task nested in its block/rescue/always, in order."""
        found = [self]
        for sub in (self.block or []) + self.rescue + self.always:
            found += sub.walk()
        return found


@dataclass
class Play:
    name: str
    where: str
    hosts: str
    vars: dict[str, Any]
    tasks: list[Task]
    ignore_errors: bool = False

    def all_tasks(self) -> list[Task]:
        return [t for top in self.tasks for t in top.walk()]


@dataclass
class Playbook:
    path: Path
    plays: list[Play]


def resolve(name_or_path: str) -> Path:
    """`check` -> playbooks/check.yml; anything with a slash or .yml suffix is a path."""
    if "/" in name_or_path or name_or_path.endswith((".yml", ".yaml")):
        return Path(name_or_path)
    return PLAYBOOK_DIR / f"{name_or_path}.yml"


def load(path: str | Path) -> Playbook:
    path = resolve(str(path))
    data = yamlsrc.load(path)
    if not isinstance(data, list) or not data:
        raise BadInput(f"{path}:1: a playbook is a non-empty list of plays")
    return Playbook(path, [_play(p, f"{path}:{getattr(p, 'line', 1)}") for p in data])


def _play(raw: Any, where: str) -> Play:
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: a play must be a mapping")
    _unknown_keys(raw, PLAY_KEYS, "play", where)
    tasks = raw.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise BadInput(f"{where}: play needs a non-empty `tasks` list")
    play_vars = raw.get("vars") or {}
    if not isinstance(play_vars, dict):
        raise BadInput(f"{yamlsrc.where(raw, 'vars', where)}: play vars must be a mapping")
    hosts = raw.get("hosts", "all")
    if not isinstance(hosts, str):
        raise BadInput(f"{yamlsrc.where(raw, 'hosts', where)}: hosts must be a pattern string like 'all'")
    base = Path(where.rsplit(":", 1)[0]).parent
    return Play(str(raw.get("name", "play")), where, hosts, dict(play_vars), _tasks(tasks, where, base),
                _bool(raw, "ignore_errors", where) or False)


def _tasks(items: list[Any], where: str, base: Path, seen: tuple[Path, ...] = ()) -> list[Task]:
    """Parse a task list, splicing in `import_tasks` files (cycles refused)."""
    found: list[Task] = []
    for raw in items:
        if isinstance(raw, dict) and "import_tasks" in raw:
            found += _import(raw, yamlsrc.where(raw, "import_tasks", where), base, seen)
        else:
            found.append(_task(raw, where, base, seen))
    return found


def _import(raw: dict[str, Any], where: str, base: Path, seen: tuple[Path, ...]) -> list[Task]:
    _unknown_keys(raw, {"import_tasks", "name"}, "import_tasks", where)
    name = raw["import_tasks"]
    if not isinstance(name, str) or not name:
        raise BadInput(f"{where}: import_tasks must name a task file, got {name!r}")
    path = (base / name).resolve()
    if path in seen:
        raise BadInput(f"{where}: import_tasks cycle: {' -> '.join(str(p) for p in (*seen, path))}")
    if not path.is_file():
        raise BadInput(f"{where}: import_tasks: no such file {path}")
    data = yamlsrc.load(path)
    if not isinstance(data, list) or not data:
        raise BadInput(f"{path}:1: a task file is a non-empty list of tasks")
    return _tasks(data, f"{path}:1", path.parent, (*seen, path))


def _task(raw: Any, parent: str, base: Path = PLAYBOOK_DIR, seen: tuple[Path, ...] = ()) -> Task:
    where = yamlsrc.where(raw, None, parent)
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: a task must be a mapping, got {raw!r}")
    module_keys = [k for k in raw if k not in TASK_KEYS]
    for key in module_keys:
        if key not in MODULES:
            raise BadInput(f"{yamlsrc.where(raw, key, where)}: unknown module or keyword {key!r}"
                           f"{did_you_mean(key, [*MODULES, *TASK_KEYS])}")
    if len(module_keys) > 1:
        raise BadInput(f"{where}: a task names exactly one module, this one names {', '.join(module_keys)}")
    is_block = "block" in raw
    if is_block == bool(module_keys):
        raise BadInput(f"{where}: a task must name one module or be a block")
    if not is_block and ("rescue" in raw or "always" in raw):
        raise BadInput(f"{where}: rescue/always belong to a block")
    task = Task(name=str(raw.get("name") or (module_keys[0] if module_keys else "block")), where=where)
    task.when = _cond(raw, "when", where)
    task.until = _cond(raw, "until", where)
    task.register = _register(raw, where)
    timeout = raw.get("timeout")
    task.timeout = timeout if templating.is_template(timeout) else _number(raw, "timeout", where, positive=True)
    retries = _number(raw, "retries", where)
    task.retries = int(retries) if retries is not None else (3 if task.until else None)
    delay = _number(raw, "delay", where)
    task.delay = 1.0 if delay is None else delay
    task.ignore_errors = _bool(raw, "ignore_errors", where)
    task.report_skipped = _bool(raw, "report_skipped", where) is not False
    if is_block:
        task.block = _task_list(raw, "block", where, base, seen, required=True)
        task.rescue = _task_list(raw, "rescue", where, base, seen)
        task.always = _task_list(raw, "always", where, base, seen)
        if task.ignore_errors is not None:  # as in Ansible, a block's ignore_errors is its tasks' default
            for sub in task.walk()[1:]:
                if sub.ignore_errors is None:
                    sub.ignore_errors = task.ignore_errors
    else:
        task.module = module_keys[0]
        task.args = _args(raw, task.module, where)
    return task


def _task_list(raw: dict[str, Any], key: str, where: str, base: Path, seen: tuple[Path, ...],
               required: bool = False) -> list[Task]:
    value = raw.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not value:
        raise BadInput(f"{yamlsrc.where(raw, key, where)}: {key} must be a non-empty list of tasks")
    return _tasks(value, where, base, seen)


def _args(raw: dict[str, Any], module: str, where: str) -> dict[str, Any]:
    args = raw[module]
    here = yamlsrc.where(raw, module, where)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BadInput(f"{here}: arguments of {module} must be a mapping, got {args!r}")
    problems = MODULES[module].check_args(args, skip_templates=True)
    if problems:
        raise BadInput(f"{here}: {module}: {'; '.join(problems)}")
    return dict(args)


def _cond(raw: dict[str, Any], key: str, where: str) -> str | bool | None:
    value = raw.get(key)
    if isinstance(value, list):  # Ansible: a list of conditions means all of them
        value = " and ".join(f"({v})" for v in value)
    if value is not None and not isinstance(value, str | bool):
        raise BadInput(f"{yamlsrc.where(raw, key, where)}: {key} must be an expression, got {value!r}")
    return value


def _register(raw: dict[str, Any], where: str) -> str | None:
    value = raw.get("register")
    if value is not None and not (isinstance(value, str) and value.isidentifier()):
        raise BadInput(f"{yamlsrc.where(raw, 'register', where)}: register must be a variable name, got {value!r}")
    return value


def _number(raw: dict[str, Any], key: str, where: str, positive: bool = False) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (positive and value == 0):
        raise BadInput(f"{yamlsrc.where(raw, key, where)}: {key} must be a {'positive' if positive else 'non-negative'}"
                       f" number, got {value!r}")
    return value


def _bool(raw: dict[str, Any], key: str, where: str) -> bool | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, bool):
        raise BadInput(f"{yamlsrc.where(raw, key, where)}: {key} must be true or false, got {value!r}")
    return value


def _unknown_keys(raw: dict[str, Any], allowed: set[str], what: str, where: str) -> None:
    yamlsrc.reject_unknown(raw, sorted(allowed), f"{what} keyword", where)



# -- whole-playbook validation against the hosts it will run on -----------------------------------------
def validate(book: Playbook, hosts: list[HostSpec], extra_vars: dict[str, Any] | None = None,
             inventory_names: set[str] | None = None) -> None:
    """Every template names only variables that exist for every host; args render to valid types; every
    play's `hosts` names something in the inventory, and some play runs on the selected hosts."""
    if not any(in_play(spec, play) for play in book.plays for spec in hosts):
        raise BadInput(f"{book.path}: no play of this playbook runs on {', '.join(s.name for s in hosts)}")
    for play in book.plays:
        registered = {t.register for t in play.all_tasks() if t.register}
        facts = {k for t in play.all_tasks() if t.module == "set_fact" for k in t.args}
        unknown = sorted({p.strip() for p in play.hosts.split(",")} - {"all"} - set(inventory_names or ()))
        if inventory_names is not None and unknown:
            raise BadInput(f"{play.where}: play {play.name!r}: hosts names unknown host or group "
                           f"{', '.join(unknown)}")
        for spec in hosts:
            static = play_variables(spec, play, extra_vars)
            known = set(static) | registered | facts | {HOST_PROBLEMS}
            for task in play.all_tasks():
                _validate_task(task, known, static, spec.name)


def in_play(spec: HostSpec, play: Play) -> bool:
    patterns = {p.strip() for p in play.hosts.split(",")}
    return "all" in patterns or spec.name in patterns or bool(patterns & set(spec.groups))


def play_variables(spec: HostSpec, play: Play, extra_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Host vars < play vars (rendered against the host's) < extra vars: what a play starts with."""
    base = {**spec.vars, **(extra_vars or {})}
    _check_names(play.vars, set(base), play.where, "play vars", spec.name)
    try:
        rendered = templating.render(play.vars, base)
    except templating.TemplateError as exc:
        raise BadInput(f"{play.where}: play vars: {exc}") from None
    return {**spec.vars, **rendered, **(extra_vars or {})}


def _validate_task(task: Task, known: set[str], static: dict[str, Any], host: str) -> None:
    known = known | templating.guarded_by(task.when)  # `when: x is defined` guards the task's own use of x
    module = MODULES[task.module] if task.module else None
    plain = {k: v for k, v in task.args.items() if not module or k not in module.conditions}
    exprs = [v for k, v in task.args.items() if module and k in module.conditions]
    for label, value, is_condition in (("when", task.when, True), ("until", task.until, True),
                                       ("timeout", task.timeout if isinstance(task.timeout, str) else None, False),
                                       (task.module or "block", plain, False), (task.module, exprs, True)):
        if value is None or isinstance(value, bool):
            continue
        _check_names(value, known, task.where, f"task {task.name!r} {label}", host, condition=is_condition)
    # Arguments that depend only on inventory and play vars can be rendered and type-checked now.
    if task.module and templating.required_names(task.args, include_guarded=True) <= set(static):
        try:
            rendered = templating.render(task.args, static)
        except templating.TemplateError as exc:
            raise BadInput(f"{task.where}: task {task.name!r}: {exc} (host {host})") from None
        problems = MODULES[task.module].check_args(rendered)
        if problems:
            raise BadInput(f"{task.where}: task {task.name!r} on host {host}: {'; '.join(problems)}")


def _check_names(value: Any, known: set[str], where: str, what: str, host: str, condition: bool = False) -> None:
    try:
        missing = templating.required_names(value, condition=condition) - known
    except templating.TemplateError as exc:
        raise BadInput(f"{where}: {what}: {exc}") from None
    if missing:
        names = ", ".join(sorted(missing))
        raise BadInput(f"{where}: {what}: undefined variable(s) {names} for host {host}")
