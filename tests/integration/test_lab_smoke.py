"""Smoke test of the lab itself: up() gives exactly the specified hosts, and a second up() changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from orchestrator import lab
from orchestrator.lab import dockerd, link, spec, sshd, stack
from orchestrator.lab.proc import tcp_open
from orchestrator.ops.e2e import lease as e2e_lease
from tests.integration.labkit import (
    agent_inventory,
    ci_volume_data,
    container_of,
    docker,
    file_facts,
    fingerprint,
    health,
    hold_prune_lock,
    lock_is_free,
    make_leftovers,
    restart_sshd,
    sshd_children,
    stack_healthy,
    stop_sshd,
)
from tests.waiting import wait_for

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")]

STATUS_KEYS = {"name", "ssh", "docker_host", "stack_dir", "compose_project", "repo", "up", "link"}
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
    assert list(result) == ["hosts", "ci", "marketplace", "bastion"]
    assert set(result["ci"]) == {"url", "token_file", "state_file", "log", "up", "pid", "repos"}
    assert result["ci"]["up"] is True
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
    # The latency-and-fault link sits in front of dev's sshd only.
    assert agent["link"] is None
    link = dev["link"]
    assert link["address"] == {"host": "127.0.0.1", "port": 2322} and link["inventory_host"] == "dev-wan"
    assert (link["state"], link["delay_ms"], link["up"]) == ("open", 20, True)
    assert link["control_file"] == "/run/shakedown-lab/link/control.json"


def _snapshot() -> dict[str, object]:
    return {
        "pids": [(sshd.pid(h), dockerd.pid(h)) for h in spec.HOSTS] + [link.LAB.pid()],
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
def test_login_user_reaches_its_own_engine(lab_is_up: None, host: spec.LabHost) -> None:
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


# --- State and fixtures for `invoke e2e`: persistent data, the stack's config, test scripts, peers ---

E2E_BRANCHES = {"feature-tests-fail": "1.5.3", "feature-tests-hang": "1.5.4", "feature-slow-tests": "1.5.5",
                "feature-build-fails": "1.5.8", "feature-crash-loop": "1.5.9"}
WORKER_CONFIG_TEXT = re.compile(r'\{"stack_url": "http://127\.0\.0\.1:18090", "token": "[0-9a-f]{32}"\}\n')


def _stack_file(name: str) -> Path:
    return Path(spec.DEV.stack_dir or "") / name


def _mounts(service: str) -> dict[str, tuple[str, str, bool]]:
    """destination -> (type, volume name or host path, writable) of the service's container."""
    found = json.loads(docker("inspect", container_of(service)).stdout)[0]["Mounts"]
    return {m["Destination"]: (m["Type"], m.get("Name") or m["Source"], m["RW"]) for m in found}


def _container_ids() -> dict[str, str]:
    return {s: container_of(s) for s in spec.STACK_SERVICES}


def _replace(path: Path, content: str) -> None:
    """Swap in new content as an editor or deploy tool would: a new inode with the same mode and owner."""
    st = path.stat()
    tmp = path.with_name(f".{path.name}.test")
    tmp.write_text(content)
    os.chmod(tmp, st.st_mode & 0o7777)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, path)


def _lab_repo_git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-c", "safe.directory=*", "--git-dir", str(spec.REPO_DIR), *args],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_persistent_data_is_mounted_and_survives_a_recreate_and_up(lab_is_up: None) -> None:
    assert _mounts("backend")["/data"] == ("volume", spec.VOLUME, True)
    assert _mounts("backend")["/app/config.json"] == ("bind", str(_stack_file("config.json")), False)
    assert _mounts("scanner")["/data"] == ("bind", str(spec.DATA_DIR), True)
    data_dir = spec.DATA_DIR.stat()
    assert (data_dir.st_mode & 0o7777, file_facts(spec.DATA_DIR / "created") is not None) == (0o755, True)
    assert pwd.getpwuid(data_dir.st_uid).pw_name == spec.DEV.user
    before, ids = fingerprint(), _container_ids()
    assert before["created"]["volume"] and before["created"]["data_dir"]
    assert spec.VOLUME in before["volumes"] and before["data_dir_inode"]

    stack.ensure_deployed(spec.DEV, redeploy=True, recreate=True, echo=lambda _line: None)
    lab.up(echo=lambda _line: None)
    after = fingerprint()
    assert set(_container_ids().values()).isdisjoint(ids.values())  # every container was re-created...
    for key in ("volumes", "data_dir_inode", "created", "files", "images", "checkout"):
        assert after[key] == before[key], key  # ...and the data, config and images are as they were


def test_env_holds_a_kept_secret_and_a_changed_env_recreates_the_stack(lab_is_up: None) -> None:
    env_path = _stack_file(".env")
    assert file_facts(env_path) is not None
    assert (file_facts(env_path) or {})["mode"] == "0640"
    assert (file_facts(env_path) or {})["owner"] == f"{spec.DEV.user}:{spec.DEV.user}"
    text = env_path.read_text()
    assert f"DATA_DIR={spec.DATA_DIR}\n" in text.splitlines(keepends=True)
    assert re.search(r"^SAMPLE_API_TOKEN=[0-9a-f]{32}$", text, re.M), text
    ids = _container_ids()

    _replace(env_path, text.replace("SCANNER_INTERVAL=1\n", "SCANNER_INTERVAL=3\n"))
    lines: list[str] = []
    lab.up(echo=lines.append)
    assert env_path.read_text() == text  # repaired, and the same secret
    assert any("wrote .env" in line for line in lines), lines
    assert set(_container_ids().values()).isdisjoint(ids.values())


def test_a_replaced_config_json_is_restored_and_backend_sees_it(lab_is_up: None) -> None:
    config = _stack_file("config.json")
    facts = file_facts(config)
    assert facts is not None and facts["mode"] == "0640" and facts["owner"] == f"{spec.DEV.user}:{spec.DEV.user}"
    text = config.read_text()
    assert json.loads(text) == {"backend_url": "http://127.0.0.1:18080", "scan_interval": 1}
    git_status = fingerprint()["checkout"]["status"]
    assert git_status == "", f"lab-written files must be ignored by git: {git_status!r}"

    _replace(config, '{"backend_url": "http://127.0.0.1:1", "scan_interval": 9}\n')
    lab.up(echo=lambda _line: None)
    assert config.read_text() == text
    # A file bind mount pins the inode it was given: only a recreated backend sees the restored file.
    assert docker("exec", container_of("backend"), "cat", "/app/config.json").stdout == text


def test_the_agent_worker_config_is_private_and_repaired_with_its_token_kept(lab_is_up: None) -> None:
    from orchestrator.lab import hostdata
    from orchestrator.lab.proc import write_if_changed

    facts = file_facts(spec.WORKER_CONFIG)
    assert facts is not None
    assert (facts["mode"], facts["owner"]) == ("0600", f"{spec.AGENT.user}:{spec.AGENT.user}")
    assert pwd.getpwuid(spec.WORKER_DIR.stat().st_uid).pw_name == spec.AGENT.user
    original = spec.WORKER_CONFIG.read_text()
    assert WORKER_CONFIG_TEXT.fullmatch(original), original
    token = json.loads(original)["token"]
    agent = pwd.getpwnam(spec.AGENT.user)
    try:
        for broken in (json.dumps({"stack_url": "http://127.0.0.1:18080", "token": token}),
                       original.replace("}", "")):  # no longer parses, token still readable
            _replace(spec.WORKER_CONFIG, broken)
            hostdata.ensure_worker_config(echo=lambda _line: None)
            assert spec.WORKER_CONFIG.read_text() == original
            assert file_facts(spec.WORKER_CONFIG) == facts
        _replace(spec.WORKER_CONFIG, original)
        lab.up(echo=lambda _line: None)  # a healthy config is left alone
        assert spec.WORKER_CONFIG.read_text() == original
    finally:
        write_if_changed(spec.WORKER_CONFIG, original, 0o600, (agent.pw_uid, agent.pw_gid))


def test_e2e_state_dir_belongs_to_the_dev_user(lab_is_up: None) -> None:
    st = spec.STATE_DIR.stat()
    assert (pwd.getpwuid(st.st_uid).pw_name, st.st_mode & 0o7777) == (spec.DEV.user, 0o700)
    assert set(fingerprint()["state_files"]) == {"lease.json", "journal.jsonl"}


def test_the_e2e_branches_are_in_the_repo(lab_is_up: None) -> None:
    for branch, version in E2E_BRANCHES.items():
        shown = _lab_repo_git("show", f"{branch}:VERSION")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == version
        assert _lab_repo_git("cat-file", "-e", f"{branch}:e2e-tests.sh").returncode == 0
    assert _lab_repo_git("cat-file", "-e", "main:e2e-tests.sh").returncode == 0


def test_e2e_tests_pass_on_main_as_the_dev_user(lab_is_up: None) -> None:
    out = subprocess.run(["runuser", "-u", spec.DEV.user, "--", "sh", "-c",
                          f"cd {spec.DEV.stack_dir} && sh ./e2e-tests.sh"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "TAP version 13" and lines[-1] == "1..4", lines
    assert [line for line in lines if line.startswith(("ok ", "not ok "))] == [
        "ok 1 - backend reports VERSION", "ok 2 - frontend reports VERSION", "ok 3 - backend state endpoint answers",
        "ok 4 - private API refuses a caller without the token"], lines


def test_branch_test_scripts_fail_and_hang_as_documented(lab_is_up: None, tmp_path: Path) -> None:
    for branch in ("feature-tests-fail", "feature-tests-hang"):
        (tmp_path / branch).mkdir()
        for name in ("VERSION", "e2e-tests.sh"):
            (tmp_path / branch / name).write_text(_lab_repo_git("show", f"{branch}:{name}").stdout)
    failing = subprocess.run(["sh", "./e2e-tests.sh"], cwd=tmp_path / "feature-tests-fail", capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert failing.returncode == 1
    assert "not ok 5 - checkout total" in failing.stdout.splitlines()
    assert "  message: expected 42, got 41" in failing.stdout.splitlines()

    hanging = subprocess.Popen(["sh", "./e2e-tests.sh"], cwd=tmp_path / "feature-tests-hang", text=True,
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert hanging.stdout is not None
        assert hanging.stdout.readline() == "waiting for the payment sandbox...\n"
        assert hanging.poll() is None
        os.killpg(hanging.pid, signal.SIGTERM)
        assert hanging.wait(timeout=10) != 0
        wait_for(lambda: not _live_group_members(hanging.pid), "the hanging test's process group to be gone",
                 timeout=10)
    finally:
        if hanging.poll() is None:
            hanging.kill()
            hanging.wait(timeout=10)


def _live_group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == pgid and fields[0] not in ("Z", "X"):  # fields: state, ppid, pgrp, ...
            members.append(int(entry.name))
    return members


def test_fingerprint_is_stable_across_a_no_op_up(lab_is_up: None) -> None:
    before = fingerprint()
    assert set(before["images"]) == set(spec.STACK_SERVICES)
    assert len(before["checkout"]["head"]) == 40
    assert all(before["files"].values()), before["files"]
    lab.up(echo=lambda _line: None)
    assert fingerprint() == before


def test_restart_sshd_cuts_open_sessions_and_comes_back(lab_is_up: None) -> None:
    marker = "sleep 47.25"  # unique: lets the test find (by pid) what its own session left behind
    master = sshd.pid(spec.DEV)
    assert master is not None
    client = subprocess.Popen(
        ["ssh", "-F", "/dev/null", "-i", str(spec.CLIENT_KEY), "-p", str(spec.DEV.ssh_port), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={spec.KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
         f"{spec.DEV.user}@{spec.DEV.ssh_host}", f"echo started; {marker}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )
    try:
        assert client.stdout is not None and client.stdout.readline() == "started\n"
        children = sshd_children(master)
        assert children, "no per-connection sshd under the master"
        new = restart_sshd(spec.DEV)
        assert client.wait(timeout=20) != 0  # the session was cut
        assert not any(Path(f"/proc/{pid}").exists() and pid in sshd_children(master) for pid in children)
        assert sshd.pid(spec.DEV) == new
        test_login_user_reaches_its_own_engine(lab_is_up, spec.DEV)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=10)
        leftover = subprocess.run(["pgrep", "-u", spec.DEV.user, "-f", marker], capture_output=True, text=True)
        for pid in leftover.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


# --- The agent's build leftovers and prune lock, for `invoke prune --host agent` ---

LEFTOVER_CONTAINER_LINES = sorted(f"{name} exited" for name in (spec.CI_VOLUME_WRITER, *spec.LEFTOVER_CONTAINERS))


def _agent_docker(*args: str) -> str:
    return docker(*args, host=spec.AGENT).stdout


def _assert_leftovers_present() -> dict[str, list[str]]:
    inventory = agent_inventory()
    assert inventory["containers"] == LEFTOVER_CONTAINER_LINES
    assert spec.CI_VOLUME in inventory["volumes"]
    repos = [line.split()[0] for line in inventory["images"]]
    assert spec.LEFTOVER_IMAGE in repos and spec.BASE_IMAGE in repos
    assert "<none>:<none>" in repos, inventory["images"]  # at least one dangling image
    assert ci_volume_data() == spec.CI_VOLUME_CONTENT
    labelled = _agent_docker("ps", "-a", "--filter", f"label={spec.LEFTOVER_LABEL}=1", "--format", "{{.Names}}")
    assert sorted(labelled.split()) == sorted((spec.CI_VOLUME_WRITER, *spec.LEFTOVER_CONTAINERS))
    mounts = json.loads(_agent_docker("inspect", "--format", "{{json .Mounts}}", spec.CI_VOLUME_WRITER))
    assert [(m["Type"], m["Name"]) for m in mounts] == [("volume", spec.CI_VOLUME)]
    return inventory


def test_up_leaves_build_leftovers_and_a_prune_lock_on_the_agent(lab_is_up: None) -> None:
    lines: list[str] = []
    lab.up(echo=lines.append)  # again here: a prune run elsewhere may have removed them since the fixture's up
    assert any(line.startswith("agent: build leftovers ") for line in lines), lines
    _assert_leftovers_present()
    dangling = _agent_docker("images", "-q", "--filter", "dangling=true").split()
    assert dangling and _agent_docker("images", "-q", spec.LEFTOVER_IMAGE).split()
    assert set(dangling).isdisjoint(_agent_docker("images", "-q", spec.LEFTOVER_IMAGE).split())
    for path, mode in ((spec.AGENT_CI_DIR, 0o755), (spec.PRUNE_LOCK, 0o644)):
        st = path.lstat()
        assert (pwd.getpwuid(st.st_uid).pw_name, st.st_mode & 0o7777) == (spec.AGENT.user, mode), path
    assert spec.PRUNE_LOCK.is_file() and not spec.PRUNE_LOCK.is_symlink()


def test_make_leftovers_after_a_container_prune_which_keeps_the_volume_data(lab_is_up: None) -> None:
    make_leftovers()
    before = _assert_leftovers_present()
    data_file = Path(_agent_docker("volume", "inspect", "--format", "{{.Mountpoint}}", spec.CI_VOLUME).strip()
                     ) / spec.CI_VOLUME_FILE
    facts = data_file.stat()

    _agent_docker("container", "prune", "-f")
    pruned = agent_inventory()
    assert pruned["containers"] == []
    assert pruned["volumes"] == before["volumes"] and pruned["images"] == before["images"]
    assert ci_volume_data() == spec.CI_VOLUME_CONTENT

    make_leftovers()
    assert _assert_leftovers_present() == {**before, "containers": LEFTOVER_CONTAINER_LINES}
    after = data_file.stat()
    assert (after.st_ino, after.st_mtime_ns) == (facts.st_ino, facts.st_mtime_ns)  # the data was not rewritten


def test_make_leftovers_remakes_images_after_an_image_prune_of_everything_unused(lab_is_up: None) -> None:
    make_leftovers()
    _agent_docker("container", "prune", "-f")
    _agent_docker("image", "prune", "-a", "-f")  # takes the base image too: no container uses it any more
    assert agent_inventory()["images"] == []
    make_leftovers()
    _assert_leftovers_present()
    lines: list[str] = []
    lab.up(echo=lines.append)
    assert [line for line in lines if line.startswith("agent: build leftovers ")] == [
        f"agent: build leftovers already present (volume {spec.CI_VOLUME} with {spec.CI_VOLUME_FILE}, stopped "
        f"containers {spec.CI_VOLUME_WRITER}, {', '.join(spec.LEFTOVER_CONTAINERS)}, image {spec.LEFTOVER_IMAGE}, "
        f"a dangling image)"]


def _owner_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_hold_prune_lock_holds_it_until_its_pid_ends(lab_is_up: None, sig: signal.Signals) -> None:
    wait_for(lock_is_free, f"{spec.PRUNE_LOCK} to be free (another prune may be running)", timeout=60)
    holder = hold_prune_lock()
    try:
        assert not lock_is_free()
        assert _owner_uid(holder.pid) == pwd.getpwnam(spec.AGENT.user).pw_uid
        os.kill(holder.pid, sig)
        assert holder.wait(timeout=10) == -sig
        wait_for(lock_is_free, f"{spec.PRUNE_LOCK} to be free once pid {holder.pid} ended", timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


# --- lab.up while an e2e holds dev's lease: only the daemons are (re)started ---

E2E_WORKER_URL = "http://127.0.0.1:18080"  # what inventory/lab.yml's e2e_peers points the worker at during an e2e


def _take_dev_lease() -> e2e_lease.Lease:
    """Hold dev's lease as `invoke e2e` would (LEASE_TAKE): the login user's file, linked in atomically.

    Held by this process on this machine, unexpired: live by lease.live(), and its holder provably alive.
    os.link fails if anyone else holds the lease: theirs is never overwritten.
    """
    held = e2e_lease.new("lab-lease-test", "feature-good", time.time(), 300.0)
    dev = pwd.getpwnam(spec.DEV.user)
    tmp = spec.STATE_DIR / f".lease.{os.getpid()}"
    tmp.write_text(held.to_json() + "\n")
    os.chown(tmp, dev.pw_uid, dev.pw_gid)
    try:
        os.link(tmp, spec.STATE_DIR / e2e_lease.LEASE_FILE)
    finally:
        tmp.unlink()
    return held


def _drop_dev_lease(held: e2e_lease.Lease) -> None:
    """Remove the lease only if it is still the one this test took (LEASE_RELEASE's rule)."""
    path = spec.STATE_DIR / e2e_lease.LEASE_FILE
    current, _ = e2e_lease.read_local(spec.STATE_DIR)
    if current is not None and current.run_id == held.run_id:
        path.unlink()


def test_up_under_a_live_lease_restarts_daemons_and_leaves_the_borrowed_host_alone(healthy_stack: None) -> None:
    original = spec.WORKER_CONFIG.read_text()
    borrowed = original.replace(spec.WORKER_STACK_URL, E2E_WORKER_URL)
    scanner = container_of("scanner")
    held = _take_dev_lease()
    try:
        _replace(spec.WORKER_CONFIG, borrowed)  # as the e2e's borrow_peers step repoints it
        docker("stop", "-t", "1", scanner)  # a stack lab.up would otherwise repair (restart: unless-stopped)
        stopped = stop_sshd(spec.DEV)
        lines: list[str] = []
        lab.up(echo=lines.append)

        assert spec.WORKER_CONFIG.read_text() == borrowed, lines
        assert container_of("scanner") == scanner and health(scanner).startswith("exited/"), lines
        assert sshd.pid(spec.DEV) not in (None, stopped) and tcp_open(spec.DEV.ssh_host, spec.DEV.ssh_port)
        assert any(line.startswith("dev: sshd started") for line in lines), lines
        (left,) = [line for line in lines if "left alone" in line]
        assert f"leased by {held.owner} (run {held.run_id}" in left
        for what in ("stack", str(spec.DATA_DIR), str(spec.WORKER_CONFIG)):
            assert what in left, (what, left)
    finally:
        _drop_dev_lease(held)
        _replace(spec.WORKER_CONFIG, original)
        lab.up(echo=lambda _line: None)  # starts the scanner again (and sshd, had the test failed before that)
        wait_for(stack_healthy, "the dev stack to be healthy after the lease test")
