"""General-purpose modules: shell, assert, fail, set_fact."""

from __future__ import annotations

from typing import Any

from orchestrator import templating
from orchestrator.errors import tail
from orchestrator.host import Host
from orchestrator.modules.base import Module, Outcome, Param, TaskContext


class ShellModule(Module):
    name = "shell"
    doc = "Run a POSIX sh command on the host; fails unless its exit code is in ok_codes."
    params = {
        "cmd": Param(str, required=True, doc="The command (user strings inside must already be quoted)."),
        "ok_codes": Param(list, default=[0], doc="Exit codes that count as success."),
    }

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        result = host.run(a["cmd"], timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        data = {"rc": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
                "duration": round(result.duration, 3)}
        if result.exit_code in a["ok_codes"]:
            return Outcome("ok", "", data)
        reason = f"exit code {result.exit_code}"
        if result.stderr.strip():
            reason += f": {tail(result.stderr, lines=2)}"
        return Outcome("failed", reason, data)


class AssertModule(Module):
    name = "assert"
    doc = "Fail unless every expression in `that` is true (bare Jinja2 expressions, as in Ansible)."
    params = {
        "that": Param((list, str), required=True),
        "fail_msg": Param(str, default=""),
    }
    conditions = ("that",)

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        conditions = [a["that"]] if isinstance(a["that"], str) else a["that"]
        for condition in conditions:
            if not templating.evaluate(condition, ctx.variables):
                return Outcome("failed", a["fail_msg"] or f"assertion failed: {condition}")
        return Outcome("ok")


class FailModule(Module):
    name = "fail"
    doc = "Fail with a message (use with `when`)."
    params = {"msg": Param(str, default="failed as requested")}

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        return Outcome("failed", self.with_defaults(args)["msg"])


class SetFactModule(Module):
    name = "set_fact"
    doc = "Set variables for the following tasks on this host (any keys)."
    params = {}

    def check_args(self, args: dict[str, Any], *, skip_templates: bool = False) -> list[str]:
        return [f"invalid variable name {k!r}" for k in args if not str(k).isidentifier()]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        return Outcome("ok", facts=dict(args))
