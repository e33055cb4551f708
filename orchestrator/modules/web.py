"""HTTP probes, made from the orchestrator (httpx) or from the host itself (curl, else wget)."""

from __future__ import annotations

import importlib
import json
import secrets
import sys
import threading
from typing import Any

from orchestrator.config.settings import probe_problems
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.host.shellcmd import call, load
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext

BODY_LIMIT = 65536
# One per process: reads() and run() must build the very same command line for a batch to answer it.
_BOUNDARY = f"--shakedown-{secrets.token_hex(8)}--"
_HOST_PROBE = load("orchestrator.modules", "http_probes")  # one probe from the host: see http_probes.sh


class HttpProbesModule(Module):
    name = "http_probes"
    doc = ("Each probe answers with its expected status; with match_version its body (JSON `version`, or "
           "plain text) must equal `version`.")
    read_params = ("probes",)  # `version` may come from a result registered in the same run of reads
    params = {
        "probes": Param(list, required=True),
        "version": Param(str, default="", doc="Expected VERSION for probes with match_version."),
    }

    def check_args(self, args: dict[str, Any], *, skip_templates: bool = False) -> list[str]:
        problems = super().check_args(args, skip_templates=skip_templates)
        if isinstance(args.get("probes"), list):
            problems += [p for probe in args["probes"] for p in probe_problems(probe)]
        return problems

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        probes = _with_defaults(args["probes"])
        if any(p["via"] == "orchestrator" for p in probes):
            _warm_httpx()
        on_host = [p for p in probes if p["via"] == "host"]
        return [Read(*_host_command(on_host))] if on_host else []

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        probes = _with_defaults(a["probes"])
        if not probes:
            return Outcome("skipped", "no HTTP probes declared for this host")
        answers = _from_host(host, [p for p in probes if p["via"] == "host"], ctx)
        checks = []
        for probe in probes:
            label = probe.get("name") or probe["url"]
            status, body = answers[id(probe)] if probe["via"] == "host" else _from_orchestrator(probe)
            checks.append(_judge(label, probe, status, body, a["version"]))
        return Outcome.from_checks(checks)


def _warm_httpx() -> None:
    """Import httpx (~50 ms) in the background while the host batch is on the wire: run() then finds it
    loaded. A plain import in a thread: Python's import lock makes run()'s own import wait for it."""
    if "httpx" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("httpx",), name="warm-httpx", daemon=True).start()


def _from_orchestrator(probe: dict[str, Any]) -> tuple[int | str, str]:
    import httpx  # here, not at start-up: ~50 ms that only orchestrator-side probes need

    # trust_env=False: a proxy from the environment must not see (or break) probes of internal hosts.
    try:
        with httpx.Client(timeout=probe["timeout"], follow_redirects=False, trust_env=False) as client:
            response = client.get(probe["url"])
            return response.status_code, response.text[:BODY_LIMIT]
    except httpx.HTTPError as exc:
        return f"ERR {type(exc).__name__}: {exc}", ""


def _with_defaults(probes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"via": "orchestrator", "status": 200, "match_version": False, "timeout": 5, **p} for p in probes]


def _host_command(probes: list[dict[str, Any]]) -> tuple[str, float]:
    """All host-side probes in one command, each answer after a boundary line; and its time budget."""
    parts = [f"echo {_BOUNDARY}; {call(_HOST_PROBE, p['url'], str(p['timeout']), str(i), str(BODY_LIMIT))}"
             for i, p in enumerate(probes)]
    return "; ".join(parts), sum(p["timeout"] for p in probes) + 5


def _from_host(host: Host, probes: list[dict[str, Any]], ctx: TaskContext) -> dict[int, tuple[int | str, str]]:
    if not probes:
        return {}
    command, budget = _host_command(probes)
    result = host.run(command, timeout=ctx.deadline.timeout(budget), warn=True)
    answers = parse_answers(result.stdout, _BOUNDARY, len(probes))
    return {id(p): answer for p, answer in zip(probes, answers, strict=True)}


def parse_answers(text: str, boundary: str, count: int) -> list[tuple[int | str, str]]:
    """The host probes' answers in order, each (status code or "ERR reason", body), after boundary lines."""
    answers: list[tuple[int | str, str]] = [("ERR no answer from host", "")] * count
    for chunk in text.split(boundary + "\n")[1:]:
        head, _, body = chunk.partition("\n")
        index, _, code = head.partition(" ")
        if index.isdigit() and int(index) < count:
            answers[int(index)] = (int(code) if code.isdigit() else code, body)
    return answers


def _judge(label: str, probe: dict[str, Any], status: int | str, body: str, version: str) -> Check:
    data = {"url": probe["url"], "via": probe["via"], "status": status, "body": body[:500]}
    if isinstance(status, str):
        return Check(label, "failed", f"{probe['url']} via {probe['via']}: {status}", data)
    if status != probe["status"]:
        return Check(label, "failed", f"{probe['url']} answered {status}, expected {probe['status']}", data)
    if not probe["match_version"]:
        return Check(label, "ok", f"{status} via {probe['via']}", data)
    served = _served_version(body)
    data["served_version"] = served
    if not version:
        return Check(label, "skipped", f"{status}, but the stack VERSION is unknown so {served!r} was not compared",
                     data)
    if served != version:
        return Check(label, "failed", f"serves version {served!r} but the stack's VERSION is {version!r}", data)
    return Check(label, "ok", f"{status}, version {served} matches VERSION", data)


def _served_version(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.strip()
    if isinstance(parsed, dict) and "version" in parsed:
        return str(parsed["version"])
    return body.strip()
