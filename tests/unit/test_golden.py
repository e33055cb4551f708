"""Golden outputs: each host script paired with the parser of its output, pinned by fixtures.

tests/unit/golden/SCRIPT[.CASE].out is what SCRIPT.sh printed on a real host (README, "Host scripts");
SCRIPT[.CASE].json is what its parser makes of it. FORMAT[.CASE].out is the output of a command several
scripts run (df, docker inspect), read by its one parser in orchestrator/ops/parsers.

A parser change that changes the facts fails here; when the change is meant,
`SHAKEDOWN_GOLDEN=update pytest tests/unit/test_golden.py` rewrites the .json files (review their diff
like code).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.host import batch
from orchestrator.modules import docker, system, web
from orchestrator.ops import secretfiles
from orchestrator.ops.canaries import refs as canary_refs
from orchestrator.ops.e2e import baseline, deploy, journal, lease, preflight, testrun
from orchestrator.ops.matrix import applied, stackop
from orchestrator.ops.parsers import df, docker_inspect
from orchestrator.ops.prune import dryrun, pruning, scripts, stuck
from orchestrator.ops.triage import gather
from orchestrator.ops.verify import live

GOLDEN = Path(__file__).parent / "golden"
PACKAGE = Path(__file__).resolve().parents[2] / "orchestrator"
UPDATE = os.environ.get("SHAKEDOWN_GOLDEN") == "update"


def _plain(value: Any) -> Any:
    """JSON's view of a parser's result: dataclasses as dicts, tuples as lists, keys as strings."""
    return json.loads(json.dumps(value, default=lambda v: dataclasses.asdict(v)))


def _lease(held: lease.Lease | None) -> dict[str, Any] | None:
    return dataclasses.asdict(held) if held else None


def _take(text: str) -> dict[str, Any]:
    taken, holder = lease.parse_take(text)
    return {"taken": taken, "holder": _lease(holder)}


def _status(text: str) -> dict[str, Any]:
    held, now, first = lease.parse_status(text)
    return {"lease": _lease(held), "now": now, "journal": first}


def _poll(text: str) -> dict[str, Any]:
    rc, alive, data = testrun.parse_poll(text)
    return {"exit_code": rc, "alive": alive, "log": data.decode()}


def _prune(text: str) -> dict[str, Any]:
    # As the lab's agent prunes (lock, wait, one second per step); the exit code is left to the lines.
    done = pruning.outcome(text, "", 0, lock="/srv/ci/.ci-docker-prune.lock", lock_wait=1,
                           steps=list(scripts.STEP_COMMANDS), limit=1)
    return {"records": [r.public() for r in done.records], "disk": done.disk}


def _stuck(text: str) -> dict[str, Any]:
    found, holders = stuck.parse(text, threshold=1)
    return {"stuck": found, "holders": holders}


def _gather(text: str) -> dict[str, Any]:
    sections = gather.split(text)
    return {"sections": list(sections), "facts": gather.facts(sections, ["backend", "frontend", "scanner", "worker"])}


# Every host script whose output a parser reads, with that parser (dry_run: images and containers older than
# a minute count as old; the http probes' boundary is the one the fixture was captured with).
PARSERS: dict[str, Callable[[str], Any]] = {
    "preflight": preflight.parse,
    "lease_take": _take,
    "lease_read": _status,
    "journal_read": journal.parse,
    "capture": baseline.parse,
    "file_facts": baseline.parse,
    "test_poll": _poll,
    "deploy": deploy.parse,
    "prune": _prune,
    "stuck": _stuck,
    "kill_pids": stuck.parse_ended,
    "dry_run": lambda text: dryrun.from_listing(text.splitlines(), age=60).public(),
    "gather": _gather,
    "containers": docker.summaries,
    "disk": lambda text: system.disk_checks(text, limit=90),
    "http_probes": lambda text: web.parse_answers(text, "--shakedown-5f0c2a9e7d41b3c8--", 3),
    "secretfiles": secretfiles.parse,
    "refs": canary_refs.parse,
    "batch": lambda text: batch.parse(text, "--shakedown-batch-0123456789abcdef--", 4),
    # A made-up token (the fixture's scanner log and untracked .env.prod hold it; the lab's real one never).
    "matrix_apply": lambda text: {**applied.parse(text).public(), "output": applied.parse(text).output},
    "matrix_stack": lambda text: {**dataclasses.asdict(stackop.parse(text)),
                                  "not_restarted": stackop.parse(text).not_restarted()},
    "deployed_checkout": lambda text: live.parse(text, {"golden-token-5d2e9c": "SAMPLE_API_TOKEN"}, [".env"]).facts(),
}
# Output formats that several scripts print, each with its one parser.
FORMATS: dict[str, Callable[[str], Any]] = {
    "df": lambda text: [df.parse_line(line) for line in text.splitlines()],
    "docker_inspect": docker_inspect.containers,
}
# Scripts whose output no parser reads, and why: adding a script means deciding which list it joins.
UNPARSED = {
    "lease_release": "one word, returned as is", "sha256": "one word: the hash or ABSENT",
    "journal_append": "prints nothing", "journal_archive": "prints nothing", "protect_images": "prints nothing",
    "unprotect_images": "prints nothing", "drop_images": "prints nothing",
    "drop_build_leftovers": "REMOVED lines, for the log", "end_inflight": "prints nothing",
    "test_kill": "prints nothing", "peer_borrow": "prints nothing", "finalize": "prints nothing",
    "cancel": "prints nothing", "snapshot": "a count, for the log", "restore_files": "names, for the log",
    "peer_restore": "a name, for the log", "test_launch": "a pid, for the log",
    "redeploy_baseline": "compose's output, for the log", "track": "the wrapped command's own output",
    "check": "the benchmark times it", "functions": "not a script: put in front of prune's",
    "link_heal": "one word and the control generation, for the log",
}
CASES = sorted(p.name.removesuffix(".out") for p in GOLDEN.glob("*.out"))


def test_every_host_script_is_paired_with_its_parser_or_says_why_not():
    names = [p.stem for p in PACKAGE.rglob("*.sh")]
    assert len(names) == len(set(names)), "host script names must be unique: fixtures are named for them"
    assert set(names) == set(PARSERS) | set(UNPARSED)
    assert not set(PARSERS) & set(UNPARSED) and not set(FORMATS) & set(names)


@pytest.mark.parametrize("name", sorted({**PARSERS, **FORMATS}))
def test_every_parser_has_a_golden_output(name):
    assert any(case.split(".")[0] == name for case in CASES), f"no tests/unit/golden/{name}.out"


@pytest.mark.parametrize("case", CASES)
def test_golden_output_parses_into_its_facts(case):
    text = (GOLDEN / f"{case}.out").read_text(encoding="utf-8")
    facts = _plain({**PARSERS, **FORMATS}[case.split(".")[0]](text))
    expected = GOLDEN / f"{case}.json"
    if UPDATE:
        expected.write_text(json.dumps(facts, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    assert expected.exists(), f"run SHAKEDOWN_GOLDEN=update pytest {__file__} and review {expected.name}"
    assert facts == json.loads(expected.read_text(encoding="utf-8"))
