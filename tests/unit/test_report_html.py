"""report.html and artifacts/index.html, as files: every task's page renders from the run directory's data, host
output is escaped and redacted, the page is self-contained (no URL it would fetch, a CSP allowing only its own
scripts by hash), the vendored Chart.js is the pinned file, and the index lists runs newest first. What a real
browser makes of the page is tests/unit/test_report_browser.py and tests/integration/test_report_html.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from orchestrator import redact
from orchestrator.cli import run_report
from orchestrator.run import htmlreport, htmlview
from orchestrator.run import rundir as report
from orchestrator.run.results import CheckRecord, HostReport, RunResult

PLANTED = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
CHART_JS_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"  # chart.js 4.6.1, npm


@pytest.fixture(autouse=True)
def artifacts(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "artifacts"
    monkeypatch.setenv("SHAKEDOWN_ARTIFACTS", str(root))
    monkeypatch.setattr(redact, "_KNOWN", {})
    monkeypatch.setattr(redact, "_CURRENT", [redact.Redactor()])
    return root


def e2e_result() -> RunResult:
    return RunResult({"dev": HostReport("dev", [
        CheckRecord("borrow peers", "ok", "", 0.03), CheckRecord("snapshot", "ok", "2 files", 0.03),
        CheckRecord("deploy", "ok", "feature-x at abc", 1.8),
        CheckRecord("containers ready: backend", "ok", "healthy", 1.1),
        CheckRecord("containers ready: frontend", "ok", "healthy", 1.1),
        CheckRecord("version served: backend /api/version", "ok", "200", 0.12),
        CheckRecord("reachable", "ok", "ssh", 0.02), CheckRecord("containers: backend", "ok", "healthy", 0.04),
        CheckRecord("tests", "failed", "test command exited 1: " + PLANTED, 4.0, data={"tail": PLANTED}),
        CheckRecord("test: checkout total", "failed", "expected 42, got 41", 0.5,
                    data={"likely_cause": "rounding in the cart", "look": "backend/cart.py"}),
        CheckRecord("evidence", "ok", "12 files", 0.8), CheckRecord("restore", "ok", "identical", 2.6),
    ])}, 1_700_000_000.0, 1_700_000_012.0)


def e2e_extra() -> dict:
    return {"e2e": {"result": "RED", "host": "dev", "branch": "feature-x", "commit": "abc123", "mode": "targeted",
                    "interrupted": False, "kept": False, "lease_seconds": 0.4,
                    "restore": {"ok": True, "undone": ["deploy feature-x"], "verified": ["dev: 3 containers"],
                                "problems": [], "lease": "RELEASED", "hosts": {}}}}


def write(result: RunResult, task: str, extra: dict | None = None, files: dict[str, str] | None = None,
          run_id: str | None = None) -> Path:
    run_id = run_id or report.new_run_id()
    run_dir = report.run_dir_for(run_id)
    for rel, text in (files or {}).items():
        report.write_text(run_dir / rel, text)
    return report.write_run_dir(result, run_id, task, Path("/inv/lab.yml"), extra)


def page(run_dir: Path) -> str:
    return (run_dir / "report.html").read_text()


def without_scripts(html: str) -> str:
    """The page minus the package's own inline scripts: what the template made of the data."""
    return re.sub(r"<script>.*?</script>", "", html, flags=re.S)


def test_every_run_directory_gets_a_report_html_showing_the_verdict_and_each_check():
    result = RunResult({"dev": HostReport("dev", [CheckRecord("reachable", "ok", "ssh 5 ms", 0.01),
                                                  CheckRecord("disk: /", "failed", "97% used", 0.05)])}, 0.0, 1.0)
    html = page(write(result, "check"))
    assert '<span id="verdict" class="badge fail">FAIL</span>' in html
    assert "exit 1" in html and "97% used" in html and "ssh 5 ms" in html
    # failures first: the failed check's row comes before the passing one
    assert html.index('<td class="check-name">disk: /</td>') < html.index('<td class="check-name">reachable</td>')
    assert "chart.umd" not in html and "Chart.js v" not in html  # no chart, no 200 KiB library


def test_host_output_is_escaped_everywhere_it_appears():
    run_dir = write(e2e_result(), "e2e", e2e_extra(), files={"dev/logs/sample_scanner_1.log": f"boot\n{PLANTED}\n"})
    html = without_scripts(page(run_dir))
    assert "<script>window" not in html and "<img src=x" not in html and "onerror=\"window" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;window.__pwned=1") >= 3  # the reason, the failing check's data, the log


def test_the_page_is_redacted_and_the_leak_sweep_covers_it():
    redact.register({"PAGE_TOKEN": "p4ge-s3cret-value"})
    result = RunResult({"dev": HostReport("dev", [CheckRecord("http", "failed", "body: p4ge-s3cret-value",
                                                              data={"body": "p4ge-s3cret-value"})])}, 0.0, 1.0)
    run_dir = write(result, "triage", files={"dev/logs/app.log": "token p4ge-s3cret-value\n"})
    html = page(run_dir)
    assert "p4ge-s3cret-value" not in html and "[REDACTED:PAGE_TOKEN]" in html
    (run_dir / "report.html").write_text(html + "p4ge-s3cret-value")
    assert report.sweep(run_dir) == [f"{run_dir / 'report.html'}: PAGE_TOKEN"]


def test_the_page_is_self_contained_and_runs_only_its_own_scripts():
    html = page(write(e2e_result(), "e2e", e2e_extra()))
    tags = re.findall(r"<[a-zA-Z][^>]*>", without_scripts(html))  # real elements: escaped text has no `<`
    assert tags and not [t for t in tags if re.search(r"\s(src|srcset|poster|data|action)=", t)]
    assert not re.findall(r"""href=["'](?:https?:|//)""", html)  # links stay in the run directory
    assert "<link" not in html and "@import" not in html and "url(" not in html.split("<script>", 1)[0]
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 2  # Chart.js and report.js, nothing else executable
    for code in scripts:
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp.replace("&#39;", "'")
    assert "sourceMappingURL" not in html  # no .map fetched when devtools open


def test_the_vendored_chart_library_is_the_pinned_npm_file():
    assert hashlib.sha256(htmlreport.CHART_JS.read_bytes()).hexdigest() == CHART_JS_SHA256
    assert (htmlreport.CHART_JS.parent / "chart.js.LICENSE.md").is_file()


def test_e2e_phases_come_from_the_check_records_in_the_order_they_ran():
    data = report.to_json(e2e_result(), "20261201T000000Z-abcdef", "e2e", e2e_extra())
    view = htmlview.build(data, {}, Path("/nonexistent"))
    phases = {p["name"]: p for p in view["e2e"]["phases"]}
    assert list(phases) == ["lease", "snapshot", "deploy", "ready", "health", "tests", "evidence", "restore"]
    assert phases["lease"]["seconds"] == 0.4 and phases["snapshot"]["start"] == 0.4
    assert phases["snapshot"]["seconds"] == pytest.approx(0.06)
    assert phases["ready"]["seconds"] == pytest.approx(1.1 + 0.12)  # one duration per task, not per container
    assert phases["tests"]["seconds"] == 4.0 and phases["tests"]["status"] == "failed"
    assert phases["deploy"]["start"] == pytest.approx(0.46)
    assert [c["kind"] for c in view["charts"]] == ["timeline"]


def test_a_red_e2e_page_has_the_timeline_the_likely_cause_and_the_restore():
    html = page(write(e2e_result(), "e2e", e2e_extra()))
    assert '<span id="verdict" class="badge fail">RED</span>' in html
    assert 'id="chart-timeline"' in html and "rounding in the cart" in html and "backend/cart.py" in html
    assert "verified: dev: 3 containers" in html
    charts = json.loads(re.search(r'<script type="application/json" id="charts-data">(.*?)</script>', html,
                                  flags=re.S).group(1))
    assert charts[0]["kind"] == "timeline" and charts[0]["phases"][0]["name"] == "lease"


def test_a_matrix_page_is_a_grid_with_skipped_cells_and_their_reasons():
    scenarios = [{"name": "baseline", "status": "passed", "reason": "12 passed", "duration": 2.5,
                  "values": {"mode": "normal", "pool": "16"}},
                 {"name": "gpu", "status": "skipped", "reason": "prerequisite missing: /dev/nvidia0", "duration": 0,
                  "values": {"mode": "normal", "pool": "4"}},
                 {"name": "broken", "status": "failed", "reason": "backend unhealthy", "duration": 3.0,
                  "values": {"mode": "readonly"}}]
    result = RunResult({"dev": HostReport("dev", [CheckRecord("broken: apply", "failed", "backend unhealthy")])})
    html = page(write(result, "matrix", {"matrix": {"file": "playbooks/matrix.yml", "shard": None,
                                                    "scenarios": scenarios}}))
    grid = html.split('<table class="grid">', 1)[1].split("</table>", 1)[0]
    assert "<th>mode</th><th>pool</th>" in grid
    assert '<td class="cell skipped" title="skipped">4</td>' in grid and "prerequisite missing: /dev/nvidia0" in grid
    assert '<td class="cell failed" title="failed">readonly</td><td class="cell failed" title="failed">—</td>' in grid


def test_a_flow_page_charts_latency_per_level_and_tables_its_checkpoints():
    flow = {"flow": "marketplace", "mode": "live", "base_url": "http://127.0.0.1:18110", "latency_unit": "ms",
            "percentile_method": "nearest-rank", "strict": False,
            "levels": [{"concurrency": c, "rounds": 1, "flows": {"passed": c, "failed": 0, "cancelled": 0},
                        "latency_ms": {"p50": 2.0 * c, "p95": 5.0 * c, "p99": 9.0 * c, "max": 12.0 * c, "count": 40},
                        "endpoints": {}} for c in (1, 2, 4)],
            "checkpoints": {"found": 5, "missing": 1, "known_gap": 0, "fixed": 0}, "known_gaps": [],
            "wrong_recipient": 0, "rate_limited": 0, "rate_limit_wait_seconds": 0, "blocked": None, "aborted": None,
            "flows": [{"flow": "c1 w1 r1", "passed": False, "failed_step": None,
                       "checkpoints": [{"id": "offer-accepted", "actor": "seller1", "role": "seller",
                                        "outcome": "missing"}], "wrong_recipient": []}]}
    result = RunResult({"dev": HostReport("dev", [CheckRecord("marketplace: offer-accepted", "failed", "missing")])})
    html = page(write(result, "flow", {"flow": {k: v for k, v in flow.items() if k != "flows"}},
                      files={"flow.json": json.dumps(flow)}))
    charts = json.loads(re.search(r'id="charts-data">(.*?)</script>', html, flags=re.S).group(1))
    assert charts == [{"id": "chart-latency", "kind": "latency", "unit": "ms", "concurrency": [1, 2, 4],
                       "series": [{"name": "p50", "data": [2.0, 4.0, 8.0]},
                                  {"name": "p95", "data": [5.0, 10.0, 20.0]},
                                  {"name": "p99", "data": [9.0, 18.0, 36.0]},
                                  {"name": "max", "data": [12.0, 24.0, 48.0]}]}]
    assert "<td>offer-accepted</td><td>seller1 (seller)</td>" in html and "Chart.js v4" in html


def test_a_prune_page_charts_the_disk_before_and_after():
    disk = {"before": {"root": "/var/lib/docker", "used_kb": 3 * 1024 * 1024, "free_kb": 1024 * 1024,
                       "system_df": [{"type": "Images", "count": "3", "size": "1.9MB", "reclaimable": "1.9MB"}]},
            "after": {"root": "/var/lib/docker", "used_kb": 2 * 1024 * 1024, "free_kb": 2 * 1024 * 1024,
                      "system_df": [{"type": "Images", "count": "0", "size": "0B", "reclaimable": "0B"}]}}
    result = RunResult({"agent": HostReport("agent", [CheckRecord("disk", "ok", "", data=disk)])})
    html = page(write(result, "prune", {"prune": {"agent": {"disk": disk, "steps": []}}, "dry_run": False}))
    assert "reclaimed 1.0 GiB" in html and "<td>Images</td><td>3</td><td>1.9MB</td>" in html
    charts = json.loads(re.search(r'id="charts-data">(.*?)</script>', html, flags=re.S).group(1))
    assert charts[0]["kind"] == "disk" and charts[0]["used_gib"] == [3.0, 2.0]


def test_the_index_lists_the_newest_runs_linking_to_their_reports(artifacts):
    ok = RunResult({"dev": HostReport("dev", [CheckRecord("reachable", "ok")])}, 1_700_000_000.0, 1_700_000_002.0)
    write(ok, "check", run_id="20260101T000000Z-000001")
    write(e2e_result(), "e2e", e2e_extra(), run_id="20260102T000000Z-000002")
    html = (artifacts / "index.html").read_text()
    assert html.index("20260102T000000Z-000002") < html.index("20260101T000000Z-000001")
    assert 'href="20260102T000000Z-000002/report.html"' in html and ">RED<" in html and "feature-x" in html
    assert "<td>2.0 s</td>" in html


def test_invoke_report_rebuilds_the_index_and_prints_its_path(artifacts, capsys):
    write(e2e_result(), "e2e", e2e_extra(), run_id="20260102T000000Z-000002")
    (artifacts / "index.html").unlink()
    assert run_report(open_browser=False) == 0
    assert capsys.readouterr().out.strip() == str(artifacts / "index.html")
    assert "20260102T000000Z-000002/report.html" in (artifacts / "index.html").read_text()


def test_an_e2e_matrix_timeline_keeps_the_final_restore_after_the_matrix():
    """--mode matrix: the playbook's restore is skipped (the run restores after the matrix), so 'restore'
    appears twice, in the order the cycle ran, and the matrix takes its scenarios' time."""
    checks = [{"index": i, "name": n, "status": s, "duration": d} for i, (n, s, d) in enumerate([
        ("deploy", "ok", 2.0), ("tests", "skipped", 0.0), ("restore", "skipped", 0.0),
        ("baseline: apply", "ok", 0.7), ("baseline: idempotent", "ok", 0.5), ("restore", "ok", 3.0)], 1)]
    e2e = {"matrix": {"scenarios": [{"name": "baseline", "duration": 2.5}, {"name": "gpu", "duration": 0}]}}
    phases = htmlview.phases_of(checks, e2e)
    assert [(p["name"], p["seconds"], p["status"]) for p in phases] == [
        ("deploy", 2.0, "ok"), ("tests", 0.0, "skipped"), ("restore", 0.0, "skipped"), ("matrix", 2.5, "ok"),
        ("restore", 3.0, "ok")]
    assert phases[-1]["start"] == 4.5


def test_a_secret_that_is_a_common_word_is_redacted_from_host_text_but_not_from_the_package_code():
    """The lab's .env has BACKEND_MODE=normal: host text saying 'normal' is redacted, while the stylesheet's
    `font-weight: normal` and Chart.js (inlined after the redactor) stay intact, and the sweep does not take
    the package's own code for a leak."""
    redact.register({"BACKEND_MODE": "normal"})
    run_dir = write(e2e_result(), "e2e", e2e_extra(), files={"dev/logs/backend.log": "mode normal, pool 4\n"})
    html = page(run_dir)
    assert "mode [REDACTED:BACKEND_MODE], pool 4" in html
    assert "font-weight: normal" in html and htmlreport._script(htmlreport.CHART_JS)[0] in html
    assert report.sweep(run_dir) == []
    (run_dir / "report.html").write_text(html.replace("pool 4", "pool normal"))  # host text: still caught
    assert report.sweep(run_dir) == [f"{run_dir / 'report.html'}: BACKEND_MODE"]
