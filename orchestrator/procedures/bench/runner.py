"""`invoke bench`: shakedown against plain ssh and Ansible, side by side, in one run on the same lab hosts.

Absolute times on a shared 2-core machine are noise; ratios measured in the same run are not. Every
measurement is a whole process, warmed up once, then run R times interleaved (A B C A B C …), and
reported as min / median / max with the peak memory of each process.

The flows table (flows.py) is the one exception to the shape: `invoke flow` against Locust on the lab
marketplace, judged by requests per second and client CPU per request at each concurrency.
"""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import __version__, lab
from orchestrator.lab import fleet
from orchestrator.procedures.bench import contenders as c
from orchestrator.procedures.bench import flows, render
from orchestrator.procedures.bench.measure import BenchError, Sample, run, summary
from orchestrator.run import rundir
from orchestrator.run.task import Run

Echo = Callable[[str], None]
SECRETS = {"API_TOKEN": "tok_8f3a9c2e71d64b05a1e9f3c7d2b8a6e4", "DB_PASSWORD": "Zq7vN2pX9rT4wK8mL3sD6fH1"}


@dataclass
class BenchOptions:
    hosts: int = 10
    runs: int = 5
    out: str | None = None
    log_mb: int = 100
    commands: int = 100
    flows: int = 64  # marketplace flows per concurrency level and contender (0: no flows table)
    flow_concurrency: list[int] = field(default_factory=lambda: [1, 8, 32])
    flow_runs: int = 3  # runs of each contender at each level (interleaved)
    only: list[str] = field(default_factory=list)  # GROUPS names (empty: all)


GROUPS = ("check", "fan-out", "per-command", "redactor", "startup", "e2e", "link", "flows")


@dataclass
class Group:
    """One comparison: contenders measured interleaved; `metric` is "wall" or a figure the process prints."""
    title: str
    metric: str = "wall"
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    round_trips: dict[str, str] = field(default_factory=dict)  # exchanges with the host, where they can be known

    def stats(self) -> dict[str, dict[str, float]]:
        if self.metric == "wall":
            return {name: summary(s) for name, s in self.samples.items() if s}
        return {name: _printed(s) for name, s in self.samples.items() if s}


def _printed(samples: list[Sample]) -> dict[str, float]:
    import statistics

    values = [float(s.output.split()[0]) for s in samples]
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "max_rss_mb": max(s.max_rss_kb for s in samples) / 1024}


def run_bench(run_: Run, opts: BenchOptions) -> int:
    """Flags were checked by cli (--hosts >= 2, --runs >= 1); the lab is started here (root)."""
    echo: Echo = run_.echo
    started = time.time()
    lab.up(echo=lambda line: None)
    if not opts.only or {"fan-out", "per-command"} & set(opts.only):
        fleet.up(opts.hosts, echo=lambda line: None)
    work = Path(tempfile.mkdtemp(prefix="shakedown-bench-"))
    fleet_inv = fleet.inventory(opts.hosts, work / "fleet.yml")
    chosen: dict[str, Callable[[], Group]] = {
        "check": lambda: _check_group(opts, work, echo),
        "fan-out": lambda: _fanout_group(opts, fleet_inv, work, echo),
        "per-command": lambda: _per_command_group(opts, fleet_inv, work, echo),
        "redactor": lambda: _redactor_group(opts, work, echo),
        "startup": lambda: _startup_group(opts, echo),
        "e2e": lambda: _verdict_group(opts, echo),
        "link": lambda: _check_group(opts, work, echo, c.DEV_WAN,
                                     "check over the link (dev through a 40 ms RTT relay, whole process)"),
    }
    groups = [measure() for name, measure in chosen.items() if not opts.only or name in opts.only]
    table = flows.measure(flows.FlowBench(opts.flows, opts.flow_concurrency, opts.flow_runs), work / "flows", echo) \
        if opts.flows and (not opts.only or "flows" in opts.only) else None
    data = _data(opts, groups, started) | ({"flows": table} if table else {})
    md = render.markdown(data)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_path = Path(opts.out) if opts.out else rundir.artifacts_root() / f"bench-{stamp}.json"
    rundir.write_text(out_path, json.dumps(data, indent=2))
    rundir.write_text(out_path.with_suffix(".md"), md)
    if run_.as_json:
        run_.consoles.json(data)
    else:
        run_.consoles.out.print(md, markup=False, highlight=False, soft_wrap=True)
    echo(f"bench: results in {out_path} and {out_path.with_suffix('.md')}")
    return 0


def _interleave(group: Group, contenders: dict[str, Callable[[], Sample]], runs: int, echo: Echo) -> Group:
    for name, measure in contenders.items():  # warm-up, not recorded: caches, imports, first key exchange
        try:
            measure()
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            group.notes[name] = f"not measured: {exc}"
    live = {n: m for n, m in contenders.items() if n not in group.notes}
    for r in range(runs):
        for name, measure in live.items():
            group.samples.setdefault(name, []).append(measure())
        echo(f"bench: {group.title}: round {r + 1}/{runs}")
    return group


def _check_group(opts: BenchOptions, work: Path, echo: Echo, target: c.Target = c.DEV,
                 title: str = "check on one host (whole process)") -> Group:
    inventory, playbook = c.ansible_files([target], work / f"ansible-{target.name}", fan_out=False)
    contenders: dict[str, Callable[[], Sample]] = {
        f"shakedown check --host {target.name}": lambda: run(c.shakedown_check(target.name), cwd=c.ROOT),
        "plain ssh (one batched call)": lambda: run(c.plain_ssh(target)),
    }
    try:
        argv, env = c.ansible(inventory, playbook, forks=1)
        contenders["ansible-playbook"] = lambda: run(argv, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        echo(f"bench: ansible unavailable: {exc}")
    try:
        pyinfra_argv = c.pyinfra(*c.pyinfra_files(target, work / f"pyinfra-{target.name}"))
        contenders["pyinfra"] = lambda: run(pyinfra_argv)
    except (OSError, subprocess.SubprocessError) as exc:
        echo(f"bench: pyinfra unavailable: {exc}")
    group = Group(title)
    for name, why in (("ansible-playbook", "ansible-core"), ("pyinfra", "pyinfra")):
        if name not in contenders:
            group.notes[name] = f"not measured: could not install {why} into .bench/"
    group.round_trips = _round_trips(target.name)
    return _interleave(group, contenders, opts.runs, echo)


def _round_trips(host: str) -> dict[str, str]:
    """Exchanges with the host after connecting: shakedown's from its own report.json, the others by design."""
    n = c.check_commands()
    try:
        report = json.loads(run([*c.shakedown_check(host), "--json"], cwd=c.ROOT).output)
        ours = str(report["hosts"][host]["remote_commands"])
    except (BenchError, ValueError, KeyError) as exc:
        ours = f"unknown ({exc})"
    return {"shakedown": ours, "plain ssh": "1", "ansible-playbook": f"{n} (one per task)",
            "pyinfra": f"{n} (one per operation)"}


def _verdict_group(opts: BenchOptions, echo: Echo) -> Group:
    """e2e end to end: a good branch (GREEN) and a crash-looping one, whose RED is certain seconds after its
    deploy: the readiness wait must end then, not at its deadline (60 s here)."""
    contenders = {f"e2e {branch}": (lambda branch=branch: run(c.e2e_verdict(branch), cwd=c.ROOT))
                  for branch in ("feature-good", "feature-crash-loop")}
    return _interleave(Group("e2e: seconds from the end of the deploy to the verdict (readiness: 60 s deadline)",
                             metric="printed"), contenders, min(opts.runs, 2), echo)


def _fanout_group(opts: BenchOptions, fleet_inv: Path, work: Path, echo: Echo) -> Group:
    names = [f"fleet{i}" for i in range(1, opts.hosts + 1)]
    half = names[: max(1, opts.hosts // 2)]
    contenders: dict[str, Callable[[], Sample]] = {
        f"shakedown check, {k} host(s)": (lambda hosts=hosts: run(c.shakedown_check(",".join(hosts), fleet_inv),
                                                                   cwd=c.ROOT))
        for k, hosts in ((1, names[:1]), (len(half), half), (len(names), names))
    }
    targets = [c.Target(n, f"127.0.1.{i}", 2300 + i, "sd-agent") for i, n in enumerate(names, 1)]
    try:
        for k, subset in ((1, targets[:1]), (len(targets), targets)):
            inventory, playbook = c.ansible_files(subset, work / f"ansible-fleet-{k}", fan_out=True)
            argv, env = c.ansible(inventory, playbook, forks=len(targets))
            contenders[f"ansible-playbook forks={len(targets)}, {k} host(s)"] = (
                lambda argv=argv, env=env: run(argv, env=env))
    except (OSError, subprocess.SubprocessError) as exc:
        echo(f"bench: ansible unavailable: {exc}")
    return _interleave(Group(f"fan-out over 1, {len(half)} and {len(names)} hosts"), contenders, opts.runs, echo)


def _per_command_group(opts: BenchOptions, fleet_inv: Path, work: Path, echo: Echo) -> Group:
    socket = work / "cm.sock"
    run(c.control_master_open(socket))
    try:
        contenders = {
            "shakedown host API (open connection)": lambda: run(c.host_api_loop(opts.commands, fleet_inv), cwd=c.ROOT),
            "OpenSSH ControlMaster": lambda: run(c.control_master_loop(opts.commands, socket)),
        }
        return _interleave(Group(f"per command on an open connection ({opts.commands} x `true`, seconds each)",
                                 metric="printed"), contenders, opts.runs, echo)
    finally:
        run(c.control_master_close(socket), check=False)


def _redactor_group(opts: BenchOptions, work: Path, echo: Echo) -> Group:
    log = work / "service.log"
    c.make_log(log, opts.log_mb, SECRETS)
    group = Group(f"redactor on a {opts.log_mb} MB log (MB/s)", metric="printed")
    group = _interleave(group, {"redactor (streaming, 1 MiB chunks)": lambda: run(c.redactor_run(log, SECRETS),
                                                                                   cwd=c.ROOT)}, opts.runs, echo)
    leaks = [s for s in group.samples.get("redactor (streaming, 1 MiB chunks)", []) if s.output.split()[1] != "0"]
    if leaks:
        group.notes["redactor (streaming, 1 MiB chunks)"] = "LEAK: a known secret came out unredacted"
    return group


def _startup_group(opts: BenchOptions, echo: Echo) -> Group:
    return _interleave(Group("CLI start-up (`invoke --list`)"),
                       {"invoke --list": lambda: run(c.startup(), cwd=c.ROOT)}, opts.runs, echo)


def _data(opts: BenchOptions, groups: list[Group], started: float) -> dict[str, Any]:
    return {
        "schema": 1,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {"node": platform.node(), "system": platform.platform(), "machine": platform.machine(),
                    "cpus": _cpus(), "python": platform.python_version()},
        "versions": {"shakedown": __version__, "openssh": _version(["ssh", "-V"]),
                     "ansible": _version([str(c.ANSIBLE_VENV / "bin" / "ansible-playbook"), "--version"]),
                     "locust": _version([str(c.LOCUST_VENV / "bin" / "locust"), "--version"])},
        "options": {"hosts": opts.hosts, "runs": opts.runs, "log_mb": opts.log_mb, "commands": opts.commands,
                    "flows": opts.flows, "flow_concurrency": opts.flow_concurrency, "flow_runs": opts.flow_runs,
                    "only": opts.only or list(GROUPS)},
        "groups": [{"title": g.title, "metric": g.metric, "stats": g.stats(), "notes": g.notes,
                    "round_trips": g.round_trips,
                    "samples": {n: [s.public() | ({"value": float(s.output.split()[0])} if g.metric != "wall" else {})
                                    for s in ss] for n, ss in g.samples.items()}} for g in groups],
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError:
        return "not installed"
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if text else "unknown"
