"""What the link relay (relay.py) and its controllers (link.py) agree on: the files of its directory and the
content of control.json. Its own module so that link.py never imports relay.py: `python -m
orchestrator.lab.relay` runs that file as __main__, which must not already be imported by the package."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

CONTROL_FILE = "control.json"  # written by link.py (or by hand): what the link should be
STATE_FILE = "state.json"  # written by the relay: what it is, and the last control generation it applied
PID_FILE = "relay.pid"
STATES = ("open", "cut", "blackhole")
MAX_DELAY_MS = 60_000
# The relay's code, which it reports in state.json: lab.up restarts a relay started from other code.
CODE = hashlib.sha256(Path(__file__).with_name("relay.py").read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Control:
    generation: int = 0
    state: str = "open"
    delay_ms: float = 20.0  # one way, each direction


def parse_control(text: str) -> Control:
    """control.json's content; ValueError naming what is wrong."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("control must be a JSON object")
    control = Control(**{k: data[k] for k in ("generation", "state", "delay_ms") if k in data})
    if control.state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, not {control.state!r}")
    if isinstance(control.generation, bool) or not isinstance(control.generation, int):
        raise ValueError(f"generation must be an integer, not {control.generation!r}")
    if (isinstance(control.delay_ms, bool) or not isinstance(control.delay_ms, int | float)
            or not 0 <= control.delay_ms <= MAX_DELAY_MS):
        raise ValueError(f"delay_ms must be a number of milliseconds in 0..{MAX_DELAY_MS}, "
                         f"not {control.delay_ms!r}")
    return control
