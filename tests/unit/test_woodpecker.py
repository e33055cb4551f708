"""The Woodpecker client and CI's word, against the API's documented shapes (recorded responses in
tests/unit/woodpecker/, v2 and v3 field names) served through httpx's MockTransport: no server process."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.ops.ci.watch import Repo, find, watch
from orchestrator.ops.ci.woodpecker import CIUnavailable, Client

RECORDED = Path(__file__).parent / "woodpecker"
TOKEN = "wp-token-9f8e7d6c5b4a"
BACKEND = Repo("backend", 5, match="commit", steps=("typecheck", "build-and-deploy", "notify"))
DEPLOYED = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text())


class FakeWoodpecker:
    """Woodpecker's routes over a dict of pipelines (number -> detail), as the API documents them."""

    def __init__(self, pipelines: list[dict[str, Any]], logs: dict[int, list[str]] | None = None):
        self.pipelines = {p["number"]: p for p in pipelines}
        self.logs = logs or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, text=f"Unauthorized: bad token {request.headers.get('Authorization')}")
        parts = request.url.path.strip("/").split("/")
        if parts[:2] != ["api", "repos"]:
            return httpx.Response(404)
        if parts[3:] == ["pipelines"]:
            page, per = int(request.url.params.get("page", 1)), int(request.url.params.get("perPage", 50))
            listed = sorted(self.pipelines.values(), key=lambda p: -p["number"])[(page - 1) * per:page * per]
            return httpx.Response(200, json=[{k: v for k, v in p.items() if k != "workflows"} for p in listed])
        if parts[3] == "pipelines" and len(parts) == 5:
            return httpx.Response(200, json=self.pipelines[int(parts[4])])
        if parts[3] == "logs":
            lines = self.logs.get(int(parts[5]), [])
            return httpx.Response(200, json=[{"id": i, "step_id": int(parts[5]), "time": i, "line": i, "type": 0,
                                              "data": base64.b64encode(ln.encode()).decode()}
                                             for i, ln in enumerate(lines)])
        return httpx.Response(404)


def client(server: FakeWoodpecker, token: str = TOKEN) -> Client:
    return Client("http://127.0.0.1:18700", token, transport=httpx.MockTransport(server))


def detail(number: int, commit: str, status: str = "success") -> dict[str, Any]:
    p = copy.deepcopy(recorded("pipeline_v2_success"))
    p.update(number=number, commit=commit, status=status)
    return p


def test_the_token_goes_in_the_header_only_and_a_refusal_names_401_without_echoing_it():
    server = FakeWoodpecker([recorded("pipeline_v2_success")])
    with client(server, token="wrong-token-123456") as c, pytest.raises(CIUnavailable) as caught:
        c.pipelines(5, 1)
    assert "answered 401 Unauthorized" in str(caught.value) and "refused the CI token" in str(caught.value)
    assert "wrong-token-123456" not in str(caught.value)
    assert all("token" not in str(r.url) for r in server.requests)  # never access_token= in a URL


def test_v2_and_v3_pipelines_parse_alike_and_logs_are_base64_by_step_id():
    server = FakeWoodpecker([recorded("pipeline_v2_success")], logs={802: ["+ make build", "built 1.4.2"]})
    with client(server) as c:
        p = c.pipeline(5, 41)
        assert (p.number, p.status, p.created, p.finished) == (41, "success", 1764470000, 1764470300)
        assert [s.name for s in p.steps] == ["typecheck", "build-and-deploy", "notify"]
        assert c.step_log(5, 41, p.step("build-and-deploy").id) == ["+ make build", "built 1.4.2"]
        assert server.requests[-1].url.path == "/api/repos/5/logs/41/802"  # the step's id, not its pid (3)


def test_the_deployed_commit_is_found_on_a_later_page_and_a_missing_one_is_reported_unmatched():
    older = [detail(n, f"{n:040x}") for n in range(1, 60)]
    server = FakeWoodpecker([*older, detail(60, DEPLOYED), detail(61, "f" * 40)])
    with client(server) as c:
        found, matched = find(c, BACKEND, DEPLOYED)
        assert (found.number, matched) == (60, True)
        deep, matched = find(c, BACKEND, f"{3:040x}")  # on page 2 of 50
        assert (deep.number, matched) == (3, True)
        newest, matched = find(c, BACKEND, "e" * 40)
        assert (newest.number, matched) == (61, False)


def test_list_items_of_other_branches_and_events_are_ignored_even_when_the_server_does_not_filter():
    page = recorded("pipelines_page")
    server = FakeWoodpecker([{**p, "workflows": []} for p in page])
    with client(server) as c:
        found, _ = find(c, Repo("backend", 5, branch="feature/x", event="push"), "")
    assert found is None  # #40 is a pull_request of feature/x: not a deploy


def test_a_killed_pipeline_fails_at_once_though_a_step_still_says_running():
    server = FakeWoodpecker([recorded("pipeline_killed")])
    commit = server.pipelines[42]["commit"]
    started = time.monotonic()
    with client(server) as c:
        (word,) = watch(c, [BACKEND], commit=commit, version="", wait=30, poll=5, secrets={})
    assert word.state == "fail" and "#42" in word.reason and "killed" in word.reason
    assert "still say build-and-deploy running, notify pending" in word.reason
    assert time.monotonic() - started < 5  # final: no poll interval waited, let alone the 30 s wait
    assert sum(r.url.path.endswith("/pipelines/42") for r in server.requests) == 1


def test_a_pipeline_still_running_when_the_wait_ends_is_blocked_never_a_pass():
    running = detail(42, DEPLOYED, "running")
    server = FakeWoodpecker([running])
    with client(server) as c:
        (word,) = watch(c, [BACKEND], commit=DEPLOYED, version="", wait=0.3, poll=0.05, secrets={})
    assert word.state == "blocked" and "still running after waiting 0.3s" in word.reason
    assert sum(r.url.path.endswith("/pipelines/42") for r in server.requests) >= 2  # it kept asking


def test_success_with_an_expected_step_missing_or_skipped_fails_naming_it():
    p = detail(41, DEPLOYED)
    p["workflows"][0]["children"] = [s for s in p["workflows"][0]["children"] if s["name"] != "notify"]
    p["workflows"][0]["children"][0]["state"] = "skipped"
    with client(FakeWoodpecker([p])) as c:
        (word,) = watch(c, [BACKEND], commit=DEPLOYED, version="", wait=1, poll=0.1, secrets={})
    assert word.state == "fail" and "typecheck skipped" in word.reason and "notify missing" in word.reason


def test_a_known_secret_in_a_step_log_is_a_hit_naming_the_place_not_the_value():
    server = FakeWoodpecker([detail(41, DEPLOYED)], logs={802: ["deploying", "auth with s3cr3t-value-77 ok"]})
    with client(server) as c:
        (word,) = watch(c, [BACKEND], commit=DEPLOYED, version="", wait=1, poll=0.1,
                        secrets={"s3cr3t-value-77": "SAMPLE_API_TOKEN"})
    assert word.state == "pass"
    assert word.secret_hits == [{"secret": "SAMPLE_API_TOKEN",
                                 "where": "CI backend pipeline #41 step build-and-deploy log, line 2"}]
    assert "s3cr3t-value-77" not in json.dumps(word.facts())


def test_a_version_match_takes_the_tag_pipeline_of_the_deployed_version():
    tag = {**detail(43, "c" * 40), "event": "tag", "ref": "refs/tags/v1.4.2", "branch": "v1.4.2"}
    server = FakeWoodpecker([detail(41, DEPLOYED), tag, detail(44, "d" * 40)])
    with client(server) as c:
        found, matched = find(c, Repo("backend", 5, event="tag", match="version"), "1.4.2")
    assert (found.number, matched) == (43, True)


def test_an_unreachable_server_is_blocked_with_the_reason():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
    with Client("http://127.0.0.1:9", TOKEN, transport=httpx.MockTransport(refuse)) as c:
        (word,) = watch(c, [BACKEND], commit=DEPLOYED, version="", wait=5, poll=1, secrets={})
    assert word.state == "blocked" and "unreachable" in word.reason and "ConnectError" in word.reason
