"""invoke verify's pure parts: the stop-release rules as shipped, bad input (exit 2, file:line, nothing run),
and the evidence entry's format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import BadInput
from orchestrator.ops.ci import token as ci_token
from orchestrator.ops.verify import rules
from orchestrator.ops.verify.evidence import Entry
from tests.unit.helpers import write

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = {
    "containers": [{"name": "sample_backend_1", "state": "running", "health": "healthy"}],
    "containers_ok": True, "containers_reason": "",
    "ci": [{"repo": "backend", "status": "success", "match": "commit", "wanted": "a" * 40, "matched": True,
            "number": 42, "commit": "a" * 40, "ref": "refs/heads/main"}],
    "ci_asked": True,
    "version_pairs": [{"left": "backend /api/version", "right": "frontend /version.json", "left_version": "1.4.2",
                       "right_version": "1.4.2", "agree": True}],
    "stack_version": "1.4.2", "checkout": {"commit": "a" * 40, "changes": []}, "secret_hits": [],
}


def stops(**changes: object) -> list[tuple[str, str, str]]:
    return [(s.id, s.severity, s.message) for s in rules.evaluate(rules.load(), {**HEALTHY, **changes})]


def test_a_healthy_deploy_hits_no_rule():
    assert stops() == []


def test_ci_green_but_containers_unhealthy_is_p0_naming_the_repos_and_the_reason():
    ((rule, severity, message),) = stops(containers_ok=False, containers_reason="scanner: exited (1)")
    assert (rule, severity) == ("VR-001", "P0")
    assert "backend" in message and "scanner: exited (1)" in message


def test_without_ci_unhealthy_containers_are_the_checks_own_failure_not_vr001():
    assert stops(containers_ok=False, ci=[], ci_asked=False) == []


def test_a_version_pair_that_differs_names_both_values():
    pair = {**HEALTHY["version_pairs"][0], "right_version": "1.4.3", "agree": False}
    ((rule, severity, message),) = stops(version_pairs=[pair])
    assert (rule, severity) == ("VR-002", "P0")
    assert "backend /api/version serves 1.4.2 but frontend /version.json serves 1.4.3" in message


def test_a_deployed_commit_ci_never_built_is_p0_with_both_commits():
    ci = [{**HEALTHY["ci"][0], "matched": False, "commit": "b" * 40, "number": 43}]
    ((rule, _, message),) = stops(ci=ci)
    assert rule == "VR-003" and "a" * 12 in message and "#43" in message and "b" * 12 in message


def test_a_secret_hit_is_p0_naming_where_and_local_changes_are_a_p1_warning():
    hit = {"secret": "SAMPLE_API_TOKEN", "where": "CI backend pipeline #42 step build log, line 3"}
    found = stops(secret_hits=[hit],
                  checkout={"changes": [" M docker-compose.yml"]})
    assert ("VR-004", "P0", "a known secret value (SAMPLE_API_TOKEN) appears in CI backend pipeline #42 step build "
            "log, line 3") in found
    assert any(r == "VR-005" and s == "P1" and "docker-compose.yml" in m for r, s, m in found)


def test_a_rule_that_cannot_be_evaluated_stops_the_release(tmp_path):
    path = write(tmp_path / "rules.yml", "- {id: X-1, severity: P2, when: no_such.fact > 1, message: m}\n")
    ((stop,),) = [rules.evaluate(rules.load(path), {})]
    assert stop.severity == "P0" and "could not be evaluated" in stop.message


@pytest.mark.parametrize(("text", "expected"), [
    ("- {id: X-1, severity: P9, when: true, message: m}\n", r"rules.yml:1: severity must be one of P0, P1, P2"),
    ("- {id: X-1, severity: P0, when: true}\n", r"rules.yml:1: stop-release rule needs 'message'"),
    ("- {id: X-1, severity: P0, when: true, message: m}\n- {id: X-1, severity: P1, when: true, message: n}\n",
     r"rules.yml:2: rule id X-1 is already used at .*rules.yml:1"),
    ("- id: X-1\n  severity: P0\n  when: 'a >'\n  message: m\n", r"rules.yml:3: "),
    ("- {id: X-1, severity: P0, wehn: true, message: m}\n", r"rules.yml:1: unknown stop-release rule key 'wehn'"),
])
def test_a_malformed_rules_file_names_file_and_line(tmp_path, text, expected):
    with pytest.raises(BadInput, match=expected):
        rules.load(write(tmp_path / "rules.yml", text))


def test_the_token_file_must_be_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("SHAKEDOWN_TEST_TOKEN", raising=False)
    path = tmp_path / "token"
    path.write_text("tok-abcdef-123456\n")
    path.chmod(0o644)
    ci = {"token_env": "SHAKEDOWN_TEST_TOKEN", "token_file": str(path)}
    with pytest.raises(BadInput, match=r"inv.yml:9: ci.token_file .*token is mode 0644.*chmod 600"):
        ci_token.load(ci, "inv.yml:9")
    path.chmod(0o600)
    assert ci_token.load(ci, "inv.yml:9") == "tok-abcdef-123456"
    monkeypatch.setenv("SHAKEDOWN_TEST_TOKEN", "from-the-env-98765")
    assert ci_token.load(ci, "inv.yml:9") == "from-the-env-98765"  # the variable wins when set


def verify_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "verify", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts"), **env})


INVENTORY = """\
all:
  hosts:
    dev:
      ansible_host: 127.0.0.1
      ansible_port: 1
      ci:
        server: http://127.0.0.1:18700
        token_file: {token}
        repos:
          - {{name: backend, id: 5}}
          - {{name: frontend, id: seven, match: latest}}
"""


def test_a_malformed_repo_declaration_is_exit_2_naming_file_line_and_the_repo(tmp_path):
    inv = write(tmp_path / "inv.yml", INVENTORY.format(token=tmp_path / "token"))
    proc = verify_cli(tmp_path, "--inventory", str(inv), "--host", "dev")
    assert proc.returncode == 2, proc.stderr
    assert f"{inv}:6: ci:" in proc.stderr and f"repos[1] (frontend) at {inv}:11" in proc.stderr
    assert "id must be the repo's numeric Woodpecker id, got 'seven'" in proc.stderr
    assert "match must be one of commit, version, newest, got 'latest'" in proc.stderr
    assert not (tmp_path / "artifacts").exists()  # nothing ran


def test_a_token_file_others_can_read_and_a_host_without_ci_are_refused_before_anything_runs(tmp_path):
    token = tmp_path / "token"
    token.write_text("tok-abcdef-123456\n")
    token.chmod(0o640)
    inv = write(tmp_path / "inv.yml", INVENTORY.format(token=token).replace("id: seven, match: latest", "id: 7"))
    proc = verify_cli(tmp_path, "--inventory", str(inv), "--host", "dev")
    assert proc.returncode == 2 and "is mode 0640" in proc.stderr, proc.stderr
    assert "tok-abcdef-123456" not in proc.stdout + proc.stderr
    bare = write(tmp_path / "bare.yml", "all:\n  hosts:\n    dev: {ansible_host: 127.0.0.1, ansible_port: 1}\n")
    proc = verify_cli(tmp_path, "--inventory", str(bare), "--host", "dev")
    assert proc.returncode == 2 and "declares no `ci`" in proc.stderr and "--no-ci" in proc.stderr
    proc = verify_cli(tmp_path, "--inventory", str(bare), "--host", "dev", "--wait", "soon")
    assert proc.returncode == 2 and "--wait" in proc.stderr and "soon" in proc.stderr
    assert not (tmp_path / "artifacts").exists()


def test_the_evidence_entry_is_in_the_teams_format():
    entry = Entry(date="2026-12-01", summary="release 1.4.2", target="dev (sd-dev@127.0.0.1:2222)",
                  versions=["backend 1.4.2", "frontend 1.4.2"], ci=["backend #42 success"],
                  command="invoke verify --host dev", result="fail", stops=["P0 VR-002: version mismatch"],
                  residual=["scanner: no probe serves its version"], run="artifacts/x/report.md")
    assert entry.markdown().splitlines() == [
        "### 2026-12-01 - release 1.4.2", "",
        "- Target: dev (sd-dev@127.0.0.1:2222)",
        "- Versions: backend 1.4.2, frontend 1.4.2",
        "- CI: backend #42 success",
        "- Commands: `invoke verify --host dev`",
        "- Result: fail",
        "- Stop-release: P0 VR-002: version mismatch",
        "- Residual risk: scanner: no probe serves its version",
        "- Run: artifacts/x/report.md", ""]  # a blank line ends the entry


def test_a_p0_decides_the_verdict_even_when_another_check_could_not_run():
    from orchestrator.run.results import CheckRecord, HostReport

    host = HostReport("dev", [CheckRecord("ci: backend", "error", "blocked: still running"),
                              CheckRecord("P0 VR-002", "failed", "version mismatch", data={"decisive": True})])
    assert host.verdict == "fail"  # exit 1: the release must stop, whatever CI would have said
    host.checks[1].data["decisive"] = False
    assert host.verdict == "error"
