"""The lab's Woodpecker-compatible CI API without the lab: its pure request handling (ciserver.answer), the seed
(ci.seed_state), and one real server process on an ephemeral loopback port for what only a socket shows (the
access log, a malformed request line)."""

from __future__ import annotations

import base64
import copy
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.lab import ci, ciserver, spec
from orchestrator.lab.ciserver import answer
from tests.waiting import wait_for

TOKEN = "lab-token-0123456789abcdefghij"
COMMIT = "c0ffee" + "0" * 34
SEED = ci.seed_state(COMMIT, "1.4.2")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(path: str, query: str = "", headers: dict[str, str] | None = None, state: Any = None,
        token: str | None = TOKEN) -> tuple[int, Any]:
    return answer("GET", path, query, AUTH if headers is None else headers, SEED if state is None else state,
                  token)


def many_pipelines(count: int) -> dict[str, Any]:
    """The seed with backend's pipelines replaced by `count` of them, numbered 1..count in a shuffled order, every
    third one a pull_request on a feature branch."""
    state = copy.deepcopy(SEED)
    template = state["repos"][0]["pipelines"][0]
    numbers = sorted(range(1, count + 1), key=lambda n: (n * 7919) % count)
    state["repos"][0]["pipelines"] = [
        {**template, "id": 9000 + n, "number": n,
         **({"event": "pull_request", "branch": "feature"} if n % 3 == 0 else {})}
        for n in numbers]
    return state


# --- auth ---

@pytest.mark.parametrize("headers, query", [
    ({}, ""),
    ({"Authorization": "Bearer wrong-token-9876543210"}, ""),
    ({"Authorization": f"Basic {TOKEN}"}, ""),
    ({"Authorization": "Bearer "}, ""),
    ({}, "access_token=wrong-token-9876543210"),
    ({"Authorization": "Bearer wrong-token-9876543210"}, f"access_token={TOKEN}"),  # the header wins
])
def test_every_api_route_wants_the_token_and_a_401_repeats_nothing_presented(headers, query):
    for path in ("/api/repos/lookup/team/backend", "/api/repos/5/pipelines", "/api/repos/999/pipelines/1",
                 "/api/nothing"):
        status, body = get(path, query, headers)
        assert (status, body) == (401, {"message": "Unauthorized"})
        assert "wrong-token" not in json.dumps(body)


def test_the_token_is_taken_from_the_header_any_case_or_from_access_token():
    assert get("/api/repos/5", headers={"authorization": f"bearer {TOKEN}"})[0] == 200
    assert get("/api/repos/5", f"access_token={TOKEN}", headers={})[0] == 200


def test_no_token_file_or_an_empty_one_lets_nobody_in():
    assert get("/api/repos/5", token=None)[0] == 401
    assert get("/api/repos/5", headers={"Authorization": "Bearer "}, token="")[0] == 401
    assert get("/api/repos/5", f"access_token={TOKEN}", headers={}, token="")[0] == 401


def test_healthz_and_version_need_no_token_and_anything_else_is_a_404():
    assert get("/healthz", headers={}) == (204, None)
    status, body = get("/version", headers={})
    assert status == 200 and body["code"] == ciserver.CODE == ci.CODE
    assert get("/", headers={})[0] == 404 and get("/apix", headers={})[0] == 404
    assert get("/api/repos/5/secrets")[0] == 404 and get("/api/user")[0] == 404
    assert answer("POST", "/api/repos/5/pipelines", "", AUTH, SEED, TOKEN)[0] == 405


# --- repos ---

def test_lookup_gives_the_repo_with_owner_and_name_derived_and_no_pipelines():
    status, repo = get("/api/repos/lookup/team/backend")
    assert status == 200
    assert {k: repo[k] for k in ("id", "full_name", "owner", "name", "default_branch")} == \
        {"id": 5, "full_name": "team/backend", "owner": "team", "name": "backend", "default_branch": "main"}
    assert "pipelines" not in repo
    bare = {"repos": [{"id": 3, "full_name": "org/tool", "pipelines": []}]}
    assert {"owner": "org", "name": "tool", "id": 3}.items() <= get("/api/repos/lookup/org/tool", state=bare)[1].items()
    assert get("/api/repos/lookup/team/nope")[0] == 404 and get("/api/repos/lookup/team")[0] == 404
    assert get("/api/repos/3")[0] == 404 and get("/api/repos/x/pipelines")[0] == 400


# --- pipelines ---

def test_pipelines_are_newest_first_and_carry_no_workflows():
    status, items = get("/api/repos/5/pipelines")
    assert status == 200 and [p["number"] for p in items] == [42, 41]
    assert all("workflows" not in p for p in items)
    assert items[0]["commit"] == COMMIT and items[0]["status"] == "success" and "1.4.2" in items[0]["message"]


def test_per_page_is_capped_at_50_and_pages_start_at_1():
    state = many_pipelines(60)
    numbers = lambda query: [p["number"] for p in get("/api/repos/5/pipelines", query, state=state)[1]]  # noqa: E731
    assert numbers("") == list(range(60, 10, -1))
    assert numbers("perPage=100") == numbers("perPage=abc") == numbers("perPage=0") == list(range(60, 10, -1))
    assert numbers("page=2") == list(range(10, 0, -1))
    assert numbers("page=0&perPage=7") == numbers("page=1&perPage=7") == list(range(60, 53, -1))
    assert numbers("page=3&perPage=7") == list(range(46, 39, -1))
    assert numbers("page=99") == []


def test_pipelines_filter_by_branch_event_ref_and_status():
    state = many_pipelines(9)
    state["repos"][0]["pipelines"][0]["status"] = "failure"
    failed = state["repos"][0]["pipelines"][0]["number"]
    numbers = lambda query: [p["number"] for p in get("/api/repos/5/pipelines", query, state=state)[1]]  # noqa: E731
    assert numbers("branch=feature") == numbers("event=pull_request") == [9, 6, 3]
    assert numbers("branch=main&event=push") == [8, 7, 5, 4, 2, 1]
    assert numbers("status=failure") == [failed]
    assert numbers("ref=refs/heads/main") == list(range(9, 0, -1))  # the template's ref, kept by every one
    assert numbers("branch=") == list(range(9, 0, -1))  # an empty filter is no filter


def test_latest_is_the_newest_push_of_the_branch_with_its_workflows():
    state = many_pipelines(9)
    status, latest = get("/api/repos/5/pipelines/latest", state=state)
    assert status == 200 and latest["number"] == 8 and latest["workflows"]  # 9 is a pull_request
    assert get("/api/repos/5/pipelines/latest", "branch=feature", state=state)[0] == 404  # no push there
    assert get("/api/repos/5/pipelines/latest", "branch=main", state=state)[1]["number"] == 8


def test_one_pipeline_has_its_workflows_and_steps_but_no_step_log():
    status, pipeline = get("/api/repos/8/pipelines/9")
    assert status == 200 and pipeline["number"] == 9 and pipeline["commit"] == COMMIT
    (workflow,) = pipeline["workflows"]
    assert {"id", "pid", "name", "state", "children"} <= set(workflow)
    assert [s["name"] for s in workflow["children"]] == ["build", "test", "deploy"]
    for step in workflow["children"]:
        assert {"id", "pid", "ppid", "name", "state", "exit_code", "error", "started", "finished"} <= set(step)
        assert "log" not in step and step["state"] == "success" and step["exit_code"] == 0
    assert "log" in SEED["repos"][2]["pipelines"][0]["workflows"][0]["children"][0]  # the state file keeps it
    assert get("/api/repos/8/pipelines/1")[0] == 404 and get("/api/repos/8/pipelines/x")[0] == 400


def test_v2_field_names_pass_through_as_stored():
    state = copy.deepcopy(SEED)
    pipeline = state["repos"][0]["pipelines"][0]
    for new, old in (("created", "created_at"), ("started", "started_at"), ("finished", "finished_at")):
        pipeline[old] = pipeline.pop(new)
    step = pipeline["workflows"][0]["children"][0]
    step["start_time"], step["end_time"] = step.pop("started"), step.pop("finished")
    shown = get("/api/repos/5/pipelines/42", state=state)[1]
    assert {"created_at", "started_at", "finished_at"} <= set(shown) and "created" not in shown
    assert {"start_time", "end_time"} <= set(shown["workflows"][0]["children"][0])


# --- logs ---

def test_logs_are_base64_lines_by_step_id_not_pid():
    step = SEED["repos"][0]["pipelines"][0]["workflows"][0]["children"][1]  # backend 42: build-and-deploy
    assert step["id"] != step["pid"]
    status, lines = get(f"/api/repos/5/logs/42/{step['id']}")
    assert status == 200
    assert [base64.b64decode(e["data"]).decode() for e in lines] == step["log"]
    assert "built version 1.4.2" in step["log"]
    assert [(e["step_id"], e["line"], e["type"]) for e in lines] == [(step["id"], n, 0) for n in range(len(lines))]
    assert len({e["id"] for e in lines}) == len(lines)
    assert get(f"/api/repos/5/logs/42/{step['pid']}")[0] == 404
    assert get(f"/api/repos/5/logs/41/{step['id']}")[0] == 404  # a step of another pipeline


def test_a_non_ascii_log_line_is_base64_of_its_utf8_bytes():
    assert ciserver.log_entries({"id": 1, "log": ["héllo ✓"]})[0]["data"] == \
        base64.b64encode("héllo ✓".encode()).decode()
    assert ciserver.log_entries({"id": 1}) == []


# --- the state file ---

@pytest.mark.parametrize("state", [
    "{not json", "[]", '{"repos": {}}', '{"repos": [{"id": "5", "full_name": "team/backend"}]}',
    '{"repos": [{"id": 5, "full_name": "backend"}]}', '{"repos": [{"id": 5, "full_name": "a/b", "pipelines": [{}]}]}',
    '{"repos": [{"id": 5, "full_name": "a/b", "pipelines": [{"number": 1, "workflows": [{"children": 3}]}]}]}',
])
def test_a_malformed_state_file_is_a_500_naming_it_after_the_token_check(state):
    status, body = get("/api/repos/5/pipelines", state=state)
    assert status == 500 and body["message"].startswith("lab CI state file is malformed:")
    assert get("/api/repos/5/pipelines", headers={}, state=state)[0] == 401
    assert answer("GET", "/api/repos/5", "", AUTH, None, TOKEN)[0] == 500  # no state file at all


def test_the_state_is_accepted_as_text_too():
    assert get("/api/repos/7/pipelines", state=json.dumps(SEED))[1][0]["number"] == 18


def test_scrub_masks_the_token_and_any_access_token():
    assert ciserver.scrub(f"GET /x?a=1&access_token=abc&b=2 {TOKEN}", TOKEN) == "GET /x?a=1&access_token=***&b=2 ***"


# --- the seed ---

def test_the_seed_is_two_green_pushes_per_repo_the_newest_at_the_deployed_commit():
    assert ci.seed_state(COMMIT, "1.4.2") == SEED  # a pure function: lab.up rewrites only a changed file
    by_name = {r["full_name"]: r for r in SEED["repos"]}
    assert {name: r["id"] for name, r in by_name.items()} == {r.full_name: r.id for r in spec.CI_REPOS} == \
        {"team/backend": 5, "team/frontend": 7, "team/scanner": 8}
    assert [[p["number"] for p in r["pipelines"]] for r in SEED["repos"]] == [[42, 41], [18, 17], [9, 8]]
    for repo in spec.CI_REPOS:
        newest, older = by_name[repo.full_name]["pipelines"]
        assert newest["commit"] == COMMIT and "1.4.2" in newest["message"]
        assert len(older["commit"]) == 40 and older["commit"] != COMMIT
        int(older["commit"], 16)
        for p in (newest, older):
            assert (p["status"], p["event"], p["branch"], p["ref"]) == ("success", "push", "main", "refs/heads/main")
            assert p["created"] <= p["started"] <= p["finished"]
            (workflow,) = p["workflows"]
            assert tuple(s["name"] for s in workflow["children"]) == repo.steps
            assert all(s["id"] != s["pid"] and s["ppid"] == workflow["pid"] and s["log"] for s in workflow["children"])
    ids = [s["id"] for r in SEED["repos"] for p in r["pipelines"] for s in p["workflows"][0]["children"]]
    assert len(ids) == len(set(ids))


# --- a real server process, on an ephemeral port ---

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    (tmp_path / "state.json").write_text(json.dumps(SEED))
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = free_port()
    log = tmp_path / "log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.lab.ciserver", "--listen", f"127.0.0.1:{port}",
                                 "--dir", str(tmp_path), "--pidfile", str(tmp_path / "pid")],
                                stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: (tmp_path / "pid").exists(), "the server to listen", timeout=15, interval=0.02)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()  # our own child, by its pid
        proc.wait(10)


def test_the_access_log_has_path_and_status_but_no_token_or_query(server):
    url, log = server
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        wrong = client.get("/api/repos/5/pipelines", headers={"Authorization": "Bearer wrong-token-9876543210"})
        assert wrong.status_code == 401 and "wrong-token" not in wrong.text
        assert wrong.headers["content-type"] == "application/json"
        assert client.get("/api/repos/5/pipelines", params={"access_token": TOKEN, "page": "1"}).status_code == 200
        assert client.get("/api/repos/5/pipelines", headers=AUTH).status_code == 200
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(f"GET /api?access_token={TOKEN} HTTP/1.1 junk\r\n\r\n".encode())
        reply = sock.recv(4096).decode()  # http.server takes a malformed line for HTTP/0.9: a bare body
    assert "Bad Request" in reply and TOKEN not in reply
    text = wait_for(lambda: (t := log.read_text()).count(" GET /api/repos/5/pipelines ") == 3 and t,
                    "the access log to show three requests", timeout=10, interval=0.02)
    assert "GET /api/repos/5/pipelines 401" in text and "GET /api/repos/5/pipelines 200" in text
    assert TOKEN not in text and "wrong-token" not in text and "access_token" not in text and "page=" not in text


def test_the_server_refuses_a_non_loopback_address():
    proc = subprocess.run([sys.executable, "-m", "orchestrator.lab.ciserver", "--listen", "0.0.0.0:18799", "--dir",
                           "/nonexistent"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "not a loopback address" in proc.stderr
