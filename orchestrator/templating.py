"""Jinja2 templating with StrictUndefined, plus static discovery of the variables a template needs.

A value that is exactly one `{{ expression }}` renders to the expression's native value (a list stays a
list); anything else renders to a string. Unlike Jinja's NativeEnvironment we never literal_eval strings,
so a VERSION of "1.10" stays the string "1.10".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2 import meta, nodes


class _Undefined(jinja2.ChainableUndefined, jinja2.StrictUndefined):
    """Strict (using an undefined value raises) yet chainable, as in Ansible: `a.b | default(x)` works
    when `a` itself is undefined."""


_ENV = jinja2.Environment(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.S)
# Names jinja2 or the engine provide themselves.
BUILTINS = frozenset({"range", "lipsum", "dict", "cycler", "joiner", "namespace", "true", "false", "none",
                      "True", "False", "None", "inventory_hostname"})


class TemplateError(Exception):
    """A template failed to parse or render; the caller adds file:line."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Render every template string inside `value` (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if not is_template(value):
        return value
    try:
        single = _SINGLE.match(value)
        if single and "{{" not in single.group("expr"):
            result = _expression(single.group("expr"))(variables)
            if isinstance(result, jinja2.Undefined):
                result._fail_with_undefined_error()
            return result
        return _template(value).render(variables)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined variable in {value!r}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {value!r}: {exc}") from None


# Compiled once per source text: compiling is ~0.5 ms, rendering a compiled one ~20 us, and a flow renders the same
# few dozen templates for every request of every worker (jinja2 caches templates from a loader, not from_string).
@functools.lru_cache(maxsize=4096)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


@functools.lru_cache(maxsize=4096)
def _template(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def evaluate(expression: str | bool, variables: dict[str, Any]) -> bool:
    """A bare condition (`when:` / `until:`), Ansible style: no braces needed."""
    if isinstance(expression, bool):
        return expression
    try:
        return bool(_expression(_strip_braces(expression))(variables))
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined variable in condition {expression!r}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"condition {expression!r}: {exc}") from None


def required_names(value: Any, *, condition: bool = False, include_guarded: bool = False) -> set[str]:
    """Variables `value` needs that it does not guard with `is defined` or `| default(...)`
    (with include_guarded: every variable it mentions)."""
    names: set[str] = set()
    for text in _strings(value):
        source = "{{ " + _strip_braces(text) + " }}" if condition else text
        if not condition and not is_template(text):
            continue
        try:
            tree = _ENV.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"syntax error in {text!r}: {exc.message}") from None
        names |= meta.find_undeclared_variables(tree) - (set() if include_guarded else _guarded(tree))
    return names - BUILTINS


def guarded_by(condition: str | bool | None) -> set[str]:
    """Names a `when:` condition checks with `is defined` (so the task may use them unguarded)."""
    if not isinstance(condition, str):
        return set()
    try:
        return _guarded(_ENV.parse("{{ " + _strip_braces(condition) + " }}"))
    except jinja2.TemplateSyntaxError:
        return set()


def _guarded(tree: nodes.Template) -> set[str]:
    guarded: set[str] = set()
    for test in tree.find_all(nodes.Test):
        if test.name in ("defined", "undefined", "none"):
            guarded |= _root_names(test.node)
    for flt in tree.find_all(nodes.Filter):
        if flt.name in ("default", "d"):
            guarded |= _root_names(flt.node)
    return guarded


def _root_names(node: nodes.Node | None) -> set[str]:
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        node = node.node
    return {node.name} if isinstance(node, nodes.Name) else set()


def _strip_braces(expression: str) -> str:
    single = _SINGLE.match(expression)
    return single.group("expr") if single else expression


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value
