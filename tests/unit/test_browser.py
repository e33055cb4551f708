"""The browser tier without the lab: a page served on loopback, rendered in the real headless Chromium (installed
by scripts/setup.sh), its screenshot a real PNG of the page; SKIPPED, never passed, when Chromium is absent."""

from __future__ import annotations

import http.server
import shutil
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.config.settings import browser_probe_problems
from orchestrator.modules import MODULES, TaskContext
from orchestrator.modules.base import Deadline

PAGES = {
    "/": b"<!doctype html><html><head><title>Sample app 9.9.9</title></head><body style='background:#fff'>"
         b"<h1 style='background:#1f6feb;color:#fff;padding:40px'>Sample app</h1>"
         b"<p>Version <span id='version'>9.9.9</span></p></body></html>",
    "/broken": b"<!doctype html><html><head><title>broken</title></head><body><h1>Sample app</h1>"
               b"<script>console.error('payment widget failed'); undefinedFunction();</script></body></html>",
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run_probes(probes: list[dict[str, Any]], run_dir: Path, chromium: str = "chromium") -> Any:
    ctx = TaskContext(Deadline(60), {}, {"run_dir": run_dir})
    return MODULES["browser_probes"].run(SimpleNamespace(name="dev"), {"probes": probes, "chromium": chromium}, ctx)


def png_facts(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decompressed image data): a blank one-colour image has ~2."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack("!I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack("!II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None,
                                    reason="chromium is not installed (scripts/setup.sh installs it)")


@needs_chromium
def test_a_rendered_page_passes_and_its_screenshot_is_a_real_png_of_it(site, tmp_path):
    out = run_probes([{"name": "home", "url": f"{site}/", "expect_text": "Sample app", "selector": "#version"}],
                     tmp_path)
    check = out.checks[0]
    assert (check.name, check.status) == ("browser: home", "ok"), check.reason
    shot = tmp_path / "dev" / "browser" / "home.png"
    assert check.data["screenshot"] == str(shot) and "Sample app 9.9.9" in check.reason
    data = shot.read_bytes()
    width, height, distinct = png_facts(data)
    assert len(data) > 2000 and width >= 400 and height >= 300
    assert distinct > 20, "the screenshot is a blank, single-colour image"


@needs_chromium
def test_a_blank_page_is_told_apart_from_a_rendered_one(site, tmp_path):
    """The non-blank check itself has teeth: a page with nothing on it gives a near single-colour PNG."""
    out = run_probes([{"name": "blank", "url": f"{site}/missing", "expect_text": "not found"}], tmp_path)
    assert out.checks[0].status == "failed"  # the 404 document is reported by the browser's log
    PAGES["/empty"] = b"<!doctype html><html><body style='background:#fff'></body></html>"
    out = run_probes([{"name": "empty", "url": f"{site}/empty", "selector": "body"}], tmp_path)
    assert out.checks[0].status == "ok", out.checks[0].reason
    assert png_facts((tmp_path / "dev" / "browser" / "empty.png").read_bytes())[2] <= 20


@needs_chromium
def test_console_errors_and_missing_text_fail_the_page_with_a_screenshot(site, tmp_path):
    out = run_probes([{"name": "broken", "url": f"{site}/broken", "expect_text": "Checkout"}], tmp_path)
    check = out.checks[0]
    assert check.status == "failed"
    for words in ("text 'Checkout' not on the page", "console.error: payment widget failed", "undefinedFunction"):
        assert words in check.reason, check.reason
    assert (tmp_path / "dev" / "browser" / "broken.png").read_bytes()[:4] == b"\x89PNG"


def test_without_chromium_every_browser_check_is_skipped_with_the_reason(site, tmp_path):
    out = run_probes([{"name": "home", "url": f"{site}/", "expect_text": "Sample app"},
                      {"name": "other", "url": f"{site}/", "selector": "h1"}], tmp_path,
                     chromium=str(tmp_path / "no" / "chromium"))
    assert [c.status for c in out.checks] == ["skipped", "skipped"]
    assert all("Chromium not installed" in c.reason and "no/chromium" in c.reason for c in out.checks)
    assert out.status != "ok" and not (tmp_path / "dev" / "browser").exists()


@pytest.mark.parametrize(("probe", "problem"), [
    ({"name": "x", "url": "ftp://h/"}, "url must be an http(s) URL"),
    ({"name": "x", "url": "http://127.0.0.1/"}, "needs expect_text or selector"),
    ({"name": "a/b", "url": "http://127.0.0.1/", "selector": "h1"}, "name must be"),
    ({"name": "x", "url": "http://127.0.0.1/", "selector": "h1", "wait": 3}, "unknown browser probe key 'wait'"),
])
def test_bad_browser_probes_are_named(probe, problem):
    assert any(problem in p for p in browser_probe_problems(probe))
