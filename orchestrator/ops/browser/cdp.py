"""Load a page in headless Chromium through the DevTools protocol and say whether it rendered.

Chromium is started with its own throw-away profile, `--remote-debugging-port=0` (it picks a free loopback port
and writes it to DevToolsActivePort in the profile) and no background networking; it is ended by its pid (we
started it, in its own session) and the profile removed, however the probe ends. A page rendered when its load
event fired, the expected text (or selector) is on it, and neither the console nor the page reported an error.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from orchestrator.ops.browser.wsclient import WebSocket, WebSocketError

FLAGS = ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1024,768",
         "--hide-scrollbars", "--mute-audio")


class BrowserError(Exception):
    """Chromium could not be started or driven: the probe could not judge the page (an error, not a failure)."""


@dataclass
class Page:
    url: str
    loaded: bool = False
    title: str = ""
    text: str = ""
    selector_found: bool | None = None
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    seconds: float = 0.0


def find(chromium: str) -> str | None:
    """The browser's executable: a path, or a name on PATH; None when it is not installed."""
    if os.sep in chromium:
        return chromium if os.access(chromium, os.X_OK) and Path(chromium).is_file() else None
    return shutil.which(chromium)


@contextmanager
def browser(executable: str, timeout: float) -> Iterator[str]:
    """A headless Chromium; yields its DevTools HTTP base URL (loopback)."""
    profile = tempfile.mkdtemp(prefix="shakedown-chromium-")
    proc = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None:
                raise BrowserError(f"{executable} exited {proc.returncode} before opening DevTools")
            if time.monotonic() > deadline:
                raise BrowserError(f"{executable} did not open DevTools within {timeout:g}s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: chromium's helpers go with it
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)


class Session:
    """One page target's DevTools websocket: commands by id, events kept as they come."""

    def __init__(self, ws_url: str, timeout: float):
        self.ws = WebSocket(ws_url, timeout)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, deadline: float, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = self._next(deadline)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result") or {}

    def wait_event(self, method: str, deadline: float) -> bool:
        while not any(e.get("method") == method for e in self.events):
            try:
                self._next(deadline)
            except TimeoutError:
                return False
        return True

    def _next(self, deadline: float) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.ws.settimeout(left)
        try:
            msg = json.loads(self.ws.recv())
        except (TimeoutError, OSError) as exc:
            if isinstance(exc, TimeoutError) or "timed out" in str(exc):
                raise TimeoutError from None
            raise BrowserError(f"DevTools connection: {exc}") from None
        if "method" in msg:
            self.events.append(msg)
        return msg

    def close(self) -> None:
        self.ws.close()


def load(executable: str, url: str, *, expect_text: str | None, selector: str | None, timeout: float) -> Page:
    """Open `url` in a fresh headless Chromium; what rendered, what went wrong, and a PNG of the viewport."""
    page = Page(url)
    start = time.monotonic()
    deadline = start + timeout
    try:
        with browser(executable, timeout) as base:
            with httpx.Client(trust_env=False, timeout=timeout) as client:
                target = client.put(f"{base}/json/new?about:blank").json()
            session = Session(target["webSocketDebuggerUrl"], timeout)
            try:
                for domain in ("Page", "Runtime", "Log"):
                    session.call(f"{domain}.enable", deadline)
                nav = session.call("Page.navigate", deadline, url=url)
                if nav.get("errorText"):
                    page.errors.append(f"navigation: {nav['errorText']}")
                page.loaded = session.wait_event("Page.loadEventFired", deadline) and not nav.get("errorText")
                page.title = _eval(session, "document.title", deadline)
                page.text = _eval(session, "document.body ? document.body.innerText : ''", deadline)
                if selector:
                    page.selector_found = bool(_eval(session, f"!!document.querySelector({json.dumps(selector)})",
                                                     deadline))
                shot = session.call("Page.captureScreenshot", deadline, format="png")
                page.screenshot = base64.b64decode(shot.get("data") or "")
                page.errors += _errors(session.events)
            finally:
                session.close()
    except (WebSocketError, httpx.HTTPError, KeyError, ValueError, OSError) as exc:
        raise BrowserError(f"driving {executable}: {exc}") from None
    except TimeoutError:
        raise BrowserError(f"{url} did not finish within {timeout:g}s in {executable}") from None
    page.seconds = time.monotonic() - start
    return page


def _eval(session: Session, expression: str, deadline: float) -> Any:
    result = session.call("Runtime.evaluate", deadline, expression=expression, returnByValue=True)
    return (result.get("result") or {}).get("value")


def _errors(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions and the browser's own error log entries (e.g. a 404 subresource)."""
    found = []
    for e in events:
        p = e.get("params") or {}
        if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            found.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in p.get("args", [])))
        elif e.get("method") == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails") or {}
            found.append("uncaught: " + str((details.get("exception") or {}).get("description")
                                            or details.get("text")))
        elif e.get("method") == "Log.entryAdded" and (p.get("entry") or {}).get("level") == "error":
            entry = p["entry"]
            if str(entry.get("url") or "").endswith("/favicon.ico"):
                continue  # the browser asks for it by itself: not the page's error
            found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url') or ''}".strip())
    return found
