"""e2e building blocks that need no host: branch names, baseline facts, leases, the journal's shape."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import BadInput
from orchestrator.gitref import branch_problem, validate_branch
from orchestrator.ops.e2e import baseline, journal, lease, scripts

GOOD = ["main", "feature/x", "feature-good", "release/1.2.3", "user/alice/fix_42", "a+b", "v1.0@rc"]
BAD = ["", "-x", "--upload-pack=evil", "a..b", "a b", "a;b", "$(id)", "`id`", "a|b", "a&b", "a>b", "a'b", 'a"b',
       "a\\b", "a~1", "a^", "a:b", "a?", "a*", "a[", "/a", "a/", "a//b", ".a", "a/.b", "a.lock", "a/b.lock/c",
       "a.", "@", "a@{1}", "HEAD", "a\nb", "a\tb", "é", "x" * 201]


@pytest.mark.parametrize("name", GOOD)
def test_valid_branch_names_pass(name):
    assert validate_branch(name) == name


@pytest.mark.parametrize("name", BAD)
def test_invalid_branch_names_are_bad_input_naming_the_value(name):
    with pytest.raises(BadInput) as info:
        validate_branch(name)
    assert info.value.exit_code == 2
    assert repr(name) in str(info.value)


@given(st.text(min_size=1, max_size=40))
def test_whatever_we_accept_git_accepts_too(name):
    """Our rule is stricter than git's: a name we let through is always a valid git branch name."""
    if branch_problem(name) is None:
        proc = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
        assert proc.returncode == 0, name


CAPTURE_OUTPUT = """HEAD abc123
DIRTY e3b0c44298fc1c14
FILE 1111111111111111111111111111111111111111111111111111111111111111 640 sd-dev:sd-dev /s/.env
FILE absent - - /s/missing.json
SECRET API_TOKEN 0123456789abcdef /s/.env
SECRET PORT fedcba9876543210 /s/.env
DATA 4242 755 sd-dev:sd-dev /data dir/with space
CONT /sample_backend_1 backend running healthy sha256:aaaa sample-backend:latest
VOL sample_backend-data 2026-11-21T22:47:03Z /var/lib/docker/volumes/sample_backend-data/_data
ENGINE 5555555555555555555555555555555555555555555555555555555555555555 busybox:1 someones-tool
DANGLING 3
"""
# A stopped container a failed image build left behind (the classic builder without --force-rm).
LEFTOVER = ("ENGINE 6666666666666666666666666666666666666666666666666666666666666666 "
            "sha256:7777777777777777777777777777777777777777777777777777777777777777 eager_turing\n")


def test_baseline_output_parses_into_facts():
    facts = baseline.parse(CAPTURE_OUTPUT)
    assert facts["head"] == "abc123"
    assert facts["files"]["/s/.env"] == {"sha256": "1" * 64, "mode": "640", "owner": "sd-dev:sd-dev"}
    assert facts["files"]["/s/missing.json"]["sha256"] == "absent"
    assert facts["secrets"]["/s/.env"] == {"API_TOKEN": "0123456789abcdef", "PORT": "fedcba9876543210"}
    assert facts["data"]["/data dir/with space"]["inode"] == "4242"
    assert facts["containers"]["sample_backend_1"]["image"] == "sha256:aaaa"
    assert facts["volumes"]["sample_backend-data"]["created"] == "2026-11-21T22:47:03Z"


def test_identical_facts_have_no_differences():
    assert baseline.differences(baseline.parse(CAPTURE_OUTPUT), baseline.parse(CAPTURE_OUTPUT)) == []


def test_differences_name_what_changed_but_never_a_secret_fingerprint():
    before = baseline.parse(CAPTURE_OUTPUT)
    after = baseline.parse(CAPTURE_OUTPUT.replace("0123456789abcdef", "9999999999999999")
                           .replace("4242", "4343").replace("2026-11-21T22:47:03Z", "2026-11-22T00:00:00Z")
                           .replace("640 sd-dev", "644 sd-dev"))
    diffs = baseline.differences(before, after)
    text = "\n".join(diffs)
    assert "secret file /s/.env: API_TOKEN changed (values not shown)" in diffs
    assert "data dir /data dir/with space: inode 4242 -> 4343" in text
    assert "volume sample_backend-data: created" in text
    assert "config file /s/.env: mode 640 -> 644" in text
    assert "9999999999999999" not in text and "0123456789abcdef" not in text


def test_the_capture_script_hashes_secrets_on_the_host_and_never_prints_them(tmp_path):
    env = tmp_path / ".env"
    env.write_text("API_TOKEN=s3cr3t-value\nexport OTHER = x\n# comment\nnot a pair\n", encoding="utf-8")

    def capture(salt: str) -> str:
        command = scripts.call(scripts.CAPTURE, str(tmp_path), "no-such-project", salt, str(env), "--secrets", str(env))
        return subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent.sock"}).stdout

    out = capture("salt-1")
    assert "s3cr3t-value" not in out
    facts = baseline.parse(out)
    assert set(facts["secrets"][str(env)]) == {"API_TOKEN", "OTHER"}
    assert facts["docker_error"]  # no engine here: said, not silently an empty stack
    # Salted per run: a fingerprint in one run's journal says nothing about the value in another's.
    assert baseline.parse(capture("salt-2"))["secrets"] != facts["secrets"]
    assert baseline.parse(capture("salt-1"))["secrets"] == facts["secrets"]


def test_lease_round_trips_and_describes_its_holder():
    held = lease.new("20261121T000000Z-abcdef", "feature/x", 1000.0, 600.0)
    again = lease.parse(held.to_json())
    assert again == held
    text = held.describe(1060.0)
    assert "run 20261121T000000Z-abcdef" in text and "branch feature/x" in text and "expires in 9m" in text
    assert "expired 60s ago" in held.describe(1660.0)
    assert lease.parse("not json") is None


def _dead_pid() -> int:
    """A pid of this machine that has just exited (reaped, so the kernel no longer knows it)."""
    done = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_live_means_unexpired_and_the_holder_not_known_dead():
    mine = lease.new("r1", "feature/x", 1000.0, 600.0)  # this process, this machine: its holder is alive
    assert lease.live(mine, 1599.0)
    assert not lease.live(mine, 1600.0)  # expires is the first second it no longer holds
    assert not lease.live(None, 1000.0)
    dead = dataclasses.replace(mine, pid=_dead_pid())
    assert dead.holder_dead() and not lease.live(dead, 1001.0)
    # Started on another machine: its pid says nothing here, so only the expiry can end it.
    elsewhere = dataclasses.replace(dead, orchestrator="some-other-machine.invalid")
    assert lease.live(elsewhere, 1001.0)


def test_read_local_gives_the_lease_and_whether_a_journal_waits(tmp_path):
    state = tmp_path / "state"
    assert lease.read_local(state) == (None, False)  # no state dir yet: free
    state.mkdir()
    assert lease.read_local(state) == (None, False)
    held = lease.new("r1", "feature/x", 1000.0, 600.0)
    (state / "lease.json").write_text(held.to_json() + "\n")  # as LEASE_TAKE writes it
    assert lease.read_local(state) == (held, False)
    (state / "journal.jsonl").write_text('{"seq": 1, "op": "begin", "run_id": "r1"}\n')
    assert lease.read_local(state) == (held, True)
    (state / "lease.json").write_text("{not json")
    assert lease.read_local(state) == (None, True)  # unreadable: nobody can be shown to hold it


def test_journal_mutations_keep_their_undo_in_order():
    entries = [
        {"seq": 1, "op": "begin", "run_id": "r"},
        {"seq": 2, "op": "mutation", "title": "a", "host": "dev",
         "undo": [{"host": "dev", "command": "u1", "timeout": 5, "title": "t1", "env": {}},
                  {"host": "dev", "command": "u2", "timeout": 5, "title": "t2", "env": {"K": "v"}}], "cleanup": []},
        {"seq": 3, "op": "undone", "ref": 2},
    ]
    (mutation,) = journal.mutations(entries)
    assert mutation.seq == 2 and [c.command for c in mutation.undo] == ["u1", "u2"]
    assert mutation.undo[1].env == {"K": "v"}


def test_script_arguments_are_quoted_never_shell_syntax():
    command = scripts.call("printf '%s\\n' \"$@\"", "$(touch /tmp/x)", "a b", "'")
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True).stdout
    assert out.splitlines() == ["$(touch /tmp/x)", "a b", "'"]


def test_only_container_health_is_worth_waiting_for():
    before = baseline.parse(CAPTURE_OUTPUT)
    starting = baseline.parse(CAPTURE_OUTPUT.replace("running healthy", "running starting"))
    other_image = baseline.parse(CAPTURE_OUTPUT.replace("sha256:aaaa", "sha256:bbbb"))
    other_file = baseline.parse(CAPTURE_OUTPUT.replace("running healthy", "running starting").replace("640", "600"))
    assert baseline.only_settling(before, starting)
    assert not baseline.only_settling(before, other_image)
    assert not baseline.only_settling(before, other_file)


def test_a_container_left_on_the_engine_is_a_difference_that_never_settles():
    before = baseline.parse(CAPTURE_OUTPUT)
    assert before["engine"] == {"5" * 64: {"image": "busybox:1", "name": "someones-tool"}}
    after = baseline.parse(CAPTURE_OUTPUT + LEFTOVER)
    assert baseline.differences(before, after) == [
        "container eager_turing (image sha256:777777777777) was not there before"]
    assert baseline.differences(after, before) == ["container eager_turing (image sha256:777777777777) is gone"]
    starting = baseline.parse(CAPTURE_OUTPUT.replace("running healthy", "running starting") + LEFTOVER)
    assert not baseline.only_settling(before, after)
    assert not baseline.only_settling(before, starting)  # waiting never removes a leftover


def test_dangling_images_are_recorded_but_not_compared():
    """The branch's images are dangling until the cleanup after a verified restore drops them."""
    before = baseline.parse(CAPTURE_OUTPUT)
    assert before["dangling_images"] == "3"
    assert baseline.differences(before, baseline.parse(CAPTURE_OUTPUT.replace("DANGLING 3", "DANGLING 5"))) == []
