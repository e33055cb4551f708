"""report.html of real runs on the lab, opened from file:// in headless Chromium (one process per session): a
check, a red e2e, a flow ramp with a missing checkpoint, and a triage whose scanner log carries a planted
<script>. Each page renders its verdict and failing check, draws its chart, logs no console error and requests
nothing but its own file; the planted script shows as text and never runs. Screenshots go to the test
artifacts; with SHAKEDOWN_DOCS_SCREENSHOTS=1 the red e2e and the flow chart are also written to docs/img/ (the
README's pictures are these)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.lab import marketplace
from tests import browser as chromium
from tests.integration.labkit import container_of, docker, fresh_run, invoke

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
DOCS_IMG = ROOT / "docs" / "img"
PLANTED = "<script>window.__pwned=1</script>"


def run(tmp_path: Path, *args: str, timeout: float = 240) -> tuple[dict[str, Any], Path]:
    result = invoke(*args, "--json", env={"SHAKEDOWN_ARTIFACTS": str(tmp_path)}, timeout=timeout)
    data = result.json()
    return data, tmp_path / data["run_id"]


def opened(browser: chromium.Chromium, path: Path) -> chromium.Page:
    page = browser.open(path.as_uri())
    # report.html's script marks the body once its charts are drawn; index.html has no script at all
    page.wait_for("document.readyState === 'complete' && (document.body.dataset.rendered !== undefined"
                  " || !document.scripts.length)")
    page.drain(0.3)  # anything the page does late (an error, a request) is recorded too
    return page


def assert_clean(page: chromium.Page) -> None:
    assert page.errors == [], page.errors
    assert chromium.outside_requests(page) == [], page.requests


def failing(data: dict[str, Any], with_reason: bool = False) -> list[Any]:
    """The failed and errored checks of report.json: the names (with their reasons) the page must show."""
    bad = [c for h in data["hosts"].values() for c in h["checks"] if c["status"] in ("failed", "error")]
    return [(c["name"], c["reason"]) for c in bad] if with_reason else [c["name"] for c in bad]


def shot(page: chromium.Page, name: str, selector: str | None = None, until: str | None = None,
         docs: str | None = None) -> Path:
    """The test's screenshot, in its artifacts; `docs` names the README's copy (docs/img/) when asked for."""
    path = page.screenshot(chromium.artifacts_dir("report-html") / name, selector, until)
    if docs and os.environ.get("SHAKEDOWN_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / docs)
    return path


def test_a_check_report_and_the_index_render_offline(healthy_stack, browser, tmp_path):
    data, run_dir = run(tmp_path, "check", "--host", "dev")
    assert data["verdict"] == "pass"
    page = opened(browser, run_dir / "report.html")
    try:
        assert page.eval("document.getElementById('verdict').innerText") == "PASS"
        text = page.visible_text()
        assert "containers: backend" in text and "exit 0" in text
        assert_clean(page)
        shot(page, "check.png")
    finally:
        page.close()
    index = opened(browser, tmp_path / "index.html")
    try:
        href = index.eval("document.querySelector('#runs a').getAttribute('href')")
        assert href == f"{data['run_id']}/report.html"
        assert_clean(index)
    finally:
        index.close()


def test_a_red_e2e_report_shows_the_failing_test_and_the_phase_timeline(healthy_stack, browser, tmp_path):
    data, run_dir = run(tmp_path, "e2e", "--branch", "feature-tests-fail", "--host", "dev")
    assert (data.get("e2e") or {}).get("result") == "RED" and data["exit_code"] == 1, data
    assert (run_dir / "report.html").stat().st_size < 400_000
    page = opened(browser, run_dir / "report.html")
    try:
        assert page.eval("document.getElementById('verdict').innerText") == "RED"
        problems = " ".join(page.eval("document.getElementById('problems').innerText").split())
        assert failing(data)
        for name, reason in failing(data, with_reason=True):  # HTML shows runs of spaces as one
            assert name in problems and " ".join(reason.split())[:60] in problems
        assert "expected 42, got 41" in page.visible_text()  # what the stack's test said
        labels = page.eval("Chart.getChart('chart-timeline').data.labels")
        assert labels[:4] == ["lease", "snapshot", "deploy", "ready"] and labels[-1] == "restore"
        assert "tests" in labels
        assert_clean(page)
        shot(page, "red-e2e.png")
        # the README's picture: the verdict, what went wrong and the phase timeline, in one frame
        shot(page, "red-e2e-top.png", "header", "table.phases", docs="report-red-e2e.png")
    finally:
        page.close()


@pytest.fixture
def missing_delivery(lab_up: None) -> Iterator[None]:
    marketplace.reset_config()
    config = marketplace.read_config()
    config["defects"]["no_delivery_notifications"] = True
    marketplace.write_config(config)
    try:
        yield
    finally:
        marketplace.reset_config()


def test_a_flow_report_charts_latency_against_concurrency(missing_delivery, browser, tmp_path):
    env = {**os.environ, "SHAKEDOWN_ARTIFACTS": str(tmp_path)}
    env.pop("SHAKEDOWN_INVENTORY", None)
    proc = subprocess.run([sys.executable, "-m", "invoke", "flow", "--flow", "marketplace", "--json",
                           "--concurrency", "1,2,4", "--rounds", "2"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)
    data = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    page = opened(browser, tmp_path / data["run_id"] / "report.html")
    try:
        assert page.eval("document.getElementById('verdict').innerText") == "FAIL"
        problems = page.eval("document.getElementById('problems').innerText")
        assert failing(data) and all(name in problems for name in failing(data))
        chart = page.eval("(() => { const c = Chart.getChart('chart-latency'); return {labels: c.data.labels,"
                          " series: c.data.datasets.map(d => d.label), points: c.data.datasets[0].data.length}; })()")
        assert chart == {"labels": ["1", "2", "4"], "series": ["p50", "p95", "p99", "max"], "points": 3}
        assert "delivery-sent" in page.eval("document.getElementById('flow').innerText")
        assert_clean(page)
        shot(page, "flow.png")
        # the README's picture: the latency chart and its table of levels
        shot(page, "flow-latency.png", "#flow", "#flow table", docs="report-flow-latency.png")
    finally:
        page.close()


@pytest.fixture
def scripted_scanner_log(healthy_stack) -> Iterator[None]:
    """The scanner prints a <script> on its own stdout, as a service echoing user input would; its next
    run starts with a clean log."""
    docker("exec", container_of("scanner"), "sh", "-c", f"echo 'scan of {PLANTED} done' > /proc/1/fd/1")
    try:
        yield
    finally:
        fresh_run("scanner")


def test_a_script_in_a_service_log_is_shown_as_text_and_never_runs(scripted_scanner_log, browser, tmp_path):
    _, run_dir = run(tmp_path, "triage", "--host", "dev")
    assert PLANTED in (run_dir / "dev" / "logs" / "sample_scanner_1.log").read_text()
    page = opened(browser, run_dir / "report.html")
    try:
        logs = page.eval("document.getElementById('logs').innerText")
        assert f"scan of {PLANTED} done" in logs
        assert page.eval("typeof window.__pwned") == "undefined"
        assert page.eval("[...document.scripts].some(s => s.textContent.includes('__pwned'))") is False
        assert_clean(page)
        shot(page, "triage-planted-script.png", "#logs")
    finally:
        page.close()
