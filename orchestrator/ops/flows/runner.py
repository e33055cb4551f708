"""The concurrency ramp: for each level, that many workers each run `rounds` flows with their own fresh actors, in
parallel, each worker over its own httpx AsyncClient (one keep-alive connection, trust_env=False); levels one
after another.

A blocked target (unreachable, rate-limited out, the deadline passed) or --abort-on-failure cancels the level's
other workers and ends the run with what was recorded so far; Ctrl-C cancels them the same way (asyncio.run).
"""

from __future__ import annotations

import asyncio
import secrets as random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from orchestrator.ops.flows.flowrun import AbortRun, FlowRun
from orchestrator.ops.flows.http import Http, TargetBlocked
from orchestrator.ops.flows.model import Flow
from orchestrator.ops.flows.records import FlowRecord, LevelRecord, RunRecord

Progress = Callable[[str], None]


@dataclass
class Settings:
    base_url: str
    mode: str
    concurrency: list[int]
    rounds: int
    deadline: float  # seconds for the whole run
    strict: bool = False
    abort_on_failure: bool = False
    secrets: dict[str, str] = field(default_factory=dict)
    run_id: str = ""


def run(flow: Flow, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
        progress: Progress | None = None) -> RunRecord:
    """Run the ramp to its end (or its block/abort); Ctrl-C cancels every task and propagates."""
    return asyncio.run(ramp(flow, settings, transport=transport, progress=progress or (lambda line: None)))


async def ramp(flow: Flow, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
               progress: Progress = lambda line: None) -> RunRecord:
    record = RunRecord(flow.name, settings.mode, settings.base_url, settings.strict)
    deadline = time.monotonic() + settings.deadline
    for concurrency in settings.concurrency:
        level = LevelRecord(concurrency, settings.rounds)
        record.levels.append(level)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            async with asyncio.timeout_at(asyncio.get_running_loop().time() + deadline - time.monotonic()):
                await _level(flow, settings, _clients(flow, settings, level, record, deadline, transport),
                             level, progress)
        except TargetBlocked as exc:
            record.blocked = str(exc)
        except TimeoutError:
            record.blocked = (f"the run's deadline ({settings.deadline:g}s) passed at concurrency {concurrency} "
                              "before a verdict")
        except AbortRun as exc:
            record.aborted = str(exc)
        level.seconds, level.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        passed = sum(f.passed(settings.strict) for f in level.flows)
        progress(f"concurrency {concurrency}: {passed}/{len(level.flows)} flow(s) passed")
        if record.blocked or record.aborted:
            break
    return record


def _clients(flow: Flow, settings: Settings, level: LevelRecord, record: RunRecord, deadline: float,
             transport: httpx.AsyncBaseTransport | None) -> Callable[[], Http]:
    """Each worker its own AsyncClient with one keep-alive connection, as a real user has: one pool shared by
    every worker makes httpcore scan all its connections for every waiting request (quadratic in the workers)."""
    def make() -> Http:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        client = httpx.AsyncClient(base_url=settings.base_url, trust_env=False, limits=one, transport=transport,
                                   timeout=flow.limits.request_timeout)
        return Http(client, level, record, deadline, flow.limits)
    return make


async def _level(flow: Flow, settings: Settings, clients: Callable[[], Http], level: LevelRecord,
                 progress: Progress) -> None:
    workers = [asyncio.create_task(_worker(flow, settings, clients, level, w, progress))
               for w in range(1, level.concurrency + 1)]
    done, pending = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def _worker(flow: Flow, settings: Settings, clients: Callable[[], Http], level: LevelRecord, worker: int,
                  progress: Progress) -> None:
    http = clients()
    async with http.client:
        await _rounds(flow, settings, http, level, worker, progress)


async def _rounds(flow: Flow, settings: Settings, http: Http, level: LevelRecord, worker: int,
                  progress: Progress) -> None:
    for round_ in range(1, settings.rounds + 1):
        flow_record = FlowRecord(level.concurrency, worker, round_)
        given = _given(flow, settings, level.concurrency, worker, round_)
        try:
            await FlowRun(flow, settings.mode, http, given, strict=settings.strict,
                          abort_on_failure=settings.abort_on_failure).run(flow_record)
        except AbortRun:
            level.flows.append(flow_record)
            raise
        except BaseException:
            level.cancelled += 1
            raise
        level.flows.append(flow_record)
        verdict = "passed" if flow_record.passed(settings.strict) else "FAILED"
        progress(f"{flow_record.label}: {verdict} ({flow_record.requests} requests, {flow_record.seconds:.2f}s)"
                 + (f": {flow_record.failed_step}" if flow_record.failed_step else ""))


def _given(flow: Flow, settings: Settings, level: int, worker: int, round_: int) -> dict[str, Any]:
    return {"secrets": settings.secrets, "level": level, "worker": worker, "round": round_,
            "uniq": random.token_hex(6), "flow": flow.name, "run_id": settings.run_id}
