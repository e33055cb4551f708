"""report.html in a real browser (headless Chromium, no lab): a red e2e page whose host output plants markup
renders its verdict, failing check, chart and the planted text as text; nothing planted runs; no console error and
no request beyond the file itself. The lab-backed runs (check, red e2e, flow, triage) are in
tests/integration/test_report_html.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator import redact
from tests import browser as chromium
from tests.unit.test_report_html import PLANTED, e2e_extra, e2e_result, write


@pytest.fixture(autouse=True)
def artifacts(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("SHAKEDOWN_ARTIFACTS", str(root))
    monkeypatch.setattr(redact, "_KNOWN", {})
    monkeypatch.setattr(redact, "_CURRENT", [redact.Redactor()])
    return root


def open_report(browser: chromium.Chromium, run_dir: Path) -> chromium.Page:
    page = browser.open((run_dir / "report.html").as_uri())
    page.wait_for("document.body.dataset.rendered !== undefined")
    page.drain(0.2)  # late console errors or requests would land here
    return page


def test_a_red_e2e_page_renders_and_planted_markup_stays_text(browser):
    run_dir = write(e2e_result(), "e2e", e2e_extra(), files={"dev/logs/sample_scanner_1.log": f"boot\n{PLANTED}\n"})
    page = open_report(browser, run_dir)
    try:
        text = page.visible_text()
        assert page.eval("document.getElementById('verdict').innerText") == "RED"
        assert "tests" in text and "test command exited 1" in text
        assert "<script>window.__pwned=1</script>" in text  # shown as text, in the reason and the log
        assert page.eval("typeof window.__pwned") == "undefined"
        assert page.eval("document.querySelectorAll('img').length") == 0
        assert page.eval("Chart.getChart('chart-timeline').data.labels") == [
            "lease", "snapshot", "deploy", "ready", "health", "tests", "evidence", "restore"]
        assert page.errors == []
        assert chromium.outside_requests(page) == []
        page.screenshot(chromium.artifacts_dir("report-browser") / "red-e2e-synthetic.png")
    finally:
        page.close()


def test_the_checks_filter_hides_rows_in_the_browser(browser):
    page = open_report(browser, write(e2e_result(), "e2e", e2e_extra()))
    try:
        visible = "[...document.querySelectorAll('tr.check')].filter(r => !r.hidden).length"
        assert page.eval(visible) == 12
        page.eval("document.querySelector('.filter-status[value=ok]').click()")
        assert page.eval(visible) == 2  # only the failed ones
        page.eval("const t = document.getElementById('filter-text'); t.value = 'checkout';"
                  "t.dispatchEvent(new Event('input', {bubbles: true}))")
        assert page.eval(visible) == 1
        assert page.errors == []
    finally:
        page.close()
