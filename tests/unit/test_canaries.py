"""The canary file, its judge and --tamper's teeth, without a lab (tests/integration/test_canaries.py runs them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.errors import BadInput
from orchestrator.lab import repo
from orchestrator.ops.canaries import judge, model, refs
from orchestrator.procedures import tables

GOOD = "a" * 40


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "canaries.yml"
    path.write_text(text)
    return path


def canary_file(tmp_path: Path, canary: str) -> Path:
    return write(tmp_path, "canaries:\n" + canary)


def test_the_suite_pins_exactly_the_commits_the_lab_builds(tmp_path):
    """The lab's commits are a pure function of tests/lab/ (orchestrator/lab/repo.py): a source change without a
    re-pin would make every canary run refused ("moved"); this says so in CI, with the ids to paste."""
    git_dir = tmp_path / "app.git"
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    built = repo.expected_refs(git_dir)
    stale = [f"{c.commit_where}: canary {c.name}: branch {c.branch} is pinned at {c.commit}, tests/lab builds "
             f"{built.get(c.branch)}" for c in model.load().canaries if built.get(c.branch) != c.commit]
    assert not stale, ("playbooks/canaries.yml is out of step with tests/lab/ (re-pin after checking each "
                       "branch still deserves its verdict):\n" + "\n".join(stale))


def test_the_default_suite_covers_a_good_branch_and_each_named_reason_for_red():
    suite = model.load()
    by_branch = {c.branch: c for c in suite.canaries}
    assert by_branch["feature-good"].expect == "GREEN"
    for branch in ("feature-wrong-version", "feature-tests-fail", "feature-unhealthy", "feature-no-tests"):
        canary = by_branch[branch]
        assert canary.expect == "RED" and any(a.status == "failed" for a in canary.assertions), branch


@pytest.mark.parametrize(("canary", "message"), [
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: GREEN, assert: [{{check: x}}], colour: red}}\n",
     ":2: unknown canary key 'colour'"),
    ("  - {name: a, branch: b, commit: abc, expect: GREEN, assert: [{check: x}]}\n", ":2: commit must be a full"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: YELLOW, assert: [{{check: x}}]}}\n",
     ":2: expect must be GREEN or RED"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, flags: [--keep, x], assert: [{{check: x}}]}}\n",
     "flag '--keep' is not one a canary may set"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, flags: [--ready-timeout], assert: [{{check: x}}]}}\n",
     "flags come in pairs"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, assert: [{{check: x, status: broken}}]}}\n",
     "status must be one of"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, assert: [{{check: x, test: y}}]}}\n",
     "exactly one of `check` or `test`"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, assert: [{{check: x, present: false, status: ok}}]}}\n",
     "takes no status or reason"),
    (f"  - {{name: a, branch: '--upload-pack=x', commit: {GOOD}, expect: RED, assert: [{{check: x}}]}}\n", ":2:"),
    (f"  - {{name: 'a/b', branch: b, commit: {GOOD}, expect: RED, assert: [{{check: x}}]}}\n", "must be [A-Za-z0-9"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED, assert: [{{check: x}}]}}\n"
     f"  - {{name: a, branch: c, commit: {GOOD}, expect: RED, assert: [{{check: x}}]}}\n",
     ":3: canary name 'a' is used"),
    (f"  - {{name: a, branch: b, commit: {GOOD}, expect: RED}}\n", ":2: canary needs `assert`"),
])
def test_a_bad_canary_file_is_bad_input_naming_file_and_line(tmp_path, canary, message):
    path = canary_file(tmp_path, canary)
    with pytest.raises(BadInput) as caught:
        model.load(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_unknown_canary_names_are_bad_input_listing_the_known(tmp_path):
    with pytest.raises(BadInput, match=r"no such canary.*did you mean 'good'.*canaries: good, wrong-version"):
        model.load().select(["goood"])


def report(*checks: tuple[str, str, str]) -> dict:
    return {"hosts": {"dev": {"checks": [{"name": n, "status": s, "reason": r} for n, s, r in checks]}}}


def assertion(**kw: object) -> model.Assertion:
    base = {"check": "tests", "status": None, "reason": None, "present": True, "where": "f:1"}
    return model.Assertion(**{**base, **kw})  # type: ignore[arg-type]


WRONG_VERSION = report(("containers ready", "ok", "3 running"),
                       ("version served", "failed", "backend /api/version serves 1.4.2, expected 1.5.2"))


def test_assertions_judge_presence_status_and_reason():
    assert judge.judge(assertion(check="version served", status="failed", reason="backend /api/version"),
                       WRONG_VERSION, "dev").ok
    assert not judge.judge(assertion(check="version served", status="ok"), WRONG_VERSION, "dev").ok
    wrong_why = judge.judge(assertion(check="version served", status="failed", reason="frontend"), WRONG_VERSION, "dev")
    assert not wrong_why.ok and "no 'frontend' in the reason" in wrong_why.why
    assert judge.judge(assertion(check="tests", present=False), WRONG_VERSION, "dev").ok
    missing = judge.judge(assertion(check="tests", status="failed"), WRONG_VERSION, "dev")
    assert not missing.ok and missing.why == "absent from the report"


@pytest.mark.parametrize("kw", [
    {"check": "version served", "status": "failed", "reason": "backend /api/version"},
    {"check": "containers ready", "status": "ok"},
    {"check": "tests", "present": False},
])
def test_an_assertion_with_a_status_or_absence_bites_on_the_tampered_report(kw):
    a = assertion(**kw)
    assert judge.judge(a, WRONG_VERSION, "dev").ok
    assert not judge.toothless(a, WRONG_VERSION, "dev").ok
    assert WRONG_VERSION["hosts"]["dev"]["checks"][1]["status"] == "failed", "the clean report is never changed"


@pytest.mark.parametrize("kw", [
    {"check": "version served"},  # present, any status: the same either way
    {"check": "version served", "reason": "1.4.2"},  # a reason alone: the flip keeps it
])
def test_an_assertion_that_holds_whatever_the_outcome_is_toothless(kw):
    a = assertion(**kw)
    assert judge.judge(a, WRONG_VERSION, "dev").ok and judge.toothless(a, WRONG_VERSION, "dev").ok


def test_a_moved_branch_is_refused_naming_both_commits():
    c = model.load().canaries[0]
    now = "b" * 40
    with pytest.raises(BadInput) as caught:
        refs.refuse_moved([c], {c.branch: now}, "/repo.git")
    text = str(caught.value)
    assert c.commit in text and now in text and c.commit_where in text and "moved" in text
    with pytest.raises(BadInput, match="does not exist"):
        refs.refuse_moved([c], {}, "/repo.git")
    refs.refuse_moved([c], {c.branch: c.commit}, "/repo.git")


def test_refs_output_is_parsed():
    out = f"REPO /r.git\nREF {GOOD}\trefs/heads/feature-good\n"
    assert refs.parse(out) == ("/r.git", None, {"feature-good": GOOD})
    assert refs.parse("REPO /r.git\nREPO_ERROR fatal: no\n")[1] == "fatal: no"


def test_the_summary_table_shows_each_assertion_flags_and_time():
    data = {"file": "playbooks/canaries.yml", "tamper": True, "canaries": [
        {"name": "wrong-version", "expected": "RED", "got": "RED", "seconds": 12.3, "met": False,
         "teardown_clean": True, "no_leak": True,
         "assertions": [{"assertion": "version served failed", "ok": True, "seen": "failed", "teeth": "bites"},
                        {"assertion": "version served present", "ok": True, "seen": "failed", "teeth": "toothless"}]}]}
    console = Console(width=200, record=True)
    console.print(tables.canaries(data))
    text = console.export_text()
    for word in ("wrong-version", "RED", "version served failed", "(bites)", "(TOOTHLESS)", "clean", "none", "12.3",
                 "NOT MET"):
        assert word in text, word
