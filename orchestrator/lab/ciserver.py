"""The lab's Woodpecker-compatible CI API: a small HTTP server answering the documented Woodpecker routes.

    python -m orchestrator.lab.ciserver --listen 127.0.0.1:18700 --dir DIR [--pidfile FILE] [--daemon]

No real Woodpecker runs here, so this one answers what `verify` reads (docs/design.md, "Woodpecker CI API"),
with Woodpecker's own JSON field names and status values, from DIR/state.json:

    {"repos": [{"id": 5, "full_name": "team/backend", "pipelines": [PIPELINE, ...]}, ...]}

PIPELINE is Woodpecker's pipeline JSON (id, number, status, event, branch, commit, ref, message, author, created,
started, finished; v2's created_at/started_at/finished_at pass through as stored) with `workflows[]` ({id, pid,
name, state, children[]}); a step ({id, pid, ppid, name, state, exit_code, error, started, finished}) may carry
`"log": ["line", ...]`, served by the logs route and never in a pipeline. DIR/state.json and DIR/token are read
again on every request: a test sets any pipeline state, or a new token, by writing a file.

Routes (GET; JSON; every /api route wants `Authorization: Bearer <token>`, or Woodpecker's `access_token` query
parameter, else 401):

    /api/repos/lookup/{owner}/{name}               the repo
    /api/repos/{repo_id}                           the repo
    /api/repos/{repo_id}/pipelines                 newest first, no workflows; page (from 1), perPage (<= 50);
                                                   filters branch, event, ref, status (Woodpecker v3)
    /api/repos/{repo_id}/pipelines/latest          the newest `push` pipeline of ?branch= (default: the repo's)
    /api/repos/{repo_id}/pipelines/{number}        one pipeline with workflows[].children[]
    /api/repos/{repo_id}/logs/{number}/{step_id}   the step's log lines, by the step's `id` (not its `pid`),
                                                   each {id, step_id, time, line, data: base64, type: 0}
    /healthz (204), /version                       no token, as in Woodpecker

The access log (stderr, which ci.py points at the log file) has the method, the path without its query string
and the status: never a header, a query string or a token. Request handling is the pure function answer().
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import re
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .daemon import daemonize, loopback_address, serve_forever

TOKEN_FILE = "token"
STATE_FILE = "state.json"
MAX_PER_PAGE = 50  # Woodpecker's maxPageSize: a larger or invalid perPage gets this
PIPELINE_FILTERS = ("branch", "event", "ref", "status")
# This file's code, which /version reports: ci.py restarts a server started from other code.
CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
log = logging.getLogger("ciserver")  # a daemon's log (stderr, which ci.py points at the log file)

Answer = tuple[int, Any]  # (HTTP status, JSON body; None: no body)


class StateError(ValueError):
    """The state file does not have the shape the server serves (the message says where)."""


def _message(text: str) -> dict[str, str]:
    return {"message": text}


UNAUTHORIZED: Answer = (401, _message("Unauthorized"))
NOT_FOUND: Answer = (404, _message("Not Found"))


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a request presents, as Woodpecker reads it: the Authorization header's bearer token first,
    else the access_token query parameter."""
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization")
    if auth is not None:
        scheme, _, value = auth.strip().partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return query.get("access_token") or None


def authorized(presented: str | None, token: str | None) -> bool:
    if not presented or not token:  # no token file, or an empty one: nobody gets in
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def parse_query(query: str) -> dict[str, str]:
    """The first value of each parameter (Gin's c.Query)."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}


def parse_state(state: str | Mapping[str, Any] | None) -> dict[int, dict[str, Any]]:
    """The state file's repos by id; StateError naming what is wrong."""
    if state is None:
        raise StateError(f"no {STATE_FILE}")
    if isinstance(state, str):
        try:
            state = json.loads(state)
        except ValueError as exc:
            raise StateError(f"{STATE_FILE} is not JSON: {exc}") from None
    if not isinstance(state, Mapping) or not isinstance(state.get("repos"), list):
        raise StateError(f'{STATE_FILE} must be an object with a "repos" list')
    repos: dict[int, dict[str, Any]] = {}
    for i, repo in enumerate(state["repos"]):
        where = f"repos[{i}]"
        if not isinstance(repo, dict):
            raise StateError(f"{where} is not an object")
        if not _is_int(repo.get("id")):
            raise StateError(f"{where}.id must be an integer")
        if not isinstance(repo.get("full_name"), str) or "/" not in repo["full_name"]:
            raise StateError(f'{where}.full_name must be "owner/name"')
        pipelines = repo.get("pipelines", [])
        if not isinstance(pipelines, list):
            raise StateError(f"{where}.pipelines must be a list")
        for j, pipeline in enumerate(pipelines):
            if not isinstance(pipeline, dict) or not _is_int(pipeline.get("number")):
                raise StateError(f"{where}.pipelines[{j}] must be an object with an integer number")
            for k, workflow in enumerate(pipeline.get("workflows") or []):
                if not isinstance(workflow, dict) or not isinstance(workflow.get("children") or [], list) \
                        or not all(isinstance(step, dict) for step in workflow.get("children") or []):
                    raise StateError(f"{where}.pipelines[{j}].workflows[{k}] must be an object with a list of "
                                     "step objects as children")
        repos[repo["id"]] = repo
    return repos


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def repo_json(repo: Mapping[str, Any]) -> dict[str, Any]:
    """The repo as Woodpecker shows it: its stored fields (but its pipelines), owner and name derived from
    full_name when absent, default branch main."""
    owner, _, name = repo["full_name"].partition("/")
    shown = {"id": repo["id"], "forge_remote_id": str(repo["id"]), "owner": owner, "name": name,
             "full_name": repo["full_name"], "default_branch": "main", "scm": "git", "private": True,
             "visibility": "private", "active": True}
    shown.update({k: v for k, v in repo.items() if k != "pipelines"})
    return shown


def pipeline_json(pipeline: Mapping[str, Any], workflows: bool) -> dict[str, Any]:
    """A pipeline as Woodpecker shows it: with its workflows (each step without its `log`), or without any
    (list items)."""
    shown = {k: v for k, v in pipeline.items() if k != "workflows"}
    if workflows:
        shown["workflows"] = [
            {**wf, "children": [{k: v for k, v in step.items() if k != "log"} for step in wf.get("children") or []]}
            for wf in pipeline.get("workflows") or []
        ]
    return shown


def newest_first(pipelines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(pipelines, key=lambda p: p["number"], reverse=True)


def page_of(query: Mapping[str, str]) -> tuple[int, int]:
    """(page, perPage) as Woodpecker's session.Pagination reads them: page from 1; perPage at most 50, and 50
    when missing, invalid or out of range."""
    page = _int(query.get("page"))
    per_page = _int(query.get("perPage"))
    return (page if page is not None and page >= 1 else 1,
            per_page if per_page is not None and 1 <= per_page <= MAX_PER_PAGE else MAX_PER_PAGE)


def _int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"[+-]?\d+", text.strip()):
        return None
    return int(text)


def filter_pipelines(pipelines: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """Woodpecker v3's list filters: each given (non-empty) one must match exactly."""
    wanted = {k: query[k] for k in PIPELINE_FILTERS if query.get(k)}
    return [p for p in pipelines if all(str(p.get(k, "")) == v for k, v in wanted.items())]


def log_entries(step: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The step's log as Woodpecker's LogEntry list: one entry per line, `data` the line's bytes in base64."""
    lines = step.get("log") or []
    return [{"id": step["id"] * 10_000 + n + 1, "step_id": step["id"], "time": n, "line": n,
             "data": base64.b64encode(str(text).encode()).decode("ascii"), "type": 0}
            for n, text in enumerate(lines)]


def answer(method: str, path: str, query: str, headers: Mapping[str, str],
           state: str | Mapping[str, Any] | None, token: str | None) -> Answer:
    """One request's (status, JSON body). `state` is the state file's text (or its parsed content, or None if it
    is missing), `token` the token file's (None if missing). Never puts the presented token in a body."""
    if method != "GET":
        return 405, _message("Method Not Allowed")
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    if parts == ["healthz"]:
        return 204, None
    if parts == ["version"]:
        return 200, {"source": "shakedown lab (orchestrator/lab/ciserver.py)", "version": "lab", "code": CODE}
    if parts[:1] != ["api"]:
        return NOT_FOUND
    params = parse_query(query)
    if not authorized(presented_token(headers, params), token):
        return UNAUTHORIZED
    try:
        repos = parse_state(state)
    except StateError as exc:
        return 500, _message(f"lab CI state file is malformed: {exc}")
    return _route(parts[1:], params, repos)


def _route(parts: list[str], query: Mapping[str, str], repos: Mapping[int, dict[str, Any]]) -> Answer:
    if parts[:1] != ["repos"] or len(parts) < 2:
        return NOT_FOUND
    if parts[1] == "lookup":
        full_name = "/".join(parts[2:]).lower()  # Woodpecker's *repo_full_name: owner/name, any depth
        found = next((r for r in repos.values() if r["full_name"].lower() == full_name), None)
        return (200, repo_json(found)) if found is not None else NOT_FOUND
    repo_id = _int(parts[1])
    if repo_id is None:
        return 400, _message("invalid repo id")
    repo = repos.get(repo_id)
    if repo is None:
        return NOT_FOUND
    rest = parts[2:]
    pipelines: list[dict[str, Any]] = newest_first(repo.get("pipelines", []))
    if not rest:
        return 200, repo_json(repo)
    if rest == ["pipelines"]:
        page, per_page = page_of(query)
        chosen = filter_pipelines(pipelines, query)[(page - 1) * per_page:page * per_page]
        return 200, [pipeline_json(p, workflows=False) for p in chosen]
    if rest == ["pipelines", "latest"]:
        branch = query.get("branch") or repo_json(repo)["default_branch"]
        latest = next((p for p in pipelines if p.get("event") == "push" and p.get("branch") == branch), None)
        return (200, pipeline_json(latest, workflows=True)) if latest is not None else NOT_FOUND
    if len(rest) == 2 and rest[0] == "pipelines":
        pipeline, error = _pipeline(pipelines, rest[1])
        return error or (200, pipeline_json(pipeline, workflows=True))
    if len(rest) == 3 and rest[0] == "logs":
        pipeline, error = _pipeline(pipelines, rest[1])
        if error:
            return error
        step_id = _int(rest[2])
        if step_id is None:
            return 400, _message("invalid step id")
        steps = (step for wf in pipeline.get("workflows") or [] for step in wf.get("children") or [])
        step = next((s for s in steps if s.get("id") == step_id), None)
        return (200, log_entries(step)) if step is not None else NOT_FOUND
    return NOT_FOUND


def _pipeline(pipelines: list[dict[str, Any]], number_text: str) -> tuple[dict[str, Any], Answer | None]:
    number = _int(number_text)
    if number is None:
        return {}, (400, _message("invalid pipeline number"))
    found = next((p for p in pipelines if p["number"] == number), None)
    return (found, None) if found is not None else ({}, NOT_FOUND)


def scrub(text: str, token: str | None) -> str:
    """A log line with no token: the token file's value, and any access_token parameter, masked."""
    if token:
        text = text.replace(token, "***")
    return re.sub(r"(access_token=)[^&\s'\"]*", r"\1***", text)


class Handler(BaseHTTPRequestHandler):
    server: CiServer
    protocol_version = "HTTP/1.1"
    server_version = "shakedown-lab-ci"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection frees its thread

    def do_GET(self) -> None:
        self._answer()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # 405 from answer()

    def _answer(self) -> None:
        token = _read(self.server.dir / TOKEN_FILE)
        token = token.strip() if token is not None else None
        path, _, query = self.path.partition("?")
        status, body = answer(self.command, path, query, self.headers, _read(self.server.dir / STATE_FILE), token)
        if status == 500:
            log.error("%s %s: %s", self.command, path, scrub(body["message"], token))
        elif status == 401 and token is None:
            log.warning("no token file in %s: every /api request is refused", self.server.dir)
        data = b"" if body is None else json.dumps(body).encode() + b"\n"
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        log.info("%s %s %s %d", self.client_address[0], self.command, scrub(path, token), status)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, ...): a short JSON body that repeats nothing of
        the request."""
        body = json.dumps(_message(self.responses.get(code, ("Error",))[0])).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _answer logs each request its own way (http.server's line has the query string)

    def log_message(self, format: str, *args: Any) -> None:
        token = _read(self.server.dir / TOKEN_FILE)
        log.warning("%s: %s", self.client_address[0], scrub(format % args, token.strip() if token else None))


class CiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], directory: Path):
        self.dir = directory
        super().__init__(listen, Handler)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def serve(listen: tuple[str, int], directory: Path, pidfile: Path | None, ready_fd: int | None = None) -> None:
    try:
        server = CiServer(listen, directory)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", *listen, exc.strerror)
        raise SystemExit(1) from None
    host, port = server.server_address[:2]
    log.info("listening on %s:%d, serving %s (code %s)", host, port, directory / STATE_FILE, CODE)
    serve_forever(server, pidfile, ready_fd)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.lab.ciserver", description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=loopback_address, required=True, help="loopback HOST:PORT (port 0: any free)")
    parser.add_argument("--dir", type=Path, required=True, help="directory of token and state.json")
    parser.add_argument("--pidfile", type=Path, help="written once the server listens")
    parser.add_argument("--daemon", action="store_true", help="detach; exit 0 once listening, 1 if it cannot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ciserver[%(process)d] %(levelname)s %(message)s")
    ready_fd = daemonize() if args.daemon else None
    serve(args.listen, args.dir, args.pidfile, ready_fd)


if __name__ == "__main__":
    main()
