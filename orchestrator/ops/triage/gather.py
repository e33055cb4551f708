"""What triage reads from a host, in one read-only round trip, split into bundle files and facts.

Everything that crosses the wire here may hold secrets (config files, .env, logs, `docker inspect`); it is
redacted before it is written or printed (orchestrator.redact, with the host's secret values registered
first), and `docker inspect` loses every environment value outright.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.host import Host
from orchestrator.host.shellcmd import call, load
from orchestrator.ops.parsers import df, docker_inspect

MARK = "=====SHAKEDOWN:"  # opens each section of gather.sh's output
GATHER = load("orchestrator.ops.triage", "gather")  # see gather.sh for its arguments and sections


@dataclass
class Gathered:
    sections: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


TIMEOUT = 180


def command(*, project: str, lines: int, stack_dir: str, paths: list[str], files: list[str], urls: list[str]) -> str:
    """gather.sh's command line (read-only; triage batches it with its other reads)."""
    return call(GATHER, project, str(lines), stack_dir, *paths, "--files", *files, "--urls", *urls)


def gather(host: Host, *, project: str, lines: int, stack_dir: str, paths: list[str], files: list[str],
           urls: list[str], expected: list[str]) -> Gathered:
    out = host.run(command(project=project, lines=lines, stack_dir=stack_dir, paths=paths, files=files, urls=urls),
                   timeout=TIMEOUT, warn=True).stdout
    found = Gathered(split(out))
    found.facts = facts(found.sections, expected)
    return found


def split(text: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    name = None
    for line in text.splitlines(keepends=True):
        if line.startswith(MARK):
            name = line[len(MARK):].strip()
            sections[name] = ""
        elif name is not None:
            sections[name] += line
    return sections


def facts(sections: dict[str, str], expected: list[str]) -> dict[str, Any]:
    containers = _containers(sections.get("inspect", ""))
    disks = _disks(sections)
    versions = {"stack VERSION": sections["version"].strip()} if sections.get("version", "").strip() else {}
    for name, body in sections.items():
        if name.startswith("http "):
            match = re.search(r'"version"\s*:\s*"([^"]+)"', body)
            if match:
                versions[name[5:]] = match.group(1)
    return {"containers": containers, "disks": disks, "versions": versions,
            "missing_services": sorted(set(expected) - {c["service"] for c in containers})}


def _containers(text: str) -> list[dict[str, Any]]:
    try:
        found = docker_inspect.containers(text)
    except ValueError:
        return []  # docker's error instead of JSON: the bundle's inspect file says what it was
    return [{"name": c.name, "service": c.service, "state": c.state or "",
             "health": "none" if c.health is None else c.health, "last_check": c.health_output[-300:],
             "restarts": c.restarts, "exit_code": c.exit_code} for c in found]


def _disks(sections: dict[str, str]) -> list[dict[str, Any]]:
    found = []
    for usage in filter(None, map(df.parse_line, sections.get("df", "").splitlines())):
        used, free, path = usage.used_kb, usage.free_kb, usage.mount
        top = [f"{_size(int(size))} {where}" for size, where in
               (ln.split("\t", 1) for ln in sections.get(f"top {path}", "").splitlines() if "\t" in ln)
               if size.isdigit()]
        found.append({"path": path, "used_percent": round(100 * used / max(1, used + free)),
                      "free_gib": round(free / 2**20, 1), "total_gib": round(usage.total_kb / 2**20, 1), "top": top})
    return found


def _size(kb: int) -> str:
    return f"{kb / 2**20:.1f}G" if kb >= 2**20 else f"{kb / 1024:.0f}M"


def inspect_without_env(text: str) -> str:
    """`docker inspect` as a bundle file: every environment value replaced, the keys kept."""
    try:
        items = json.loads(text)
    except ValueError:
        return text
    for item in items if isinstance(items, list) else []:
        env = (item.get("Config") or {}).get("Env") or []
        item["Config"]["Env"] = [f"{e.split('=', 1)[0]}=[REDACTED]" for e in env]
    return json.dumps(items, indent=2)
