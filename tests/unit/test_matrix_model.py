"""The matrix file: a valid one loads as written; every kind of mistake is bad input naming file:line; the
coverage guarantee names the exact axis and value no runnable scenario covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import BadInput
from orchestrator.ops.matrix import model
from orchestrator.ops.matrix.model import Requirement

VALID = Path(__file__).resolve().parent / "matrix" / "valid.yml"
TEXT = VALID.read_text()


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of `needle`."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def broken(tmp_path: Path, old: str, new: str, text: str = TEXT) -> tuple[Path, str]:
    assert old in text, old
    changed = text.replace(old, new, 1)
    path = tmp_path / "matrix.yml"
    path.write_text(changed)
    return path, changed


def load_error(path: Path) -> str:
    with pytest.raises(BadInput) as err:
        model.load(path)
    return str(err.value)


def test_the_valid_example_loads_as_written():
    m = model.load(VALID)
    assert list(m.axes) == ["backend_mode", "pool", "scanner", "frontend_secure"]
    pool = m.axes["pool"]
    assert pool.values == ("1", "16") and pool.default == "4" and pool.originals == (1, 16)
    assert pool.apply == model.Apply(".env", "BACKEND_POOL", "{{ value }}")
    assert pool.where == f"{VALID}:10"
    assert m.axes["frontend_secure"].values == ("true", "false")
    assert m.axes["frontend_secure"].original("true") is True  # kept for display
    names = [s.name for s in m.scenarios]
    assert names == ["baseline", "readonly-without-scanner", "small-pool-insecure", "scanner-on-gpu",
                     "arm64-agent-only"]
    baseline = m.scenario("baseline")
    assert baseline.values == {"backend_mode": "normal", "pool": "16", "scanner": "on", "frontend_secure": "true"}
    assert m.scenario("scanner-on-gpu").requires == (Requirement("path", "/dev/nvidia0"),)
    assert m.scenario("arm64-agent-only").skip == "runs on the arm64 CI agent only"
    assert [s.name for s in m.runnable] == names[:4]
    assert len(m.sha256) == 64


def test_render_and_value_of_go_through_the_apply_template():
    m = model.load(VALID)
    scanner, secure, pool = m.axes["scanner"], m.axes["frontend_secure"], m.axes["pool"]
    assert scanner.render("on") == "1" and scanner.render("off") == "0"
    assert scanner.value_of("0") == "off" and scanner.value_of(" 1\n") == "on"
    assert scanner.value_of(None) == "on"  # absent from the file: the stack's default
    assert secure.render("false") == "false"  # a YAML boolean is written as the string it normalises to
    assert pool.value_of("4") == "4"  # the default, written out
    assert pool.value_of("7") is None  # set by hand to no value of the axis


def test_expectations_render_over_the_values():
    m = model.load(VALID)
    want = m.expect.render({"backend_mode": "readonly", "pool": "1", "scanner": "off", "frontend_secure": "false"})
    assert want == {"services": ["backend", "frontend"],
                    "state": {"url": "http://127.0.0.1:18080/api/state", "fields": {"mode": "readonly", "pool": "1"}},
                    "env": {"backend": {"BACKEND_MODE": "readonly", "BACKEND_POOL": "1"},
                            "frontend": {"FRONTEND_SECURE": "false"}}}


def test_coverage_lists_only_runnable_scenarios():
    cov = model.coverage(model.load(VALID))
    assert cov["scanner"] == {"on": ["baseline", "scanner-on-gpu"], "off": ["readonly-without-scanner"]}
    assert cov["backend_mode"]["readonly"] == ["readonly-without-scanner"]  # not arm64-agent-only: skipped


# Each kind of mistake: (old text, new text, the line's needle in the new text, words the message must hold).
MISTAKES = {
    "unknown top key": ("scenarios:\n", "senarios:\n", "senarios:", ["unknown matrix key 'senarios'",
                                                                      "did you mean 'scenarios'"]),
    "unknown axis key": ("    default: normal\n", "    defualt: normal\n", "defualt",
                         ["'defualt'", "did you mean 'default'"]),
    "missing apply": ("    default: normal\n    apply: {file: .env, key: BACKEND_MODE}\n", "    default: normal\n",
                      "backend_mode:", ["axis 'backend_mode' needs 'apply'"]),
    "no values": ("values: [normal, readonly]", "values: []", "values: []", ["axis 'backend_mode' has no values"]),
    "duplicate values": ("values: [1, 16]", "values: [1, \"1\", 16]", "values: [1,", ["'1' more than once"]),
    "unknown axis in scenario": ("values: {backend_mode: readonly, scanner: \"off\"}",
                                 "values: {backend_mode: readonly, scaner: \"off\"}", "scaner",
                                 ["'readonly-without-scanner'", "axis 'scaner'", "did you mean 'scanner'"]),
    "value the axis lacks": ("values: {pool: 1, frontend_secure: false}", "values: {pool: 8, frontend_secure: false}",
                             "pool: 8", ["axis 'pool'", "value '8'", "values: 1, 16"]),
    "duplicate scenario": ("name: scanner-on-gpu", "name: baseline", "name: baseline\n",
                           ["scenario 'baseline' is defined twice"]),
    "unsafe scenario name": ("name: small-pool-insecure", "name: small/pool", "small/pool",
                             ["'small/pool'", "folder"]),
    "template does not parse": ("value: \"{{ '1' if value == 'on' else '0' }}\"", "value: \"{{ '1' if value == }}\"",
                                "value: \"{{ '1' if", ["syntax error"]),
    "template names an unknown axis": ("BACKEND_MODE: \"{{ backend_mode }}\"", "BACKEND_MODE: \"{{ backendmode }}\"",
                                       "backendmode", ["'backendmode'", "did you mean 'backend_mode'"]),
    "unknown requirement kind": ("[{path: /dev/nvidia0}]", "[{file: /dev/nvidia0}]", "file: /dev/nvidia0",
                                 ["requirement kind", "'file'", "path, host, command"]),
    "apply file with ..": ("apply: {file: .env, key: BACKEND_POOL}", "apply: {file: ../.env, key: BACKEND_POOL}",
                           "../.env", ["'../.env'", "'..'"]),
    "missing scenario name": ("  - {name: small-pool-insecure, values:", "  - {values:", "  - {values:",
                              ["needs 'name'"]),
}


@pytest.mark.parametrize("kind", list(MISTAKES))
def test_each_mistake_is_bad_input_naming_file_and_line(tmp_path, kind):
    old, new, needle, words = MISTAKES[kind]
    path, text = broken(tmp_path, old, new)
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(text, needle)}: "), message
    for word in words:
        assert word in message, message


def test_a_missing_file_and_bad_yaml_are_bad_input(tmp_path):
    assert str(tmp_path / "none.yml") in load_error(tmp_path / "none.yml")
    path = tmp_path / "m.yml"
    path.write_text("axes:\n  a: [\n")
    assert f"{path}:3" in load_error(path)


def test_an_uncovered_value_is_rejected_naming_axis_value_and_the_axis_line(tmp_path):
    path, text = broken(tmp_path, "{name: small-pool-insecure, values: {pool: 1, frontend_secure: false}}",
                        "{name: small-pool-insecure, values: {frontend_secure: false}}")
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(text, '  pool:')}: coverage: axis 'pool' value '1' "), message


def test_a_value_covered_only_by_a_skipped_scenario_is_uncovered(tmp_path):
    # readonly-without-scanner is the only runnable readonly; arm64-agent-only (skipped by design) also names it
    path, text = broken(tmp_path, "values: {backend_mode: readonly, scanner: \"off\"}", "values: {scanner: \"off\"}")
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(text, '  backend_mode:')}: coverage: axis 'backend_mode' value "
                              "'readonly' "), message
    assert "only arm64-agent-only, skipped by design" in message


def test_every_uncovered_value_is_named(tmp_path):
    path, _ = broken(tmp_path, "values: [1, 16]", "values: [1, 16, 32]")
    text = path.read_text().replace("values: [normal, readonly]", "values: [normal, readonly, degraded]")
    path.write_text(text)
    message = load_error(path)
    assert "axis 'backend_mode' value 'degraded'" in message and "also uncovered: pool=32" in message


def test_values_that_render_alike_are_rejected(tmp_path):
    path, _ = broken(tmp_path, "value: \"{{ '1' if value == 'on' else '0' }}\"", "value: \"1\"")
    assert "both render to '1'" in load_error(path)
