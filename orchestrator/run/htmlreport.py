"""report.html (one self-contained page per run) and artifacts/index.html (the recent runs), from Jinja2
templates with autoescape on.

Self-contained: styles, scripts and data are inline, the Content-Security-Policy allows no network at all
(`default-src 'none'`) and runs only the two scripts shipped in this package, by their sha256 (so even text that
escaped the escaping could not run). Host output reaches the page only as escaped text, or as JSON inside a
`<script type="application/json">` (never executed; `tojson` escapes `<`, `>` and `&`).

Every byte of the rendered page passes the redactor, except the package's own stylesheet and scripts (and the
CSP hashes of those scripts), which are put in after it: the redactor would rewrite `passive:!0` in Chart.js as a
secret pair, and a secret that is a common word (the lab's BACKEND_MODE=normal) would cut `font-weight: normal`.
For the same reason the leak sweep reads report.html without those exact blocks (`without_package`): they are
this package's files, byte for byte (Chart.js's hash is pinned by a unit test), never host output.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from orchestrator import redact
from orchestrator.run import htmlview

HERE = Path(__file__).resolve().parent / "html"
CHART_JS = HERE / "vendor" / "chart.umd.min.js"
APP_JS = HERE / "report.js"
# Where the package's own parts go once the page is redacted: the template's marks come before any host text
# (head, then the end of body, which host text cannot reach as markup: its `<` is escaped).
STYLE_MARK = "/*shakedown:style*/"
CSP_MARK = "shakedown-csp-scripts"
SCRIPTS_MARK = "<!--shakedown:scripts-->"
INDEX_RUNS = 100  # newest runs listed by artifacts/index.html


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2  # only when a page is written: not every import of the run layer needs it

    # Undefined (not Strict): a field an older or partial report lacks shows as empty instead of failing the run
    # after its verdict is known; the unit tests render every task's page to catch a misspelt name.
    # The bytecode cache (jinja2's per-user temp dir, mode 0700, keyed by the template's checksum) spares every
    # run the ~45 ms of compiling report.html.j2: a check's whole run is ~0.5 s.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, bytecode_cache=jinja2.FileSystemBytecodeCache())
    env.filters["seconds"] = _seconds
    env.filters["size"] = _size
    return env


@functools.lru_cache(maxsize=3)
def _script(path: Path) -> tuple[str, str]:
    """One package script as an inline <script> element, and its CSP hash."""
    code = path.read_text(encoding="utf-8")
    code = "\n".join(ln for ln in code.splitlines() if not ln.startswith("//# sourceMappingURL="))
    if "</script" in code.lower():
        raise ValueError(f"{path} cannot be inlined: it holds '</script'")
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return f"<script>{code}</script>", f"'sha256-{digest}'"


def _scripts(charts: bool) -> tuple[str, str]:
    """The inline <script> elements (Chart.js when the page has a chart, then the page's own code) and their
    CSP hashes. A page without charts (a check) does not carry Chart.js's 200 KiB."""
    parts = [_script(path) for path in ((CHART_JS, APP_JS) if charts else (APP_JS,))]
    return "\n".join(block for block, _ in parts), " ".join(digest for _, digest in parts)


def _package_parts(page: str, charts: bool) -> str:
    scripts, hashes = _scripts(charts)
    for mark, part in ((STYLE_MARK, _css()), (CSP_MARK, hashes), (SCRIPTS_MARK, scripts)):
        page = page.replace(mark, part, 1)
    return page


def without_package(data: bytes) -> bytes:
    """report.html's bytes minus the package's own stylesheet and scripts: what the leak sweep must search."""
    for part in (_css(), _script(CHART_JS)[0], _script(APP_JS)[0]):
        data = data.replace(part.encode(), b"")
    return data


def render(data: dict[str, Any], manifest: dict[str, Any], run_dir: Path) -> str:
    view = htmlview.build(data, manifest, run_dir)
    page = _env().get_template("report.html.j2").render(v=view)
    return _package_parts(redact.current().text(page), bool(view["charts"]))


def write(run_dir: Path, data: dict[str, Any], manifest: dict[str, Any]) -> Path:
    path = run_dir / "report.html"
    path.write_text(render(data, manifest, run_dir), encoding="utf-8")
    return path


@functools.lru_cache(maxsize=1)
def _css() -> str:
    return (HERE / "report.css").read_text(encoding="utf-8")


# -- the index ------------------------------------------------------------------------------------------------
def write_index(root: Path) -> Path:
    """artifacts/index.html: the newest runs (task, host, verdict, time, duration) linking to their reports;
    replaced atomically, so a reader never sees half a page while runs finish in parallel."""
    runs = []
    dirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / "report.json").is_file()),
                  key=lambda p: p.name, reverse=True) if root.is_dir() else []
    for run_dir in dirs[:INDEX_RUNS]:
        row = _index_row(run_dir)
        if row is not None:
            runs.append(row)
    page = _env().get_template("index.html.j2").render(runs=runs, total=len(dirs),
                                                       built=time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()))
    path = root / "index.html"
    tmp = root / f".index-{os.getpid()}.html"
    tmp.write_text(redact.current().text(page).replace(STYLE_MARK, _css(), 1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _index_row(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    e2e = data.get("e2e") or {}
    has_html = (run_dir / "report.html").is_file()
    return {"run_id": data.get("run_id", run_dir.name), "task": data.get("task", "?"),
            "hosts": ", ".join(data.get("hosts") or {}) or "-", "verdict": data.get("verdict", "error"),
            "word": e2e.get("result") or str(data.get("verdict", "?")).upper(), "exit_code": data.get("exit_code"),
            "started": data.get("started", ""), "duration": _duration(data.get("started"), data.get("ended")),
            "href": f"{run_dir.name}/report.{'html' if has_html else 'md'}", "has_html": has_html,
            "detail": e2e.get("branch") or (data.get("flow") or {}).get("flow") or ""}


def _duration(started: str | None, ended: str | None) -> float | None:
    try:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return time.mktime(time.strptime(ended or "", fmt)) - time.mktime(time.strptime(started or "", fmt))
    except ValueError:
        return None


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value // 60:.0f} min {value % 60:.0f} s"


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(value)
