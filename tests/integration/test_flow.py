"""invoke flow against the REAL lab marketplace (127.0.0.1:18110): a clean run is green; each known defect is
caught as the right checkpoint (a known gap where declared, a failure where required); --strict fails known gaps;
a wrong recipient fails the run; 429s are waited out and counted; a rate limit that keeps refusing is exit 3;
no token or admin password reaches the console or an artifact."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.lab import marketplace

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]{0,42}[A-Z])(?=[A-Za-z0-9_-]{0,42}\d)"
                         r"[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")  # secrets.token_urlsafe(32), the server's tokens


@pytest.fixture
def lab_config(lab_up: None) -> Iterator[dict[str, Any]]:
    marketplace.reset_config()
    try:
        yield marketplace.read_config()
    finally:
        marketplace.reset_config()


def configure(config: dict[str, Any], *, defects: tuple[str, ...] = (), rate_limit: dict[str, Any] | None = None
              ) -> None:
    for name in defects:
        config["defects"][name] = True
    if rate_limit:
        config["rate_limit"] = rate_limit
    marketplace.write_config(config)


def flow(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}
    env.pop("SHAKEDOWN_INVENTORY", None)
    proc = subprocess.run([sys.executable, "-m", "invoke", "flow", "--flow", "marketplace", "--json", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    result = json.loads(proc.stdout)
    run_dir = tmp_path / "artifacts" / result["run_id"]
    assert_no_secrets(proc, run_dir)
    return proc, json.loads((run_dir / "flow.json").read_text()), run_dir


def assert_no_secrets(proc: subprocess.CompletedProcess[str], run_dir: Path) -> None:
    _, password = marketplace.admin()
    texts = {"stdout": proc.stdout, "stderr": proc.stderr}
    texts |= {str(p): p.read_text() for p in run_dir.rglob("*") if p.is_file()}
    for where, text in texts.items():
        assert password not in text, f"admin password in {where}"
        assert not TOKEN_SHAPE.search(text), f"a token-shaped value in {where}: {TOKEN_SHAPE.search(text)}"
        assert "Bearer " not in text or "[REDACTED" in text.split("Bearer ", 1)[1][:12], where


def outcomes(data: dict[str, Any], ident: str) -> set[str]:
    return {c["outcome"] for f in data["flows"] for c in f["checkpoints"] if c["id"] == ident}


def test_a_clean_run_is_green_and_reports_the_known_gaps_fixed(tmp_path, lab_config):
    proc, data, run_dir = flow(tmp_path, "--concurrency", "1,2", "--rounds", "2")
    assert proc.returncode == 0, proc.stderr
    assert [(lv["concurrency"], lv["flows"]["passed"], lv["flows"]["failed"]) for lv in data["levels"]] == [
        (1, 2, 0), (2, 4, 0)]
    assert data["checkpoints"]["missing"] == 0 and data["wrong_recipient"] == 0
    assert {g["id"]: g["state"] for g in data["known_gaps"]} == {"accepted-related-id": "fixed",
                                                                  "legacy-payments": "fixed"}
    assert "POST /api/requests/{request_id}/offers" in data["levels"][0]["endpoints"]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["task"] == "flow" and report["exit_code"] == 0 and "dev" in report["hosts"]
    assert "| concurrency | rounds | flows passed |" in (run_dir / "flow.md").read_text()
    assert (run_dir / "junit.xml").exists()


@pytest.mark.parametrize(("defect", "checkpoint", "outcome", "code"), [
    ("incomplete_related_id", "accepted-related-id", "known_gap", 0),
    ("legacy_payments_500", "legacy-payments", "known_gap", 0),
    ("no_delivery_notifications", "delivery-sent", "missing", 1),
])
def test_each_defect_is_caught_as_its_checkpoint(tmp_path, lab_config, defect, checkpoint, outcome, code):
    configure(lab_config, defects=(defect,))
    proc, data, _ = flow(tmp_path, "--concurrency", "1,2", "--rounds", "1")
    assert proc.returncode == code, proc.stderr
    assert outcomes(data, checkpoint) == {outcome}
    others = {c["outcome"] for f in data["flows"] for c in f["checkpoints"] if c["id"] != checkpoint}
    assert others <= {"found", "fixed"}  # only that checkpoint is affected
    if outcome == "known_gap":
        assert data["checkpoints"]["known_gap"] == 3 and data["checkpoints"]["missing"] == 0


def test_strict_turns_a_known_gap_into_a_failure(tmp_path, lab_config):
    configure(lab_config, defects=("incomplete_related_id",))
    proc, data, _ = flow(tmp_path, "--rounds", "1", "--strict")
    assert proc.returncode == 1, proc.stderr
    assert data["strict"] and data["levels"][0]["flows"] == {"passed": 0, "failed": 1, "cancelled": 0}


def test_an_accepted_offer_sent_to_every_seller_is_a_wrong_recipient(tmp_path, lab_config):
    configure(lab_config, defects=("accepted_to_all_sellers",))
    proc, data, _ = flow(tmp_path, "--concurrency", "1,2", "--rounds", "1")
    assert proc.returncode == 1, proc.stderr
    assert data["wrong_recipient"] == 3
    assert outcomes(data, "accepted-related-id") == {"fixed"}


def test_429_answers_are_waited_out_as_retry_after_says_and_counted(tmp_path, lab_config):
    configure(lab_config, rate_limit={"requests": 30, "window_seconds": 1})
    proc, data, _ = flow(tmp_path, "--concurrency", "1,2", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    assert data["rate_limited"] > 0 and data["rate_limit_wait_seconds"] >= 1
    assert all(lv["flows"]["failed"] == 0 for lv in data["levels"])


def test_a_rate_limit_that_keeps_refusing_is_exit_3_with_the_advice(tmp_path, lab_config):
    configure(lab_config, rate_limit={"requests": 3, "window_seconds": 120})
    proc, data, _ = flow(tmp_path, "--deadline", "30")
    assert proc.returncode == 3, proc.stderr
    assert "rate limited out" in data["blocked"] and "fresh rate-limit window" in data["blocked"]
    assert data["rate_limited"] >= 1
