"""A small Woodpecker API client: only the documented routes `verify` reads (docs: ../shared/design.md).

It speaks both v2 and v3: v2 names timestamps `created_at/started_at/finished_at` and has no server-side
list filters, so branch and event are also filtered here. The token travels only in the Authorization
header (never `access_token=` in a URL, which lands in access logs) and is registered with the redactor
before the first request, so an error that echoes it is redacted wherever it is shown.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from orchestrator import redact
from orchestrator.errors import InfraError

SUCCESS = "success"
FAILED = frozenset({"failure", "error", "killed", "canceled", "declined"})  # final, and not a success
NOT_FINAL = frozenset({"pending", "running", "blocked", "created"})
PER_PAGE = 50  # Woodpecker's maximum
MAX_PAGES = 4  # how far back a deployed commit is looked for (200 pipelines)


class CIUnavailable(InfraError):
    """The CI server could not give its word: unreachable, refused the token, or answered nonsense."""


def is_final(status: str) -> bool:
    """Final unless Woodpecker may still change it; an unknown status is not taken for final."""
    return status == SUCCESS or status in FAILED or status == "skipped"


@dataclass(frozen=True)
class Step:
    id: int
    name: str
    state: str
    exit_code: int | None


@dataclass(frozen=True)
class Pipeline:
    number: int
    status: str
    event: str
    branch: str
    commit: str
    ref: str
    created: int | None
    finished: int | None
    steps: tuple[Step, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> Pipeline:
        if not isinstance(raw, dict) or not isinstance(raw.get("number"), int):
            raise CIUnavailable(f"CI answered a pipeline without a number: {str(raw)[:200]}")
        steps = tuple(Step(int(s.get("id", 0)), str(s.get("name", "")), str(s.get("state", "")),
                           s.get("exit_code"))
                      for w in raw.get("workflows") or [] if isinstance(w, dict)
                      for s in w.get("children") or [] if isinstance(s, dict))
        return cls(raw["number"], str(raw.get("status", "")), str(raw.get("event", "")), str(raw.get("branch", "")),
                   str(raw.get("commit", "")), str(raw.get("ref", "")), _first(raw, "created", "created_at"),
                   _first(raw, "finished", "finished_at"), steps)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


def _first(raw: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        if isinstance(raw.get(key), int):
            return raw[key]
    return None


class Client:
    """GETs against one Woodpecker server; every request bounded by `timeout` seconds."""

    def __init__(self, url: str, token: str, timeout: float = 10.0, transport: Any = None):
        import httpx  # only verify needs it; kept off every other task's start-up

        redact.register({"CI token": token})
        self.url = url.rstrip("/")
        # trust_env=False: a proxy from the environment must not see the token (or break a loopback CI).
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"},
                                  timeout=timeout, trust_env=False, follow_redirects=False, transport=transport)
        self._errors = (httpx.HTTPError,)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.get(path, params=params)
        except self._errors as exc:
            raise CIUnavailable(f"CI server {self.url} unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code in (401, 403):
            # Worded so that no redaction pattern takes the status for a secret ("token: 401 ...").
            raise CIUnavailable(f"CI server {self.url} answered {response.status_code} {response.reason_phrase} "
                                f"for GET {path}: it refused the CI token (check ci.token_env and ci.token_file)")
        if response.status_code >= 400:
            raise CIUnavailable(f"CI server {self.url}: GET {path} answered {response.status_code}: "
                                f"{response.text.strip()[:200]}")
        try:
            return response.json()
        except ValueError:
            raise CIUnavailable(f"CI server {self.url}: GET {path} answered non-JSON: "
                                f"{response.text.strip()[:200]}") from None

    def pipelines(self, repo_id: int, page: int, *, branch: str | None = None,
                  event: str | None = None) -> list[Pipeline]:
        params: dict[str, Any] = {"page": page, "perPage": PER_PAGE}
        params.update({k: v for k, v in (("branch", branch), ("event", event)) if v})  # v3 filters; v2 ignores them
        items = self.get(f"/api/repos/{repo_id}/pipelines", params)
        if not isinstance(items, list):
            raise CIUnavailable(f"CI server {self.url}: the pipeline list of repo {repo_id} is not a list")
        return [Pipeline.parse(item) for item in items]

    def pipeline(self, repo_id: int, number: int) -> Pipeline:
        return Pipeline.parse(self.get(f"/api/repos/{repo_id}/pipelines/{number}"))

    def step_log(self, repo_id: int, number: int, step_id: int) -> list[str]:
        """The step's log lines, decoded (each line's `data` is base64)."""
        entries = self.get(f"/api/repos/{repo_id}/logs/{number}/{step_id}")
        return [_decode(e.get("data")) for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _decode(data: Any) -> str:
    if not isinstance(data, str):
        return ""
    try:
        return base64.b64decode(data).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return data  # an older server sending plain text: scan it as it is
