"""The engine, end to end on the `local` host: block/rescue/always, when, register, ignore_errors, until, timeouts.

Order is recorded by shell tasks appending to a log file, so it is what really ran on the host.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest

from orchestrator import engine
from orchestrator.config import inventory
from orchestrator.engine import playbook
from orchestrator.errors import BadInput
from orchestrator.run.results import CheckRecord, HostReport, RunResult
from tests.unit.helpers import write


def statuses(result: RunResult) -> list[tuple[str, str]]:
    return [(c.name, c.status) for c in result.hosts["local"].checks]


def record(result: RunResult, name: str) -> CheckRecord:
    return next(c for c in result.hosts["local"].checks if c.name == name)


def ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def step(name: str, indent: int = 6) -> str:
    """A shell task named `name` that appends `name` to the log."""
    pad = " " * indent
    return f"{pad}- name: {name}\n{pad}  shell:\n{pad}    cmd: \"echo {name} >> '{{{{ log }}}}'\"\n"


def fail(name: str = "boom", indent: int = 6, extra: str = "") -> str:
    """A fail task named `name` (with extra task keywords, e.g. "ignore_errors: true")."""
    pad = " " * indent
    text = f"{pad}- name: {name}\n{pad}  fail:\n{pad}    msg: {name} on purpose\n"
    return text + (f"{pad}  {extra}\n" if extra else "")


FAIL = fail()


def block(body: str, rescue: str = "", always: str = "") -> str:
    text = "- hosts: all\n  tasks:\n    - name: the block\n      block:\n" + _indent(body)
    if rescue:
        text += "      rescue:\n" + _indent(rescue)
    if always:
        text += "      always:\n" + _indent(always)
    return text + step("after", 4)


def _indent(tasks: str) -> str:
    return "".join("  " + line + "\n" for line in tasks.splitlines())


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "order.log"


# -- block / rescue / always --------------------------------------------------------------------------
def test_block_success_skips_rescue_runs_always(run_playbook, log):
    result = run_playbook(block(step("b1") + step("b2"), rescue=step("r1"), always=step("a1")), log=str(log))
    assert ran(log) == ["b1", "b2", "a1", "after"]
    assert result.verdict == "pass" and result.exit_code == 0


def test_block_failure_runs_rescue_then_always_and_play_goes_on(run_playbook, log):
    result = run_playbook(block(step("b1") + FAIL + step("b3"), rescue=step("r1") + step("r2"), always=step("a1")),
                          log=str(log))
    assert ran(log) == ["b1", "r1", "r2", "a1", "after"]
    assert statuses(result) == [("b1", "ok"), ("boom", "failed"), ("r1", "ok"), ("r2", "ok"), ("a1", "ok"),
                                ("after", "ok")]
    assert record(result, "boom").reason == "boom on purpose"


def test_block_failure_without_rescue_runs_always_then_stops_the_play(run_playbook, log):
    result = run_playbook(block(step("b1") + FAIL + step("b3"), always=step("a1")), log=str(log))
    assert ran(log) == ["b1", "a1"]
    assert [name for name, _ in statuses(result)] == ["b1", "boom", "a1"]
    assert result.verdict == "fail" and result.exit_code == 1


def test_failing_rescue_still_runs_always_then_stops(run_playbook, log):
    result = run_playbook(block(FAIL, rescue=step("r1") + fail("rescue-boom"), always=step("a1")),
                          log=str(log))
    assert ran(log) == ["r1", "a1"]
    assert result.exit_code == 1


def test_error_in_block_is_rescued_too(run_playbook, log):
    # The task registers the name itself, so validation accepts it; but `when` is evaluated before the task
    # runs, so at that moment it is undefined: an error, which the rescue must handle like a failure.
    body = ("      - name: bad condition\n        shell:\n          cmd: 'true'\n        when: undefined_at_runtime.x\n"
            "        register: undefined_at_runtime\n")
    result = run_playbook(block(body, rescue=step("r1"), always=step("a1")), log=str(log))
    assert ran(log) == ["r1", "a1", "after"]
    assert record(result, "bad condition").status == "error"
    assert result.exit_code == 3


# -- when / register / set_fact -------------------------------------------------------------------------
def test_when_false_skips_and_records_the_reason(run_playbook, log):
    result = run_playbook("""\
        - hosts: all
          vars:
            enabled: false
          tasks:
            - name: guarded
              shell:
                cmd: "echo guarded >> '{{ log }}'"
              when: enabled
            - name: runs
              shell:
                cmd: "echo runs >> '{{ log }}'"
              when: not enabled and inventory_hostname == 'local'
            - name: whole block
              when: enabled
              block:
                - shell:
                    cmd: "echo in-block >> '{{ log }}'"
        """, log=str(log))
    assert ran(log) == ["runs"]
    guarded = record(result, "guarded")
    assert guarded.status == "skipped"
    assert "condition false" in guarded.reason and "enabled" in guarded.reason
    assert record(result, "whole block").status == "skipped"
    assert result.verdict == "pass"


def test_register_and_set_fact_feed_later_tasks(run_playbook, log):
    result = run_playbook("""\
        - hosts: all
          tasks:
            - name: produce
              shell:
                cmd: "echo hello; echo warn >&2"
              register: out
            - set_fact:
                doubled: "{{ out.stdout | trim }}{{ out.stdout | trim }}"
            - name: check
              assert:
                that:
                  - out.rc == 0
                  - out.stdout == 'hello\\n'
                  - "'warn' in out.stderr"
                  - not out.failed
                  - doubled == 'hellohello'
            - name: use
              shell:
                cmd: "echo {{ doubled }} >> '{{ log }}'"
        """, log=str(log))
    assert statuses(result) == [("produce", "ok"), ("set_fact", "ok"), ("check", "ok"), ("use", "ok")]
    assert ran(log) == ["hellohello"]


def test_registered_failure_is_visible_to_later_tasks(run_playbook, log):
    result = run_playbook("""\
        - hosts: all
          tasks:
            - name: bad
              shell:
                cmd: "exit 4"
              register: r
              ignore_errors: true
            - name: look
              assert:
                that: r.failed and r.rc == 4 and r.status == 'failed'
        """)
    assert statuses(result) == [("bad", "failed"), ("look", "ok")]


def test_assert_failure_uses_fail_msg(run_playbook):
    result = run_playbook("""\
        - hosts: all
          tasks:
            - name: versions
              assert:
                that: ["1 == 1", "'a' == 'b'"]
                fail_msg: versions differ
        """)
    assert record(result, "versions").status == "failed"
    assert record(result, "versions").reason == "versions differ"


# -- ignore_errors ------------------------------------------------------------------------------------
def test_failed_task_stops_the_play_by_default(run_playbook, log):
    text = "- hosts: all\n  tasks:\n" + step("first", 4) + fail(indent=4) + step("never", 4)
    result = run_playbook(text, log=str(log))
    assert ran(log) == ["first"]
    assert [n for n, _ in statuses(result)] == ["first", "boom"]
    assert result.exit_code == 1


def test_task_ignore_errors_continues_but_still_fails_the_verdict(run_playbook, log):
    text = "- hosts: all\n  tasks:\n" + fail(indent=4, extra="ignore_errors: true") + step("next", 4)
    result = run_playbook(text, log=str(log))
    assert ran(log) == ["next"]
    assert statuses(result) == [("boom", "failed"), ("next", "ok")]
    assert result.verdict == "fail" and result.exit_code == 1


def test_play_ignore_errors_continues_and_task_can_override(run_playbook, log):
    text = ("- hosts: all\n  ignore_errors: true\n  tasks:\n" + fail(indent=4) + step("second", 4)
            + fail("strict", 4, "ignore_errors: false") + step("never", 4))
    result = run_playbook(text, log=str(log))
    assert ran(log) == ["second"]
    assert [n for n, _ in statuses(result)] == ["boom", "second", "strict"]


def test_shell_failure_reason_has_exit_code_and_stderr(run_playbook):
    result = run_playbook("""\
        - hosts: all
          ignore_errors: true
          tasks:
            - name: bad
              shell:
                cmd: "echo detail-on-stderr >&2; exit 5"
            - name: tolerated
              shell:
                cmd: "exit 5"
                ok_codes: [0, 5]
        """)
    bad = record(result, "bad")
    assert bad.status == "failed"
    assert "exit code 5" in bad.reason and "detail-on-stderr" in bad.reason
    assert record(result, "tolerated").status == "ok"


# -- until / retries / timeout ------------------------------------------------------------------------
COUNTER = """\
- hosts: all
  tasks:
    - name: poll
      shell:
        cmd: >-
          n=$(cat '{{{{ counter }}}}' 2>/dev/null || echo 0); n=$((n+1));
          echo $n > '{{{{ counter }}}}'; echo value-$n
      register: r
      until: r.stdout | trim == '{target}'
{extra}
"""


def counter_book(target: str, **keywords: object) -> str:
    return COUNTER.format(target=target, extra="".join(f"      {k}: {v}\n" for k, v in keywords.items()))


def test_until_succeeds_on_the_nth_attempt(run_playbook, tmp_path):
    counter = tmp_path / "counter"
    result = run_playbook(counter_book("value-3", retries=5, delay=0.01), counter=str(counter))
    poll = record(result, "poll")
    assert poll.status == "ok"
    assert poll.data["attempts"] == 3
    assert poll.data["stdout"].strip() == "value-3"
    assert counter.read_text().strip() == "3"  # stopped as soon as the condition held


def test_until_gives_up_after_retries(run_playbook, tmp_path):
    counter = tmp_path / "counter"
    result = run_playbook(counter_book("never", retries=2, delay=0.01), counter=str(counter))
    poll = record(result, "poll")
    assert counter.read_text().strip() == "3"  # one attempt plus two retries
    assert poll.status == "failed"
    assert "3 attempts" in poll.reason and "r.stdout | trim == 'never'" in poll.reason
    assert result.exit_code == 1


def test_until_give_up_reason_shows_the_last_observed_value(run_playbook, tmp_path):
    result = run_playbook(counter_book("never", retries=2, delay=0.01), counter=str(tmp_path / "counter"))
    assert "value-3" in record(result, "poll").reason


@pytest.mark.timeout(20)  # a deadline that is ignored must fail here, not hang the suite
def test_until_respects_the_task_timeout_as_a_deadline(run_playbook, tmp_path):
    counter = tmp_path / "counter"
    start = time.monotonic()
    result = run_playbook(counter_book("never", retries=1000, delay=0.2, timeout=1), counter=str(counter))
    elapsed = time.monotonic() - start
    assert elapsed < 3, f"retries ran past the 1 s deadline ({elapsed:.1f}s)"
    assert 2 <= int(counter.read_text()) <= 10  # ~1 s / 0.2 s of attempts, nowhere near 1000
    assert record(result, "poll").status in ("failed", "error")
    assert result.exit_code != 0


@pytest.mark.timeout(20)  # a deadline that is ignored must fail here, not hang the suite
def test_until_deadline_is_reported_as_such_with_the_last_value(run_playbook, tmp_path):
    result = run_playbook(counter_book("never", retries=1000, delay=0.2, timeout=1), counter=str(tmp_path / "c"))
    poll = record(result, "poll")
    assert poll.status == "failed"
    assert "deadline" in poll.reason
    assert "value-" in poll.reason


def test_until_delay_zero_retries_without_waiting(run_playbook, tmp_path):
    start = time.monotonic()
    result = run_playbook(counter_book("value-2", retries=5, delay=0), counter=str(tmp_path / "counter"))
    assert record(result, "poll").status == "ok"
    assert time.monotonic() - start < 0.8  # two quick shell calls; a 1 s wait between them fails this


@pytest.mark.timeout(20)  # a deadline that is ignored must fail here, not hang the suite
def test_command_that_never_ends_is_killed_at_the_task_timeout(run_playbook):
    marker = f"sleep 600.{secrets.randbelow(10**6):06d}"
    start = time.monotonic()
    result = run_playbook(f"""\
        - hosts: all
          tasks:
            - name: hang
              shell:
                cmd: "{marker}"
              timeout: 1
        """)
    elapsed = time.monotonic() - start
    hang = record(result, "hang")
    assert hang.status == "error"
    assert "timed out" in hang.reason
    assert elapsed < 4, f"took {elapsed:.1f}s"
    assert result.exit_code == 3
    leftover = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert leftover.returncode == 1, f"{marker!r} still running: {leftover.stdout}"


def test_validation_and_engine_agree_on_hostvars(run_playbook):
    # Whatever validation accepts must be defined at run time: either `hostvars` is refused up front (exit 2)
    # or the engine provides it. (It used to pass validation and then error on every host.)
    text = """\
        - hosts: all
          tasks:
            - name: uses hostvars
              shell:
                cmd: "true"
              when: "'local' in hostvars"
        """
    try:
        result = run_playbook(text)
    except BadInput as exc:
        assert "hostvars" in str(exc)
    else:
        assert record(result, "uses hostvars").status == "ok"


def test_listener_sees_every_record_in_order(tmp_path, local_inventory):
    book = playbook.load(write(tmp_path / "b.yml", "- hosts: all\n  tasks:\n    - ping: {}\n    - fail: {}\n"))
    seen: list[tuple[str, str, str]] = []
    result = engine.run(book, local_inventory.select("local"),
                        listener=lambda host, rec: seen.append((host, rec.name, rec.status)))
    assert seen == [("local", "ping", "ok"), ("local", "fail", "failed")]
    assert record(result, "ping").reason.startswith("local: round trip")


def test_play_for_other_hosts_does_not_run(run_playbook, log):
    text = "- hosts: nosuchgroup\n  tasks:\n" + step("x", 4) + "- hosts: local\n  tasks:\n" + step("y", 4)
    result = run_playbook(text, log=str(log))
    assert ran(log) == ["y"]
    assert statuses(result) == [("y", "ok")]


def test_unreachable_host_skips_the_rest_and_other_hosts_go_on(tmp_path):
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inv = inventory.load(write(tmp_path / "inv.yml", f"""\
        all:
          hosts:
            down:
              ansible_host: 127.0.0.1
              ansible_port: {port}
              connect_timeout: 2
            local:
              ansible_connection: local
        """))
    book = playbook.load(write(tmp_path / "b.yml", """\
        - hosts: all
          tasks:
            - ping: {}
            - name: second
              shell:
                cmd: "true"
              ignore_errors: true
            - block:
                - name: inner
                  shell:
                    cmd: "true"
              always:
                - name: cleanup
                  shell:
                    cmd: "true"
        """))
    result = engine.run(book, inv.select("all"), forks=2)
    down = result.hosts["down"]
    assert down.unreachable and "refused" in down.unreachable
    assert [(c.name, c.status) for c in down.checks] == [
        ("ping", "error"), ("second", "skipped"), ("inner", "skipped"), ("cleanup", "skipped")]
    assert down.checks[1].reason == "host unreachable"
    assert result.hosts["local"].verdict == "pass"
    assert [c.name for c in result.hosts["local"].checks] == ["ping", "second", "inner", "cleanup"]
    assert result.verdict == "error" and result.exit_code == 3


# -- verdicts and exit codes ----------------------------------------------------------------------------
@pytest.mark.parametrize(("host_statuses", "unreachable", "verdict", "code"), [
    ([], None, "pass", 0),
    (["ok", "skipped"], None, "pass", 0),
    (["ok", "failed", "skipped"], None, "fail", 1),
    (["failed", "error"], None, "error", 3),
    (["ok"], "ssh refused", "error", 3),
])
def test_verdict_and_exit_code(host_statuses, unreachable, verdict, code):
    report = HostReport("h", [CheckRecord(f"c{i}", s) for i, s in enumerate(host_statuses)], unreachable)
    assert report.verdict == verdict
    result = RunResult({"h": report, "fine": HostReport("fine", [CheckRecord("ok", "ok")])}, started=0.0)
    assert result.verdict == verdict
    assert result.exit_code == code


def test_worst_host_decides_the_run():
    hosts = {"a": HostReport("a", [CheckRecord("x", "failed")]), "b": HostReport("b", [CheckRecord("y", "error")])}
    assert RunResult(hosts, 0.0).exit_code == 3
    del hosts["b"]
    assert RunResult(hosts, 0.0).exit_code == 1


def test_a_task_whose_deadline_is_spent_says_so(run_playbook):
    result = run_playbook("""\
- hosts: all
  tasks:
    - name: slow
      shell: {cmd: "sleep 0.4; exit 1"}
      register: r
      until: r.rc == 0
      retries: 50
      delay: 0.5
      timeout: 0.6
""")
    slow = record(result, "slow")
    assert slow.status == "failed"
    assert slow.reason.startswith("until `r.rc == 0` still false after the deadline; last: failed (exit code 1")


def test_an_until_loop_ends_at_once_when_the_module_says_waiting_cannot_help(monkeypatch, run_playbook):
    """A final outcome (a crash loop, say) ends readiness now, with its reason, instead of at the deadline."""
    from orchestrator.modules import MODULES, Module, Outcome

    calls: list[int] = []

    class Hopeless(Module):
        name = "hopeless"

        def run(self, host, args, ctx):
            calls.append(1)
            return Outcome("failed", "backend: restarted 5 times", {"cannot_recover": ["a crash loop"]}, final=True)

    monkeypatch.setitem(MODULES, "hopeless", Hopeless())
    result = run_playbook("- hosts: all\n  tasks:\n    - name: ready\n      hopeless: {}\n      register: r\n"
                          "      until: r.status == 'ok'\n      retries: 1000\n      delay: 0.01\n      timeout: 60\n")
    ready = record(result, "ready")
    assert len(calls) == 1 and ready.status == "failed"
    assert "cannot become true (a crash loop)" in ready.reason
