"""The browser tier (check.yml, when `browser_probes` is set): each page loaded in headless Chromium on this
machine, judged rendered (load event, expected text or selector, no console or page error), with a screenshot
in the run directory. No Chromium: every probe is SKIPPED with the reason, never a silent pass."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.config.settings import browser_probe_problems
from orchestrator.host import Host
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.browser import cdp
from orchestrator.run.rundir import write_bytes

DEFAULT_TIMEOUT = 20


class BrowserProbesModule(Module):
    name = "browser_probes"
    doc = ("Each page loaded in headless Chromium (this machine): rendered (expect_text / selector), no console "
           "errors; a PNG screenshot per probe in the run directory. SKIPPED when Chromium is not installed.")
    params = {"probes": Param(list, required=True),
              "chromium": Param(str, default="chromium", doc="Chromium's executable (a name on PATH or a path).")}

    def check_args(self, args: dict[str, Any], *, skip_templates: bool = False) -> list[str]:
        problems = super().check_args(args, skip_templates=skip_templates)
        if isinstance(args.get("probes"), list):
            problems += [p for probe in args["probes"] for p in browser_probe_problems(probe)]
        return problems

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        if not a["probes"]:
            return Outcome("skipped", "no browser probes declared for this host")
        executable = cdp.find(a["chromium"])
        if executable is None:
            why = (f"Chromium not installed: {a['chromium']!r} not found (browser_chromium; on Debian: "
                   "apt-get install chromium)")
            return Outcome.from_checks([Check(f"browser: {p['name']}", "skipped", why) for p in a["probes"]])
        run_dir = ctx.resources.get("run_dir")
        checks = []
        for probe in a["probes"]:
            checks.append(_probe(executable, probe, run_dir / host.name / "browser" if run_dir else None))
        return Outcome.from_checks(checks)


def _probe(executable: str, probe: dict[str, Any], folder: Any) -> Check:
    label = f"browser: {probe['name']}"
    try:
        page = cdp.load(executable, probe["url"], expect_text=probe.get("expect_text"),
                        selector=probe.get("selector"), timeout=float(probe.get("timeout", DEFAULT_TIMEOUT)))
    except cdp.BrowserError as exc:
        return Check(label, "error", str(exc))
    data: dict[str, Any] = {"url": page.url, "title": page.title, "errors": page.errors,
                            "screenshot_bytes": len(page.screenshot)}
    if folder is not None and page.screenshot:
        path = folder / f"{re.sub(r'[^A-Za-z0-9._-]', '_', probe['name'])}.png"
        write_bytes(path, page.screenshot)
        data["screenshot"] = str(path)
    problems = []
    if not page.loaded:
        problems.append("the page did not load")
    if probe.get("expect_text") and probe["expect_text"] not in page.text:
        problems.append(f"text {probe['expect_text']!r} not on the page")
    if probe.get("selector") and not page.selector_found:
        problems.append(f"selector {probe['selector']!r} matches nothing")
    problems += page.errors
    shot = f"; screenshot {data['screenshot']}" if "screenshot" in data else ""
    if problems:
        return Check(label, "failed", "; ".join(problems) + shot, data, duration=page.seconds)
    return Check(label, "ok", f"rendered {page.title!r} in {page.seconds:.1f}s, no console errors{shot}", data,
                 duration=page.seconds)
