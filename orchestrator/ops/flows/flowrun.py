"""One flow, run by one worker with its own fresh actors: requests, captures, checkpoints, wrong recipients.

Actor passwords are generated here and tokens captured from answers; both live in this object's memory only and
are registered with the redactor the moment they exist, so nothing shown or written can hold them.
"""

from __future__ import annotations

import asyncio
import secrets as random
import time
from typing import Any

from orchestrator import redact
from orchestrator.ops.flows import jsonpath
from orchestrator.ops.flows.http import Answer, Http
from orchestrator.ops.flows.model import LOOP, Await, Flow, Request
from orchestrator.ops.flows.outcomes import fails, outcome
from orchestrator.ops.flows.records import CheckpointRecord, FlowRecord, WrongRecipientRecord
from orchestrator.templating import TemplateError, render

_counter = iter(range(1, 1 << 62))  # unique redactor keys: one key per value, or a later value replaces it


class StepFailed(Exception):
    """A required request answered what it should not: the flow fails and stops here."""


class AbortRun(Exception):
    """--abort-on-failure: a required checkpoint is missing; the run stops."""


class FlowRun:
    def __init__(self, flow: Flow, mode: str, http: Http, given: dict[str, Any], *, strict: bool,
                 abort_on_failure: bool):
        self.flow, self.mode, self.http = flow, mode, http
        self.strict, self.abort = strict, abort_on_failure
        self.vars: dict[str, Any] = dict(given)
        self.actors: dict[str, dict[str, Any]] = {}

    async def run(self, record: FlowRecord) -> None:
        self.record = record
        started = time.monotonic()
        try:
            self._make_actors()
            for step in self.flow.steps(self.mode):
                await (self._request(step) if isinstance(step, Request) else self._await(step))
        except StepFailed as exc:
            record.failed_step = redact.current().text(str(exc))
        finally:
            record.seconds = time.monotonic() - started
            record.ids = {k: v for k, v in self.vars.items() if k in self._captured() and not redact.looks_secret(k)}
            record.actors = {n: {"role": a["role"], "id": a.get("id")} for n, a in self.actors.items()}

    def _make_actors(self) -> None:
        uniq = self.vars["uniq"]
        for name, actor in self.flow.actors.items():
            email = self._render(actor.email, name) if actor.email else f"{name}-{uniq}@flow.test"
            password = self._render(actor.password, name) if actor.password else random.token_urlsafe(18)
            _secret(f"{name} password", password)
            self.actors[name] = {"name": name, "role": actor.role, "email": email, "password": password,
                                 "id": None, "token": None}
        self.vars.update(self.actors)

    def _captured(self) -> set[str]:
        return {k for step in self.flow.steps(self.mode) if isinstance(step, Request) for k in step.capture}

    def _render(self, value: Any, where: str, actor: str | None = None) -> Any:
        scope = {**self.vars, LOOP: self.actors[actor]} if actor else self.vars
        try:
            return render(value, scope)
        except TemplateError as exc:
            raise StepFailed(f"{where}: {exc}") from None

    async def _request(self, step: Request) -> None:
        for actor in step.for_each or (None,):
            who = self._who(step.as_actor, actor)
            answer = await self._send(step, who, actor)
            self.record.requests += 1
            problem = _judge(step, answer, self._render(step.expect, step.name, actor))
            label = f"{step.name} ({step.route}{' as ' + who if who else ''})"
            if step.checkpoint:
                self._checkpoint(step.checkpoint, who or "-", {"status": list(step.status), **step.expect},
                                 problem is None, problem or f"answered {answer.status}")
            elif problem:
                raise StepFailed(f"{label}: {problem}")
            if problem is None:
                self._capture(step, answer, actor, label)

    def _who(self, name: str | None, actor: str | None) -> str | None:
        return actor if name == LOOP else name

    async def _send(self, step: Request, who: str | None, actor: str | None) -> Answer:
        headers = {str(k): str(v) for k, v in self._render(step.headers, step.name, actor).items()}
        if who:
            token = self.actors[who].get("token")
            if not token:
                raise StepFailed(f"{step.name}: {who} has no token yet (no earlier step captured {who}.token)")
            headers["Authorization"] = f"Bearer {token}"
        url = self._render(step.path, step.name, actor)
        body = self._render(step.json, step.name, actor)
        return await self.http.send(step.method, step.route, url, headers=headers, body=body)

    def _capture(self, step: Request, answer: Answer, actor: str | None, label: str) -> None:
        for name, path in step.capture.items():
            try:
                value = jsonpath.evaluate(path, answer.body)
            except jsonpath.Missing as exc:
                raise StepFailed(f"{label}: capture {name}: {exc}") from None
            owner, _, attr = name.rpartition(".")
            if redact.looks_secret(attr or name):
                _secret(f"{owner or name} {attr}", str(value))
            if owner:
                self.actors[self._who(owner, actor) or owner][attr] = value
            else:
                self.vars[name] = value

    async def _await(self, step: Await) -> None:
        for actor in step.for_each or (None,):
            who = self._who(step.actor, actor) or ""
            find = self._render(step.find, step.id, actor)
            seconds = step.watch if step.wrong else step.deadline or self.flow.limits.checkpoint_deadline
            found, seen, unread, polls, took = await self._poll(who, find, seconds, stop_when_found=True)
            role = self.actors[who]["role"]
            if step.wrong:
                self.record.wrong.append(WrongRecipientRecord(step.id, who, role, len(found), find))
            else:
                detail = "found" if found else _missing(find, seen, polls, took)
                self._checkpoint(step.id, who, find, bool(found), detail, unread, polls, took)

    async def _poll(self, who: str, find: dict[str, Any], seconds: float, *, stop_when_found: bool
                    ) -> tuple[list[Any], list[Any], Any, int, float]:
        started = time.monotonic()
        polls, items, unread = 0, [], None
        while True:
            items, unread = await self._notifications(who)
            polls += 1
            found = [i for i in items if _matches(i, find)]
            if (found and stop_when_found) or time.monotonic() - started >= seconds:
                return found, items, unread, polls, time.monotonic() - started
            await asyncio.sleep(self.flow.limits.poll_interval)

    async def _notifications(self, who: str) -> tuple[list[Any], Any]:
        spec = self.flow.notifications
        token = self.actors[who].get("token")
        if not token:
            raise StepFailed(f"reading {who}'s notifications: {who} has no token yet")
        answer = await self.http.send("GET", f"GET {spec.path}", spec.path,
                                      headers={"Authorization": f"Bearer {token}"}, body=None)
        self.record.requests += 1
        try:
            items = jsonpath.evaluate(spec.items, answer.body) if answer.status == 200 else []
        except jsonpath.Missing:
            items = []
        try:
            unread = jsonpath.evaluate(spec.unread, answer.body) if answer.status == 200 else None
        except jsonpath.Missing:
            unread = None
        return (items if isinstance(items, list) else []), unread

    def _checkpoint(self, ident: str, who: str, expected: dict[str, Any], found: bool, detail: str,
                    unread: Any = None, polls: int = 0, took: float = 0.0) -> None:
        gap = self.flow.known_gaps.get(ident)
        what = outcome(found, gap is not None)
        role = self.actors[who]["role"] if who in self.actors else "-"
        self.record.checkpoints.append(CheckpointRecord(ident, who, role, what, expected, detail, unread, polls,
                                                        took, gap.defect if gap else None))
        if self.abort and fails(what, self.strict):
            raise AbortRun(f"{self.record.label}: required checkpoint {ident} ({who}) missing: {detail}")


def _secret(label: str, value: str) -> None:
    redact.register({f"flow {label} #{next(_counter)}": value})


def _judge(step: Request, answer: Answer, expect: dict[str, Any]) -> str | None:
    """Why the answer is not what the step expects (status, then each `expect` path's value), or None."""
    if answer.status not in step.status:
        got = answer.error or f"{answer.status} {answer.text[:160]!r}"
        return f"expected {'/'.join(map(str, step.status))}, got {got}"
    for path, want in expect.items():
        try:
            value = jsonpath.evaluate(path, answer.body)
        except jsonpath.Missing as exc:
            return str(exc)
        if str(value) != str(want):
            return f"{path} is {value!r}, expected {want!r}"
    return None


def _matches(item: Any, find: dict[str, Any]) -> bool:
    return isinstance(item, dict) and all(str(item.get(k)) == str(v) for k, v in find.items())


def _missing(find: dict[str, Any], items: list[Any], polls: int, took: float) -> str:
    kind = find.get("type")
    same = [i.get("relatedId") for i in items if isinstance(i, dict) and kind is not None and i.get("type") == kind]
    seen = f"seen {kind} with relatedId {same}" if same else f"no {kind} notification at all" if kind else "no match"
    return f"missing after {polls} polls in {took:.1f}s: {seen} ({len(items)} notification(s))"
