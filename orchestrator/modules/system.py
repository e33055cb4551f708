"""Host basics: reachability, reading a small file, disk headroom."""

from __future__ import annotations

import shlex
from typing import Any

from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.host.shellcmd import call, load
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.parsers import df
from orchestrator.ops.prune import stuck

_DF_SCRIPT = load("orchestrator.modules", "disk")  # one df per path: see disk.sh


class PingModule(Module):
    name = "ping"
    doc = "Open the connection (SSH or local) and time one trivial command round trip."
    params = {}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read("true", host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        connect_s = host.connect()
        # In a batch this is the batch's round trip: what the host costs per exchange, connection included.
        rtt_ms = host.run("true", timeout=ctx.deadline.timeout(host.default_timeout)).duration * 1000
        how = "local" if host.spec.is_local else "ssh"
        reason = f"{how}: round trip {rtt_ms:.1f} ms" + (f", connect {connect_s * 1000:.0f} ms" if connect_s else "")
        return Outcome("ok", reason, {"rtt_ms": round(rtt_ms, 2), "connect_ms": round(connect_s * 1000, 1)})


class ReadFileModule(Module):
    name = "read_file"
    doc = "Read a small text file on the host (e.g. the stack's VERSION) into `content`."
    params = {
        "path": Param(str, required=True),
        "strip": Param(bool, default=True, doc="Strip surrounding whitespace."),
    }

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_cat(args["path"]), host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        result = host.run(_cat(a["path"]), timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        if not result.ok:
            return Outcome("failed", f"cannot read {a['path']}: {result.stderr.strip() or result.exit_code}")
        content = result.stdout.strip() if a["strip"] else result.stdout
        return Outcome("ok", f"{a['path']}: {content[:60]!r}", {"content": content})


class DiskModule(Module):
    name = "disk"
    doc = "Fail when any of `paths` is fuller than max_used_percent (df on the host)."
    params = {
        "paths": Param(list, default=["/"]),
        "max_used_percent": Param(float, default=90),
    }

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_df(self.with_defaults(args)["paths"]), host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        result = host.run(_df(a["paths"]), timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        checks = disk_checks(result.stdout, a["max_used_percent"])
        if not checks:
            return Outcome("failed", f"df gave no output: {result.stderr.strip()}")
        usage = {c.name: c.data for c in checks}
        return Outcome.from_checks(checks, {"usage": usage})


def disk_checks(text: str, limit: float) -> list[Check]:
    """disk.sh's answer: one check per path, failed when fuller than `limit` percent or when df failed."""
    return [_disk_check(line, limit) for line in text.splitlines() if "\t" in line]


def _disk_check(line: str, limit: float) -> Check:
    path, _, rest = line.partition("\t")
    usage = df.parse_line(rest)
    if usage is None:
        return Check(path, "failed", f"df failed: {rest.strip()}")
    percent, free = usage.used_percent, usage.free_kb * 1024
    data = {"used_percent": percent, "free_bytes": free, "mount": usage.mount}
    text = f"{percent}% used, {_human(free)} free on {usage.mount} (limit {limit:g}%)"
    return Check(path, "ok" if percent <= limit else "failed", text, data)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class PruneStatusModule(Module):
    name = "prune_status"
    doc = "Stuck Docker prunes: the prune lock held, or a prune process running, longer than `stuck_after` s."
    params = {"lock": Param(str, required=True), "stuck_after": Param((int, float), default=3600)}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        a = self.with_defaults(args)
        return [Read(stuck.command(a["lock"], float(a["stuck_after"])), 30)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        found, holders = stuck.find(host, a["lock"], float(a["stuck_after"]), timeout=ctx.deadline.timeout(30))
        data = {"stuck": [vars(p) for p in found], "holders": [vars(p) for p in holders]}
        if found:
            return Outcome("failed", "; ".join(p.describe() for p in found)
                           + f" (end them with: invoke prune --host {host.name} --kill-stuck)", data)
        held = f"lock held by pid {holders[0].pid} for {holders[0].age}s" if holders else "lock free"
        return Outcome("ok", f"no stuck prune ({held})", data)


def _cat(path: str) -> str:
    return f"cat -- {shlex.quote(path)}"


def _df(paths: list[Any]) -> str:
    return call(_DF_SCRIPT, *[str(p) for p in paths])
