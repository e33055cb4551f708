"""One OpenSSH sshd per lab host: own config, host key, port, pidfile and log."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import jinja2

from .errors import EXIT_INFRA, LabError
from .proc import run, running_pid, stop_pid, tail_file, tcp_open, wait_until, write_if_changed
from .spec import LAB_SRC, SSHD_BIN, SSHD_PRIVSEP_DIR, LabHost

TEMPLATE = LAB_SRC / "sshd_config.j2"
START_TIMEOUT = 15.0


def render(host: LabHost) -> str:
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return template.render(
        name=host.name,
        listen_address=host.ssh_host,
        port=host.ssh_port,
        host_key=host.host_key,
        pidfile=host.sshd_pidfile,
        user=host.user,
        authorized_keys=host.authorized_keys,
        docker_host=host.docker_host,
    )


def pid(host: LabHost) -> int | None:
    # sshd rewrites its process title but keeps its arguments, so our config path identifies our daemon.
    return running_pid(host.sshd_pidfile, str(host.sshd_config))


def ensure(host: LabHost, echo: Callable[[str], None]) -> None:
    SSHD_PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    config_changed = write_if_changed(host.sshd_config, render(host), 0o644)
    if config_changed:
        validate(host)
    current = pid(host)
    if current is not None:
        if config_changed:
            # SIGHUP makes sshd re-exec itself with the new config; the listener keeps its pid.
            os.kill(current, signal.SIGHUP)
            _wait_listening(host, current)
            echo(f"{host.name}: sshd reloaded with new config (pid {current})")
        else:
            echo(f"{host.name}: sshd already running on {host.ssh_host}:{host.ssh_port} (pid {current})")
        return
    if not config_changed:
        validate(host)
    if tcp_open(host.ssh_host, host.ssh_port):
        raise LabError(
            f"{host.name}: {host.ssh_host}:{host.ssh_port} is already taken by another process "
            f"(not this lab's sshd, per {host.sshd_pidfile}); free the port and run lab.up again",
            EXIT_INFRA,
        )
    host.sshd_pidfile.unlink(missing_ok=True)
    # Without -D sshd daemonizes itself (so it is no child of ours) and writes PidFile once it listens.
    run([SSHD_BIN, "-f", str(host.sshd_config), "-E", str(host.sshd_log)], timeout=START_TIMEOUT)
    new = wait_until(lambda: pid(host), START_TIMEOUT, 0.05)
    if new is None:
        raise LabError(
            f"{host.name}: sshd did not start within {START_TIMEOUT:g}s; last lines of {host.sshd_log}:\n"
            f"{tail_file(host.sshd_log)}",
            EXIT_INFRA,
        )
    _wait_listening(host, new)
    echo(f"{host.name}: sshd started on {host.ssh_host}:{host.ssh_port} (pid {new})")


def validate(host: LabHost) -> None:
    check = run([SSHD_BIN, "-t", "-f", str(host.sshd_config)], check=False, timeout=15)
    if check.returncode != 0:
        raise LabError(f"{host.name}: sshd rejects {host.sshd_config}: {check.stderr.strip()}", EXIT_INFRA)


def _wait_listening(host: LabHost, sshd_pid: int) -> None:
    if not wait_until(lambda: tcp_open(host.ssh_host, host.ssh_port, 0.5), START_TIMEOUT, 0.05):
        raise LabError(
            f"{host.name}: sshd (pid {sshd_pid}) does not accept connections on {host.ssh_host}:{host.ssh_port} "
            f"after {START_TIMEOUT:g}s; last lines of {host.sshd_log}:\n{tail_file(host.sshd_log)}",
            EXIT_INFRA,
        )


def stop(host: LabHost, echo: Callable[[str], None]) -> None:
    current = pid(host)
    if current is None:
        echo(f"{host.name}: sshd not running")
        return
    stop_pid(current, 10)
    host.sshd_pidfile.unlink(missing_ok=True)
    echo(f"{host.name}: sshd stopped (pid {current})")
