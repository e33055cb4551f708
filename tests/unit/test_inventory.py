"""Inventory: Ansible-shaped YAML, variable precedence, host selection, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import inventory
from orchestrator.errors import EXIT_BAD_INPUT, BadInput
from tests.unit.helpers import write

LAB = Path(__file__).resolve().parents[2] / "inventory" / "lab.yml"


def load(tmp_path: Path, text: str) -> inventory.Inventory:
    return inventory.load(write(tmp_path / "inv.yml", text))


def bad(tmp_path: Path, text: str) -> str:
    """Load `text`, expect BadInput (exit code 2); return its message."""
    path = write(tmp_path / "inv.yml", text)
    with pytest.raises(BadInput) as info:
        inventory.load(path)
    assert info.value.exit_code == EXIT_BAD_INPUT == 2
    return str(info.value)


# -- variable precedence ------------------------------------------------------------------------------
PRECEDENCE = """\
all:
  vars:
    level: all
    from_all: a
    sibling: all
  children:
    child:
      vars:
        level: child
      hosts:
        h1:
        h2:
          level: host
    parent:
      vars:
        level: parent
        from_parent: p
      children:
        child:
    zeta:
      vars:
        sibling: zeta
      hosts:
        h1:
    alpha:
      vars:
        sibling: alpha
      hosts:
        h1:
"""


def test_child_group_beats_parent_beats_all_whatever_the_file_order(tmp_path):
    inv = load(tmp_path, PRECEDENCE)
    h1 = inv.hosts["h1"]
    assert h1.vars["level"] == "child"  # child is defined before parent in the file, still wins
    assert h1.vars["from_parent"] == "p"  # inherited through the nested child
    assert h1.vars["from_all"] == "a"


def test_host_vars_beat_every_group(tmp_path):
    inv = load(tmp_path, PRECEDENCE)
    assert inv.hosts["h2"].vars["level"] == "host"


def test_sibling_groups_merge_alphabetically_later_wins(tmp_path):
    # zeta is listed first in the file but sorts last, so it wins over alpha.
    inv = load(tmp_path, PRECEDENCE)
    assert inv.hosts["h1"].vars["sibling"] == "zeta"
    assert inv.hosts["h2"].vars["sibling"] == "all"  # h2 is in neither sibling


def test_origins_name_the_line_of_the_winning_value(tmp_path):
    inv = load(tmp_path, PRECEDENCE)
    path = tmp_path / "inv.yml"
    assert inv.hosts["h1"].origins["level"] == f"{path}:9"
    assert inv.hosts["h2"].origins["level"] == f"{path}:13"


def test_host_listed_twice_later_listing_wins_and_vars_merge(tmp_path):
    inv = load(tmp_path, """\
        all:
          children:
            g1:
              vars:
                v: group
              hosts:
                h1:
                  v: first
                  only_first: a
            g2:
              hosts:
                h1:
                  v: second
        """)
    assert inv.hosts["h1"].vars["v"] == "second"
    assert inv.hosts["h1"].vars["only_first"] == "a"
    assert set(inv.hosts["h1"].groups) == {"all", "g1", "g2"}
    assert list(inv.hosts) == ["h1"]


def test_user_variables_pass_through_and_inventory_hostname_is_set(tmp_path):
    inv = load(tmp_path, """\
        all:
          hosts:
            web1:
              my_custom_var: [1, 2]
        """)
    spec = inv.hosts["web1"]
    assert spec.vars["my_custom_var"] == [1, 2]
    assert spec.vars["inventory_hostname"] == "web1"
    assert spec.get("command_timeout") == 60  # documented default from settings.py
    assert not spec.is_local


# -- select -------------------------------------------------------------------------------------------
SELECT = """\
all:
  hosts:
    h1:
  children:
    outer:
      children:
        inner:
          hosts:
            h3:
            h2:
    solo:
      hosts:
        h4:
"""


@pytest.mark.parametrize(("pattern", "expected"), [
    ("h2", ["h2"]),
    ("inner", ["h3", "h2"]),
    ("outer", ["h3", "h2"]),  # nested children count
    ("all", ["h1", "h3", "h2", "h4"]),
    ("h4,h1", ["h1", "h4"]),  # inventory order, not pattern order
    ("h2, inner ,h2", ["h3", "h2"]),  # deduplicated, spaces tolerated
    ("solo,outer", ["h3", "h2", "h4"]),
])
def test_select(tmp_path, pattern, expected):
    inv = load(tmp_path, SELECT)
    assert [h.name for h in inv.select(pattern)] == expected


def test_select_unknown_host_names_it_and_the_inventory(tmp_path):
    inv = load(tmp_path, SELECT)
    with pytest.raises(BadInput) as info:
        inv.select("h1,nosuchhost")
    assert info.value.exit_code == 2
    assert "'nosuchhost'" in str(info.value)
    assert str(tmp_path / "inv.yml") in str(info.value)


@pytest.mark.parametrize("pattern", ["", "h1,", " , "])
def test_select_empty_names_are_refused(tmp_path, pattern):
    inv = load(tmp_path, SELECT)
    with pytest.raises(BadInput):
        inv.select(pattern)


def test_select_empty_group_is_refused(tmp_path):
    inv = load(tmp_path, SELECT + "    empty:\n")
    with pytest.raises(BadInput, match="matches no hosts"):
        inv.select("empty")


# -- errors name the file and the line ----------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "fragments"), [
    pytest.param("all:\n  hosts:\n    h1:\n      x: a: b\n    h2:\n", 4, ["invalid YAML"], id="yaml-syntax"),
    pytest.param("all:\n  hosts:\n    h1:\n      x: 1\n     y: 2\n", 5, ["invalid YAML"], id="yaml-indent"),
    pytest.param("all:\n  hosts:\n    h1:\n      x: 1\n      x: 2\n", 5, ["duplicate key 'x'"], id="duplicate-var"),
    pytest.param("all:\n  hosts:\n    h1:\n    h1:\n", 4, ["duplicate key 'h1'"], id="duplicate-host"),
    pytest.param("all:\n  host:\n    h1:\n", 2, ["unknown key 'host'", "did you mean 'hosts'"], id="group-key"),
    pytest.param("all:\n  children:\n    g:\n      var:\n        x: 1\n      hosts:\n        h1:\n", 4,
                 ["unknown key 'var'", "did you mean 'vars'"], id="group-key-nested"),
    pytest.param("all:\n  hosts:\n    h1:\n      ansible_usr: me\n", 4,
                 ["'ansible_usr'", "did you mean 'ansible_user'"], id="ansible-typo"),
    pytest.param("all:\n  vars:\n    ansible_password: hunter2\n  hosts:\n    h1:\n", 3,
                 ["ansible_password", "key authentication"], id="password-refused"),
    pytest.param("all:\n  hosts:\n    h1:\n      connect_timeout: soon\n", 4,
                 ["connect_timeout must be a positive number", "'soon'"], id="timeout-type"),
    pytest.param("all:\n  hosts:\n    h1:\n      ansible_port: 70000\n", 4, ["ansible_port must be a port"],
                 id="port-range"),
    pytest.param("all:\n  hosts:\n    h1:\n      ansible_become: 'true'\n", 4, ["ansible_become must be a boolean"],
                 id="become-type"),
    pytest.param("all:\n  children:\n    devs:\n      vars:\n        expected_services: backend\n"
                  "      hosts:\n        h1:\n", 5, ["expected_services must be a list of strings", "'backend'"],
                 id="services-type"),
    pytest.param("all:\n  hosts:\n    h1:\n      http_probes:\n        - url: http://127.0.0.1/\n"
                 "          methd: GET\n", 4, ["http_probes"], id="probe-unknown-key"),
    pytest.param("all:\n  hosts:\n    h1:\n      http_probes:\n        - url: ftp://127.0.0.1/\n", 4,
                 ["http_probes"], id="probe-not-http"),
    pytest.param("all:\n  hosts:\n    'bad;name':\n", 3, ["invalid host name 'bad;name'"], id="host-semicolon"),
    pytest.param("all:\n  hosts:\n    bad name:\n", 3, ["invalid host name 'bad name'"], id="host-space"),
    pytest.param("all:\n  children:\n    'we b':\n      hosts:\n        h1:\n", 3, ["invalid group name"],
                 id="group-space"),
    pytest.param("all:\n  children:\n    a:\n      children:\n        b:\n    b:\n      children:\n        a:\n",
                 8, ["group 'a' is its own ancestor"], id="group-cycle"),
    pytest.param("all:\n  hosts:\n    h1: just-a-string\n", 3, ["vars must be a mapping"], id="host-vars-type"),
])
def test_bad_inventory_names_file_and_line(tmp_path, text, line, fragments):
    message = bad(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'inv.yml'}:{line}: "), message
    for fragment in fragments:
        assert fragment in message


def test_unknown_non_ansible_vars_are_allowed(tmp_path):
    # Only `ansible_*` names are reserved; anything else is the user's own template variable.
    inv = load(tmp_path, "all:\n  hosts:\n    h1:\n      ansbile_user: me\n")
    assert inv.hosts["h1"].vars["ansbile_user"] == "me"


@pytest.mark.parametrize(("probe", "problem"), [
    ("url: http://127.0.0.1/\n          methd: GET", "unknown probe key 'methd'"),
    ("url: ftp://127.0.0.1/", "must be an http(s) URL"),
])
def test_bad_probe_message_says_what_is_wrong(tmp_path, probe, problem):
    message = bad(tmp_path, f"all:\n  hosts:\n    h1:\n      http_probes:\n        - {probe}\n")
    assert problem in message


@pytest.mark.parametrize(("text", "fragment"), [
    ("", "inventory is empty"),
    ("# only a comment\n", "inventory is empty"),
    ("all:\n  vars:\n    x: 1\n", "defines no hosts"),
    ("- h1\n- h2\n", "must be a mapping of groups"),
])
def test_empty_or_hostless_inventory(tmp_path, text, fragment):
    message = bad(tmp_path, text)
    assert message.startswith(str(tmp_path / "inv.yml"))
    assert fragment in message


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="file not found") as info:
        inventory.load(tmp_path / "nope.yml")
    assert str(tmp_path / "nope.yml") in str(info.value)


def test_name_that_is_both_host_and_group_is_refused_in_either_order(tmp_path):
    text = "all:\n  hosts:\n    web:\n  children:\n    web:\n      hosts:\n        other:\n"
    message = bad(tmp_path, text)
    assert "both a host and a group" in message


def test_group_then_host_of_the_same_name_is_refused(tmp_path):
    text = "all:\n  children:\n    web:\n      hosts:\n        h1:\n    other:\n      hosts:\n        web:\n"
    assert "both a host and a group" in bad(tmp_path, text)


# -- which file ---------------------------------------------------------------------------------------
def test_explicit_path_beats_environment(tmp_path, monkeypatch):
    env_file = write(tmp_path / "env.yml", "all:\n  hosts:\n    from_env:\n")
    explicit = write(tmp_path / "explicit.yml", "all:\n  hosts:\n    from_flag:\n")
    monkeypatch.setenv("SHAKEDOWN_INVENTORY", str(env_file))
    assert list(inventory.load(explicit).hosts) == ["from_flag"]
    assert list(inventory.load().hosts) == ["from_env"]
    assert inventory.load().path == env_file


def test_default_is_lab_yml(monkeypatch):
    monkeypatch.delenv("SHAKEDOWN_INVENTORY", raising=False)
    assert inventory.resolve_path(None) == LAB
    assert inventory.load().path == LAB


def test_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / "inv.yml", "all:\n  hosts:\n    h1:\n")
    assert list(inventory.load("~/inv.yml").hosts) == ["h1"]


# -- the lab inventory that ships with the repo ---------------------------------------------------------
def test_lab_inventory_hosts_and_connection_vars():
    inv = inventory.load(LAB)
    assert set(inv.hosts) == {"dev", "agent", "local", "dev-wan", "dev-via-bastion"}
    dev, agent, local = inv.hosts["dev"], inv.hosts["agent"], inv.hosts["local"]
    assert (dev.get("ansible_host"), dev.get("ansible_port"), dev.get("ansible_user")) == \
        ("127.0.0.1", 2222, "sd-dev")
    assert (agent.get("ansible_host"), agent.get("ansible_port"), agent.get("ansible_user")) == \
        ("127.0.0.2", 2223, "sd-agent")
    assert not dev.is_local and not agent.is_local
    assert local.is_local
    assert local.get("docker_host").startswith("unix:///")
    # local looks at the dev host's stack: same group vars.
    for name in ("stack_dir", "compose_project", "expected_services", "http_probes"):
        assert local.get(name) == dev.get(name)
    assert "stack_dir" not in agent.vars
    for spec in inv.hosts.values():
        assert spec.get("ansible_ssh_private_key_file")
        assert spec.get("command_timeout") == 30
        host = spec.get("ansible_host") or "127.0.0.1"
        assert host.startswith("127."), "the lab must stay on loopback"
    assert [h.name for h in inv.select("devs")] == ["dev", "local"]


def test_lab_inventory_dev_wan_is_dev_through_the_link():
    inv = inventory.load(LAB)
    dev, wan = inv.hosts["dev"], inv.hosts["dev-wan"]
    # The link's address (orchestrator/lab/spec.py LINK), dev's login user and key.
    assert (wan.get("ansible_host"), wan.get("ansible_port"), wan.get("ansible_user")) == \
        ("127.0.0.1", 2322, "sd-dev")
    assert wan.get("keepalive_interval") == 2  # a blackholed link is noticed in seconds, not at the timeout
    differ = {name for name in dev.vars.keys() | wan.vars.keys() if dev.get(name) != wan.get(name)}
    assert differ == {"ansible_port", "keepalive_interval", "inventory_hostname"}  # the same stack, all of it
    # Only its own group: `devs` (and every count of it) stays dev and local.
    assert [h.name for h in inv.select("links")] == ["dev-wan"]
    assert "dev-wan" not in {h.name for h in inv.select("devs,agents")}


def test_lab_inventory_dev_via_bastion_is_dev_through_the_lab_bastion():
    from orchestrator.config import sshargs
    from orchestrator.host.sshconn import settings_of
    from orchestrator.lab import spec

    inv = inventory.load(LAB)
    dev, jumped = inv.hosts["dev"], inv.hosts["dev-via-bastion"]
    assert (jumped.get("ansible_host"), jumped.get("ansible_port"), jumped.get("ansible_user")) == \
        (spec.DEV.ssh_host, spec.DEV.ssh_port, spec.DEV.user)
    # The jump is spec.BASTION's address and user; its key comes from the ssh config lab.up writes.
    jump = sshargs.parse_jump(settings_of(jumped).proxy_jump)
    assert (jump.host, jump.port, jump.user) == (spec.BASTION.ssh_host, spec.BASTION.ssh_port, spec.BASTION.user)
    assert jumped.get("ssh_config_file") == str(spec.BASTION_SSH_CONFIG)
    assert f"{spec.DEV.ssh_host}:{spec.DEV.ssh_port}" in spec.BASTION_PERMIT_OPEN
    differ = {name for name in dev.vars.keys() | jumped.vars.keys() if dev.get(name) != jumped.get(name)}
    assert differ == {"ansible_ssh_common_args", "ssh_config_file", "inventory_hostname"}  # the same stack
    assert [h.name for h in inv.select("jumps")] == ["dev-via-bastion"]
    assert "dev-via-bastion" not in {h.name for h in inv.select("devs,agents,links")}


def test_lab_inventory_points_the_flow_at_the_lab_marketplace():
    from orchestrator.lab import spec

    inv = inventory.load(LAB)
    for name in ("dev", "local", "dev-wan"):
        host = inv.hosts[name]
        assert host.get("flow_base_url") == spec.MARKETPLACE_URL
        assert host.get("flow_secrets_file") == str(spec.MARKETPLACE_ADMIN_FILE)
        assert host.get("flow_secret_env") == []
    assert inv.hosts["agent"].get("flow_base_url") is None


@pytest.mark.parametrize("var, value, kind", [
    ("flow_base_url", "127.0.0.1:18110", "http(s) URL"),
    ("flow_base_url", "ftp://example.test", "http(s) URL"),
    ("flow_secrets_file", "''", "string"),
    ("flow_secret_env", "[MARKET PASSWORD]", "environment variable names"),
    ("flow_secret_env", "FLOW_TOKEN", "environment variable names"),
])
def test_flow_variables_are_type_checked(tmp_path, var, value, kind):
    message = bad(tmp_path, f"all:\n  hosts:\n    h1:\n      {var}: {value}\n")
    assert var in message and kind in message, message


def test_flow_variables_accept_their_documented_shapes(tmp_path):
    inv = load(tmp_path, "all:\n  hosts:\n    h1:\n      flow_base_url: https://market.example.test/v1\n"
                         "      flow_secrets_file: /etc/flow.env\n      flow_secret_env: [FLOW_EMAIL, FLOW_PASSWORD]\n")
    host = inv.hosts["h1"]
    assert (host.get("flow_base_url"), host.get("flow_secrets_file"), host.get("flow_secret_env")) == \
        ("https://market.example.test/v1", "/etc/flow.env", ["FLOW_EMAIL", "FLOW_PASSWORD"])
