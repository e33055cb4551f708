"""The host side of `invoke prune`: each phase one POSIX sh script (NAME.sh beside this file), every user value
a quoted argument.

There is no volume prune anywhere in here, by design: the steps are fixed in STEP_COMMANDS and unit tests fail
if any text of this package could prune a volume (tests/unit/test_prune_parts.py, tests/unit/test_host_scripts.py).
"""

from __future__ import annotations

from orchestrator.host.shellcmd import load

# What each step runs; `$until` is the age filter. Dangling images go at any age (nothing can use them);
# other unused images, stopped containers and build cache only when older than --older-than.
# `$keep` is the inventory's prune_keep_label filter (`--filter label!=K`), or empty.
STEP_COMMANDS = {
    "stopped containers": 'docker container prune -f --filter "until=$until" $keep',
    "dangling images": "docker image prune -f $keep",
    "old unused images": 'docker image prune -a -f --filter "until=$until" $keep',
    "build cache": 'docker builder prune -f --filter "until=$until"',
}
# The line of prune.sh where the table's case arms go: the commands are ours, fixed, never user input.
STEPS_MARK = "    # STEP_COMMANDS: one arm per step, filled in from ops/prune/scripts when loaded\n"


def _with_functions(name: str) -> str:
    """The script with the shared functions in front: the host gets one self-contained text."""
    return load(__name__, "functions") + load(__name__, name)


def _prune() -> str:
    text = _with_functions("prune")
    if STEPS_MARK not in text:
        raise ValueError(f"prune.sh lost its line {STEPS_MARK.strip()!r}")
    arms = "".join(f'    "{name}") cmd=\'{command}\';;\n' for name, command in STEP_COMMANDS.items())
    return text.replace(STEPS_MARK, arms)


PRUNE = _prune()
STUCK = _with_functions("stuck")
KILL_PIDS = _with_functions("kill_pids")
DRY_RUN = load(__name__, "dry_run")
