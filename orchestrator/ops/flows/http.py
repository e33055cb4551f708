"""Sending one request of a flow: its latency kept (by route template), 429 answers waited out as Retry-After says
within the run's deadline, and a target that keeps refusing (or cannot be reached) ending the run as blocked."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from typing import Any

import httpx

from orchestrator.errors import InfraError
from orchestrator.ops.flows.model import Limits
from orchestrator.ops.flows.records import LevelRecord, RunRecord

DEFAULT_RETRY_AFTER = 1.0
MIN_WAIT = 0.05


class TargetBlocked(InfraError):
    """No verdict can be reached: the target is unreachable, keeps rate-limiting, or the deadline passed (exit 3)."""


@dataclass
class Answer:
    status: int  # 0: no answer (timed out, connection broken)
    body: Any
    text: str
    error: str = ""


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds a `Retry-After` header asks for: whole seconds or an HTTP date; absent or unreadable -> 1 s."""
    if value is None:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return max(float(value), MIN_WAIT)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(when - (time.time() if now is None else now), MIN_WAIT)


class Http:
    """One level's requests: one AsyncClient (one connection pool) shared by the level's workers."""

    def __init__(self, client: httpx.AsyncClient, level: LevelRecord, run: RunRecord, deadline: float,
                 limits: Limits):
        self.client, self.level, self.run = client, level, run
        self.deadline, self.limits = deadline, limits

    async def send(self, method: str, route: str, url: str, *, headers: dict[str, str], body: Any) -> Answer:
        consecutive = 0
        while True:
            response, ms = await self._once(method, url, headers, body)
            if isinstance(response, Answer):
                return response
            if response.status_code != 429:
                self.level.record(route, ms)
                return _answer(response)
            consecutive += 1
            self.run.rate_limited += 1
            await self._wait_out(route, consecutive, retry_after(response.headers.get("retry-after")))

    async def _once(self, method: str, url: str, headers: dict[str, str], body: Any
                    ) -> tuple[httpx.Response | Answer, float]:
        started = time.perf_counter()
        try:
            kwargs = {} if body is None else {"json": body}
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TargetBlocked(f"target {self.client.base_url} unreachable: {type(exc).__name__}: {exc}") from None
        except httpx.TimeoutException:
            return Answer(0, None, "", f"no answer within {self.limits.request_timeout:g}s"), 0.0
        except httpx.TransportError as exc:
            return Answer(0, None, "", f"{type(exc).__name__}: {exc}"), 0.0
        return response, (time.perf_counter() - started) * 1000

    async def _wait_out(self, route: str, consecutive: int, wait: float) -> None:
        advice = "the target is rate-limiting: run again in a fresh rate-limit window (or with fewer workers)"
        if consecutive >= self.limits.max_consecutive_429:
            raise TargetBlocked(f"rate limited out: {consecutive} consecutive 429 answers to {route}; {advice}")
        if time.monotonic() + wait > self.deadline:
            raise TargetBlocked(f"rate limited out: {route} answered 429 with Retry-After {wait:g}s, past the run's "
                                f"deadline; {advice}")
        self.run.rate_limit_wait += wait
        await asyncio.sleep(wait)


def _answer(response: httpx.Response) -> Answer:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    return Answer(response.status_code, body, response.text[:300])
