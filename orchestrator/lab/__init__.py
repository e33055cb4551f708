"""The lab: the project's own real test hosts on this machine (docs/design.md, "The lab").

Two hosts, dev and agent, each a real OpenSSH sshd on loopback with its own login user and its own Docker
Engine; dev also runs the sample stack from a git repo built from tests/lab/, and agent holds build leftovers
and a prune lock for `invoke prune` (leftovers.py). up() is idempotent: what is already right is left alone,
so a second run only checks (a few seconds at most). While an e2e has borrowed dev (a live lease, or an
unfinished journal), up() only (re)starts daemons and leaves the stack and the run's peers alone (borrow.py).
In front of dev's sshd runs the lab's latency-and-fault link (relay.py, controlled through link.py; inventory
host dev-wan): up() starts it, or heals it and resets its delay if a test left it otherwise.
The lab's CI is a small Woodpecker-compatible API server (ciserver.py, controlled through ci.py) on
127.0.0.1:18700: up() starts it and rewrites its state file to the seed (every repo green at the deployed commit)
whenever a test left it otherwise; also while an e2e borrows dev (then seeded from dev's checkout as it is).
The lab's marketplace is a small API server (marketplace_server.py, controlled through marketplace.py) on
127.0.0.1:18110 for `invoke flow`: up() starts it (or restarts it when dead or running other code) and resets its
config (every known defect off, no rate limit); it borrows nothing of dev's, so an e2e changes nothing here.
The lab's bastion (bastion.py) is a jump host in front of dev's sshd (inventory host dev-via-bastion): up() starts
its sshd and logs in to dev through it; down() stops it by its pid.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    bastion,
    borrow,
    ci,
    dockerd,
    hostdata,
    images,
    keys,
    leftovers,
    link,
    marketplace,
    prereqs,
    repo,
    sshd,
    stack,
    users,
)
from .errors import EXIT_BAD_INPUT, EXIT_INFRA, LabError
from .proc import exclusive, run, tcp_open
from .spec import BASTION, CLIENT_KEY, DEV, HOSTS, KNOWN_HOSTS, LAB_DIR, LINK, RUN_DIR, STATE_DIR, LabHost

__all__ = ["LabError", "down", "status", "up"]

Echo = Callable[[str], None]
LOCK_FILE = RUN_DIR / "lab.lock"
LOCK_TIMEOUT = 600.0  # a cold up with a slow build fits well within this


def up(echo: Echo = print) -> None:
    """Bring the lab to its specified state; prints each step and what it changed."""
    started = time.monotonic()
    prereqs.check()
    with exclusive(LOCK_FILE, LOCK_TIMEOUT, "lab.up"):
        _up(echo)
    echo(f"lab: up in {time.monotonic() - started:.1f}s")


def _up(echo: Echo) -> None:
    for d in (LAB_DIR, RUN_DIR):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)  # sshd's StrictModes checks every directory above authorized_keys
    client_pub = keys.ensure_client_key(echo)
    host_keys: list[tuple[keys.Reachable, str]] = []
    for host in HOSTS:
        host.dir.mkdir(exist_ok=True)
        host.dir.chmod(0o755)
        host.run_dir.mkdir(exist_ok=True)
        users.ensure(host, echo)
        host_keys.append((host, keys.ensure_host_key(host, echo)))
        keys.ensure_authorized_keys(host, client_pub)
    # Through the link, SSH meets the target's own sshd: the same host key, listed under the link's address.
    host_keys.append((LINK, next(key for host, key in host_keys if host == LINK.target)))
    host_keys.append((BASTION, bastion.ensure_keys(echo)))  # the jump host in front of dev (dev-via-bastion)
    if keys.write_known_hosts(host_keys):
        echo(f"lab: wrote {KNOWN_HOSTS}")
    tar_cache: dict[str, bytes] = {}
    for host in HOSTS:
        sshd.ensure(host, echo)
        dockerd.ensure(host, echo)
        images.ensure_base(host, echo, tar_cache)
    link.ensure(echo)
    bastion.ensure(echo)  # after dev's sshd: it proves the hop by logging in to dev through it
    leftovers.ensure_prune_lock(echo)  # the agent's CI state: no e2e borrows it
    leftovers.ensure(echo)
    # Read late, under the lab lock: an e2e on dev borrows its stack and peers, which only the run may touch.
    why = borrow.why_borrowed(STATE_DIR, time.time())
    if why is None:
        _ensure_dev_side(echo)
    else:
        echo(borrow.left_alone(why))
    ci.ensure(echo)  # after the dev side: its seed names the deployed commit
    marketplace.ensure(echo)
    for host in HOSTS:
        dockerd.check_networks(host)
        _check_login(host)
        echo(f"{host.name}: ssh {host.user}@{host.ssh_host}:{host.ssh_port} reaches its docker engine: ok")
    _check_login(LINK.target, port=LINK.listen_port)
    echo(f"{LINK.name}: ssh {LINK.target.user}@{LINK.listen_host}:{LINK.listen_port} reaches {LINK.target.name}'s "
         "docker engine through the link: ok")


def _ensure_dev_side(echo: Echo) -> None:
    """What an e2e on dev borrows: dev's data dirs, the agent's worker config (its peer), the repo, the stack."""
    hostdata.ensure_dev_dirs(echo)  # before the deploy: the engine would create a missing bind source as root
    hostdata.ensure_worker_config(echo)
    main_commit, rebuilt = repo.ensure(echo)
    checkout_changed = stack.ensure_checkout(DEV, main_commit, echo)
    config_changed = stack.ensure_config(DEV, echo)
    stack.ensure_deployed(DEV, redeploy=rebuilt or checkout_changed, recreate=config_changed, echo=echo)


def _check_login(host: LabHost, port: int | None = None) -> None:
    """Log in exactly as the orchestrator will (key, strict known_hosts) and reach this host's engine; through
    `port` (the link's) instead of the host's own sshd port when given."""
    port = port or host.ssh_port
    argv = [
        "ssh", "-F", "/dev/null", "-i", str(CLIENT_KEY), "-p", str(port),
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
        "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
        "-o", "LogLevel=ERROR",
        f"{host.user}@{host.ssh_host}",
        "docker version --format '{{.Server.Version}}' && echo $DOCKER_HOST",
    ]
    out = run(argv, timeout=30, check=False)
    if out.returncode != 0 or host.docker_host not in out.stdout:
        raise LabError(
            f"{host.name}: ssh login as {host.user} to {host.ssh_host}:{port} did not reach "
            f"{host.docker_host} (exit {out.returncode}): {(out.stderr or out.stdout).strip()[-500:]}",
            EXIT_INFRA,
        )


def down(echo: Echo = print, purge: bool = False) -> None:
    """Stop the marketplace and CI servers, the link relay, every lab sshd and dockerd (by pidfile). purge=True
    also deletes LAB_DIR and RUN_DIR, nothing else."""
    if os.geteuid() != 0:
        raise LabError("lab.down needs root (it stops the lab's sshd and dockerd)", EXIT_BAD_INPUT)
    # The bench's fleet first: its pidfiles live under RUN_DIR, and a purge must not orphan its sshds.
    from . import fleet  # fleet imports this package's lock settings

    fleet.down(echo)
    with exclusive(LOCK_FILE, LOCK_TIMEOUT, "lab.down"):
        link.stop(echo)  # its pidfile lives under RUN_DIR too
        ci.stop(echo)  # and so does the CI server's
        marketplace.stop(echo)  # and the marketplace's
        bastion.stop(echo)  # and the bastion's sshd
        for host in HOSTS:
            sshd.stop(host, echo)
            dockerd.stop(host, echo)
        if purge:
            if link.LAB.pid() is not None:
                raise LabError(f"{LINK.name}: link relay still running; not purging", EXIT_INFRA)
            if ci.pid() is not None:
                raise LabError("ci: CI server still running; not purging", EXIT_INFRA)
            if marketplace.pid() is not None:
                raise LabError("marketplace: server still running; not purging", EXIT_INFRA)
            if bastion.pid() is not None:
                raise LabError("bastion: sshd still running; not purging", EXIT_INFRA)
            for host in HOSTS:
                if dockerd.pid(host) is not None or sshd.pid(host) is not None:
                    raise LabError(f"{host.name}: still running; not purging", EXIT_INFRA)
            for path in (LAB_DIR, RUN_DIR):
                _purge(path, echo)


def _purge(path: Path, echo: Echo) -> None:
    # Only the two fixed lab directories, and never across a mount point left behind by a killed engine.
    assert path in (LAB_DIR, RUN_DIR)
    for mount in _mounts_under(path):
        run(["umount", "-l", mount], timeout=30, check=False)
    if _mounts_under(path):
        raise LabError(f"mounts remain under {path}: {_mounts_under(path)}; not deleting it", EXIT_INFRA)
    if path.exists():
        shutil.rmtree(path)
        echo(f"lab: removed {path}")


def _mounts_under(path: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].encode().decode("unicode_escape")
        if mount_point == str(path) or mount_point.startswith(f"{path}/"):
            found.append(mount_point)
    return sorted(found, key=len, reverse=True)  # deepest first


def status() -> dict[str, Any]:
    """The lab's hosts and whether each is up, its CI API (`ci`), its marketplace API (`marketplace`) and its
    jump host (`bastion`); never raises, needs no root for the sshd/dockerd part."""
    return {"hosts": [_host_status(host) for host in HOSTS], "ci": ci.status(), "marketplace": marketplace.status(),
            "bastion": bastion.status()}


def _host_status(host: LabHost) -> dict[str, Any]:
    return {
        "name": host.name,
        "ssh": {"host": host.ssh_host, "port": host.ssh_port, "user": host.user, "key": str(CLIENT_KEY)},
        "docker_host": host.docker_host,
        "stack_dir": str(host.stack_dir) if host.stack_dir else None,
        "compose_project": host.compose_project,
        "repo": str(host.repo) if host.repo else None,
        "up": _is_up(host),
        # The latency-and-fault link in front of this host's sshd (inventory host dev-wan), or None.
        "link": link.status() if host == LINK.target else None,
    }


def _is_up(host: LabHost) -> bool:
    try:
        if sshd.pid(host) is None or dockerd.pid(host) is None or not tcp_open(host.ssh_host, host.ssh_port):
            return False
        if host.stack_dir is None:
            return True
        running = {c.service for c in stack.containers(host) if c.state == "running"}
        return running >= set(stack.STACK_SERVICES)
    except (LabError, OSError, ValueError):
        return False
