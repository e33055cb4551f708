"""check, prune and triage fan out over hosts in parallel (--forks), through the engine's one executor.

Two local hosts whose `docker` is a barrier: each call marks its host and waits (bounded) for the other
host's mark. Run in parallel, both calls meet; run one host after the other, the first gives up alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BARRIER = """#!/bin/sh
me=$(basename "${DOCKER_HOST:-none}")
touch "$BARRIER_DIR/$me"
i=0
while [ $i -lt 50 ]; do
  if [ -e "$BARRIER_DIR/a" ] && [ -e "$BARRIER_DIR/b" ]; then touch "$BARRIER_DIR/met.$me"; break; fi
  sleep 0.1; i=$((i + 1))
done
echo '[]'
"""


def run_task(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "bin").mkdir()
    docker = tmp_path / "bin" / "docker"
    docker.write_text(BARRIER)
    docker.chmod(0o755)
    (tmp_path / "barrier").mkdir()
    hosts = "".join(f"""    {name}:
      ansible_connection: local
      docker_host: unix:///nonexistent/{name}
      compose_project: sample
      prune_lock_file: {tmp_path / name}.lock
""" for name in ("a", "b"))
    (tmp_path / "inv.yml").write_text(f"all:\n  hosts:\n{hosts}")
    for name in ("a", "b"):
        (tmp_path / f"{name}.lock").touch()
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "BARRIER_DIR": str(tmp_path / "barrier"),
           "SHAKEDOWN_ARTIFACTS": str(tmp_path / "artifacts")}
    return subprocess.run([sys.executable, "-m", "invoke", *argv, "--host", "a,b", "--inventory",
                           str(tmp_path / "inv.yml"), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("argv", [["triage"], ["prune", "--dry-run"], ["check"]], ids=lambda a: " ".join(a))
def test_hosts_run_in_parallel(tmp_path, argv):
    result = run_task(tmp_path, *argv)
    assert "Traceback" not in result.stderr, result.stderr
    met = sorted(p.name for p in (tmp_path / "barrier").glob("met.*"))
    assert met == ["met.a", "met.b"], f"hosts ran one after the other: {met}\n{result.stderr[-2000:]}"


def test_forks_1_runs_hosts_one_at_a_time(tmp_path):
    """The barrier has teeth: with --forks 1 the hosts cannot meet."""
    run_task(tmp_path, "check", "--forks", "1")
    marks = {p.name for p in (tmp_path / "barrier").iterdir()}
    assert {"a", "b"} <= marks, marks  # both hosts reached their docker call...
    assert len([m for m in marks if m.startswith("met.")]) < 2  # ...but never at the same time
