"""The lab's Woodpecker-compatible CI API (ciserver.py on 127.0.0.1:18700, controlled through ci.py), as `verify`
will meet it: real HTTP to the server lab.up started, driven by the state and token files. Every test that
changes the state or the token puts the seed (and the kept token) back in a `finally`, so the next one, and
`lab.up`, find the lab green."""

from __future__ import annotations

import base64
import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orchestrator import lab
from orchestrator.lab import ci, spec
from orchestrator.lab.errors import LabError
from orchestrator.lab.proc import write_if_changed
from tests.integration.labkit import invoke
from tests.waiting import wait_for

pytestmark = pytest.mark.lab

WRONG = "wrong-token-" + "x" * 32


@pytest.fixture
def seeded(lab_up: None) -> Iterator[dict[str, Any]]:
    """The seed for the deployed stack during the test, and again after it whatever the test wrote."""
    seed = ci.reset()
    try:
        yield seed
    finally:
        ci.reset()


@pytest.fixture
def client(seeded: dict[str, Any]) -> Iterator[httpx.Client]:
    """A client of the lab's CI API with the lab's token (no proxy: loopback only)."""
    with httpx.Client(base_url=spec.CI_URL, headers={"Authorization": f"Bearer {ci.token()}"}, trust_env=False,
                      timeout=10) as c:
        yield c


def numbers(items: list[dict[str, Any]]) -> list[int]:
    return [p["number"] for p in items]


def backend_with(pipelines: list[dict[str, Any]], seed: dict[str, Any]) -> dict[str, Any]:
    state = copy.deepcopy(seed)
    state["repos"][0]["pipelines"] = pipelines
    return state


def test_no_token_or_a_wrong_one_is_a_401_whose_body_and_log_do_not_repeat_it(client: httpx.Client) -> None:
    logged_before = spec.CI_LOG.stat().st_size
    bare = httpx.get(f"{spec.CI_URL}/api/repos/5/pipelines", trust_env=False, timeout=10)
    wrong = httpx.get(f"{spec.CI_URL}/api/repos/5/pipelines", headers={"Authorization": f"Bearer {WRONG}"},
                      trust_env=False, timeout=10)
    wrong_query = httpx.get(f"{spec.CI_URL}/api/repos/5/pipelines", params={"access_token": WRONG},
                            trust_env=False, timeout=10)
    assert [r.status_code for r in (bare, wrong, wrong_query)] == [401, 401, 401]
    assert all(WRONG not in r.text for r in (bare, wrong, wrong_query))
    assert client.get("/api/repos/5/pipelines", params={"access_token": ci.token()}).status_code == 200
    logged = wait_for(lambda: (text := spec.CI_LOG.read_bytes()[logged_before:].decode())
                      .count("GET /api/repos/5/pipelines ") >= 4 and text, "four requests in the access log",
                      timeout=10, interval=0.05)
    assert logged.count("GET /api/repos/5/pipelines 401") == 3, logged
    assert WRONG not in logged and ci.token() not in logged and "access_token" not in logged, logged


def test_lookup_gives_the_repo_by_its_full_name(client: httpx.Client) -> None:
    r = client.get("/api/repos/lookup/team/frontend")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    repo = r.json()
    assert {k: repo[k] for k in ("id", "full_name", "owner", "name", "default_branch")} == \
        {"id": 7, "full_name": "team/frontend", "owner": "team", "name": "frontend", "default_branch": "main"}
    assert client.get("/api/repos/lookup/team/nope").status_code == 404


def test_the_seed_is_every_repo_green_at_the_deployed_commit_newest_first(client: httpx.Client) -> None:
    commit, version = ci.deployed()
    for repo in spec.CI_REPOS:
        items = client.get(f"/api/repos/{repo.id}/pipelines").json()
        assert numbers(items) == [repo.number, repo.number - 1]
        assert all("workflows" not in p for p in items)
        assert (items[0]["commit"], items[0]["status"], items[0]["event"], items[0]["branch"]) == \
            (commit, "success", "push", "main")
        assert version in items[0]["message"] and items[1]["commit"] != commit
        latest = client.get(f"/api/repos/{repo.id}/pipelines/latest").json()
        assert latest["number"] == repo.number and latest["commit"] == commit
        assert [s["name"] for s in latest["workflows"][0]["children"]] == list(repo.steps)


def test_per_page_is_capped_at_50_and_the_next_page_has_the_rest(client: httpx.Client,
                                                               seeded: dict[str, Any]) -> None:
    template = seeded["repos"][0]["pipelines"][0]
    ci.write_state(backend_with([{**template, "id": 9000 + n, "number": n} for n in range(1, 61)], seeded))
    assert numbers(client.get("/api/repos/5/pipelines", params={"perPage": 100}).json()) == list(range(60, 10, -1))
    assert numbers(client.get("/api/repos/5/pipelines").json()) == list(range(60, 10, -1))
    assert numbers(client.get("/api/repos/5/pipelines", params={"page": 2}).json()) == list(range(10, 0, -1))
    assert numbers(client.get("/api/repos/5/pipelines", params={"page": 3, "perPage": 7}).json()) == \
        list(range(46, 39, -1))
    assert client.get("/api/repos/5/pipelines", params={"page": 9}).json() == []


def test_pipelines_filter_by_branch_and_event(client: httpx.Client, seeded: dict[str, Any]) -> None:
    newest, older = seeded["repos"][0]["pipelines"]
    pr = {**newest, "id": 5043, "number": 43, "event": "pull_request", "branch": "feature/x",
          "ref": "refs/pull/7/head", "status": "failure"}
    ci.write_state(backend_with([newest, older, pr], seeded))
    get = lambda **params: numbers(client.get("/api/repos/5/pipelines", params=params).json())  # noqa: E731
    assert get() == [43, 42, 41]
    assert get(branch="main") == get(event="push") == [42, 41]
    assert get(branch="feature/x") == get(event="pull_request") == get(status="failure") == [43]
    assert get(branch="main", event="pull_request") == []
    # latest: the newest *push* of the branch, never the newer pull request
    assert client.get("/api/repos/5/pipelines/latest").json()["number"] == 42
    assert client.get("/api/repos/5/pipelines/latest", params={"branch": "feature/x"}).status_code == 404


def test_one_pipeline_has_workflows_with_steps_and_no_log(client: httpx.Client) -> None:
    pipeline = client.get("/api/repos/5/pipelines/42").json()
    (workflow,) = pipeline["workflows"]
    assert {"id", "pid", "name", "state", "children"} <= set(workflow)
    steps = workflow["children"]
    assert [s["name"] for s in steps] == ["typecheck", "build-and-deploy", "notify"]
    for step in steps:
        assert {"id", "pid", "ppid", "name", "state", "exit_code", "error", "started", "finished"} <= set(step)
        assert "log" not in step and (step["state"], step["exit_code"]) == ("success", 0)
    assert client.get("/api/repos/5/pipelines/40").status_code == 404


def test_step_logs_are_base64_lines_found_by_step_id_not_pid(client: httpx.Client, seeded: dict[str, Any]) -> None:
    step = seeded["repos"][0]["pipelines"][0]["workflows"][0]["children"][1]
    assert step["id"] != step["pid"]
    lines = client.get(f"/api/repos/5/logs/42/{step['id']}").json()
    assert [base64.b64decode(e["data"]).decode() for e in lines] == step["log"]
    assert f"built version {ci.deployed()[1]}" in step["log"]
    assert all(e["step_id"] == step["id"] and e["type"] == 0 for e in lines)
    assert client.get(f"/api/repos/5/logs/42/{step['pid']}").status_code == 404


def test_the_state_file_is_read_again_on_every_request(client: httpx.Client, seeded: dict[str, Any]) -> None:
    pid = ci.pid()
    state = copy.deepcopy(seeded)
    newest = state["repos"][2]["pipelines"][0]
    newest["status"] = "failure"
    newest["workflows"][0]["state"] = "failure"
    step = newest["workflows"][0]["children"][1]
    step.update(state="failure", exit_code=1, log=["+ make test", "FAILED test_scan.py::test_bad - assert 1 == 2"])
    ci.write_state(state)
    assert client.get("/api/repos/8/pipelines/latest").json()["status"] == "failure"
    lines = client.get(f"/api/repos/8/logs/9/{step['id']}").json()
    assert "FAILED" in base64.b64decode(lines[1]["data"]).decode()
    spec.CI_STATE_FILE.write_text("{broken")
    broken = client.get("/api/repos/8/pipelines")
    assert broken.status_code == 500 and "malformed" in broken.json()["message"]
    ci.reset()
    assert client.get("/api/repos/8/pipelines/latest").json()["status"] == "success"
    assert ci.pid() == pid  # no restart


def test_a_new_token_file_takes_effect_at_the_next_request(client: httpx.Client) -> None:
    kept = ci.token()
    rotated = "rotated-" + "y" * 40
    try:
        write_if_changed(spec.CI_TOKEN_FILE, rotated + "\n", spec.CI_TOKEN_MODE)
        assert client.get("/api/repos/5").status_code == 401  # the client still sends the kept one
        assert client.get("/api/repos/5", headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
    finally:
        write_if_changed(spec.CI_TOKEN_FILE, kept + "\n", spec.CI_TOKEN_MODE)
    assert client.get("/api/repos/5").status_code == 200


def test_reset_puts_the_seed_back(seeded: dict[str, Any]) -> None:
    ci.write_state({"repos": []})
    assert ci.read_state() == {"repos": []}
    assert ci.reset() == seeded == ci.read_state() == ci.seed_state(*ci.deployed())


def test_lab_status_reports_the_ci_api_and_its_files_have_their_modes(seeded: dict[str, Any]) -> None:
    status = lab.status()["ci"]
    assert (status["url"], status["token_file"], status["state_file"]) == \
        ("http://127.0.0.1:18700", str(spec.CI_TOKEN_FILE), str(spec.CI_STATE_FILE))
    assert status["up"] is True and status["pid"] == ci.pid() is not None
    assert status["repos"] == [{"id": 5, "full_name": "team/backend"}, {"id": 7, "full_name": "team/frontend"},
                               {"id": 8, "full_name": "team/scanner"}]
    assert spec.CI_TOKEN_FILE.stat().st_mode & 0o777 == 0o600
    assert spec.CI_STATE_FILE.stat().st_mode & 0o777 == 0o644
    assert json.loads(spec.CI_STATE_FILE.read_text()) == seeded
    cli = invoke("lab.status", "--json")
    assert cli.rc == 0 and cli.json()["ci"]["url"] == spec.CI_URL
    table = invoke("lab.status")
    assert table.rc == 0 and spec.CI_URL in table.stdout


def test_lab_up_heals_a_red_state_and_restarts_a_stopped_server_keeping_the_token(
        seeded: dict[str, Any]) -> None:
    kept = ci.token()
    red = copy.deepcopy(seeded)
    red["repos"][0]["pipelines"][0]["status"] = "failure"
    ci.write_state(red)
    old = ci.pid()
    ci.stop(echo=lambda line: None)  # our own server, by its pid
    assert ci.pid() is None
    lines: list[str] = []
    lab.up(echo=lines.append)
    assert ci.read_state() == seeded and ci.token() == kept
    assert ci.pid() not in (None, old)
    assert any(line.startswith("ci: state set to the seed") for line in lines), lines
    assert any(line.startswith("ci: Woodpecker-compatible API started") for line in lines), lines
    with httpx.Client(base_url=spec.CI_URL, trust_env=False, timeout=10) as c:
        assert c.get("/api/repos/5/pipelines/latest", headers={"Authorization": f"Bearer {kept}"}).json()[
            "status"] == "success"


def test_ensure_names_the_port_when_another_process_holds_it(seeded: dict[str, Any]) -> None:
    ci.stop(echo=lambda line: None)
    try:
        with socket.create_server((spec.CI_HOST, spec.CI_PORT)) as squatter:
            squatter.listen()
            with pytest.raises(LabError, match=f"{spec.CI_HOST}:{spec.CI_PORT} is already taken"):
                ci.ensure(echo=lambda line: None)
    finally:
        ci.ensure(echo=lambda line: None)
    assert ci.status()["up"] is True
