"""`invoke flow --flow NAME`: a multi-actor HTTP flow (playbooks/flows/NAME.yml) run as a concurrency ramp.

Everything is checked before the first request (the flow file, --mode, the target's base URL, the secrets'
file mode); ops/flows runs the ramp and builds the report; here the result goes to the run layer: one check per
flow x checkpoint, flow.json + flow.md beside report.json, the tables on the console.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestrator.config import inventory
from orchestrator.errors import BadInput
from orchestrator.ops.flows import loader, report, runner
from orchestrator.ops.flows import secrets as flow_secrets
from orchestrator.ops.flows.model import Flow
from orchestrator.procedures.flow.checks import run_result
from orchestrator.procedures.flow.show import printer
from orchestrator.run import rundir
from orchestrator.run.task import Run


@dataclass
class FlowOptions:
    flow: str
    host: str
    inventory: str | None
    base_url: str | None
    concurrency: list[int]
    rounds: int
    deadline: float
    mode: str | None = None
    strict: bool = False
    abort_on_failure: bool = False


def flow_task(run: Run, opts: FlowOptions) -> int:
    flow = loader.load(loader.resolve(opts.flow))
    mode = _mode(flow, opts.mode)
    inv = inventory.load(opts.inventory)
    spec = _target(inv, opts.host)
    base_url = _base_url(opts.base_url or spec.get("flow_base_url"), spec.name, inv.path)
    where = spec.origins.get("flow_secrets_file") or spec.origins.get("flow_secret_env") or str(inv.path)
    secrets = flow_secrets.load(spec.get("flow_secrets_file"), spec.get("flow_secret_env"), flow.secrets,
                                where)
    settings = runner.Settings(base_url, mode, opts.concurrency, opts.rounds, opts.deadline, opts.strict,
                               opts.abort_on_failure, secrets, run.run_id)
    run.echo(f"flow {flow.name} ({mode}) against {base_url}: concurrency {','.join(map(str, opts.concurrency))}, "
             f"{opts.rounds} round(s) per worker")
    started = time.time()
    record = runner.run(flow, settings, progress=run.echo)
    data = report.build(flow, record)
    result = run_result(spec.name, flow, record)
    result.started, result.ended = started, time.time()
    rundir.write_text(run.dir() / "flow.json", json.dumps(data, indent=2))
    rundir.write_text(run.dir() / "flow.md", report.markdown(data, result.verdict, result.exit_code))
    summary = {k: v for k, v in data.items() if k != "flows"}
    return run.finish(result, inv.path, title=f"shakedown flow {flow.name} --host {spec.name}",
                      extra={"flow": summary}, manifest_extra={"flow": {"file": str(flow.file), "mode": mode,
                                                                        "base_url": base_url}},
                      printer=printer(result, run.run_id, data))


def _mode(flow: Flow, mode: str | None) -> str:
    chosen = mode or flow.default_mode
    if chosen not in flow.modes:
        raise BadInput(f"--mode {chosen!r} is not a mode of flow {flow.name} ({flow.file}); modes: "
                       f"{', '.join(flow.modes)}")
    return chosen


def _target(inv: inventory.Inventory, pattern: str) -> inventory.HostSpec:
    targets = inv.select(pattern)
    if len(targets) != 1:
        raise BadInput(f"--host {pattern!r} matches {len(targets)} hosts ({', '.join(t.name for t in targets)}); "
                       "a flow runs against exactly one target")
    return targets[0]


def _base_url(url: object, host: str, inventory_path: object) -> str:
    if not url:
        raise BadInput(f"{inventory_path}: host {host} has no flow_base_url; set it or pass --base-url")
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise BadInput(f"base URL {url!r} must be http(s)://host[:port][/prefix], without credentials")
    return str(url).rstrip("/")
