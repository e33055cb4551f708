"""The canary file (default playbooks/canaries.yml): pinned branches, expected verdicts, semantic assertions.

    canaries:
      - name: wrong-version                 # [A-Za-z0-9._-]+ (its run's folder)
        branch: feature-wrong-version
        commit: 0f3c...                     # 40 hex: the commit the branch must be at, else the run is refused
        expect: RED                         # GREEN (e2e exit 0) or RED (exit 1)
        flags: [--ready-timeout, "8"]       # e2e flags for this canary: --ready-timeout, --test-timeout, --mode
        assert:                             # over the e2e's report.json, host = --host
          - {check: version served, status: failed, reason: backend /api/version}
          - {test: backend reports VERSION, status: ok}     # test: NAME is the check `test: NAME`
          - {check: tests, present: false}                  # the check must not be in the report

Every mistake is bad input (exit 2) naming file:line, before any host is contacted.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config import yamlsrc
from orchestrator.errors import BadInput, did_you_mean
from orchestrator.gitref import validate_branch
from orchestrator.paths import PLAYBOOK_DIR

DEFAULT_FILE = PLAYBOOK_DIR / "canaries.yml"
VERDICTS = {"GREEN": 0, "RED": 1}
STATUSES = ("ok", "failed", "skipped", "error")
CANARY_KEYS = ("name", "branch", "commit", "expect", "flags", "assert")
ASSERT_KEYS = ("check", "test", "status", "reason", "present")
# e2e flags a canary may set, and what their value must look like: nothing that borrows another host, keeps
# the branch deployed, or changes what --json prints (the judge reads it).
FLAGS = {"--ready-timeout": re.compile(r"\d+(\.\d+)?"), "--test-timeout": re.compile(r"\d+(\.\d+)?"),
         "--mode": re.compile(r"check|targeted")}
_NAME = re.compile(r"[A-Za-z0-9._-]+")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Assertion:
    check: str  # the report's check name (`test: NAME` for a named test)
    status: str | None  # None: any status
    reason: str | None  # a substring the check's reason must hold
    present: bool
    where: str

    @property
    def text(self) -> str:
        if not self.present:
            return f"{self.check} absent"
        words = [self.check, self.status or "present"]
        if self.reason:
            words.append(f'~ "{self.reason}"')
        return " ".join(words)


@dataclass(frozen=True)
class Canary:
    name: str
    branch: str
    commit: str
    expect: str
    flags: list[str]
    assertions: list[Assertion]
    where: str
    commit_where: str = ""

    @property
    def expected_exit(self) -> int:
        return VERDICTS[self.expect]


@dataclass(frozen=True)
class Suite:
    path: Path
    sha256: str
    canaries: list[Canary] = field(default_factory=list)

    def select(self, names: list[str] | None) -> list[Canary]:
        """--canary NAME[,NAME]: those canaries, in file order; an unknown name is bad input listing the known."""
        if not names:
            return list(self.canaries)
        known = [c.name for c in self.canaries]
        for name in names:
            if name not in known:
                raise BadInput(f"--canary {name!r}: no such canary in {self.path}{did_you_mean(name, known)} "
                               f"(canaries: {', '.join(known)})")
        return [c for c in self.canaries if c.name in names]


def load(path: str | Path | None = None) -> Suite:
    path = Path(path) if path else DEFAULT_FILE
    data = yamlsrc.load(path)
    source = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("canaries"), list) or not data["canaries"]:
        raise BadInput(f"{yamlsrc.where(data, None, source + ':1')}: a canary file is a mapping with a non-empty "
                       "list `canaries`")
    yamlsrc.reject_unknown(data, ["canaries"], "key", f"{source}:1")
    canaries: list[Canary] = []
    for raw in data["canaries"]:
        canary = _canary(raw, source)
        if any(c.name == canary.name for c in canaries):
            raise BadInput(f"{canary.where}: canary name {canary.name!r} is used twice")
        canaries.append(canary)
    return Suite(path, hashlib.sha256(path.read_bytes()).hexdigest(), canaries)


def _canary(raw: Any, source: str) -> Canary:
    where = yamlsrc.where(raw, None, f"{source}:1")
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: a canary is a mapping ({', '.join(CANARY_KEYS)})")
    yamlsrc.reject_unknown(raw, CANARY_KEYS, "canary key", where)
    for key in ("name", "branch", "commit", "expect", "assert"):
        if key not in raw or raw[key] in (None, "", []):
            raise BadInput(f"{where}: canary needs `{key}`")
    name, branch, commit = str(raw["name"]), str(raw["branch"]), str(raw["commit"])
    if not _NAME.fullmatch(name):
        raise BadInput(f"{yamlsrc.where(raw, 'name', where)}: canary name {name!r} must be [A-Za-z0-9._-]+ "
                       "(it names the canary's run folder)")
    try:
        validate_branch(branch)
    except BadInput as exc:
        raise BadInput(f"{yamlsrc.where(raw, 'branch', where)}: {exc}") from None
    if not _COMMIT.fullmatch(commit):
        raise BadInput(f"{yamlsrc.where(raw, 'commit', where)}: commit must be a full 40-hex commit id, got "
                       f"{commit!r}")
    expect = str(raw["expect"])
    if expect not in VERDICTS:
        raise BadInput(f"{yamlsrc.where(raw, 'expect', where)}: expect must be GREEN or RED, got {expect!r}")
    flags = _flags(raw.get("flags") or [], yamlsrc.where(raw, "flags", where))
    if not isinstance(raw["assert"], list):
        raise BadInput(f"{yamlsrc.where(raw, 'assert', where)}: `assert` is a list of assertions")
    assertions = [_assertion(a, yamlsrc.where(raw, "assert", where)) for a in raw["assert"]]
    return Canary(name, branch, commit, expect, flags, assertions, where, yamlsrc.where(raw, "commit", where))


def _flags(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(f, str | int | float) for f in raw):
        raise BadInput(f"{where}: flags is a list of strings, e.g. [--ready-timeout, \"8\"]")
    words = [str(f) for f in raw]
    if len(words) % 2:
        raise BadInput(f"{where}: flags come in pairs (flag, value): {words}")
    for flag, value in zip(words[::2], words[1::2], strict=True):
        if flag not in FLAGS:
            raise BadInput(f"{where}: flag {flag!r} is not one a canary may set ({', '.join(FLAGS)})"
                           f"{did_you_mean(flag, list(FLAGS))}")
        if not FLAGS[flag].fullmatch(value):
            raise BadInput(f"{where}: {flag} {value!r} is not a valid value")
    return words


def _assertion(raw: Any, fallback: str) -> Assertion:
    where = yamlsrc.where(raw, None, fallback)
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: an assertion is a mapping: {{check: NAME | test: NAME, status, reason, present}}")
    yamlsrc.reject_unknown(raw, ASSERT_KEYS, "assertion key", where)
    if ("check" in raw) == ("test" in raw) or not (raw.get("check") or raw.get("test")):
        raise BadInput(f"{where}: an assertion names exactly one of `check` or `test`")
    name = str(raw["check"]) if "check" in raw else f"test: {raw['test']}"
    present = raw.get("present", True)
    if not isinstance(present, bool):
        raise BadInput(f"{yamlsrc.where(raw, 'present', where)}: present is true or false")
    status = raw.get("status")
    if status is not None and str(status) not in STATUSES:
        raise BadInput(f"{yamlsrc.where(raw, 'status', where)}: status must be one of {', '.join(STATUSES)}, "
                       f"got {status!r}")
    reason = raw.get("reason")
    if not present and (status is not None or reason is not None):
        raise BadInput(f"{where}: `present: false` takes no status or reason (an absent check has neither)")
    return Assertion(name, None if status is None else str(status), None if reason is None else str(reason),
                     present, where)
