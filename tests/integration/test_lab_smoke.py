"""Smoke test of the lab itself: up() gives exactly the specified hosts, and a second up() changes nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from orchestrator import lab
from orchestrator.lab import dockerd, spec, sshd, stack

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")]

STATUS_KEYS = {"name", "ssh", "docker_host", "stack_dir", "compose_project", "repo", "up"}
NO_OP_LINE = re.compile(r"already|: ok$|^lab: up in ")


@pytest.fixture(scope="module")
def lab_is_up() -> None:
    try:
        lab.up(echo=lambda _line: None)
    except lab.LabError as exc:
        if exc.exit_code == 2:  # this machine lacks root or packages: say so, never pass silently
            pytest.skip(str(exc))
        raise


def test_status_shape(lab_is_up: None) -> None:
    result = lab.status()
    assert json.loads(json.dumps(result)) == result  # what `lab.status --json` prints
    assert list(result) == ["hosts"]
    dev, agent = result["hosts"]
    for host in (dev, agent):
        assert set(host) == STATUS_KEYS
        assert set(host["ssh"]) == {"host", "port", "user", "key"}
        assert host["ssh"]["key"] == "/var/lib/shakedown-lab/ssh/id_ed25519"
        assert host["up"] is True
    assert dev["name"] == "dev"
    assert dev["ssh"] == {"host": "127.0.0.1", "port": 2222, "user": "sd-dev",
                          "key": "/var/lib/shakedown-lab/ssh/id_ed25519"}
    assert dev["docker_host"] == "unix:///var/lib/shakedown-lab/dev/docker.sock"
    assert dev["stack_dir"] == "/var/lib/shakedown-lab/dev/stack"
    assert dev["compose_project"] == "sample"
    assert dev["repo"] == "/var/lib/shakedown-lab/repo/app.git"
    assert agent["name"] == "agent"
    assert agent["ssh"]["host"] == "127.0.0.2" and agent["ssh"]["port"] == 2223
    assert agent["ssh"]["user"] == "sd-agent"
    assert agent["docker_host"] == "unix:///var/lib/shakedown-lab/agent/docker.sock"
    assert agent["stack_dir"] is None and agent["compose_project"] is None and agent["repo"] is None


def _snapshot() -> dict[str, object]:
    return {
        "pids": [(sshd.pid(h), dockerd.pid(h)) for h in spec.HOSTS],
        "containers": sorted((c.service, c.id) for c in stack.containers(spec.DEV)),
        "known_hosts_mtime": spec.KNOWN_HOSTS.stat().st_mtime_ns,
        "repo_main": (spec.REPO_DIR / "refs" / "heads" / "main").read_text(),
    }


def test_second_up_is_a_no_op(lab_is_up: None) -> None:
    before = _snapshot()
    lines: list[str] = []
    started = time.monotonic()
    lab.up(echo=lines.append)
    elapsed = time.monotonic() - started
    assert _snapshot() == before
    changed = [line for line in lines if not NO_OP_LINE.search(line)]
    assert changed == [], f"second up() changed things: {changed}"
    assert elapsed < 15, f"second up() took {elapsed:.1f}s"


def test_stack_serves_the_checkout_version(lab_is_up: None) -> None:
    version = (Path(spec.DEV.stack_dir or "") / "VERSION").read_text().strip()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:18080/api/version", timeout=5) as resp:
        assert json.loads(resp.read()) == {"version": version, "service": "backend"}
    with opener.open("http://127.0.0.1:18081/", timeout=5) as resp:
        assert resp.status == 200 and version in resp.read().decode()


@pytest.mark.parametrize("host", spec.HOSTS, ids=lambda h: h.name)
def test_login_user_reaches_its_own_engine(lab_is_up: None, host: spec.HostSpec) -> None:
    out = subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(spec.CLIENT_KEY), "-p", str(host.ssh_port),
         "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={spec.KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
         f"{host.user}@{host.ssh_host}", "echo $DOCKER_HOST; docker ps --format '{{.Names}}'"],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == host.docker_host
    assert len(lines[1:]) == (3 if host.stack_dir else 0)


def test_repo_commits_are_a_function_of_the_sources(lab_is_up: None, tmp_path: Path) -> None:
    from orchestrator.lab import repo

    scratch = tmp_path / "scratch.git"
    subprocess.run(["git", "init", "-q", "--bare", str(scratch)], check=True, timeout=30)
    # Subset: tests may push further branches to the lab repo; the built ones must be identical.
    assert repo.expected_refs(scratch).items() <= repo.current_refs(spec.REPO_DIR).items()


def test_preconditions_fail_with_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.lab import prereqs

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(lab.LabError, match="needs root") as not_root:
        lab.up(echo=lambda _line: None)
    assert not_root.value.exit_code == 2

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setitem(prereqs.REQUIRED, "busybox", "/nonexistent/busybox")
    with pytest.raises(lab.LabError) as missing:
        prereqs.check()
    assert missing.value.exit_code == 2
    assert "busybox" in str(missing.value)
    assert prereqs.INSTALL_HINT in str(missing.value).splitlines()
    assert prereqs.INSTALL_HINT == (
        "apt-get update && apt-get install -y openssh-server docker.io docker-compose busybox-static git curl"
    )
