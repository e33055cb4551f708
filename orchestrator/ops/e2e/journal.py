"""The write-ahead journal on the host: every mutation is recorded, with how to undo it, before it is made.

The journal lives on the host it protects (state_dir/journal.jsonl), so whoever reaches the host can
finish a restore, even after the orchestrator that started it died. Entries are JSON lines:
  begin     who, which run, which branch
  baseline  per host: the read-only command whose output restore must reproduce, and that output
  mutation  title, host, and `undo` (commands, run newest-first on restore) and `cleanup` (after verify)
  undone    a mutation's undo ran
An unfinished journal blocks new e2e runs; a verified restore moves it to state_dir/history/.
Entries never hold secret values: commands carry paths, names and image ids only.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.host import Host
from orchestrator.ops.e2e import scripts


@dataclass
class Command:
    """One command of a step or an undo. Our own host scripts are recorded by name and arguments, not by
    text, so a restore runs the current (possibly fixed) script; `command` holds raw shell from the
    inventory (e.g. a peer's reload)."""

    host: str  # inventory name of the host it runs on
    command: str
    timeout: float
    title: str
    env: dict[str, str] = field(default_factory=dict)
    script: str = ""  # a name in ops/e2e/scripts (scripts.BY_NAME)
    args: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.script:
            return self.command
        body = scripts.BY_NAME.get(self.script)
        if body is None:
            raise ValueError(f"unknown host script {self.script!r} in the journal")
        return scripts.call(body, *self.args)


def script(host: str, name: str, *args: str, timeout: float, title: str,
           env: dict[str, str] | None = None) -> Command:
    return Command(host, "", timeout, title, env or {}, name, [str(a) for a in args])


@dataclass
class Mutation:
    seq: int
    title: str
    host: str
    undo: list[Command]
    cleanup: list[Command]


class Journal:
    def __init__(self, host: Host, state_dir: str, run_id: str):
        self.host, self.state_dir, self.run_id = host, state_dir, run_id
        self.path = f"{state_dir}/journal.jsonl"
        self.seq = 0

    def append(self, op: str, **fields: Any) -> int:
        self.seq += 1
        entry = {"seq": self.seq, "op": op, "run_id": self.run_id, "ts": round(time.time(), 3), **fields}
        self.host.run(scripts.call(scripts.JOURNAL_APPEND, self.path, json.dumps(entry, sort_keys=True)))
        return self.seq

    def mutation(self, title: str, host: str, undo: list[Command], cleanup: list[Command] | None = None) -> int:
        return self.append("mutation", title=title, host=host, undo=[asdict(c) for c in undo],
                           cleanup=[asdict(c) for c in cleanup or []])

    def archive(self) -> None:
        history = f"{self.state_dir}/history/{self.run_id}.jsonl"
        self.host.run(scripts.call(scripts.JOURNAL_ARCHIVE, self.path, history,
                                   f"{self.state_dir}/runs/{self.run_id}"))


def read(host: Host, state_dir: str) -> list[dict[str, Any]]:
    """The entries of the unfinished journal ([] when there is none). A torn last line (the writer died
    mid-append) is ignored: its mutation had not started."""
    return parse(host.run(scripts.call(scripts.JOURNAL_READ, f"{state_dir}/journal.jsonl")).stdout)


def parse(text: str) -> list[dict[str, Any]]:
    """journal_read.sh's answer: the entries, a torn last line left out."""
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def mutations(entries: list[dict[str, Any]]) -> list[Mutation]:
    return [Mutation(e["seq"], e["title"], e["host"], [Command(**c) for c in e.get("undo", [])],
                     [Command(**c) for c in e.get("cleanup", [])]) for e in entries if e.get("op") == "mutation"]
