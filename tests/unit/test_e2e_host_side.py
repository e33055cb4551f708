"""The e2e host scripts and state files, run for real through a local Host (same code path as SSH)."""

from __future__ import annotations

import os
import stat

import pytest

from orchestrator.config import inventory
from orchestrator.errors import BadInput, CommandError
from orchestrator.ops.e2e import config, journal, lease, scripts
from tests.unit.helpers import write


def test_lease_is_exclusive_and_only_its_run_releases_it(local_host, tmp_path):
    state = str(tmp_path / "state")
    first = lease.new("run-1", "feature/a", 1000.0, 600.0)
    lease.take(local_host, state, first)
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700  # created private: snapshots there hold secrets
    with pytest.raises(lease.LeaseHeld) as info:
        lease.take(local_host, state, lease.new("run-2", "feature/b", 1001.0, 600.0))
    assert info.value.exit_code == 3 and "run run-1" in str(info.value) and "branch feature/a" in str(info.value)
    assert lease.release(local_host, state, "run-2") == "OTHER"
    held, now, journal_entry = lease.status(local_host, state)
    assert held == first and now > 0 and journal_entry is None
    assert lease.release(local_host, state, "run-1") == "RELEASED"
    assert lease.status(local_host, state)[0] is None
    assert lease.release(local_host, state, "run-1") == "ABSENT"


def test_journal_appends_survive_and_archive_moves_them_to_history(local_host, tmp_path):
    state = tmp_path / "state"
    (state / "runs" / "r1" / "snapshot").mkdir(parents=True)
    log = journal.Journal(local_host, str(state), "r1")
    log.append("begin", branch="x")
    undo = [journal.script("local", "TEST_KILL", "/nowhere", timeout=5, title="end tests")]
    log.mutation("start tests", "local", undo)
    (state / "journal.jsonl").open("a").write('{"seq": 3, "op": "mutat')  # a writer killed mid-line
    entries = journal.read(local_host, str(state))
    assert [e["op"] for e in entries] == ["begin", "mutation"]
    (mutation,) = journal.mutations(entries)
    assert mutation.undo[0].script == "TEST_KILL" and "sh -c" in mutation.undo[0].line()
    log.archive()
    assert journal.read(local_host, str(state)) == []
    assert (state / "history" / "r1.jsonl").exists() and not (state / "runs" / "r1" / "snapshot").exists()


def test_a_journal_cannot_name_an_arbitrary_script():
    with pytest.raises(ValueError):
        journal.Command("h", "", 5, "t", script="call").line()


def test_peer_borrow_edits_on_the_host_and_restore_is_byte_identical(local_host, tmp_path):
    cfg = tmp_path / "worker.json"
    original = b'{"stack_url": "http://127.0.0.1:18090", "token": "t0k3n"}'  # no trailing newline
    cfg.write_bytes(original)
    cfg.chmod(0o600)
    backup = str(cfg) + ".shakedown-r1"
    borrow = scripts.call(scripts.PEER_BORROW, str(cfg), backup, "http://127.0.0.1:18090", "http://127.0.0.1:18080")
    local_host.run(borrow)
    local_host.run(borrow)  # idempotent: edits from the backup, never backs up the borrowed file
    assert b"18080" in cfg.read_bytes() and b"t0k3n" in cfg.read_bytes()
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    local_host.run(scripts.call(scripts.PEER_RESTORE, str(cfg), backup))
    assert cfg.read_bytes() == original and stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_peer_borrow_fails_when_the_text_to_replace_is_not_there(local_host, tmp_path):
    cfg = tmp_path / "worker.json"
    cfg.write_text("nothing to see\n")
    with pytest.raises(CommandError) as info:
        local_host.run(scripts.call(scripts.PEER_BORROW, str(cfg), str(cfg) + ".b", "http://x", "http://y"))
    assert "text to replace not found: http://x" in str(info.value)
    assert cfg.read_text() == "nothing to see\n"


def test_restore_files_puts_back_content_and_mode_only_where_changed(local_host, tmp_path):
    run_dir, env, other = tmp_path / "run", tmp_path / ".env", tmp_path / "config.json"
    env.write_text("A=1\n")
    env.chmod(0o640)
    other.write_text("{}\n")
    local_host.run(scripts.call(scripts.SNAPSHOT, str(run_dir), str(env), str(other)))
    env.write_text("A=2\n")
    env.chmod(0o644)
    out = local_host.run(scripts.call(scripts.RESTORE_FILES, str(run_dir), str(env), str(other))).stdout
    assert out.strip() == f"RESTORED {env}"
    assert env.read_text() == "A=1\n" and stat.S_IMODE(env.stat().st_mode) == 0o640


E2E_INVENTORY = """
all:
  hosts:
    dev:
      ansible_connection: local
      stack_dir: /srv/stack
      compose_project: stack
      state_dir: /srv/state
      e2e_peers:
        - host: {peer}
          file: /etc/worker.json
          replace: {{"a": "b"}}
    agent:
      ansible_connection: local
"""


def test_e2e_needs_its_variables_and_names_the_missing_ones(tmp_path):
    inv = inventory.load(write(tmp_path / "inv.yml", E2E_INVENTORY.format(peer="agent")))
    cfg = config.load(inv.hosts["dev"], need_tests=False, known_hosts=set(inv.hosts))
    assert cfg.peers[0].host == "agent" and cfg.abs_path(".env") == "/srv/stack/.env"
    with pytest.raises(BadInput, match="test_command"):
        config.load(inv.hosts["dev"], need_tests=True, known_hosts=set(inv.hosts))
    with pytest.raises(BadInput, match="stack_dir, compose_project, state_dir"):
        config.load(inv.hosts["agent"], need_tests=False, known_hosts=set(inv.hosts))


def test_a_peer_must_be_another_known_host(tmp_path):
    inv = inventory.load(write(tmp_path / "inv.yml", E2E_INVENTORY.format(peer="ghost")))
    with pytest.raises(BadInput, match="unknown host 'ghost'"):
        config.load(inv.hosts["dev"], need_tests=False, known_hosts=set(inv.hosts))
    inv = inventory.load(write(tmp_path / "inv2.yml", E2E_INVENTORY.format(peer="dev")))
    with pytest.raises(BadInput, match="cannot borrow itself"):
        config.load(inv.hosts["dev"], need_tests=False, known_hosts=set(inv.hosts))


def test_malformed_peers_are_refused_by_the_inventory_with_the_line(tmp_path):
    bad = E2E_INVENTORY.format(peer="agent").replace('replace: {"a": "b"}', "replace: not-a-map")
    with pytest.raises(BadInput) as info:
        inventory.load(write(tmp_path / "inv.yml", bad))
    assert "inv.yml:" in str(info.value) and "peer replace" in str(info.value)


# --- Build leftovers: a fake `docker` and compose on PATH, answering from a table of containers ---

FAKE_DOCKER = r"""#!/bin/sh
# A table line: id state config-image project name. Answers what the e2e scripts ask, logs every call.
t=$FAKE_DIR/containers
echo "$*" >> "$FAKE_DIR/calls"
case "$1" in
ps)
  case "$*" in
  *--format*) awk '{ print $1, $3, $5, ($4 == "-" ? "" : $4) }' "$t";;
  *label=com.docker.compose.project=*) p=${*##*=}; awk -v p="$p" '$4 == p { print $1 }' "$t";;
  *status=*) awk '$2 != "running" { print $1 }' "$t";;
  *) awk '$2 == "running" { print $1 }' "$t";;
  esac;;
inspect)
  case "$*" in
  *State.Health*) shift 3
    for id in "$@"; do awk -v id="$id" '$1 == id { print "/" $5, "svc", $2, "none", $3, $3 }' "$t"; done;;
  *) awk -v id="$4" '$1 == id { print $3, ($4 == "-" ? "" : $4) }' "$t";;
  esac;;
images) printf 'sha256:d1\nsha256:d2\n';;
rm) id=$3; grep -q "^$id " "$t" || exit 1; grep -v "^$id " "$t" > "$t.new"; mv "$t.new" "$t";;
esac
"""

ENGINE = """\
proj1 running sample-backend:latest sample sample_backend_1
tool1 exited busybox:1 - someones-tool
old99 exited sha256:base - old_leftover
"""


@pytest.fixture
def fake_engine(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write(bin_dir / "docker", FAKE_DOCKER).chmod(0o755)
    write(tmp_path / "containers", ENGINE)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_DIR": str(tmp_path)}
    return tmp_path, env


def test_the_baseline_lists_every_container_of_the_engine_besides_the_project(local_host, fake_engine):
    from orchestrator.ops.e2e import baseline

    tmp_path, env = fake_engine
    out = local_host.run(scripts.call(scripts.CAPTURE, str(tmp_path), "sample", "salt"), env=env).stdout
    facts = baseline.parse(out)
    assert set(facts["containers"]) == {"sample_backend_1"}  # the project's, by name (re-created by a deploy)
    assert facts["engine"] == {"tool1": {"image": "busybox:1", "name": "someones-tool"},
                               "old99": {"image": "sha256:base", "name": "old_leftover"}}
    assert facts["dangling_images"] == "2"


def test_build_leftovers_of_the_run_are_removed_and_nothing_else(local_host, fake_engine):
    tmp_path, env = fake_engine
    with (tmp_path / "containers").open("a") as table:
        table.write("new1 exited sha256:step - eager_turing\n"     # a failed RUN step's container: ours
                    "new2 created sha256:step2 - brave_hopper\n"   # a COPY step's, never started: ours
                    "new3 running sha256:step3 - busy_build\n"     # running: somebody's build, never touched
                    "new4 exited alpine:3 - someone_else\n"        # made by name, not by a builder
                    "new5 exited sha256:step sample sample_backend_run_1\n")  # compose's (a one-off): not ours
    known = ["proj1", "tool1", "old99"]  # the engine's containers at baseline
    out = local_host.run(scripts.call(scripts.DROP_BUILD_LEFTOVERS, *known), env=env).stdout
    assert out.split() == ["REMOVED", "new1", "sha256:step", "REMOVED", "new2", "sha256:step2"]
    left = [line.split()[0] for line in (tmp_path / "containers").read_text().splitlines()]
    assert left == ["proj1", "tool1", "old99", "new3", "new4", "new5"]
    rm_calls = [c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("rm")]
    assert rm_calls == ["rm -- new1", "rm -- new2"]  # never -v (volumes are data), never -f
    again = local_host.run(scripts.call(scripts.DROP_BUILD_LEFTOVERS, *known), env=env).stdout
    assert again.strip() == ""  # idempotent: a restore may run it again


def test_deploy_builds_with_force_rm_and_a_failed_build_starts_nothing(local_host, fake_engine):
    import subprocess

    tmp_path, env = fake_engine
    repo, stack, checkout = tmp_path / "repo", tmp_path / "stack", tmp_path / "checkout"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    write(repo / "VERSION", "1.5.8\n")
    subprocess.run([*git, "-C", str(repo), "add", "VERSION"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "x"], check=True)
    stack.mkdir()
    write(stack / ".env", "A=1\n")
    write(tmp_path / "compose", '#!/bin/sh\necho "compose $*" >> "$FAKE_DIR/calls"\n'
                                '[ "$3" != build ] || [ -z "${FAIL_BUILD:-}" ] || exit 1\n').chmod(0o755)
    deploy = scripts.call(scripts.DEPLOY, str(stack), str(checkout), str(repo), "main", "sample", ".env")
    local_host.run(deploy, env={**env, "COMPOSE": str(tmp_path / "compose")})
    compose = [c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("compose")]
    assert compose == ["compose -p sample build --force-rm", "compose -p sample up -d --no-build --remove-orphans"]

    (tmp_path / "calls").write_text("")
    with pytest.raises(CommandError):
        local_host.run(deploy, env={**env, "COMPOSE": str(tmp_path / "compose"), "FAIL_BUILD": "1"})
    compose = [c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("compose")]
    assert compose == ["compose -p sample build --force-rm"]
