"""What this machine must have before the lab can exist: root, and the Debian packages' binaries."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from .errors import EXIT_BAD_INPUT, LabError
from .proc import env
from .spec import SSHD_BIN

INSTALL_HINT = "apt-get update && apt-get install -y openssh-server docker.io docker-compose busybox-static git curl"

# binary -> where Debian puts it; sshd must be the absolute path (it re-execs itself by argv[0]).
REQUIRED = {
    "sshd": SSHD_BIN,
    "dockerd": "dockerd",
    "docker": "docker",
    "busybox": "busybox",
    "git": "git",
    "ssh-keygen": "ssh-keygen",
    "ssh": "ssh",
    "curl": "curl",
}


def check() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (it creates users, starts sshd and dockerd): run it as root, e.g. with sudo",
            EXIT_BAD_INPUT,
        )
    missing = [name for name, path in REQUIRED.items() if not _exists(path)]
    if compose_command() is None:
        missing.append("docker-compose (or the docker compose plugin)")
    if missing:
        raise LabError(
            f"missing on this machine: {', '.join(missing)}. Install with:\n{INSTALL_HINT}", EXIT_BAD_INPUT
        )


def _exists(path: str) -> bool:
    if os.path.isabs(path):
        return os.access(path, os.X_OK)
    return shutil.which(path, path=env()["PATH"]) is not None


@functools.cache
def compose_command() -> tuple[str, ...] | None:
    """`docker compose` (v2) when the plugin answers, else `docker-compose` (v1), else None."""
    docker = shutil.which("docker", path=env()["PATH"])
    if docker:
        try:
            probe = subprocess.run(
                [docker, "compose", "version"], capture_output=True, timeout=15, env=env(), stdin=subprocess.DEVNULL
            )
            if probe.returncode == 0:
                return (docker, "compose")
        except subprocess.TimeoutExpired:
            pass
    v1 = shutil.which("docker-compose", path=env()["PATH"])
    return (v1,) if v1 else None
