"""prune's pieces that need no host: no volume is ever pruned, ages, sizes, the dry-run rules."""

from __future__ import annotations

import re

import pytest

from orchestrator.cli import flags
from orchestrator.errors import BadInput
from orchestrator.ops.prune import disk, dryrun, scripts


def _host_scripts() -> list[str]:
    from orchestrator.ops.e2e import scripts as e2e_scripts

    return [v for module in (scripts, e2e_scripts) for k, v in vars(module).items()
            if k.isupper() and isinstance(v, str)] + list(scripts.STEP_COMMANDS.values())


def test_no_command_we_send_can_prune_a_volume():
    """Volumes hold CI caches and data: no host script of ours may prune them, in any spelling."""
    texts = _host_scripts()
    assert len(texts) > 20
    for text in texts:
        assert not re.search(r"volume\s+(prune|rm)|--volumes|system\s+prune|\bdown\b[^\n]*\s-v\b", text), text


@pytest.mark.parametrize(("text", "seconds"), [("72h", 259200), ("30m", 1800), ("10s", 10), ("2d", 172800)])
def test_ages(text, seconds):
    assert flags.age("--older-than", text) == seconds


@pytest.mark.parametrize("text", ["", "72", "h", "1.5h", "-1h", "72h;rm -rf /", "1w"])
def test_bad_ages_are_bad_input(text):
    with pytest.raises(BadInput, match="--older-than"):
        flags.age("--older-than", text)


@pytest.mark.parametrize(("text", "size"), [("0B", 0), ("1.986MB", 1986000), ("12kB", 12000), ("2.5GB", 2500000000),
                                            ("3 GB", 3000000000), ("1KiB", 1024), ("", 0), ("garbage", 0)])
def test_docker_sizes(text, size):
    assert disk.to_bytes(text) == size


LISTING = """NOW 1000000
CONT|c-old-stopped|old-stopped|exited|1970-01-01 00:00:00 +0000 UTC|0B
CONT|c-new-stopped|new-stopped|exited|1970-01-12 13:46:39 +0000 UTC|0B
CONT|c-running|web|running|1970-01-01 00:00:00 +0000 UTC|0B
CONT|c-kept|warm|exited|1970-01-01 00:00:00 +0000 UTC|0B
USES|c-old-stopped|sha256:img-only-old-container
USES|c-running|sha256:img-web
USES|c-kept|sha256:img-kept
IMG|sha256:img-only-old-container|app:old|1970-01-01 00:00:00 +0000 UTC|10MB
IMG|sha256:img-web|web:1|1970-01-01 00:00:00 +0000 UTC|10MB
IMG|sha256:img-dangling|<none>:<none>|1970-01-01 00:00:00 +0000 UTC|5MB
IMG|sha256:img-fresh|app:new|1970-01-12 13:46:39 +0000 UTC|1MB
IMG|sha256:img-kept|warm:1|1970-01-01 00:00:00 +0000 UTC|1MB
DANGLING|sha256:img-dangling
KEEP|c-kept
KEEP|sha256:img-kept
SDF|Build Cache|3|12MB|4MB
"""


def test_dry_run_follows_the_engines_rules():
    plan = dryrun.from_listing(LISTING.splitlines(), age=3600)
    assert plan.containers == ["old-stopped (exited, 0B)"]  # not the fresh one, not the running or kept one
    assert plan.dangling == ["img-dangling (5MB)"]
    # used only by a container that would be pruned: counts as unused; fresh, in-use and kept images stay
    assert plan.images == ["app:old img-only-old (10MB)"]
    assert plan.build_cache == "4MB"


def test_disk_figures_parse_and_report_the_gain():
    lines = ["DF before /var/lib/docker /dev/vda 1000 600 400 60% /", "SDF before Images|3|1.2GB|800MB (66%)",
             "DF after /var/lib/docker /dev/vda 1000 500 500 50% /", "SDF after Images|1|400MB|0B (0%)"]
    figures = disk.parse(lines)
    assert figures["before"]["free_kb"] == 400 and figures["after"]["system_df"][0]["size"] == "400MB"
    record = disk.record(figures, 800_000_000)
    assert record.status == "ok" and "+102.4 kB free" in record.reason and "800.0 MB reclaimed" in record.reason


def test_a_long_running_prune_process_is_found_by_pid_and_ended_exactly(local_host, tmp_path):
    """Found by its command line, ended by pid (with its start time checked): a bystander survives."""
    import subprocess
    import sys

    from orchestrator.ops.prune import stuck
    from tests.waiting import wait_for

    sleeper = f"import time; time.sleep(60)  # {tmp_path.name}"  # unique: a concurrent run has its own
    # One process whose command line reads like a hung `docker image prune`, and one that does not.
    hung = subprocess.Popen([sys.executable, "-c", sleeper, "docker", "image", "prune", "-f"])
    bystander = subprocess.Popen([sys.executable, "-c", sleeper, "docker", "image", "ls"])
    try:
        def seen() -> list[stuck.Proc]:
            return [p for p in stuck.find(local_host, str(tmp_path / "lock"), 0)[0] if sleeper in p.command]
        found = wait_for(seen, "the hung prune to be seen", timeout=10)
        assert [p.pid for p in found] == [hung.pid] and found[0].kind == "prune"
        assert stuck.end(local_host, found) == {hung.pid: "ENDED"}
        assert hung.wait(timeout=10) == -15
        assert bystander.poll() is None
    finally:
        for proc in (hung, bystander):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
