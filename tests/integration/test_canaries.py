"""`invoke canaries` against the real lab: the suite is green (every expected verdict met, both flags true), and
each way a canary can be wrong is caught: a wrong expectation, a moved branch, a toothless assertion.

Each canary is one real e2e (~15-30 s); tests beyond the suite itself use one-canary files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator.lab import spec
from tests.integration.labkit import fingerprint, invoke

pytestmark = pytest.mark.usefixtures("healthy_stack")


def commit_of(branch: str) -> str:
    return subprocess.run(["git", "-C", str(spec.REPO_DIR), "rev-parse", f"refs/heads/{branch}"], check=True,
                          capture_output=True, text=True).stdout.strip()


def canary_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "canaries.yml"
    path.write_text("canaries:\n" + body)
    return path


def outcomes(result) -> dict[str, dict]:
    return {c["name"]: c for c in result.json()["canaries"]["canaries"]}


def test_the_canary_suite_is_green_on_the_lab(tmp_path):
    before = fingerprint()
    result = invoke("canaries", "--json", timeout=1200, env={"SHAKEDOWN_ARTIFACTS": str(tmp_path)})
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-5000:]
    found = outcomes(result)
    assert set(found) == {"good", "wrong-version", "tests-fail", "unhealthy", "no-tests"}
    for name, c in found.items():
        assert c["met"] and c["got"] == c["expected"], (name, c)
        assert c["teardown_clean"] is True and c["no_leak"] is True, (name, c)
        assert all(a["ok"] for a in c["assertions"]), (name, c["assertions"])
    assert found["good"]["got"] == "GREEN" and found["no-tests"]["got"] == "RED"
    # Each canary's e2e ran for real, in its own artifacts under this run's directory.
    run_dir = tmp_path / result.json()["run_id"]
    for name, c in found.items():
        assert (run_dir / "canaries" / name / c["run_id"] / "report.json").is_file(), name
    assert "canaries playbooks/canaries.yml" in result.stderr.replace("\n", " ") or "canaries" in result.stderr
    assert fingerprint() == before


def test_a_canary_whose_expected_verdict_is_wrong_fails_the_suite(tmp_path):
    path = canary_file(tmp_path, f"""  - name: good-but-expected-red
    branch: feature-good
    commit: {commit_of("feature-good")}
    expect: RED
    assert:
      - {{check: tests, status: ok}}
""")
    result = invoke("canaries", "--file", str(path), "--json", timeout=600,
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")})
    assert result.rc == 1, result.stdout[-3000:] + result.stderr[-3000:]
    c = outcomes(result)["good-but-expected-red"]
    assert (c["expected"], c["got"], c["met"]) == ("RED", "GREEN", False)
    checks = result.checks("dev")
    assert checks["canary good-but-expected-red: verdict"]["status"] == "failed"
    assert checks["canary good-but-expected-red: verdict"]["reason"].startswith("expected RED, got GREEN")
    assert c["teardown_clean"] and c["no_leak"]  # the run itself was clean: only the expectation was wrong


def test_a_branch_that_moved_from_its_pinned_commit_is_refused_before_anything_runs(tmp_path):
    now = commit_of("feature-good")
    pinned = commit_of("main")  # a real commit of the repo, just not where the branch is
    path = canary_file(tmp_path, f"""  - name: good
    branch: feature-good
    commit: {pinned}
    expect: GREEN
    assert:
      - {{check: tests, status: ok}}
""")
    artifacts = tmp_path / "artifacts"
    result = invoke("canaries", "--file", str(path), timeout=120, env={"SHAKEDOWN_ARTIFACTS": str(artifacts)})
    assert result.rc == 2, result.stdout + result.stderr
    err = result.stderr.replace("\n", " ")
    assert f"{path}:4" in err.replace(" ", "") or f"{path}:4" in err
    assert pinned in err.replace(" ", "") and now in err.replace(" ", "") and "moved" in err
    assert not artifacts.exists() or not list(artifacts.rglob("report.json")), "no e2e may have run"


def test_tamper_finds_the_toothless_assertions_planted_in_a_canary(tmp_path):
    path = canary_file(tmp_path, f"""  - name: good
    branch: feature-good
    commit: {commit_of("feature-good")}
    expect: GREEN
    assert:
      - {{check: tests, status: ok}}                             # bites: a failed `tests` breaks it
      - {{check: tests}}                                         # planted: present either way
      - {{test: backend reports VERSION, reason: passed}}        # planted: the reason survives the flip
""")
    result = invoke("canaries", "--file", str(path), "--tamper", "--json", timeout=600,
                    env={"SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")})
    assert result.rc == 1, result.stdout[-3000:] + result.stderr[-3000:]
    c = outcomes(result)["good"]
    assert c["got"] == "GREEN" and all(a["ok"] for a in c["assertions"]), "the clean run met every assertion"
    teeth = {a["assertion"]: a["teeth"] for a in c["assertions"]}
    assert teeth == {"tests ok": "bites", "tests present": "toothless",
                     'test: backend reports VERSION present ~ "passed"': "toothless"}
    assert c["toothless"] == ["tests present", 'test: backend reports VERSION present ~ "passed"']
    checks = result.checks("dev")
    assert checks["canary good: teeth tests present"]["status"] == "failed"
    assert checks["canary good: teeth tests ok"]["status"] == "ok"
    assert "TOOTHLESS" in result.stderr
