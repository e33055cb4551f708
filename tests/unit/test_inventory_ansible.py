"""Ansible inventory features: host ranges, INI, vars files, host patterns, ssh options (each error names
file:line or the pattern). tests/test_inventory_corpus.py proves the merged result against ansible-inventory."""

from __future__ import annotations

import pytest

from orchestrator.config import hostrange, inventory, sshargs
from orchestrator.errors import BadInput
from tests.unit.helpers import write


@pytest.mark.parametrize(("pattern", "expected"), [
    ("web[01:03]", ["web01", "web02", "web03"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("n[0:6:2]", ["n0", "n2", "n4", "n6"]),
    ("n[:2]", ["n0", "n1", "n2"]),
    ("r[1:2]u[a:b]", ["r1ua", "r1ub", "r2ua", "r2ub"]),
    ("x[A:C]", ["xA", "xB", "xC"]),
    ("plain", ["plain"]),
])
def test_ranges_expand_as_ansible(pattern, expected):
    assert hostrange.expand(pattern, "f:1") == expected


@pytest.mark.parametrize(("pattern", "fragment"), [
    ("web[01:1]", "same width"), ("web[1]", "begin:end"), ("web[1:]", "end value"), ("web[c:a]", "begin <= end"),
    ("web[1:3:0]", "step must be positive"), ("web[1:9", "closing"), ("web[0:99999999]", "more than"),
])
def test_bad_ranges_name_the_place(pattern, fragment):
    with pytest.raises(BadInput, match=fragment) as info:
        hostrange.expand(pattern, "inv.ini:7")
    assert str(info.value).startswith("inv.ini:7: ")


def test_port_split_keeps_range_colons():
    assert hostrange.split_port("web[1:3]:2222", "f") == ("web[1:3]", 2222)
    assert hostrange.split_port("web[1:3]", "f") == ("web[1:3]", None)
    with pytest.raises(BadInput, match="reserved for a port"):
        hostrange.split_port("web:", "f")


INI = """\
lonely
[web]
web[1:2] ansible_port=2200 tier=front
[web:vars]
ansible_user=deploy
ansible_become=yes
[prod:children]
web
"""


def test_ini_inventory_loads_with_ranges_and_typed_values(tmp_path):
    inv = inventory.load(write(tmp_path / "hosts", INI))
    assert list(inv.hosts) == ["lonely", "web1", "web2"]
    web1 = inv.hosts["web1"]
    assert web1.vars["ansible_port"] == 2200 and web1.vars["ansible_become"] == "yes"
    assert web1.get("ansible_become") is True  # Ansible's boolean words, as shakedown uses them
    assert web1.origins["ansible_user"] == f"{tmp_path / 'hosts'}:5"
    assert [h.name for h in inv.select("prod")] == ["web1", "web2"]
    assert [h.name for h in inv.select("ungrouped")] == ["lonely"]


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("[web]\nh1\n[web:typo]\n", 3, "unknown type"),
    ("[web]\nh1 novalue\n", 2, "expected key=value"),
    ("[web]\nh1\n[web:vars]\njustaword\n", 4, "expected key=value"),
    ("[a:children]\nmissing\n[a]\nh1\n", 2, "declared nowhere"),
    ("[ghost:vars]\nx=1\n[web]\nh1\n", 1, "declared nowhere"),
    ("[web]\nh1 ansible_password=x\n", 2, "key authentication"),
    ("[web]\nh1 ansible_port=http\n", 2, "ansible_port"),
    ("[web]\nh1 x=1j\n", 2, "no JSON/YAML form"),
    ("[web group]\nh1\n", 1, "invalid section"),
])
def test_ini_errors_name_file_and_line(tmp_path, text, line, fragment):
    path = write(tmp_path / "inv.ini", text)
    with pytest.raises(BadInput, match=fragment) as info:
        inventory.load(path)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)


def test_vault_files_are_refused_naming_them(tmp_path):
    write(tmp_path / "inv.yml", "all:\n  hosts:\n    h1:\n")
    (tmp_path / "host_vars").mkdir()
    secret = write(tmp_path / "host_vars" / "h1.yml", "$ANSIBLE_VAULT;1.1;AES256\n6161\n")
    with pytest.raises(BadInput, match="Vault") as info:
        inventory.load(tmp_path / "inv.yml")
    assert str(secret) in str(info.value)


def test_group_vars_file_errors_name_file_and_line(tmp_path):
    write(tmp_path / "inv.yml", "all:\n  children:\n    web:\n      hosts:\n        h1:\n")
    (tmp_path / "group_vars").mkdir()
    bad = write(tmp_path / "group_vars" / "web.yml", "fine: 1\nansible_usr: me\n")
    with pytest.raises(BadInput, match="did you mean 'ansible_user'") as info:
        inventory.load(tmp_path / "inv.yml")
    assert str(info.value).startswith(f"{bad}:2: ")


# -- host patterns ----------------------------------------------------------------------------------------
PATTERNS = """\
all:
  children:
    devs:
      hosts:
        dev1:
        dev2:
        dev10:
    arm64:
      hosts:
        dev2:
        agent1:
    agents:
      hosts:
        agent1:
        agent2:
"""


@pytest.mark.parametrize(("pattern", "expected"), [
    ("dev*", ["dev1", "dev2", "dev10"]),
    ("devs:&arm64", ["dev2"]),
    ("all:!agents", ["dev1", "dev2", "dev10"]),
    ("!agents", ["dev1", "dev2", "dev10"]),
    ("~dev\\d$", ["dev1", "dev2"]),
    ("devs,agent2", ["dev1", "dev2", "dev10", "agent2"]),
    ("devs:agent2:!dev1", ["dev2", "dev10", "agent2"]),
    ("!agent1:devs", ["dev1", "dev2", "dev10"]),  # exclusions apply last, whatever their place
    ("devs[0]", ["dev1"]), ("devs[1:]", ["dev2", "dev10"]), ("devs[-1]", ["dev10"]),
    ("agent?", ["agent1", "agent2"]),
])
def test_patterns(tmp_path, pattern, expected):
    inv = inventory.load(write(tmp_path / "inv.yml", PATTERNS))
    assert sorted(h.name for h in inv.select(pattern)) == sorted(expected)


@pytest.mark.parametrize("pattern", ["devs:&agents", "zzz*", "~nomatch", "all:!devz", "dev1:!dev1", "devs:&"])
def test_empty_match_is_bad_input_naming_the_pattern(tmp_path, pattern):
    inv = inventory.load(write(tmp_path / "inv.yml", PATTERNS))
    with pytest.raises(BadInput) as info:
        inv.select(pattern)
    assert info.value.exit_code == 2
    assert repr(pattern) in str(info.value)


# -- ssh options ------------------------------------------------------------------------------------------
def test_ssh_args_understood():
    args = sshargs.parse("-o ProxyJump=ops@jump:2200 -o ServerAliveInterval=5 -oPort=2222 -o ControlMaster=auto "
                         "-o StrictHostKeyChecking=accept-new")
    assert (args.proxy_jump, args.server_alive_interval, args.port, args.accept_new) == \
        ("ops@jump:2200", 5.0, 2222, True)
    assert sshargs.parse_jump(args.proxy_jump) == sshargs.Jump("jump", "ops", 2200)
    assert sshargs.parse("-J bastion").proxy_jump == "bastion"
    # OpenSSH: the first value wins, so common args beat extra args
    assert sshargs.parse("-o Port=1", sshargs.parse("-o Port=2")).port == 2


@pytest.mark.parametrize(("text", "fragment"), [
    ("-o ProxyCommand='nc %h %p'", "ProxyCommand"), ("-A", "'-A'"), ("-o StrictHostKeyChecking=no", "always verified"),
    ("-J a,b", "chain"), ("-o Port=x", "port"),
])
def test_ssh_args_refused_naming_the_option(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        sshargs.parse(text)


def test_ssh_args_refused_in_the_inventory_name_the_line(tmp_path):
    path = write(tmp_path / "inv.ini", "[g]\nh1 ansible_ssh_common_args='-o ForwardAgent=yes'\n")
    with pytest.raises(BadInput, match="ForwardAgent") as info:
        inventory.load(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_become_method_other_than_sudo_is_refused(tmp_path):
    with pytest.raises(BadInput, match="ansible_become_method"):
        inventory.load(write(tmp_path / "inv.ini", "[g]\nh1 ansible_become_method=su\n"))
