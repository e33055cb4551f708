"""Playbooks: load and validate the whole book before anything runs; every error is exit 2 with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import BadInput
from tests.unit.helpers import write

ROOT = Path(__file__).resolve().parents[2]

INVENTORY = """\
all:
  hosts:
    local:
      ansible_connection: local
      version_text: notanumber
      restarts: 2
"""


@pytest.fixture
def targets(tmp_path):
    return inventory.load(write(tmp_path / "inv.yml", INVENTORY)).select("all")


def check(tmp_path: Path, text: str, targets) -> playbook.Playbook:
    book = playbook.load(write(tmp_path / "book.yml", text))
    playbook.validate(book, targets)
    return book


def rejected(tmp_path: Path, text: str, targets) -> str:
    with pytest.raises(BadInput) as info:
        check(tmp_path, text, targets)
    assert info.value.exit_code == 2
    return str(info.value)


def task(body: str) -> str:
    """A one-play playbook around one task; the task's mapping starts on line 3."""
    return "- hosts: all\n  tasks:\n" + "\n".join("    " + line for line in body.splitlines()) + "\n"


def test_valid_playbook_loads_with_defaults(tmp_path, targets):
    book = check(tmp_path, """\
        - name: smoke
          hosts: all
          vars:
            greeting: "hi {{ inventory_hostname }}"
          tasks:
            - name: say
              shell:
                cmd: "echo {{ greeting }}"
              register: out
              until: out.rc == 0
            - block:
                - fail: {}
              rescue:
                - set_fact:
                    fixed: true
              always:
                - assert:
                    that: fixed | default(false)
        """, targets)
    play = book.plays[0]
    say = play.tasks[0]
    assert (play.name, play.hosts, say.module, say.register) == ("smoke", "all", "shell", "out")
    assert say.where == f"{tmp_path / 'book.yml'}:6"
    assert say.retries == 3 and say.delay == 1.0  # Ansible's defaults with `until`
    assert [t.module for t in play.all_tasks()] == ["shell", None, "fail", "set_fact", "assert"]
    assert playbook.play_variables(targets[0], play)["greeting"] == "hi local"


@pytest.mark.parametrize(("body", "line", "fragments"), [
    pytest.param("- name: a\n  shel:\n    cmd: ls\n", 4, ["unknown module or keyword 'shel'", "did you mean 'shell'"],
                 id="unknown-module"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  retry: 3\n", 6, ["'retry'", "did you mean 'retries'"],
                 id="unknown-keyword"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  whn: x\n", 6, ["'whn'", "did you mean 'when'"],
                 id="misspelt-when"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  fail:\n    msg: x\n", 3, ["exactly one module", "shell, fail"],
                 id="two-modules"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  rescue:\n    - fail: {}\n", 3,
                 ["rescue/always belong to a block"], id="rescue-without-block"),
    pytest.param("- name: a\n  always:\n    - fail: {}\n", 3, ["one module or be a block"], id="always-alone"),
    pytest.param("- name: a\n  block: []\n", 4, ["block must be a non-empty list"], id="empty-block"),
    pytest.param("- name: a\n  shell:\n    command: ls\n", 4,
                 ["unknown argument 'command'", "missing required argument 'cmd'"], id="bad-arg-name"),
    pytest.param("- name: a\n  shell: {}\n", 4, ["missing required argument 'cmd'"], id="missing-arg"),
    pytest.param("- name: a\n  shell:\n    cmd: 5\n", 4, ["argument 'cmd' must be string, got 5"], id="arg-type"),
    pytest.param("- name: a\n  containers:\n    project: p\n    expected: []\n    max_restarts: 'yes'\n", 4,
                 ["argument 'max_restarts' must be integer"], id="arg-type-int"),
    pytest.param("- name: a\n  disk:\n    max_used_percent: true\n", 4, ["max_used_percent"], id="bool-not-number"),
    pytest.param("- name: a\n  shell: ls\n", 4, ["arguments of shell must be a mapping"], id="args-not-mapping"),
    pytest.param("- name: a\n  set_fact:\n    bad-name: 1\n", 4, ["invalid variable name 'bad-name'"],
                 id="set-fact-name"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  timeout: 0\n", 6, ["timeout must be a positive number"],
                 id="timeout-zero"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  retries: soon\n", 6, ["retries must be a non-negative number"],
                 id="retries-type"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  ignore_errors: 'yes'\n", 6,
                 ["ignore_errors must be true or false"], id="ignore-errors-type"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  register: not a name\n", 6,
                 ["register must be a variable name"], id="register-name"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  when: {a: 1}\n", 6, ["when must be an expression"],
                 id="when-type"),
    pytest.param("- name: a\n  shell:\n    cmd: ls\n  register: r\n  until: 3\n", 7, ["until must be an expression"],
                 id="until-type"),
])
def test_load_errors_name_file_and_line(tmp_path, targets, body, line, fragments):
    message = rejected(tmp_path, task(body), targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:{line}: "), message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("- hosts: all\n  task:\n    - ping: {}\n", 2, "did you mean 'tasks'"),
    ("- hosts: all\n  tasks: []\n", 1, "non-empty `tasks` list"),
    ("- hosts: [a, b]\n  tasks:\n    - ping: {}\n", 1, "hosts must be a pattern string"),
    ("[]\n", 1, "non-empty list of plays"),
    ("hosts: all\n", 1, "non-empty list of plays"),
    ("- hosts: all\n  tasks:\n    - ping: {\n", 4, "invalid YAML"),
])
def test_play_level_errors(tmp_path, targets, text, line, fragment):
    message = rejected(tmp_path, text, targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:{line}: "), message
    assert fragment in message


# -- validation against the hosts -----------------------------------------------------------------------
@pytest.mark.parametrize(("body", "line", "label"), [
    ("- name: t\n  shell:\n    cmd: 'echo {{ nope }}'\n", 3, "shell"),
    ("- name: t\n  shell:\n    cmd: echo\n  when: nope == 1\n", 3, "when"),
    ("- name: t\n  shell:\n    cmd: echo\n  when:\n    - true\n    - nope\n", 3, "when"),
    ("- name: t\n  shell:\n    cmd: echo\n  register: r\n  until: r.rc == nope\n", 3, "until"),
    ("- name: t\n  block:\n    - shell:\n        cmd: 'echo {{ nope.x }}'\n", 5, "shell"),
])
def test_undefined_variable_names_variable_host_and_line(tmp_path, targets, body, line, label):
    message = rejected(tmp_path, task(body), targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:{line}: "), message
    assert "undefined variable(s) nope for host local" in message
    assert label in message


def test_guarded_and_registered_variables_are_fine(tmp_path, targets):
    check(tmp_path, """\
        - hosts: all
          tasks:
            - name: t
              shell:
                cmd: "echo {{ maybe | default('') }} {{ other.x | default(1) }}"
              when: maybe is defined or true
              register: first
            - name: u
              shell:
                cmd: "echo {{ first.stdout }} {{ later }}"
              when: first.rc == 0
            - set_fact:
                later: 1
        """, targets)


def test_type_error_after_rendering_inventory_vars(tmp_path, targets):
    message = rejected(tmp_path, task(
        "- name: restarts\n  containers:\n    project: p\n    expected: []\n"
        "    max_restarts: '{{ version_text }}'\n"), targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:3: "), message
    assert "max_restarts" in message and "'notanumber'" in message and "host local" in message


def test_rendered_inventory_value_of_the_right_type_passes(tmp_path, targets):
    check(tmp_path, task("- containers:\n    project: p\n    expected: []\n    max_restarts: '{{ restarts }}'\n"),
          targets)


def test_template_syntax_error(tmp_path, targets):
    message = rejected(tmp_path, task("- name: t\n  shell:\n    cmd: 'echo {{ x '\n"), targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:3: "), message
    assert "syntax error" in message


def test_undefined_variable_in_play_vars(tmp_path, targets):
    message = rejected(tmp_path, "- hosts: all\n  vars:\n    a: '{{ nope }}'\n  tasks:\n    - ping: {}\n", targets)
    assert message.startswith(f"{tmp_path / 'book.yml'}:1: "), message
    assert "nope" in message and "host local" in message


def test_undefined_variable_in_assert_that(tmp_path, targets):
    message = rejected(tmp_path, task("- name: t\n  assert:\n    that:\n      - nope == 1\n"), targets)
    assert "nope" in message and "host local" in message


def test_resolve_names_and_paths():
    assert playbook.resolve("check") == ROOT / "playbooks" / "check.yml"
    assert playbook.resolve("x/y.yml") == Path("x/y.yml")
    assert playbook.resolve("mine.yaml") == Path("mine.yaml")


def test_check_playbook_validates_for_every_lab_host():
    book = playbook.load("check")
    hosts = inventory.load(ROOT / "inventory" / "lab.yml").select("all")
    assert [h.name for h in hosts] == ["dev", "local", "dev-wan", "dev-via-bastion", "agent"]
    playbook.validate(book, hosts)
    for spec in hosts:  # each host on its own too (the CLI validates exactly the selected hosts)
        playbook.validate(book, [spec])
    assert book.plays[0].ignore_errors is True  # one run reports everything that is wrong


def test_a_play_naming_an_unknown_group_is_refused(tmp_path, targets):
    book = playbook.load(write(tmp_path / "book.yml", "- hosts: all\n  tasks:\n    - fail: {}\n"
                                                      "- hosts: agnets\n  tasks:\n    - fail: {}\n"))
    with pytest.raises(BadInput) as info:
        playbook.validate(book, targets, inventory_names={"local", "all"})
    assert str(info.value) == f"{tmp_path / 'book.yml'}:4: play 'play': hosts names unknown host or group agnets"


def test_a_playbook_with_no_play_for_the_selected_hosts_is_refused(tmp_path, targets):
    message = rejected(tmp_path, "- hosts: elsewhere\n  tasks:\n    - fail: {}\n", targets)
    assert "no play of this playbook runs on local" in message
