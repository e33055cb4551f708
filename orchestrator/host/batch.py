"""Several read-only commands in one round trip (host/batch.sh), and the parser of its answer.

On a real network every round trip costs an RTT; a check's modules read a handful of facts each, so the
engine sends a run of read-only tasks as one batch and hands each module its own command's Result. The
reads run side by side on the host (they change nothing), so the batch costs its slowest read, not the sum.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from orchestrator.host.shellcmd import KILL_GRACE, call, load, seconds

BATCH = load("orchestrator.host", "batch")


@dataclass(frozen=True)
class Read:
    """One command of a batch: exactly the command line the module would have run, and its timeout."""
    command: str
    timeout: float


def command(reads: list[Read], boundary: str) -> str:
    args = [boundary]
    for read in reads:
        args += [seconds(read.timeout), read.command]
    return call(BATCH, *args)


def budget(reads: list[Read]) -> float:
    """The batch's own bound: the longest command's limit plus its kill grace (they run side by side)."""
    return max((r.timeout for r in reads), default=0) + KILL_GRACE + 5


def new_boundary() -> str:
    return f"--shakedown-batch-{secrets.token_hex(8)}--"


def parse(text: str, boundary: str, count: int) -> list[tuple[str, str, int] | None]:
    """(stdout, stderr, exit code) per command, None for one the answer does not hold (cut short)."""
    found: list[tuple[str, str, int] | None] = []
    rest = text
    for i in range(count):
        head = f"{boundary} {i} OUT\n"
        start = rest.find(head)
        rc_mark = f"\n{boundary} {i} RC "
        rc_at = rest.find(rc_mark, start + len(head)) if start >= 0 else -1
        end_mark = f"\n{boundary} {i} END\n"
        line_end = rest.find("\n", rc_at + len(rc_mark)) if rc_at >= 0 else -1
        end_at = rest.find(end_mark, line_end) if line_end >= 0 else -1
        if end_at < 0:
            found += [None] * (count - i)
            break
        code = rest[rc_at + len(rc_mark):line_end]
        found.append((rest[start + len(head):rc_at], rest[line_end + 1:end_at], int(code) if code.isdigit() else -1))
        rest = rest[end_at + len(end_mark):]
    return found

