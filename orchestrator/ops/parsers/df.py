"""`df -Pk` output: the POSIX format, one line per filesystem, sizes in KiB.

    Filesystem     1024-blocks      Used Available Capacity Mounted on
    /dev/vda         264212084  23999608  82391304      23% /
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    filesystem: str
    total_kb: int
    used_kb: int
    free_kb: int  # available to an unprivileged user (root's reserve left out)
    used_percent: int  # as df rounds it (up)
    mount: str  # the first word of the mount point


def parse_line(line: str) -> Usage | None:
    """One data line of `df -Pk`; None for the header, an error message or an empty line."""
    fields = line.split()
    if len(fields) < 6 or not all(f.isdigit() for f in fields[1:4]) or not fields[4].rstrip("%").isdigit():
        return None
    total, used, free = (int(f) for f in fields[1:4])
    return Usage(fields[0], total, used, free, int(fields[4].rstrip("%")), fields[5])
