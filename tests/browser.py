"""A real browser for the tests: Debian's headless Chromium, driven over the DevTools protocol (a websocket on
loopback, websocket-client). One Chromium per test session; each page opens in its own tab, which records
every console message, uncaught exception, log entry (CSP refusals among them) and network request.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket  # websocket-client, a test dependency

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-default-apps", "--disable-extensions", "--disable-sync",
         "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-first-run",
         "--no-default-browser-check", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1280,900",
         "--force-device-scale-factor=1", "--disable-dev-shm-usage", "about:blank")
LISTENING = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)")


def find() -> str | None:
    return next((path for name in CHROMIUM if (path := shutil.which(name))), None)


class Chromium:
    """One headless Chromium process; `open(url)` gives a Page in a fresh tab."""

    def __init__(self, binary: str, start_timeout: float = 30):
        self.profile = tempfile.mkdtemp(prefix="shakedown-chromium-")
        self.proc = subprocess.Popen([binary, f"--user-data-dir={self.profile}", *FLAGS], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = self._port(start_timeout)

    def _port(self, timeout: float) -> int:
        assert self.proc.stderr is not None
        found: list[int] = []
        lines: list[str] = []

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                lines.append(line)
                match = LISTENING.search(line)
                if match and not found:
                    found.append(int(match.group(2)))
            # keep draining until the process ends, so a chatty Chromium never blocks on a full pipe

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint: " + "".join(lines[-20:]))
            time.sleep(0.05)
        return found[0]

    def open(self, url: str) -> Page:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            target = json.load(resp)
        page = Page(self, target["id"], target["webSocketDebuggerUrl"])
        page.navigate(url)
        return page

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its pid
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


@dataclass
class Page:
    browser: Chromium
    target_id: str
    ws_url: str
    requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)  # every console message, with its type
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, error log entries

    def __post_init__(self) -> None:
        # suppress_origin: Chromium refuses DevTools websockets that carry an Origin it was not told to allow.
        self.ws = websocket.create_connection(self.ws_url, timeout=30, suppress_origin=True)
        self._id = 0
        self._loaded = False
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        ident = self._id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append({"type": params.get("type"), "text": text})
            if params.get("type") in ("error", "assert"):
                self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                   or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Page.loadEventFired":
            self._loaded = True

    def navigate(self, url: str, timeout: float = 30) -> None:
        self._loaded = False
        self.call("Page.navigate", url=url)
        self.pump_until(lambda: self._loaded, timeout, f"{url} to load")

    def pump_until(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            self.ws.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
            try:
                self._event(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                pass
            finally:
                self.ws.settimeout(30)

    def drain(self, seconds: float) -> None:
        """Record the events that arrive in the next `seconds` (late console errors, late requests)."""
        end = time.monotonic() + seconds
        with_deadline = lambda: time.monotonic() >= end  # noqa: E731
        self.pump_until(with_deadline, seconds + 1, "events")

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15) -> Any:
        """Poll a JS expression until it is truthy (Goss's retry-until-deadline, in the page)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {expression}")
            self.drain(0.1)

    def visible_text(self) -> str:
        return str(self.eval("document.body.innerText"))

    def screenshot(self, path: Path, selector: str | None = None, until: str | None = None) -> Path:
        """A PNG of the whole page, or of one element (`selector`), or from the top of one element to the bottom
        of another (`until`), clipped to the page's coordinates whatever the scroll position."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if selector:
            box = self.eval(f"""(() => {{
                const a = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
                const b = document.querySelector({json.dumps(until or selector)}).getBoundingClientRect();
                return {{x: a.left + scrollX, y: a.top + scrollY, width: a.width,
                         height: b.bottom - a.top + (b === a ? 0 : 8)}}; }})()""")
            params["clip"] = {**box, "scale": 1}
        else:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            urllib.request.urlopen(f"http://127.0.0.1:{self.browser.port}/json/close/{self.target_id}", timeout=10)


def outside_requests(page: Page) -> list[str]:
    """Every request the page made that is not its own file or inline data: a self-contained page makes none."""
    return [url for url in page.requests if not url.startswith(("file://", "data:"))]


def artifacts_dir(name: str) -> Path:
    """Where a test keeps its screenshots: $SHAKEDOWN_TEST_ARTIFACTS (CI), else the system temp dir."""
    root = Path(os.environ.get("SHAKEDOWN_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "shakedown-test-artifacts")
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path
