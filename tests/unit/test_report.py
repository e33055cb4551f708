"""The run directory: manifest.json, report.json, report.md, junit.xml, per-host folders and `latest`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from orchestrator.run import console as run_console
from orchestrator.run import rundir as report
from orchestrator.run.results import CheckRecord, HostReport, RunResult


@pytest.fixture(autouse=True)
def artifacts(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("SHAKEDOWN_ARTIFACTS", str(root))
    return root


def sample() -> RunResult:
    dev = HostReport("dev", [
        CheckRecord("reachable", "ok", "ssh: round trip 5 ms", 0.01),
        CheckRecord("containers: backend", "failed", "backend is unhealthy | exit 1", 0.2),
        CheckRecord("http", "skipped", "no HTTP probes declared", 0.0),
        CheckRecord("disk: /", "failed", "97% used", 0.05),
    ])
    agent = HostReport("agent", [CheckRecord("reachable", "error", "agent: SSH refused", 1.5)],
                       unreachable="agent: SSH refused")
    return RunResult({"dev": dev, "agent": agent}, started=1_700_000_000.0, ended=1_700_000_003.5)


def write(result: RunResult | None = None, run_id: str | None = None) -> Path:
    return report.write_run_dir(result or sample(), run_id or report.new_run_id(), "check", Path("/inv/lab.yml"))


def test_run_id_is_utc_timestamp_plus_random_suffix():
    first, second = report.new_run_id(), report.new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", first)
    assert first != second


def test_run_dir_goes_under_shakedown_artifacts(artifacts):
    run_dir = write(run_id="20260101T000000Z-abcdef")
    assert run_dir == artifacts / "20260101T000000Z-abcdef"
    assert {p.name for p in run_dir.iterdir()} == {"manifest.json", "report.json", "report.md", "junit.xml",
                                                   "report.html", "dev", "agent"}
    checks = json.loads((run_dir / "dev" / "checks.json").read_text())
    assert [c["name"] for c in checks] == ["reachable", "containers: backend", "http", "disk: /"]


def test_report_json_has_the_contract_fields():
    run_dir = write(run_id="20260101T000000Z-000001")
    data = json.loads((run_dir / "report.json").read_text())
    assert data["verdict"] == "error" and data["exit_code"] == 3
    assert data["run_id"] == "20260101T000000Z-000001"
    assert data["task"] == "check"
    assert set(data["hosts"]) == {"dev", "agent"}
    dev = data["hosts"]["dev"]
    assert dev["verdict"] == "fail"
    assert [(c["name"], c["status"]) for c in dev["checks"]] == [
        ("reachable", "ok"), ("containers: backend", "failed"), ("http", "skipped"), ("disk: /", "failed")]
    assert dev["checks"][1]["reason"] == "backend is unhealthy | exit 1"
    assert data["hosts"]["agent"]["verdict"] == "error"
    assert data["hosts"]["agent"]["unreachable"] == "agent: SSH refused"
    assert data["started"] == "2023-11-14T22:13:20Z"
    # the same shape as `--json` prints
    assert data == report.to_json(sample(), "20260101T000000Z-000001", "check")


def test_manifest_records_run_and_inventory():
    run_dir = write(run_id="20260101T000000Z-000002")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == "20260101T000000Z-000002"
    assert manifest["inventory"] == "/inv/lab.yml"
    assert manifest["hosts"] == ["dev", "agent"]
    assert manifest["task"] == "check"
    assert manifest["orchestrator_version"]


def cells(row: str) -> list[str]:
    """The cells of one markdown table row (an escaped `\\|` stays inside its cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_report_md_is_regression_evidence():
    """Target, versions, commands, scenarios with ids and pass/fail/blocked, result, residual risk."""
    text = (write() / "report.md").read_text()
    assert text.startswith("# shakedown check: ERROR")
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## Target", "## Versions", "## Commands", "## Scenarios", "## Result", "## Residual risk"]
    assert "### dev: fail" in text and "### agent: error" in text
    rows = [cells(line) for line in text.splitlines() if line.startswith("| S")]
    assert all(len(r) == 4 for r in rows), rows  # a `|` in a reason must not add a column
    backend = next(r for r in rows if r[1] == "containers: backend")
    assert re.fullmatch(r"S\d+\.\d+", backend[0]) and backend[2] == "fail"
    assert "backend is unhealthy" in backend[3] and "exit 1" in backend[3]
    assert {r[2] for r in rows} <= {"pass", "fail", "blocked", "skipped"}
    risk = text.split("## Residual risk", 1)[1]
    assert "agent was unreachable" in risk


def test_junit_counts_failures_errors_and_skips():
    tree = ET.parse(write() / "junit.xml")
    suites = {s.get("name"): s for s in tree.getroot().iter("testsuite")}
    dev, agent = suites["check.dev"], suites["check.agent"]
    assert (dev.get("tests"), dev.get("failures"), dev.get("errors"), dev.get("skipped")) == ("4", "2", "0", "1")
    assert (agent.get("tests"), agent.get("failures"), agent.get("errors")) == ("1", "0", "1")
    cases = {c.get("name"): c for c in dev.iter("testcase")}
    assert cases["containers: backend"].find("failure").get("message") == "backend is unhealthy | exit 1"
    assert cases["reachable"].find("failure") is None
    assert cases["http"].find("skipped") is not None


def test_latest_points_at_the_newest_run(artifacts):
    first = write(run_id="20260101T000000Z-aaaaaa")
    assert (artifacts / "latest").resolve() == first
    second = write(run_id="20260101T000001Z-bbbbbb")
    latest = artifacts / "latest"
    assert latest.is_symlink()
    assert latest.resolve() == second
    assert json.loads((latest / "report.json").read_text())["run_id"] == "20260101T000001Z-bbbbbb"
    assert not any(p.name.startswith(".latest") for p in artifacts.iterdir())


def test_same_run_id_is_never_overwritten():
    write(run_id="20260101T000000Z-cccccc")
    with pytest.raises(FileExistsError):
        write(run_id="20260101T000000Z-cccccc")


def test_junit_survives_ansi_colours_in_reasons(run_playbook):
    result = run_playbook("""\
        - hosts: all
          tasks:
            - name: coloured
              shell:
                cmd: "printf '\\\\033[31merror\\\\033[0m\\\\n' >&2; exit 1"
        """)
    assert "\x1b[31m" in result.hosts["local"].checks[0].reason  # what compose/docker output looks like
    tree = ET.parse(write(result) / "junit.xml")
    assert tree.getroot().find(".//failure") is not None


def test_report_md_keeps_multiline_reasons_in_one_row(run_playbook):
    result = run_playbook("""\
        - hosts: all
          tasks:
            - name: two lines
              shell:
                cmd: "echo first >&2; echo second >&2; exit 1"
        """)
    text = (write(result) / "report.md").read_text()
    row = next(line for line in text.splitlines() if "| two lines |" in line)
    assert "first" in row and "second" in row
    assert len(cells(row)) == 4


def test_the_leak_sweep_fails_a_run_whose_artifact_holds_a_known_secret(tmp_path, monkeypatch):
    """Defence in depth: a file written without redaction (a bug elsewhere) fails the run and is named."""
    from orchestrator import redact
    from orchestrator.errors import LeakFound
    from orchestrator.run.results import HostReport, RunResult

    monkeypatch.setenv("SHAKEDOWN_ARTIFACTS", str(tmp_path))
    redact.register({"PLANTED_TOKEN": "pl4nted-s3cret-value"})
    run_dir = report.run_dir_for("run-leak")
    (run_dir / "dev").mkdir()
    (run_dir / "dev" / "test.log").write_text("oops pl4nted-s3cret-value\n")  # written around the redactor
    result = RunResult({"dev": HostReport("dev")}, 0.0, 1.0)
    with pytest.raises(LeakFound) as info:
        report.write_run_dir(result, "run-leak", "e2e", tmp_path / "inv.yml")
    assert info.value.exit_code == 1
    assert f"{run_dir / 'dev' / 'test.log'}: PLANTED_TOKEN" in str(info.value)
    assert "pl4nted-s3cret-value" not in str(info.value)


def test_reports_are_written_redacted(tmp_path, monkeypatch):
    from orchestrator import redact
    from orchestrator.run.results import CheckRecord, HostReport, RunResult

    monkeypatch.setenv("SHAKEDOWN_ARTIFACTS", str(tmp_path))
    redact.register({"OTHER_TOKEN": "0ther-s3cret-value"})
    host = HostReport("dev", [CheckRecord("http", "failed", "body said 0ther-s3cret-value", data={"body": "x"})])
    run_dir = report.write_run_dir(RunResult({"dev": host}, 0.0, 1.0), "run-ok", "check", tmp_path / "inv.yml")
    text = "".join(p.read_text() for p in run_dir.rglob("*") if p.is_file())
    assert "0ther-s3cret-value" not in text and "[REDACTED:OTHER_TOKEN]" in text


def test_report_json_matches_its_published_schema():
    import jsonschema

    schema = json.loads((Path(report.__file__).parent / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads((write() / "report.json").read_text())
    jsonschema.validate(data, schema)
    data["hosts"]["dev"]["checks"][0]["status"] = "maybe"  # the schema has teeth
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_report_md_residual_risk_of_an_e2e_that_stopped_early():
    result = RunResult({"dev": HostReport("dev", [CheckRecord("deploy", "ok"),
                                                  CheckRecord("containers ready: backend", "failed", "unhealthy"),
                                                  CheckRecord("restore", "ok")])}, 0.0, 1.0)
    data = report.to_json(result, "20261121T000000Z-abcdef", "e2e",
                          {"e2e": {"kept": False, "restore": {"ok": True, "problems": []}}})
    risk = report._markdown(data, {}).split("## Residual risk", 1)[1]
    assert "stopped at 'containers ready: backend'" in risk
    assert "--keep" not in risk and "NOT verified" not in risk


def test_console_tables_redact_and_never_read_host_output_as_markup():
    """Records made outside the engine (prune, triage) reach the console through the same chokepoint."""
    import io

    from rich.console import Console

    from orchestrator import redact

    redact.register({"CONSOLE_TOKEN": "c0nsole-s3cret-value"})
    reason = "pid 7: tool --key c0nsole-s3cret-value [bold]x"
    host = HostReport("agent", [CheckRecord("stuck prunes", "failed", reason)])
    buf = io.StringIO()
    run_console.print_human(RunResult({"agent": host}, 0.0, 1.0), "r", None, Console(file=buf, width=200), "t")
    text = buf.getvalue()
    assert "c0nsole-s3cret-value" not in text and "[REDACTED:CONSOLE_TOKEN]" in text
    assert "[bold]x" in text


def test_the_leak_sweep_searches_every_file_of_the_run_directory(tmp_path, monkeypatch):
    """Any file at any depth, dotfiles and non-UTF-8 files included; clean files and symlinks are not named."""
    from orchestrator import redact

    monkeypatch.setattr(redact, "_KNOWN", {})
    monkeypatch.setattr(redact, "_CURRENT", [redact.Redactor()])
    redact.register({"SWEPT_TOKEN": "sw3pt-s3cret-value"})
    run_dir = tmp_path / "run"
    planted = [run_dir / "report.md", run_dir / "dev" / "e2e" / "deep" / "test.log", run_dir / ".hidden",
               run_dir / "dev" / "blob.bin"]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xfe head " + b"sw3pt-s3cret-value" + b" tail\x00")
    (run_dir / "dev" / "clean.txt").write_text("nothing here\n")
    (run_dir / "link").symlink_to(planted[0])  # a symlink could point out of the run directory: not followed
    assert report.sweep(run_dir) == sorted(f"{p}: SWEPT_TOKEN" for p in planted)
