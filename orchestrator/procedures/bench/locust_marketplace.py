"""A locustfile for `invoke bench`'s flows table: the marketplace flow's `live` mode (playbooks/flows/marketplace.yml)
as Locust users, so Locust sends the same request mix as `invoke flow --flow marketplace`.

Not imported by shakedown: Locust runs it from its benchmark-only venv (.bench/locust-venv), e.g.

    ADMIN_EMAIL=.. ADMIN_PASSWORD=.. SHAKEDOWN_FLOW_ROUNDS=4 SHAKEDOWN_LOCUST_RESULT=out.json \
        locust -f locust_marketplace.py --headless -u 8 -r 1000 --host http://127.0.0.1:18110 --csv out \
        FastMarketplaceUser

Per user, SHAKEDOWN_FLOW_ROUNDS flows, each with its own fresh actors, one after another without think time, as
one `invoke flow` worker runs its rounds: the admin logs in, creates a buyer and two sellers, each logs in; the buyer
requests, seller 1 offers, the buyer lists the offers and selects one, reads the payment status and pays, the
legacy payments route is read, seller 1 delivers and the buyer confirms. After every state change the notification
checkpoint is polled as the flow does (GET /api/notifications every 0.1 s until found, at most 2 s; the wrong
recipient check is one look). A user that has run its flows stops; when the last one has, the runner quits (2 s
later, once Locust's once-a-second --csv writer has written the final stats), so both tools do the same work.
Requests are named by route template, as `invoke flow` groups its percentiles.

Written to SHAKEDOWN_LOCUST_RESULT at the end: the load phase's seconds (test start to the last flow's end), this
process's CPU seconds in it (getrusage), the requests sent and the flows passed and failed. Locust's own
figures (its rounded percentiles, requests/s) come from its --csv stats.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import time

import gevent
from locust import FastHttpUser, HttpUser, constant, events
from locust.exception import StopUser

ROUNDS = int(os.environ.get("SHAKEDOWN_FLOW_ROUNDS", "1"))
RESULT = os.environ.get("SHAKEDOWN_LOCUST_RESULT")
CHECKPOINT_DEADLINE = 2.0  # the flow's limits.checkpoint_deadline
POLL_INTERVAL = 0.1  # limits.poll_interval
CSV_SETTLE = 2.0  # seconds between the last flow's end and quitting (after the load phase: not in its figures)

_state = {"started": 0.0, "cpu": 0.0, "ended": 0.0, "cpu_end": 0.0, "requests": 0, "passed": 0, "failed": 0,
          "users_done": 0, "problems": []}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.test_start.add_listener
def _start(environment, **_kw) -> None:
    _state["started"], _state["cpu"] = time.perf_counter(), _cpu()


@events.request.add_listener
def _count(**_kw) -> None:
    _state["requests"] += 1


@events.quitting.add_listener
def _write(environment, **_kw) -> None:
    if not _state["ended"]:  # quit before every user finished (run time, Ctrl-C)
        _state["ended"], _state["cpu_end"] = time.perf_counter(), _cpu()
    if RESULT:
        out = {"seconds": _state["ended"] - _state["started"], "cpu_seconds": _state["cpu_end"] - _state["cpu"],
               "requests": _state["requests"], "flows_passed": _state["passed"], "flows_failed": _state["failed"],
               "users_done": _state["users_done"], "problems": _state["problems"][:5]}
        with open(RESULT, "w", encoding="utf-8") as fh:
            json.dump(out, fh)


class FlowFailed(Exception):
    pass


class MarketplaceFlow:
    """The flow's steps; mixed into a Locust user class (the HTTP client is the only difference)."""

    wait_time = constant(0)
    admin = (os.environ.get("ADMIN_EMAIL", ""), os.environ.get("ADMIN_PASSWORD", ""))

    def on_start(self) -> None:
        self.flows = 0

    def flow(self) -> None:
        self.missing: list[str] = []  # required checkpoints missed: the flow fails, but runs on (as ours)
        try:
            self.one_flow()
        except FlowFailed as exc:  # a request step answered what it should not: the flow stops here
            self.missing.append(str(exc))
        except Exception as exc:  # an answer without the JSON it needs: a failed flow too, never an endless user
            self.missing.append(f"{type(exc).__name__}: {exc}")
        _state["failed" if self.missing else "passed"] += 1
        _state["problems"] += self.missing
        self.flows += 1
        if self.flows >= ROUNDS:
            _state["users_done"] += 1
            if _state["users_done"] >= self.environment.runner.target_user_count:
                _state["ended"], _state["cpu_end"] = time.perf_counter(), _cpu()
                # Locust rewrites its --csv stats every second and not at exit: quit once they hold every request.
                gevent.spawn_later(CSV_SETTLE, self.environment.runner.quit)
            raise StopUser()

    tasks = [flow]  # not @task: Locust collects decorated tasks from a User class's own body, not a mixin's

    # -- one request, judged as the flow judges it -------------------------------------------------------------
    def call(self, method: str, route: str, path: str, token: str | None = None, body: object = None,
             status: int = 200, expect: dict[str, object] | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"json": body} if body is not None else {}
        response = self.client.request(method, path, headers=headers, name=route, **kwargs)
        if response.status_code != status:
            raise FlowFailed(f"{route}: expected {status}, got {response.status_code}")
        data = response.json() if response.content else {}
        for key, want in (expect or {}).items():
            value = data
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if str(value) != str(want):
                raise FlowFailed(f"{route}: {key} is {value!r}, expected {want!r}")
        return data

    def notifications(self, token: str) -> list:
        data = self.call("GET", "GET /api/notifications", "/api/notifications", token)
        items = data.get("items")
        return items if isinstance(items, list) else []

    def checkpoint(self, token: str, kind: str, related: str, known_gap: bool = False) -> None:
        """Poll until the actor has the notification or the deadline passes; a miss fails the flow unless it is a
        known gap, and the flow goes on either way (as `invoke flow` records a checkpoint and goes on)."""
        started = time.monotonic()
        while True:
            if any(i.get("type") == kind and i.get("relatedId") == related for i in self.notifications(token)):
                return
            if time.monotonic() - started >= CHECKPOINT_DEADLINE:
                if not known_gap:
                    self.missing.append(f"checkpoint {kind} {related}: missing")
                return
            gevent.sleep(POLL_INTERVAL)

    def one_flow(self) -> None:
        uniq = secrets.token_hex(6)
        admin_email, admin_password = self.admin
        admin = self.call("POST", "POST /api/auth/login", "/api/auth/login",
                          body={"email": admin_email, "password": admin_password})["token"]
        actors = {name: {"email": f"{name}-{uniq}@flow.test", "password": secrets.token_urlsafe(18), "role": role}
                  for name, role in (("buyer", "buyer"), ("seller1", "seller"), ("seller2", "seller"))}
        for a in actors.values():
            a["id"] = self.call("POST", "POST /api/admin/users", "/api/admin/users", admin, status=201,
                                body={"email": a["email"], "password": a["password"], "role": a["role"]})["id"]
        for a in actors.values():
            a["token"] = self.call("POST", "POST /api/auth/login", "/api/auth/login",
                                   body={"email": a["email"], "password": a["password"]},
                                   expect={"user.role": a["role"]})["token"]
        buyer, s1, s2 = actors["buyer"]["token"], actors["seller1"]["token"], actors["seller2"]["token"]
        request_id = self.call("POST", "POST /api/requests", "/api/requests", buyer, status=201,
                               body={"title": f"flow {uniq}",
                                     "sellerIds": [actors["seller1"]["id"], actors["seller2"]["id"]]})["id"]
        for seller in (s1, s2):
            self.checkpoint(seller, "request.created", request_id)
        offers = f"/api/requests/{request_id}/offers"
        offer_id = self.call("POST", "POST /api/requests/{request_id}/offers", offers, s1, status=201,
                             body={"price": 100})["id"]
        self.checkpoint(buyer, "offer.created", offer_id)
        listed = self.call("GET", "GET /api/requests/{request_id}/offers", offers, buyer)
        items = listed.get("items") or [{}]
        if str(items[0].get("sellerId")) != str(actors["seller1"]["id"]):
            raise FlowFailed("GET /api/requests/{request_id}/offers: items[0].sellerId is not seller 1's")
        self.call("POST", "POST /api/requests/{request_id}/selection", f"/api/requests/{request_id}/selection", buyer,
                  body={"offerId": offer_id}, expect={"status": "selected"})
        self.checkpoint(s1, "offer.accepted", offer_id, known_gap=True)
        if any(i.get("type") == "offer.accepted" for i in self.notifications(s2)):  # wrong recipient: one look
            self.missing.append("offer.accepted went to seller 2 too")
        self.call("GET", "GET /api/payments/{offer_id}/status", f"/api/payments/{offer_id}/status", buyer,
                  expect={"status": "pending"})
        self.call("POST", "POST /api/payments/{offer_id}", f"/api/payments/{offer_id}", buyer,
                  expect={"status": "paid"})
        self.checkpoint(s1, "payment.received", offer_id)
        with contextlib.suppress(FlowFailed):  # a checkpoint step and a known gap: neither stops nor fails the flow
            self.call("GET", "GET /api/legacy/payments", f"/api/legacy/payments?offerId={offer_id}", s1,
                      expect={"status": "paid"})
        self.call("POST", "POST /api/offers/{offer_id}/delivery", f"/api/offers/{offer_id}/delivery", s1,
                  expect={"status": "delivered"})
        self.checkpoint(buyer, "delivery.sent", offer_id)
        self.call("POST", "POST /api/offers/{offer_id}/confirmation", f"/api/offers/{offer_id}/confirmation", buyer,
                  expect={"status": "confirmed"})
        self.checkpoint(s1, "delivery.confirmed", offer_id)


class FastMarketplaceUser(MarketplaceFlow, FastHttpUser):
    """geventhttpclient: Locust's fast client."""


class MarketplaceUser(MarketplaceFlow, HttpUser):
    """python-requests: Locust's default client."""
