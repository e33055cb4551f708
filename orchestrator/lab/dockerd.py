"""One Docker Engine per lab host: own socket, data-root, exec-root and containerd namespace; no bridge."""

from __future__ import annotations

import grp
import os
import subprocess
import time
from collections.abc import Callable

from .errors import EXIT_INFRA, LabError
from .proc import env, pid_alive, run, running_pid, stop_pid, tail_file, write_if_changed
from .spec import LabHost

START_TIMEOUT = 60.0
STOP_TIMEOUT = 45.0  # dockerd stops its containers first (each within its stop timeout)
ALLOWED_NETWORKS = {"host", "none"}  # any other network would take a non-loopback (private-range) address

# Popen objects of daemons we started, kept so Python does not warn about (or reap) a live child.
_children: list[subprocess.Popen[bytes]] = []


def argv(host: LabHost) -> list[str]:
    return [
        "dockerd",
        "--config-file", str(host.daemon_json),
        "--data-root", str(host.data_root),
        "--exec-root", str(host.exec_root),
        "--pidfile", str(host.dockerd_pidfile),
        "-H", host.docker_host,
        "--group", host.docker_group,
        # No bridge, no NAT, no iptables: containers use network_mode host and bind to loopback only, and no
        # network with a private-range address is ever created.
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
        "--containerd-namespace", host.containerd_namespace,
        "--containerd-plugins-namespace", f"{host.containerd_namespace}-plugins",
    ]


def pid(host: LabHost) -> int | None:
    return running_pid(host.dockerd_pidfile, str(host.docker_socket))


def docker(host: LabHost, *args: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The docker CLI against this host's engine only."""
    return run(["docker", "-H", host.docker_host, *args], timeout=timeout, check=check)


def answers(host: LabHost) -> bool:
    try:
        probe = docker(host, "version", "--format", "{{.Server.Version}}", timeout=10, check=False)
    except LabError:  # timed out: a daemon still starting may accept the connection but not answer yet
        return False
    return probe.returncode == 0 and bool(probe.stdout.strip())


def _clear_stale_containerd(host: LabHost) -> None:
    """Forget a dead containerd left by a killed dockerd.

    dockerd kills its containerd when it dies; if that containerd lingers as a zombie, or its pid is reused,
    the next dockerd trusts the pidfile, waits for a socket nobody serves, and gives up after a minute.
    """
    pidfile = host.exec_root / "containerd" / "containerd.pid"
    if running_pid(pidfile, str(host.exec_root)) is None:
        pidfile.unlink(missing_ok=True)


def ensure(host: LabHost, echo: Callable[[str], None]) -> None:
    for d in (host.dir, host.data_root):
        d.mkdir(parents=True, exist_ok=True)
    host.dir.chmod(0o755)
    host.exec_root.mkdir(parents=True, exist_ok=True)
    write_if_changed(host.daemon_json, "{}\n", 0o644)
    current = pid(host)
    if current is not None:
        _wait_ready(host, current)
        _check_socket_group(host)
        echo(f"{host.name}: dockerd already running (pid {current})")
        return
    host.dockerd_pidfile.unlink(missing_ok=True)
    _clear_stale_containerd(host)
    with host.dockerd_log.open("ab") as log:
        log.write(f"\n--- lab.up starting dockerd at {time.strftime('%Y-%m-%dT%H:%M:%S%z')} ---\n".encode())
        log.flush()
        child = subprocess.Popen(
            argv(host),
            start_new_session=True,  # survives our process group's Ctrl-C and our exit
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            close_fds=True,
            env=env(),
        )
    _children.append(child)
    started = time.monotonic()
    _wait_ready(host, child.pid)
    _check_socket_group(host)
    echo(f"{host.name}: dockerd started on {host.docker_host} (pid {child.pid}, ready in "
         f"{time.monotonic() - started:.1f}s)")


def _wait_ready(host: LabHost, daemon_pid: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(host):
        if not pid_alive(daemon_pid):
            raise LabError(
                f"{host.name}: dockerd (pid {daemon_pid}) exited during start-up; last lines of "
                f"{host.dockerd_log}:\n{tail_file(host.dockerd_log)}",
                EXIT_INFRA,
            )
        if time.monotonic() >= deadline:
            raise LabError(
                f"{host.name}: dockerd (pid {daemon_pid}) not answering on {host.docker_host} after "
                f"{START_TIMEOUT:g}s; last lines of {host.dockerd_log}:\n{tail_file(host.dockerd_log)}",
                EXIT_INFRA,
            )
        time.sleep(0.2)


def _check_socket_group(host: LabHost) -> None:
    gid = grp.getgrnam(host.docker_group).gr_gid
    st = os.stat(host.docker_socket)
    if st.st_gid != gid:
        raise LabError(f"{host.name}: {host.docker_socket} is not owned by group {host.docker_group}", EXIT_INFRA)


def stop(host: LabHost, echo: Callable[[str], None]) -> None:
    current = pid(host)
    if current is None:
        echo(f"{host.name}: dockerd not running")
        return
    graceful = stop_pid(current, STOP_TIMEOUT)
    for child in _children:
        child.poll()  # reap the daemons this process started, so none lingers as a zombie
    host.dockerd_pidfile.unlink(missing_ok=True)
    how = "stopped" if graceful else f"killed after {STOP_TIMEOUT:g}s"
    echo(f"{host.name}: dockerd {how} (pid {current})")


def check_networks(host: LabHost) -> None:
    names = set(docker(host, "network", "ls", "--format", "{{.Name}}").stdout.split())
    extra = names - ALLOWED_NETWORKS
    if extra:
        raise LabError(
            f"{host.name}: docker networks {sorted(extra)} exist on {host.docker_host}; the lab allows only "
            f"host and none. Remove them with `docker -H {host.docker_host} network rm {' '.join(sorted(extra))}`",
            EXIT_INFRA,
        )
