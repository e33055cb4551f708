"""A fleet of N extra plain SSH hosts for fan-out benchmarks: fleet1..fleetN next to the base lab.

Host i is a real OpenSSH sshd on 127.0.1.<i>:<2300+i> with its own host key, the agent's login user and the
lab's client key; its login environment points Docker at the agent's engine, so `docker` works there exactly
as on agent (the fleet shares that one engine: it is for measuring fan-out, not for isolation). Each sshd is
started from its own config under FLEET_DIR/<name>/ and found again through its pidfile in FLEET_RUN_DIR.

The fleet needs the base lab (`invoke lab.up`) and never touches dev or agent. Caveat: lab.up rewrites
known_hosts with dev and agent only, so run fleet.up again after a lab.up (it is idempotent and re-adds the
fleet's lines without restarting anything).
"""

from __future__ import annotations

import os
import pwd
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orchestrator.paths import DEFAULT_INVENTORY

from . import LOCK_FILE, LOCK_TIMEOUT, dockerd, keys, sshd
from .errors import EXIT_BAD_INPUT, EXIT_INFRA, LabError
from .proc import exclusive, write_if_changed
from .spec import AGENT, CLIENT_KEY, KNOWN_HOSTS, LAB_DIR, RUN_DIR, LabHost

__all__ = ["FleetHost", "down", "inventory", "up"]

Echo = Callable[[str], None]

FLEET_DIR = LAB_DIR / "fleet"  # per host: sshd_config, host key, authorized_keys, sshd.log (kept by down)
FLEET_RUN_DIR = RUN_DIR / "fleet"  # <name>.pid per running sshd
FLEET_LOCK = RUN_DIR / "fleet.lock"  # serializes fleet up/down; the lab's own lock guards known_hosts
LAB_INVENTORY = DEFAULT_INVENTORY

NET_PREFIX = "127.0.1."
BASE_PORT = 2300
MAX_HOSTS = 254  # 127.0.1.1 .. 127.0.1.254
NAME = re.compile(r"fleet([1-9][0-9]*)")
MAX_WORKERS = 16  # starting an sshd is mostly waiting on sshd itself; a few threads start 10 in well under 1 s


@dataclass(frozen=True)
class FleetHost:
    name: str
    host: str
    port: int


class FleetSpec(LabHost):
    """A fleet host in the shape sshd.py and keys.py take: its files under FLEET_DIR, the agent's engine."""

    @property
    def dir(self) -> Path:
        return FLEET_DIR / self.name

    @property
    def run_dir(self) -> Path:
        return FLEET_RUN_DIR

    @property
    def sshd_pidfile(self) -> Path:
        return FLEET_RUN_DIR / f"{self.name}.pid"

    @property
    def docker_socket(self) -> Path:
        return AGENT.docker_socket


def host(index: int) -> FleetHost:
    """Fleet host `index` (1-based)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= MAX_HOSTS:
        raise LabError(f"fleet host index must be an integer in 1..{MAX_HOSTS}, got {index!r}", EXIT_BAD_INPUT)
    return FleetHost(name=f"fleet{index}", host=f"{NET_PREFIX}{index}", port=BASE_PORT + index)


def hosts(count: int) -> list[FleetHost]:
    """The first `count` fleet hosts (0 <= count <= MAX_HOSTS)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_HOSTS:
        raise LabError(f"fleet size must be an integer in 0..{MAX_HOSTS}, got {count!r}", EXIT_BAD_INPUT)
    return [host(i) for i in range(1, count + 1)]


def _serialized(echo: Echo) -> Echo:
    """echo from several threads at once, one whole line at a time."""
    lock = threading.Lock()

    def locked(line: str) -> None:
        with lock:
            echo(line)
    return locked


def _spec(fh: FleetHost) -> FleetSpec:
    return FleetSpec(name=fh.name, ssh_host=fh.host, ssh_port=fh.port, user=AGENT.user,
                     docker_group=AGENT.docker_group)


def up(count: int, echo: Echo = print) -> list[FleetHost]:
    """Make fleet1..fleet<count> run (idempotent: running hosts are left alone); returns them.

    Hosts beyond `count` that are already running are left as they are; `down()` stops them all.
    """
    started = time.monotonic()
    echo = _serialized(echo)
    wanted = hosts(count)
    _require_root("fleet.up")
    client_pub = _require_base_lab()
    for d in (FLEET_DIR, FLEET_RUN_DIR):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)  # sshd's StrictModes checks every directory above authorized_keys
    specs = [_spec(fh) for fh in wanted]
    with exclusive(FLEET_LOCK, LOCK_TIMEOUT, "fleet.up"):
        host_keys = _each(specs, lambda s: _prepare(s, client_pub, echo))
        if host_keys:
            # lab.up writes known_hosts whole under the lab's lock: take it so neither loses the other's write.
            with exclusive(LOCK_FILE, LOCK_TIMEOUT, "fleet.up"):
                if keys.add_known_hosts(zip(specs, host_keys, strict=True)):
                    echo(f"fleet: added {len(specs)} host key(s) to {KNOWN_HOSTS}")
        _each(specs, lambda s: sshd.ensure(s, echo))
    echo(f"fleet: {count} host(s) up in {time.monotonic() - started:.1f}s")
    return wanted


def _prepare(spec: FleetSpec, client_pub: str, echo: Echo) -> str:
    spec.dir.mkdir(exist_ok=True)
    spec.dir.chmod(0o755)
    key = keys.ensure_host_key(spec, echo)
    keys.ensure_authorized_keys(spec, client_pub)
    return key


def _each(specs: list[FleetSpec], action: Callable[[FleetSpec], Any]) -> list[Any]:
    """Run action on every host concurrently; results in order, or one LabError naming every failure."""
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(specs)), thread_name_prefix="fleet") as pool:
        futures = [pool.submit(action, s) for s in specs]
        errors: list[str] = []
        results: list[Any] = []
        for s, future in zip(specs, futures, strict=True):
            try:
                results.append(future.result())
            except (LabError, OSError) as exc:
                errors.append(f"{s.name}: {exc}" if not str(exc).startswith(s.name) else str(exc))
    if errors:
        raise LabError("fleet: " + "\n".join(errors), EXIT_INFRA)
    return results


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"{what} needs root (it starts and stops sshd daemons)", EXIT_BAD_INPUT)


def _require_base_lab() -> str:
    """The base lab's parts the fleet builds on; returns the client's public key line."""
    hint = "; bring the base lab up first with `invoke lab.up`"
    pub = CLIENT_KEY.with_name(CLIENT_KEY.name + ".pub")
    if not CLIENT_KEY.is_file() or not pub.is_file():
        raise LabError(f"fleet needs the base lab: the lab's client key {CLIENT_KEY} does not exist{hint}",
                       EXIT_INFRA)
    try:
        pwd.getpwnam(AGENT.user)
    except KeyError:
        raise LabError(f"fleet needs the base lab: login user {AGENT.user} does not exist{hint}",
                       EXIT_INFRA) from None
    if dockerd.pid(AGENT) is None or not AGENT.docker_socket.exists():
        raise LabError(f"fleet needs the base lab: the agent's docker engine ({AGENT.docker_host}) is not "
                       f"running{hint}", EXIT_INFRA)
    if not KNOWN_HOSTS.is_file():
        raise LabError(f"fleet needs the base lab: {KNOWN_HOSTS} does not exist{hint}", EXIT_INFRA)
    return pub.read_text().strip()


def running() -> dict[str, int]:
    """Every fleet sshd that is running now, by name -> pid (from the pidfiles, checked against cmdline)."""
    found = {}
    for fh in _pidfile_hosts():
        pid = sshd.pid(_spec(fh))
        if pid is not None:
            found[fh.name] = pid
    return found


def _pidfile_hosts() -> list[FleetHost]:
    found = []
    for pidfile in FLEET_RUN_DIR.glob("fleet*.pid"):
        match = NAME.fullmatch(pidfile.stem)
        if match and int(match.group(1)) <= MAX_HOSTS:
            found.append(host(int(match.group(1))))
    return sorted(found, key=lambda fh: fh.port)


def down(echo: Echo = print) -> None:
    """Stop every fleet sshd found by its pidfile (pid and command line checked); keys and configs stay."""
    _require_root("fleet.down")
    echo = _serialized(echo)
    if not FLEET_RUN_DIR.is_dir():
        echo("fleet: no fleet hosts")
        return
    with exclusive(FLEET_LOCK, LOCK_TIMEOUT, "fleet.down"):
        specs = [_spec(fh) for fh in _pidfile_hosts()]
        _each(specs, lambda s: _stop(s, echo))
    echo(f"fleet: {len(specs)} host(s) down")


def _stop(spec: FleetSpec, echo: Echo) -> None:
    sshd.stop(spec, echo)
    if sshd.pid(spec) is None:
        spec.sshd_pidfile.unlink(missing_ok=True)  # sshd.stop keeps a stale one (its sshd died, or pid reused)


def inventory(count: int, path: Path) -> Path:
    """Write an inventory: inventory/lab.yml (dev, local, agent as they are) plus group `fleet` of the first
    `count` fleet hosts; self-contained, so `invoke check --host fleet --inventory PATH` needs nothing else."""
    data = yaml.safe_load(LAB_INVENTORY.read_text())
    root = data["all"]
    root.setdefault("vars", {}).update({
        "ssh_known_hosts_file": str(KNOWN_HOSTS),
        "ansible_ssh_private_key_file": str(CLIENT_KEY),
        "connect_timeout": 5,
        "command_timeout": 30,
        "disk_max_used_percent": 99,
    })
    root.setdefault("children", {})["fleet"] = {
        "hosts": {fh.name: {"ansible_host": fh.host, "ansible_port": fh.port, "ansible_user": AGENT.user}
                  for fh in hosts(count)},
    }
    header = (f"# Written by orchestrator/lab/fleet.py: {LAB_INVENTORY.name} plus fleet1..fleet{count} "
              "(`fleet.up` makes them). Regenerated, not edited.\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(path, header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False), 0o644)
    return path
