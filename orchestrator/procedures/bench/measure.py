"""Timing whole processes: wall time, CPU time (user + sys) and the peak memory (max RSS) of each, from the
kernel's rusage."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    seconds: float
    max_rss_kb: int  # of the process itself (its children report their own)
    exit_code: int
    output: str = ""  # stdout, for measurements that print their own figures
    cpu_seconds: float = 0.0  # user + sys of the process and the children it waited for (wait4's rusage)

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("output")
        return data


GNU_TIME = "/usr/bin/time"  # Debian package `time` (scripts/setup.sh installs it)


class BenchError(RuntimeError):
    """A measured command failed: its numbers would mean nothing."""


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float = 300, check: bool = True) -> Sample:
    """Run argv to completion; wall time from spawn to exit, CPU and max RSS from this child's own rusage (wait4).
    Under GNU time the rusage is time's, which includes the command it waited for (and time's own ~1 ms)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        # GNU time forks the command from its own tiny process: the kernel's max RSS of a child also
        # counts the pages it had before exec, so forking from this (large) Python would inflate it.
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if Path(GNU_TIME).exists() else list(argv)
        started = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)  # our own child, by its Popen handle
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen so it never waits again
        rss = _rss_from(rss_file.name) or usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(argv[:5])} … exited {proc.returncode}: {(stderr or stdout).strip()[-400:]}")
    return Sample(seconds, rss, proc.returncode, stdout, usage.ru_utime + usage.ru_stime)


def _rss_from(path: str) -> int:
    try:
        lines = Path(path).read_text().split()
        return int(lines[-1]) if lines and lines[-1].isdigit() else 0
    except OSError:
        return 0


def summary(samples: list[Sample]) -> dict[str, float]:
    times = [s.seconds for s in samples]
    return {"min": min(times), "median": statistics.median(times), "max": max(times),
            "max_rss_mb": max(s.max_rss_kb for s in samples) / 1024}
