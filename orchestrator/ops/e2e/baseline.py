"""What "the host exactly as it was" means, as facts read on the host: restore must reproduce them.

Facts: the canonical checkout's commit and cleanliness, every config file's sha256/mode/owner, each
secret's salted fingerprint (computed on the host; values never leave it), every compose container's
state, health and image id, every other container of the engine by id (a build's leftover shows as a
container that was not there before), every compose volume with its creation time, and every data dir's
inode, mode and owner. A volume or data dir that was re-created shows a new creation time or inode. The
count of dangling images is recorded, not compared: the branch's images are dangling until the cleanup
that follows a verified restore.
"""

from __future__ import annotations

import secrets
from typing import Any

from orchestrator.host import Host
from orchestrator.ops.e2e import scripts
from orchestrator.ops.e2e.config import Peer, StackConfig
from orchestrator.ops.parsers import docker_inspect

Facts = dict[str, Any]


def stack_command(cfg: StackConfig, salt: str | None = None) -> str:
    files = [cfg.abs_path(f) for f in cfg.config_files]
    secret_files = [cfg.abs_path(f) for f in cfg.secret_files]
    data = [cfg.abs_path(d) for d in cfg.data_dirs]
    return scripts.call(scripts.CAPTURE, cfg.stack_dir, cfg.project, salt or secrets.token_hex(16), *files,
                        "--secrets", *secret_files, "--data", *data)


def peer_command(peers: list[Peer]) -> str:
    return scripts.call(scripts.FILE_FACTS, *[p.file for p in peers])


def capture(host: Host, command: str, timeout: float | None = None) -> Facts:
    return parse(host.run(command, timeout=timeout).stdout)


def parse(text: str) -> Facts:
    facts: Facts = {"files": {}, "data": {}, "secrets": {}, "containers": {}, "volumes": {}, "engine": {}}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("HEAD", "DIRTY", "DOCKER_ERROR"):
            facts[kind.lower()] = rest.strip()
        elif kind == "DANGLING":
            facts["dangling_images"] = rest.strip()
        elif kind == "FILE":
            sha, mode, owner, path = rest.split(" ", 3)
            facts["files"][path] = {"sha256": sha, "mode": mode, "owner": owner}
        elif kind == "DATA":
            inode, mode, owner, path = rest.split(" ", 3)
            facts["data"][path] = {"inode": inode, "mode": mode, "owner": owner}
        elif kind == "SECRET":
            key, digest, path = rest.split(" ", 2)
            facts["secrets"].setdefault(path, {})[key] = digest
        elif kind == "SECRETS_UNREADABLE":
            facts["secrets"][rest.strip()] = None
        elif kind == "CONT":
            name, container = docker_inspect.parse_brief(rest)
            facts["containers"][name] = container
        elif kind == "VOL":
            name, created, mountpoint = [*rest.split(" ", 2), "", ""][:3]
            facts["volumes"][name] = {"created": created, "mountpoint": mountpoint}
        elif kind == "ENGINE":
            cid, image, name = [*rest.split(" ", 2), "", ""][:3]
            facts["engine"][cid] = {"image": image, "name": name}
    return facts


def differences(before: Facts, after: Facts) -> list[str]:
    """Human-readable differences; secrets are named by key only, never by value or fingerprint."""
    found: list[str] = []
    for key, label in (("head", "stack checkout commit"), ("dirty", "stack checkout local changes"),
                       ("docker_error", "docker")):
        if before.get(key) != after.get(key):
            found.append(f"{label}: {before.get(key) or 'none'} -> {after.get(key) or 'none'}")
    found += _dict_diff("config file", before.get("files", {}), after.get("files", {}))
    found += _dict_diff("data dir", before.get("data", {}), after.get("data", {}))
    found += _dict_diff("volume", before.get("volumes", {}), after.get("volumes", {}))
    found += _container_diff(before.get("containers", {}), after.get("containers", {}))
    found += _engine_diff(before.get("engine", {}), after.get("engine", {}))
    for path in sorted(set(before.get("secrets", {})) | set(after.get("secrets", {}))):
        old, new = before.get("secrets", {}).get(path) or {}, after.get("secrets", {}).get(path) or {}
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            found.append(f"secret file {path}: {', '.join(changed)} changed (values not shown)")
    return found


def _dict_diff(label: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None or new is None:
            found.append(f"{label} {key}: {'appeared' if old is None else 'gone'}")
            continue
        fields = ", ".join(f"{f} {_short(old.get(f))} -> {_short(new.get(f))}" for f in old if old.get(f) != new.get(f))
        found.append(f"{label} {key}: {fields}")
    return found


def _container_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return _dict_diff("container", before, after)


def _engine_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Containers outside the project, by id: one that appeared is something the run left behind."""
    def named(c: dict[str, Any]) -> str:
        return f"container {c.get('name')} (image {_short(c.get('image'))})"

    return ([f"{named(after[i])} was not there before" for i in sorted(set(after) - set(before))]
            + [f"{named(before[i])} is gone" for i in sorted(set(before) - set(after))])


def _short(value: Any) -> str:
    text = str(value)
    return text[:19] if len(text) == 64 or text.startswith("sha256:") else text


def only_settling(before: Facts, after: Facts) -> bool:
    """True when the only differences are containers' state or health, which may still reach their
    baseline (a restarted container's health check needs time). An image, a file or a container left on the
    engine never settles."""
    if differences({**before, "containers": {}}, {**after, "containers": {}}):
        return False
    old, new = before.get("containers", {}), after.get("containers", {})
    if set(old) != set(new):
        return False
    return all(old[name].get(f) == new[name].get(f) for name in old for f in ("service", "image", "image_name"))
