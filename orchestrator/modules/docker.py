"""Docker Engine and compose-project health, read-only (`docker version`, `docker ps`, `docker inspect`)."""

from __future__ import annotations

from typing import Any

from orchestrator.errors import tail
from orchestrator.host import Host
from orchestrator.host.batch import Read
from orchestrator.host.shellcmd import call, load
from orchestrator.modules.base import Check, Module, Outcome, Param, TaskContext
from orchestrator.ops.parsers import docker_inspect

PROJECT_LABEL = "com.docker.compose.project"
_INSPECT = load("orchestrator.modules", "containers")  # list and inspect in one round trip
_VERSION = "docker version --format '{{.Server.Version}}'"


class DockerEngineModule(Module):
    name = "docker_engine"
    doc = "The host's Docker Engine answers (server version)."
    params = {}

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_VERSION, host.default_timeout)]

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        result = host.run(_VERSION,
                          timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        if result.exit_code == 127:
            return Outcome("failed", "docker CLI not found on the host")
        if not result.ok or not result.stdout.strip():
            return Outcome("failed", f"Docker Engine unreachable: {tail(result.stderr, lines=2)}")
        version = result.stdout.strip()
        return Outcome("ok", f"engine {version}", {"server_version": version})


class ContainersModule(Module):
    name = "containers"
    doc = ("Every expected compose service has a container that is running, healthy (when it has a "
           "healthcheck) and restarted at most max_restarts times; no other container is in the project.")
    params = {
        "project": Param(str, required=True),
        "expected": Param(list, required=True, doc="Service names that must run."),
        "max_restarts": Param(int, default=3),
    }

    def reads(self, host: Host, args: dict[str, Any]) -> list[Read]:
        return [Read(_inspect(args["project"]), host.default_timeout)] if args.get("expected") else []

    def run(self, host: Host, args: dict[str, Any], ctx: TaskContext) -> Outcome:
        a = self.with_defaults(args)
        if not a["expected"]:
            return Outcome("skipped", "no expected services declared for this host")
        result = host.run(_inspect(a["project"]),
                          timeout=ctx.deadline.timeout(host.default_timeout), warn=True)
        if not result.ok:
            return Outcome("failed", f"cannot list containers of {a['project']}: {tail(result.stderr, lines=2)}")
        containers = summaries(result.stdout)
        checks = [_service_check(svc, containers, a["project"], a["max_restarts"]) for svc in a["expected"]]
        checks += [Check(f"unexpected {c['name']}", "failed",
                         f"container {c['name']} (service {c['service'] or '?'}) is {c['state']} but "
                         f"{c['service'] or 'it'} is not an expected service of {a['project']}", c)
                   for c in containers if c["service"] not in a["expected"]]
        outcome = Outcome.from_checks(checks, {"containers": containers})
        hopeless = _hopeless(a["expected"], containers, a["max_restarts"])
        if hopeless and outcome.status != "ok":
            outcome.final = True
            outcome.data["cannot_recover"] = hopeless
        return outcome


def summaries(text: str) -> list[dict[str, Any]]:
    """containers.sh's answer (docker inspect's JSON array): what the checks need of each container."""
    return [_summarise(c) for c in docker_inspect.containers(text or "[]")]


def _summarise(c: docker_inspect.Container) -> dict[str, Any]:
    # health is None when the image/compose declares no healthcheck
    return {"name": c.name, "id": c.id[:12], "service": c.service, "image": c.image, "image_id": c.image_id,
            "state": "unknown" if c.state is None else c.state, "exit_code": c.exit_code, "health": c.health,
            "health_output": c.health_output, "restarts": c.restarts, "restart_policy": c.restart_policy,
            "restart_max": c.restart_max}


def _service_check(service: str, containers: list[dict[str, Any]], project: str, max_restarts: int) -> Check:
    mine = [c for c in containers if c["service"] == service]
    if not mine:
        return Check(service, "failed", f"expected service {service!r} has no container in project {project}")
    problems = [p for c in mine for p in _container_problems(c, max_restarts)]
    if problems:
        return Check(service, "failed", "; ".join(problems), {"containers": mine})
    c = mine[0]
    health = c["health"] or "no healthcheck"
    return Check(service, "ok", f"{c['name']} running, {health}, {c['restarts']} restarts", {"containers": mine})


def _container_problems(c: dict[str, Any], max_restarts: int) -> list[str]:
    name = c["name"]
    if c["state"] != "running":
        extra = f" (exit code {c['exit_code']})" if c["state"] == "exited" else ""
        return [f"{name} is {c['state']}{extra}"]
    problems = []
    if c["health"] not in (None, "healthy"):
        last = f": last health check said {c['health_output'][-200:]!r}" if c["health_output"] else ""
        problems.append(f"{name} is {c['health']}{last}")
    if c["restarts"] > max_restarts:
        problems.append(f"{name} restarted {c['restarts']} times (limit {max_restarts})")
    return problems


def _hopeless(expected: list[str], containers: list[dict[str, Any]], max_restarts: int) -> list[str]:
    """What no amount of waiting will fix, for an `until` readiness loop to stop on at once: a service with
    no container (compose has finished), a crash loop past max_restarts, an exited container that its
    restart policy will not start again."""
    found = [f"service {s!r} has no container" for s in expected if not any(c["service"] == s for c in containers)]
    for c in containers:
        if c["service"] not in expected:
            continue
        if c["restarts"] > max_restarts:
            found.append(f"{c['name']} restarted {c['restarts']} times (limit {max_restarts}): a crash loop")
        elif c["state"] in ("exited", "dead") and not _will_restart(c):
            found.append(f"{c['name']} is {c['state']} (exit code {c['exit_code']}) and its restart policy "
                         f"{c['restart_policy'] or 'no'!r} will not start it again")
    return found


def _will_restart(c: dict[str, Any]) -> bool:
    policy = c.get("restart_policy") or "no"
    if policy in ("always", "unless-stopped"):
        return True
    if policy == "on-failure":
        return c["exit_code"] not in (0, None) and (not c["restart_max"] or c["restarts"] < c["restart_max"])
    return False


def _inspect(project: str) -> str:
    return call(_INSPECT, f"{PROJECT_LABEL}={project}")
