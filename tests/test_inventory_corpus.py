"""The inventory loader against Ansible itself: for every inventory of the corpus, `ansible-inventory -i X --list`
(a real ansible-core, installed once into a test-only venv, as the benchmark does) and shakedown's
`invoke inventory --list` shape must agree on the hosts, the groups (members and children, as sets) and every
host's merged variables. A difference fails naming the host, the variable and both values.

The corpus (tests/corpus/inventory/): ansible/ holds inventories from Ansible's own integration tests (see its
NOTICE.md); ours/ covers each feature (ranges, priority, a layered directory with group_vars/host_vars in
every form, INI typing, connection variables). Where shakedown deliberately differs, the case is listed in
REFUSED with the reason and the words our error must carry: shakedown must refuse it (exit 2, naming the file).
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import ansiblelist, inventory
from orchestrator.errors import BadInput

CORPUS = Path(__file__).resolve().parent / "corpus" / "inventory"
CASES = {
    "ansible/inventory_yaml/test.yml": "nested groups, booleans, an empty child group",
    "ansible/ansible-inventory/complex.ini": "INI: [all], [all:vars], children before and after their section",
    "ansible/ansible-inventory/unicode.yml": "a non-ASCII host name",
    "ansible/ansible-inventory/none_values.yml": "null values, nested, explicit ungrouped",
    "ansible/inventory/inv_with_int.yml": "a mapping with an integer key",
    "ansible/limit_inventory/hosts.yml": "hosts in all only",
    "ansible/var_blending/inventory": "INI with group_vars/all and host_vars/testhost (files beat inline)",
    "ansible/var_precedence/inventory": "INI [all:vars] and host_vars/",
    "ansible/inventory_constructed_1": "a directory source with group_vars/ and host_vars/ inside",
    "ansible/fork_safe_stdio/hosts": "a range in the [all] section",
    "ours/ranges.ini": "ranges: padded, letters, stride, two in a name, host:port, empty start",
    "ours/ranges.yml": "the same ranges as YAML keys",
    "ours/priority.ini": "ansible_group_priority, ASCII sibling order, depth beats priority",
    "ours/priority.yml": "ansible_group_priority in YAML",
    "ours/layered": "a directory: YAML + extensionless INI + nested folder, .ini ignored, every vars-file form",
    "ours/typing.ini": "INI value typing on host lines and in [g:vars]",
    "ours/connection.ini": "connection variables users set (ProxyJump, become, pipelining)",
}
# Cases shakedown refuses on purpose: (why, words our error names).
REFUSED = {
    "ansible/ansible-inventory/valid_sample.yml": ("vault values: shakedown reads no vault password", "!vault"),
    "ansible/inventory_ini/inventory.ini": ("Python-only INI values (bytes, sets, complex, ...) have no JSON form",
                                           "1j"),
    "ansible/inventory_yaml/test_int_hostname.yml": ("a host name that is a number (Ansible refuses it too)",
                                                     "1234"),
    "ours/refused-password.ini": ("passwords in the inventory: use keys", "ansible_password"),
    "ours/refused-proxycommand.ini": ("an ssh option shakedown cannot honour is refused, not dropped",
                                      "ProxyCommand"),
}


def ansible_inventory_exe() -> Path:
    from orchestrator.procedures.bench.contenders import ensure_ansible

    exe = ensure_ansible().parent / "ansible-inventory"
    assert exe.exists(), f"{exe} missing after installing ansible-core"
    return exe


@pytest.fixture(scope="module")
def ansible_lists(tmp_path_factory) -> dict[str, tuple[int, Any, str]]:
    """Every case through the real ansible-inventory, in parallel: path -> (exit code, JSON or None, stderr)."""
    exe = ansible_inventory_exe()
    work = tmp_path_factory.mktemp("ansible")  # an empty cwd: no playbook-dir group_vars sneak in
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_HOME=str(work / "home"), ANSIBLE_LOCAL_TEMP=str(work / "tmp"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_FAILED="1", ANSIBLE_DEPRECATION_WARNINGS="0")

    def run(case: str) -> tuple[int, Any, str]:
        done = subprocess.run([str(exe), "-i", str(CORPUS / case), "--list"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
        data = json.loads(done.stdout) if done.returncode == 0 else None
        return done.returncode, data, done.stderr

    cases = [*CASES, *REFUSED]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(cases, pool.map(run, cases), strict=True))


def ours(case: str) -> Any:
    # Through JSON, as `invoke inventory --list` prints it (integer keys become strings, as in Ansible's).
    return json.loads(json.dumps(ansiblelist.listing(inventory.load(CORPUS / case))))


def differences(theirs: Any, mine: Any) -> list[str]:
    problems: list[str] = []
    groups_t = {k: v for k, v in theirs.items() if k != "_meta"}
    groups_m = {k: v for k, v in mine.items() if k != "_meta"}
    if set(groups_t) != set(groups_m):
        problems.append(f"groups listed: ansible {sorted(groups_t)} vs shakedown {sorted(groups_m)}")
    for name in sorted(set(groups_t) & set(groups_m)):
        for key in ("hosts", "children"):
            a, b = set(groups_t[name].get(key, [])), set(groups_m[name].get(key, []))
            if a != b:
                problems.append(f"group {name} {key}: ansible {sorted(a)} vs shakedown {sorted(b)}")
    vars_t, vars_m = theirs["_meta"]["hostvars"], mine["_meta"]["hostvars"]
    hosts_t = set(vars_t) | {h for g in groups_t.values() for h in g.get("hosts", [])}
    hosts_m = set(vars_m) | {h for g in groups_m.values() for h in g.get("hosts", [])}
    if hosts_t != hosts_m:
        problems.append(f"hosts: ansible {sorted(hosts_t)} vs shakedown {sorted(hosts_m)}")
    for host in sorted(hosts_t & hosts_m):
        a, b = vars_t.get(host, {}), vars_m.get(host, {})
        for var in sorted(set(a) | set(b)):
            if var not in b:
                problems.append(f"host {host} var {var}: ansible {a[var]!r}, shakedown does not set it")
            elif var not in a:
                problems.append(f"host {host} var {var}: shakedown {b[var]!r}, ansible does not set it")
            elif a[var] != b[var] or type(a[var]) is not type(b[var]):
                problems.append(f"host {host} var {var}: ansible {a[var]!r} vs shakedown {b[var]!r}")
    return problems


@pytest.mark.timeout(1200)  # the first run installs ansible-core
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_same_inventory_as_ansible(ansible_lists, case):
    code, theirs, stderr = ansible_lists[case]
    assert code == 0, f"ansible-inventory failed on {case}: {stderr[-2000:]}"
    problems = differences(theirs, ours(case))
    assert not problems, f"{case} ({CASES[case]}):\n  " + "\n  ".join(problems)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_deliberate_differences_are_refused_naming_the_file(ansible_lists, case):
    why, words = REFUSED[case]
    with pytest.raises(BadInput) as info:
        inventory.load(CORPUS / case)
    assert info.value.exit_code == 2
    assert str(CORPUS / case) in str(info.value), str(info.value)
    assert words in str(info.value), f"{case} ({why}): {info.value}"


def test_the_corpus_is_all_here():
    """Every inventory in the corpus is a case, so a new file cannot be silently skipped."""
    listed = {*CASES, *REFUSED}
    sources = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.name != "NOTICE.md"}
    nested = {s.rsplit("/", 1)[0] for s in listed if s.count("/") == 2}
    assert sources - nested <= listed | {s for s in sources if s in nested}, sorted(sources - listed - nested)
    for case in listed:
        assert (CORPUS / case).exists(), case
