"""The lab's latency-and-fault link (relay.py) from outside: control it, start and stop it, report it.

Tests control the lab's link (spec.LINK: 127.0.0.1:2322 -> dev's sshd, inventory host dev-wan) with the
module functions; each returns the relay's acknowledged state, never after a fixed sleep:

    from orchestrator.lab import link
    link.blackhole()
    try:
        ...
    finally:
        link.heal()

cut() resets every connection and refuses new ones until heal(); blackhole() holds every byte until heal();
set_delay(ms) changes the one-way delay. A request bumps the generation in control.json (under a lock, so two
controllers never reuse one); the relay polls that file and acknowledges in state.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.paths import ROOT

from . import linkproto
from .errors import EXIT_BAD_INPUT, EXIT_INFRA, LabError
from .proc import (
    cmdline,
    env,
    exclusive,
    pid_alive,
    read_pid,
    stop_pid,
    tail_file,
    tcp_open,
    wait_until,
    write_if_changed,
)
from .spec import LINK

__all__ = ["Link", "blackhole", "cut", "ensure", "heal", "set_delay", "state", "status", "stop"]

Echo = Callable[[str], None]
ACK_TIMEOUT = 5.0  # the relay polls every 50 ms; the rest is slack for a loaded machine
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
MODULE = "orchestrator.lab.relay"
Address = tuple[str, int]


class Link:
    """One relay's directory (control.json, state.json, relay.pid) and the controls over it."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.control_file = run_dir / linkproto.CONTROL_FILE
        self.state_file = run_dir / linkproto.STATE_FILE
        self.pidfile = run_dir / linkproto.PID_FILE
        self.lock_file = run_dir / "control.lock"

    def pid(self) -> int | None:
        """The relay's live pid, only if its command line is a relay of this directory (pid reuse)."""
        pid = read_pid(self.pidfile)
        if pid is None or not pid_alive(pid):
            return None
        line = cmdline(pid)
        return pid if MODULE in line and f"--dir {self.dir} " in f"{line} " else None

    def state(self) -> dict[str, Any] | None:
        """What the relay last acknowledged (state.json), or None."""
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def cut(self) -> dict[str, Any]:
        return self.set(state="cut")

    def blackhole(self) -> dict[str, Any]:
        return self.set(state="blackhole")

    def heal(self) -> dict[str, Any]:
        return self.set(state="open")

    def set_delay(self, ms: float) -> dict[str, Any]:
        return self.set(delay_ms=ms)

    def set(self, *, state: str | None = None, delay_ms: float | None = None,
            timeout: float = ACK_TIMEOUT) -> dict[str, Any]:
        """Ask for a state and/or delay; returns the relay's state once it has acknowledged the request."""
        pid = self.pid()
        if pid is None:
            raise LabError(f"link: no relay is running for {self.dir} (`invoke lab.up` starts the lab's)")
        generation = self.request(state=state, delay_ms=delay_ms)
        acked = wait_until(lambda: self._acknowledged(generation, pid), timeout, 0.01)
        if not acked:
            raise LabError(f"link: the relay (pid {pid}) did not acknowledge generation {generation} within "
                           f"{timeout:g}s; its state: {self.state()}")
        return acked

    def request(self, *, state: str | None = None, delay_ms: float | None = None) -> int:
        """Write the next control generation (running relay or not); returns its number."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with exclusive(self.lock_file, ACK_TIMEOUT, "link control"):
            current = self._control()
            wanted = {
                "generation": current.generation + 1,
                "state": current.state if state is None else state,
                "delay_ms": current.delay_ms if delay_ms is None else delay_ms,
            }
            try:
                linkproto.parse_control(json.dumps(wanted))
            except ValueError as exc:
                raise LabError(f"link: {exc}", EXIT_BAD_INPUT) from None
            write_if_changed(self.control_file, json.dumps(wanted) + "\n", 0o644)
        return wanted["generation"]

    def _control(self) -> linkproto.Control:
        """The current control file, or the relay's defaults; a hand-broken one still gives its generation."""
        try:
            text = self.control_file.read_text()
        except FileNotFoundError:
            return linkproto.Control()
        try:
            return linkproto.parse_control(text)
        except (ValueError, TypeError):
            acked = self.state() or {}
            return linkproto.Control(generation=int(acked.get("generation", 0)))

    def _acknowledged(self, generation: int, pid: int) -> dict[str, Any] | None:
        acked = self.state()
        if acked and acked.get("pid") == pid and acked.get("generation", -1) >= generation:
            return acked  # a later generation from another controller includes ours
        return None

    def start(self, listen: Address, target: Address, delay_ms: float, log: Path,
              timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Start a relay for this directory (none may run); returns its first state, once it listens."""
        self.dir.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        for stale in (self.pidfile, self.state_file):
            stale.unlink(missing_ok=True)
        argv = [sys.executable, "-m", MODULE, "--listen", f"{listen[0]}:{listen[1]}",
                "--target", f"{target[0]}:{target[1]}", "--dir", str(self.dir), "--delay-ms", f"{delay_ms:g}",
                "--daemon"]
        with log.open("ab") as out:
            # The parent exits once its detached child listens (or cannot); the child keeps the log as its output.
            started = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd="/",
                                     env=env({"PYTHONPATH": str(ROOT)}), timeout=timeout, check=False)
        state = wait_until(lambda: self.pid() is not None and self.state(), 2.0, 0.01) if started.returncode == 0 \
            else None
        if not state:
            raise LabError(f"link: the relay on {listen[0]}:{listen[1]} did not start (exit {started.returncode}); "
                           f"last lines of {log}:\n{tail_file(log)}", EXIT_INFRA)
        return state

    def stop(self) -> int | None:
        """Stop the relay by its pid (its connections close with it); returns the pid it stopped."""
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, STOP_TIMEOUT)
        self.pidfile.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        return pid


LAB = Link(LINK.run_dir)
LISTEN: Address = (LINK.listen_host, LINK.listen_port)
TARGET: Address = (LINK.target.ssh_host, LINK.target.ssh_port)


def cut() -> dict[str, Any]:
    """Reset every connection through the lab's link (RST both ways); new ones too, until heal()."""
    return LAB.cut()


def blackhole() -> dict[str, Any]:
    """Keep the lab's link's connections open and forward nothing either way, until heal()."""
    return LAB.blackhole()


def heal() -> dict[str, Any]:
    """Open the lab's link again (held bytes flow on); its delay stays as set."""
    return LAB.heal()


def set_delay(ms: float) -> dict[str, Any]:
    """Set the lab's link's one-way delay (each direction; the round trip gains twice this)."""
    return LAB.set_delay(ms)


def state() -> dict[str, Any] | None:
    return LAB.state() if LAB.pid() is not None else None


def ensure(echo: Echo) -> None:
    """lab.up: the lab's link runs this code at its address, forwarding to its target, open, at its default delay
    (a link left cut or blackholed by an interrupted test is healed; a relay of other code is restarted)."""
    pid = LAB.pid()
    current = LAB.state() if pid is not None else None
    if pid is not None and (current is None or not _as_specified(current, pid)):
        LAB.stop()
        echo(f"{LINK.name}: link relay (pid {pid}) stopped: it ran other code, at another address, or lost its "
             "state file")
        current = None
    if current is None:
        _start(echo)
    elif (current["state"], current["delay_ms"]) != ("open", LINK.delay_ms):
        LAB.set(state="open", delay_ms=LINK.delay_ms)
        echo(f"{LINK.name}: link was {current['state']} at {current['delay_ms']:g} ms each way; now open at "
             f"{LINK.delay_ms:g} ms")
    else:
        echo(f"{LINK.name}: link already running on {_where()} (pid {current['pid']})")


def _as_specified(current: dict[str, Any], pid: int) -> bool:
    return (current.get("pid") == pid and current.get("code") == linkproto.CODE
            and current.get("listen") == {"host": LISTEN[0], "port": LISTEN[1]}
            and current.get("target") == {"host": TARGET[0], "port": TARGET[1]})


def _start(echo: Echo) -> None:
    if tcp_open(*LISTEN):
        raise LabError(f"{LINK.name}: {LISTEN[0]}:{LISTEN[1]} is already taken by another process (not this lab's "
                       f"link relay, per {LAB.pidfile}); free the port and run lab.up again", EXIT_INFRA)
    LAB.request(state="open", delay_ms=LINK.delay_ms)  # a new relay takes up the control file as it finds it
    started = LAB.start(LISTEN, TARGET, LINK.delay_ms, LINK.log)
    echo(f"{LINK.name}: link started on {_where()} (pid {started['pid']})")


def _where() -> str:
    return (f"{LISTEN[0]}:{LISTEN[1]} -> {LINK.target.name}'s sshd {TARGET[0]}:{TARGET[1]}, "
            f"{LINK.delay_ms:g} ms each way")


def stop(echo: Echo) -> None:
    """lab.down: stop the lab's link relay by its pid."""
    stopped = LAB.stop()
    echo(f"{LINK.name}: link relay stopped (pid {stopped})" if stopped else f"{LINK.name}: link relay not running")


def status() -> dict[str, Any]:
    """lab.status's `link` of the link's target host: where it listens, its state and how to control it."""
    pid = LAB.pid()
    current = LAB.state() if pid is not None else None
    return {
        "inventory_host": LINK.name,
        "address": {"host": LINK.listen_host, "port": LINK.listen_port},
        "delay_ms": current.get("delay_ms") if current else None,
        "state": current.get("state") if current else None,
        "up": current is not None,
        "pid": pid,
        "control_file": str(LAB.control_file),
        "state_file": str(LAB.state_file),
        "control": ("orchestrator.lab.link: cut(), blackhole(), heal(), set_delay(ms); or write control.json "
                    '{"generation": <state.json\'s + 1>, "state": "open|cut|blackhole", "delay_ms": N}'),
    }
