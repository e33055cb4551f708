"""`docker inspect` output about containers: the JSON array, and the one line a container capture.sh prints.

Only what our checks and facts use is read: name, compose service, state, health, image, restarts and the
restart policy (whether an exited container will ever run again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SERVICE_LABEL = "com.docker.compose.service"


@dataclass(frozen=True)
class Container:
    name: str  # without docker's leading "/"
    id: str  # the full id (64 hex digits)
    service: str  # the compose service label ("" when it has none)
    image: str  # the image name it was created from (Config.Image)
    image_id: str  # sha256:...
    state: str | None  # running, exited, ... (None when docker did not say)
    exit_code: int | None
    health: str | None  # healthy, unhealthy, starting; None without a healthcheck
    health_output: str  # the last health check's output, stripped
    restarts: int
    restart_policy: str = ""  # HostConfig.RestartPolicy.Name: "no" ("" too), always, unless-stopped, on-failure
    restart_max: int = 0  # on-failure's MaximumRetryCount (0: no limit)


def load(text: str) -> list[dict[str, Any]]:
    """The JSON array `docker inspect` prints; ValueError when the text is not JSON."""
    items = json.loads(text)
    return items if isinstance(items, list) else []


def containers(text: str) -> list[Container]:
    return [summary(item) for item in load(text)]


def summary(raw: dict[str, Any]) -> Container:
    config = raw.get("Config") or {}
    state = raw.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    policy = (raw.get("HostConfig") or {}).get("RestartPolicy") or {}
    return Container(
        name=str(raw.get("Name", "")).lstrip("/"), id=str(raw.get("Id", "")),
        service=(config.get("Labels") or {}).get(SERVICE_LABEL, ""), image=config.get("Image", ""),
        image_id=raw.get("Image", ""), state=state.get("Status"), exit_code=state.get("ExitCode"),
        health=health.get("Status"), health_output=(log[-1].get("Output") or "").strip() if log else "",
        restarts=int(raw.get("RestartCount", 0)), restart_policy=str(policy.get("Name") or ""),
        restart_max=int(policy.get("MaximumRetryCount") or 0))


def parse_brief(line: str) -> tuple[str, dict[str, str]]:
    """A container as capture.sh's `docker inspect --format` prints it (after CONT): name, service, state,
    health ("none" without a healthcheck), image id, image name. Journals keep capture.sh's text and re-run
    it on restore, so this line's format never changes."""
    name, service, state, health, image, ref = line.split(" ", 5)
    return name.lstrip("/"), {"service": service, "state": state, "health": health, "image": image,
                              "image_name": ref}
