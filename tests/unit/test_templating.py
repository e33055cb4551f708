"""Templating: strict undefined, Ansible-style chainable default, native single expressions, conditions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.templating import TemplateError, evaluate, is_template, render, required_names


@pytest.mark.parametrize("template", [
    "{{ missing }}",
    "prefix {{ missing }} suffix",
    "{{ missing.attr }}",
    "{{ missing | upper }}",
    "{% if missing %}x{% endif %}",
    "{{ known.absent_key }}",
])
def test_undefined_variable_raises(template):
    with pytest.raises(TemplateError, match="undefined"):
        render(template, {"known": {"present": 1}})


def test_error_message_names_the_variable():
    with pytest.raises(TemplateError) as info:
        render("echo {{ stack_dri }}", {"stack_dir": "/srv"})
    assert "stack_dri" in str(info.value)


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ a.b | default('x') }}", "x"),
    ("{{ a.b.c | default('x') }}", "x"),
    ("{{ a['b'] | default('x') }}", "x"),
    ("v={{ a.b | default('x') }}", "v=x"),
    ("{{ present.b | default('x') }}", 2),
])
def test_default_is_chainable_over_undefined_parents(template, expected):
    assert render(template, {"present": {"b": 2}}) == expected


def test_single_expression_keeps_native_types():
    variables = {"items": ["a", "b"], "n": 3, "m": {"k": [1]}, "flag": False, "nothing": None}
    assert render("{{ items }}", variables) == ["a", "b"]
    assert render("  {{ items }}\n", variables) == ["a", "b"]  # surrounding whitespace is still one expression
    assert render("{{ n }}", variables) == 3
    assert render("{{ n + 1 }}", variables) == 4
    assert render("{{ m }}", variables) == {"k": [1]}
    assert render("{{ flag }}", variables) is False
    assert render("{{ nothing }}", variables) is None


def test_version_like_strings_stay_strings():
    assert render("{{ v }}", {"v": "1.10"}) == "1.10"
    assert render("{{ v }}", {"v": "007"}) == "007"
    assert render("{{ v }}", {"v": "[1, 2]"}) == "[1, 2]"
    assert render("{{ v }}", {"v": "True"}) == "True"


@given(st.text())
def test_any_string_value_renders_to_itself(value):
    assert render("{{ v }}", {"v": value}) == value


def test_mixed_text_renders_to_a_string():
    assert render("n={{ n }}", {"n": 3}) == "n=3"
    assert render("{{ a }}{{ b }}", {"a": 1, "b": 2}) == "12"
    assert render("{{ a }} and {{ b }}", {"a": [1], "b": 2}) == "[1] and 2"


def test_render_walks_dicts_and_lists_and_leaves_plain_values():
    value = {"cmd": "echo {{ x }}", "list": ["{{ x }}", 5, None], "plain": "no template", "n": 1.5}
    assert render(value, {"x": 7}) == {"cmd": "echo 7", "list": [7, 5, None], "plain": "no template", "n": 1.5}


def test_rendered_values_are_not_rendered_again():
    assert render("{{ v }}", {"v": "{{ secret }}"}) == "{{ secret }}"


def test_template_syntax_error_is_a_template_error():
    with pytest.raises(TemplateError):
        render("{{ x ", {"x": 1})
    with pytest.raises(TemplateError):
        render("{% if x %}", {"x": 1})


def test_is_template():
    assert is_template("{{ x }}") and is_template("{% if x %}{% endif %}")
    assert not is_template("plain") and not is_template(5) and not is_template(None)


# -- evaluate: when / until ---------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "expected"), [
    ("x == 1", True),
    ("x == 2", False),
    ("{{ x == 1 }}", True),  # braces are tolerated
    ("missing is defined", False),
    ("missing is undefined", True),
    ("missing.attr is defined", False),
    ("r.rc == 0 and 'ok' in r.stdout", True),
    ("r.stdout | trim | int >= 3", False),
    ("(items | length) > 1", True),
    (True, True),
    (False, False),
])
def test_evaluate(expression, expected):
    variables = {"x": 1, "r": {"rc": 0, "stdout": "ok\n"}, "items": [1, 2]}
    assert evaluate(expression, variables) is expected


def test_evaluate_undefined_raises():
    with pytest.raises(TemplateError, match="missing"):
        evaluate("missing == 1", {})
    with pytest.raises(TemplateError):
        evaluate("r.stdout == 'x'", {"r": {"rc": 1}})


def test_evaluate_syntax_error_raises():
    with pytest.raises(TemplateError):
        evaluate("x ==", {"x": 1})


# -- required_names -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "condition", "expected"), [
    ("{{ a }}", False, {"a"}),
    ("plain a b", False, set()),
    ("{{ a.b.c }}", False, {"a"}),
    ("{{ a | default('x') }}", False, set()),
    ("{{ a.b | default('x') }}", False, set()),
    ("{{ a | d(b) }}", False, {"b"}),
    ("{{ a if a is defined else 'x' }}", False, set()),
    ({"k": ["{{ x }}", "y={{ y.z }}"], "n": 1}, False, {"x", "y"}),
    ("{{ inventory_hostname }} {{ range(2) | list }}", False, set()),
    ("a is defined and a > 1", True, set()),
    ("a is defined and b", True, {"b"}),
    ("c | default(false)", True, set()),
    ("{{ d }}", True, {"d"}),
])
def test_required_names(value, condition, expected):
    assert required_names(value, condition=condition) == expected


def test_required_names_include_guarded_lists_everything():
    assert required_names("{{ a | default(1) }} {{ b }}", include_guarded=True) == {"a", "b"}


def test_required_names_syntax_error():
    with pytest.raises(TemplateError, match="syntax error"):
        required_names("{{ a ")
