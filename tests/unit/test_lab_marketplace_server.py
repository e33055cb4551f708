"""The lab's marketplace API without the lab: its pure request handling (Marketplace.answer) on every route, with
every role, each known defect and the rate limit; the config's shape; and one real server process on an ephemeral
loopback port for what only a socket shows (keep-alive, Content-Length, the access log)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.lab import marketplace_server as ms
from orchestrator.lab.marketplace_server import Answer, ConfigError, Marketplace, default_config, parse_config
from tests.waiting import wait_for

ADMIN_EMAIL = "admin@lab.test"
ADMIN_PASSWORD = "admin-password-0123456789"
ID = re.compile(r"(usr|req|off|ntf)_[0-9a-f]{24}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """A marketplace with an admin, a buyer and two sellers logged in, and the config every call uses."""

    market: Marketplace
    clock: Clock
    config: dict[str, Any]
    tokens: dict[str, str]
    ids: dict[str, str]

    def call(self, method: str, path: str, who: str | None = None, body: Any = None, query: str = "",
             raw: bytes | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.market.answer(method, path, query, headers, data, self.config)

    def ok(self, method: str, path: str, who: str | None = None, body: Any = None, status: int = 200,
           query: str = "") -> Any:
        answer = self.call(method, path, who, body, query)
        assert answer.status == status, (method, path, who, answer)
        return answer.body

    def defect(self, name: str) -> None:
        self.config = parse_config({"defects": {name: True}})

    def notes(self, who: str) -> list[dict[str, Any]]:
        return self.ok("GET", "/api/notifications", who)["items"]

    def request(self, sellers: tuple[str, ...] = ("seller", "seller2")) -> dict[str, Any]:
        return self.ok("POST", "/api/requests", "buyer", {"title": "two pallets of bricks",
                                                          "sellerIds": [self.ids[s] for s in sellers]}, 201)

    def selected_offer(self) -> dict[str, Any]:
        request = self.request()
        offer = self.ok("POST", f"/api/requests/{request['id']}/offers", "seller", {"price": 120}, 201)
        self.ok("POST", f"/api/requests/{request['id']}/selection", "buyer", {"offerId": offer["id"]})
        return offer


@pytest.fixture
def world() -> World:
    clock = Clock()
    market = Marketplace(ADMIN_EMAIL, ADMIN_PASSWORD, clock=clock)
    w = World(market, clock, default_config(), {}, {})
    w.tokens["admin"] = w.ok("POST", "/api/auth/login", body={"email": ADMIN_EMAIL,
                                                              "password": ADMIN_PASSWORD})["token"]
    for name, role in (("buyer", "buyer"), ("buyer2", "buyer"), ("seller", "seller"), ("seller2", "seller"),
                       ("seller3", "seller")):
        user = w.ok("POST", "/api/admin/users", "admin", {"email": f"{name}@lab.test", "password": f"pw-{name}",
                                                          "role": role}, 201)
        w.ids[name] = user["id"]
        w.tokens[name] = w.ok("POST", "/api/auth/login", body={"email": f"{name}@lab.test",
                                                                "password": f"pw-{name}"})["token"]
    return w


# --- health, login, me, users ---

def test_healthz_needs_no_token_and_is_never_rate_limited(world: World) -> None:
    world.config = parse_config({"rate_limit": {"requests": 1, "window_seconds": 10}})
    assert [world.call("GET", "/healthz").status for _ in range(5)] == [204] * 5
    assert world.call("GET", "/healthz").body is None


def test_login_gives_a_random_token_and_the_user(world: World) -> None:
    body = world.ok("POST", "/api/auth/login", body={"email": "buyer@lab.test", "password": "pw-buyer"})
    assert body["user"] == {"id": world.ids["buyer"], "email": "buyer@lab.test", "role": "buyer"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", body["token"]) and body["token"] != world.tokens["buyer"]
    assert world.ok("GET", "/api/me", "admin")["role"] == "admin"


@pytest.mark.parametrize("body, status", [
    ({"email": "buyer@lab.test", "password": "wrong"}, 401),
    ({"email": "nobody@lab.test", "password": "pw-buyer"}, 401),
    ({"email": "buyer@lab.test"}, 400),
    (["buyer@lab.test", "pw-buyer"], 400),
])
def test_bad_credentials_are_401_and_a_bad_body_400(world: World, body: Any, status: int) -> None:
    answer = world.call("POST", "/api/auth/login", body=body)
    assert answer.status == status and set(answer.body) == {"error"}
    assert "pw-buyer" not in json.dumps(answer.body)


def test_a_body_that_is_not_json_is_400(world: World) -> None:
    assert world.call("POST", "/api/auth/login", raw=b"{not json").status == 400


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope-0123456789"}, {"Authorization": "Basic x"},
                                     {"Authorization": "Bearer "}])
def test_every_api_route_but_login_wants_a_valid_bearer_token(world: World, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/api/me"), ("POST", "/api/admin/users"), ("POST", "/api/requests"),
                         ("GET", "/api/requests/req_0"), ("GET", "/api/notifications"),
                         ("GET", "/api/legacy/payments"), ("POST", "/api/offers/off_0/delivery")):
        answer = world.market.answer(method, path, "", headers, b"{}", world.config)
        assert answer.status == 401 and set(answer.body) == {"error"}, (method, path)
        assert "nope" not in answer.body["error"]


def test_me_is_the_caller(world: World) -> None:
    assert world.ok("GET", "/api/me", "seller") == {"id": world.ids["seller"], "email": "seller@lab.test",
                                                    "role": "seller"}


def test_only_the_admin_creates_users_and_an_email_once(world: World) -> None:
    new = {"email": "new@lab.test", "password": "pw", "role": "seller"}
    assert world.call("POST", "/api/admin/users", "buyer", new).status == 403
    assert world.call("POST", "/api/admin/users", "seller", new).status == 403
    created = world.ok("POST", "/api/admin/users", "admin", new, 201)
    assert ID.fullmatch(created["id"]) and created["id"].startswith("usr_")
    assert created == {"id": created["id"], "email": "new@lab.test", "role": "seller"}
    assert world.call("POST", "/api/admin/users", "admin", {**new, "email": "NEW@lab.test"}).status == 409
    for bad in ({**new, "role": "admin"}, {**new, "email": "no-at-sign"}, {**new, "password": ""}, {}):
        assert world.call("POST", "/api/admin/users", "admin", bad).status == 400, bad


def test_unknown_routes_are_404_and_wrong_methods_405(world: World) -> None:
    assert world.call("GET", "/nothing").status == 404
    assert world.call("GET", "/api/nothing", "buyer").status == 404
    assert world.call("DELETE", "/api/me", "buyer").status == 405
    assert world.call("GET", "/api/auth/login").status == 405


# --- the flow, route by route ---

def test_a_request_notifies_each_targeted_seller_and_only_them(world: World) -> None:
    request = world.request()
    assert ID.fullmatch(request["id"]) and request["id"].startswith("req_")
    assert request == {"id": request["id"], "buyerId": world.ids["buyer"],
                       "sellerIds": [world.ids["seller"], world.ids["seller2"]], "title": "two pallets of bricks",
                       "status": "open"}
    for seller in ("seller", "seller2"):
        [note] = world.notes(seller)
        assert (note["type"], note["relatedId"], note["read"]) == ("request.created", request["id"], False)
        assert ID.fullmatch(note["id"]) and note["id"].startswith("ntf_")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", note["createdAt"])
    assert world.notes("seller3") == [] and world.notes("buyer") == []


def test_only_a_buyer_creates_requests_and_the_body_must_name_sellers(world: World) -> None:
    body = {"title": "t", "sellerIds": [world.ids["seller"]]}
    assert world.call("POST", "/api/requests", "seller", body).status == 403
    assert world.call("POST", "/api/requests", "admin", body).status == 403
    for bad in ({"title": "", "sellerIds": [world.ids["seller"]]}, {"title": "t", "sellerIds": []},
                {"title": "t", "sellerIds": world.ids["seller"]},
                {"title": "t", "sellerIds": [world.ids["seller"], world.ids["seller"]]},
                {"title": "t", "sellerIds": [world.ids["buyer2"]]}):
        assert world.call("POST", "/api/requests", "buyer", bad).status == 400, bad
    assert world.call("POST", "/api/requests", "buyer",
                      {"title": "t", "sellerIds": ["usr_" + "0" * 24]}).status == 404


def test_a_request_is_seen_by_its_buyer_and_targeted_sellers_only(world: World) -> None:
    request = world.request()
    for who in ("buyer", "seller", "seller2"):
        assert world.ok("GET", f"/api/requests/{request['id']}", who) == request
    for who in ("buyer2", "seller3", "admin"):
        assert world.call("GET", f"/api/requests/{request['id']}", who).status == 403
    assert world.call("GET", "/api/requests/req_" + "0" * 24, "buyer").status == 404


def test_a_targeted_seller_offers_once_and_the_buyer_is_notified(world: World) -> None:
    request = world.request()
    path = f"/api/requests/{request['id']}/offers"
    offer = world.ok("POST", path, "seller", {"price": 99.5}, 201)
    assert ID.fullmatch(offer["id"]) and offer["id"].startswith("off_")
    assert offer == {"id": offer["id"], "requestId": request["id"], "sellerId": world.ids["seller"],
                     "price": 99.5, "status": "pending"}
    [note] = world.notes("buyer")
    assert (note["type"], note["relatedId"]) == ("offer.created", offer["id"])
    assert world.call("POST", path, "seller", {"price": 90}).status == 409
    assert world.call("POST", path, "seller3", {"price": 90}).status == 403
    assert world.call("POST", path, "buyer", {"price": 90}).status == 403
    for bad in ({"price": 0}, {"price": "90"}, {"price": True}, {}):
        assert world.call("POST", path, "seller2", bad).status == 400, bad
    assert world.call("POST", "/api/requests/req_" + "1" * 24 + "/offers", "seller", {"price": 1}).status == 404


def test_only_the_buyer_lists_a_requests_offers(world: World) -> None:
    request = world.request()
    path = f"/api/requests/{request['id']}/offers"
    first = world.ok("POST", path, "seller", {"price": 10}, 201)
    second = world.ok("POST", path, "seller2", {"price": 12}, 201)
    assert world.ok("GET", path, "buyer") == {"items": [first, second]}
    for who in ("seller", "buyer2"):
        assert world.call("GET", path, who).status == 403


def test_selection_accepts_one_offer_and_notifies_its_seller_only(world: World) -> None:
    request = world.request()
    path = f"/api/requests/{request['id']}"
    offer = world.ok("POST", f"{path}/offers", "seller", {"price": 10}, 201)
    other = world.ok("POST", f"{path}/offers", "seller2", {"price": 12}, 201)
    assert world.call("POST", f"{path}/selection", "seller", {"offerId": offer["id"]}).status == 403
    assert world.call("POST", f"{path}/selection", "buyer", {}).status == 400
    assert world.call("POST", f"{path}/selection", "buyer", {"offerId": "off_" + "2" * 24}).status == 404
    assert world.ok("POST", f"{path}/selection", "buyer", {"offerId": offer["id"]}) == \
        {"requestId": request["id"], "offerId": offer["id"], "status": "selected"}
    assert (world.notes("seller")[0]["type"], world.notes("seller")[0]["relatedId"]) == ("offer.accepted", offer["id"])
    assert "offer.accepted" not in {n["type"] for n in world.notes("seller2")}
    assert world.call("POST", f"{path}/selection", "buyer", {"offerId": other["id"]}).status == 409
    assert world.ok("GET", path, "buyer")["status"] == "selected"
    assert [o["status"] for o in world.ok("GET", f"{path}/offers", "buyer")["items"]] == ["accepted", "rejected"]
    assert world.call("POST", f"{path}/offers", "seller3", {"price": 1}).status == 403


def test_an_offer_of_another_request_cannot_be_selected(world: World) -> None:
    mine, theirs = world.request(), world.request()
    offer = world.ok("POST", f"/api/requests/{theirs['id']}/offers", "seller", {"price": 5}, 201)
    assert world.call("POST", f"/api/requests/{mine['id']}/selection", "buyer",
                      {"offerId": offer["id"]}).status == 400


def test_payment_delivery_confirmation_in_order_each_notifying_the_other_side(world: World) -> None:
    offer = world.selected_offer()
    oid = offer["id"]
    for who in ("buyer", "seller"):
        assert world.ok("GET", f"/api/payments/{oid}/status", who) == {"offerId": oid, "status": "pending"}
        assert world.ok("GET", "/api/legacy/payments", who, query=f"offerId={oid}") == \
            {"offerId": oid, "status": "pending"}
    assert world.call("POST", f"/api/offers/{oid}/delivery", "seller").status == 409  # not paid yet
    assert world.call("POST", f"/api/payments/{oid}", "seller").status == 403
    assert world.ok("POST", f"/api/payments/{oid}", "buyer") == {"offerId": oid, "status": "paid"}
    assert world.call("POST", f"/api/payments/{oid}", "buyer").status == 409  # twice
    assert world.notes("seller")[0]["type"] == "payment.received"
    assert world.ok("GET", f"/api/payments/{oid}/status", "seller")["status"] == "paid"
    assert world.call("POST", f"/api/offers/{oid}/confirmation", "buyer").status == 409  # not delivered yet
    assert world.call("POST", f"/api/offers/{oid}/delivery", "buyer").status == 403
    assert world.ok("POST", f"/api/offers/{oid}/delivery", "seller") == {"offerId": oid, "status": "delivered"}
    assert (world.notes("buyer")[0]["type"], world.notes("buyer")[0]["relatedId"]) == ("delivery.sent", oid)
    assert world.call("POST", f"/api/offers/{oid}/confirmation", "seller").status == 403
    assert world.ok("POST", f"/api/offers/{oid}/confirmation", "buyer") == {"offerId": oid, "status": "confirmed"}
    assert world.call("POST", f"/api/offers/{oid}/confirmation", "buyer").status == 409
    assert [n["type"] for n in world.notes("seller")] == \
        ["delivery.confirmed", "payment.received", "offer.accepted", "request.created"]  # newest first
    assert [n["type"] for n in world.notes("buyer")] == ["delivery.sent", "offer.created"]
    assert world.ok("GET", f"/api/payments/{oid}/status", "buyer")["status"] == "paid"


def test_payments_are_seen_by_the_offers_buyer_and_seller_only(world: World) -> None:
    oid = world.selected_offer()["id"]
    for who in ("buyer2", "seller2", "admin"):
        assert world.call("GET", f"/api/payments/{oid}/status", who).status == 403
        assert world.call("GET", "/api/legacy/payments", who, query=f"offerId={oid}").status == 403
    assert world.call("GET", "/api/payments/off_" + "3" * 24 + "/status", "buyer").status == 404
    assert world.call("GET", "/api/legacy/payments", "buyer").status == 400


def test_an_offer_not_selected_cannot_be_paid(world: World) -> None:
    request = world.request()
    offer = world.ok("POST", f"/api/requests/{request['id']}/offers", "seller", {"price": 3}, 201)
    assert world.call("POST", f"/api/payments/{offer['id']}", "buyer").status == 409


def test_notifications_are_the_callers_own_newest_first_with_an_unread_count(world: World) -> None:
    world.request()
    second = world.request(("seller",))
    mine = world.ok("GET", "/api/notifications", "seller")
    assert mine["unread"] == 2 and mine["items"][0]["relatedId"] == second["id"]
    newest = mine["items"][0]["id"]
    assert world.call("POST", f"/api/notifications/{newest}/read", "seller2").status == 404  # not theirs
    assert world.ok("POST", f"/api/notifications/{newest}/read", "seller") == {"id": newest, "read": True}
    after = world.ok("GET", "/api/notifications", "seller")
    assert after["unread"] == 1 and [n["read"] for n in after["items"]] == [True, False]
    assert world.call("POST", "/api/notifications/ntf_" + "4" * 24 + "/read", "seller").status == 404
    assert world.call("GET", f"/api/notifications/{newest}/read", "seller").status == 405


# --- the known defects ---

def test_incomplete_related_id_cuts_offer_accepted_to_12_characters(world: World) -> None:
    world.defect("incomplete_related_id")
    offer = world.selected_offer()
    accepted = [n for n in world.notes("seller") if n["type"] == "offer.accepted"]
    assert [n["relatedId"] for n in accepted] == [offer["id"][:12]] and not ID.fullmatch(accepted[0]["relatedId"])
    assert world.notes("buyer")[0]["relatedId"] == offer["id"]  # offer.created stays whole


def test_legacy_payments_500_breaks_the_old_route_only(world: World) -> None:
    oid = world.selected_offer()["id"]
    world.defect("legacy_payments_500")
    answer = world.call("GET", "/api/legacy/payments", "buyer", query=f"offerId={oid}")
    assert answer.status == 500 and set(answer.body) == {"error"}
    assert world.ok("GET", f"/api/payments/{oid}/status", "buyer")["status"] == "pending"
    assert world.call("GET", "/api/legacy/payments", query=f"offerId={oid}").status == 401  # auth still first


def test_no_delivery_notifications_drops_delivery_sent_only(world: World) -> None:
    world.defect("no_delivery_notifications")
    oid = world.selected_offer()["id"]
    world.ok("POST", f"/api/payments/{oid}", "buyer")
    world.ok("POST", f"/api/offers/{oid}/delivery", "seller")
    world.ok("POST", f"/api/offers/{oid}/confirmation", "buyer")
    assert [n["type"] for n in world.notes("buyer")] == ["offer.created"]
    assert world.notes("seller")[0]["type"] == "delivery.confirmed"


def test_accepted_to_all_sellers_tells_every_targeted_seller(world: World) -> None:
    world.defect("accepted_to_all_sellers")
    offer = world.selected_offer()
    for seller in ("seller", "seller2"):
        assert ("offer.accepted", offer["id"]) in {(n["type"], n["relatedId"]) for n in world.notes(seller)}
    assert world.notes("seller3") == []


def test_defects_off_by_default_leave_the_flow_right(world: World) -> None:
    offer = world.selected_offer()
    assert (world.notes("seller")[0]["type"], world.notes("seller")[0]["relatedId"]) == ("offer.accepted", offer["id"])
    assert "offer.accepted" not in {n["type"] for n in world.notes("seller2")}


# --- the rate limit ---

def test_rate_limit_is_a_fixed_window_over_all_clients_with_retry_after(world: World) -> None:
    world.config = parse_config({"rate_limit": {"requests": 3, "window_seconds": 10}})
    statuses = [world.call("GET", "/api/me", who).status for who in ("buyer", "seller", "buyer2", "seller2")]
    assert statuses == [200, 200, 200, 429]
    world.clock.now += 2.5
    limited = world.call("GET", "/api/me", "buyer")
    assert (limited.status, limited.body, limited.headers) == (429, {"error": "rate limited"}, {"Retry-After": "8"})
    assert world.call("POST", "/api/auth/login", body={}).status == 429  # login counts too
    world.clock.now += 7.6  # the window is over
    assert world.call("GET", "/api/me", "buyer").status == 200


def test_retry_after_is_a_whole_number_of_at_least_one_second(world: World) -> None:
    world.config = parse_config({"rate_limit": {"requests": 1, "window_seconds": 2}})
    world.call("GET", "/api/me", "buyer")
    world.clock.now += 1.99
    assert world.call("GET", "/api/me", "buyer").headers == {"Retry-After": "1"}


def test_a_changed_limit_starts_a_new_window_and_zero_turns_it_off(world: World) -> None:
    world.config = parse_config({"rate_limit": {"requests": 1, "window_seconds": 60}})
    assert [world.call("GET", "/api/me", "buyer").status for _ in range(2)] == [200, 429]
    world.config = parse_config({"rate_limit": {"requests": 2, "window_seconds": 60}})
    assert [world.call("GET", "/api/me", "buyer").status for _ in range(3)] == [200, 200, 429]
    world.config = default_config()
    assert all(world.call("GET", "/api/me", "buyer").status == 200 for _ in range(50))


# --- the config ---

def test_the_default_config_is_the_contracts_all_off() -> None:
    assert default_config() == {
        "defects": {"incomplete_related_id": False, "legacy_payments_500": False,
                    "no_delivery_notifications": False, "accepted_to_all_sellers": False},
        "rate_limit": {"requests": 0, "window_seconds": 10}}
    assert parse_config(None) == parse_config("{}") == default_config()
    assert parse_config({"defects": {"legacy_payments_500": True}})["defects"]["legacy_payments_500"] is True


@pytest.mark.parametrize("config, where", [
    ("{", "not JSON"),
    ([], "must be an object"),
    ({"defect": {}}, "unknown key"),
    ({"defects": {"legacy_payment_500": True}}, "unknown defect 'legacy_payment_500'"),
    ({"defects": {"legacy_payments_500": "yes"}}, "true or false"),
    ({"rate_limit": {"requests": -1}}, "rate_limit.requests"),
    ({"rate_limit": {"requests": 5, "window_seconds": 0}}, "window_seconds"),
    ({"rate_limit": {"reqs": 5}}, "rate_limit must be"),
])
def test_a_malformed_config_says_what_is_wrong(config: Any, where: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(where)):
        parse_config(config)


def test_admin_env_is_parsed_and_a_changed_one_takes_over_keeping_the_admin(world: World) -> None:
    assert ms.parse_admin("ADMIN_EMAIL=a@b.test\nADMIN_PASSWORD=x=y\n") == ("a@b.test", "x=y")
    assert ms.parse_admin("ADMIN_EMAIL=a@b.test\n") is None and ms.parse_admin(None) is None
    admin_id = world.ok("GET", "/api/me", "admin")["id"]
    world.market.set_admin(ADMIN_EMAIL, "a-new-password")
    assert world.call("POST", "/api/auth/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status \
        == 401
    assert world.ok("POST", "/api/auth/login", body={"email": ADMIN_EMAIL,
                                                     "password": "a-new-password"})["user"]["id"] == admin_id


def test_the_file_cache_rereads_a_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    cache = ms.FileCache(path, parse_config)
    assert cache.get() == default_config()
    path.write_text(json.dumps({"defects": {"legacy_payments_500": True}}))
    assert cache.get()["defects"]["legacy_payments_500"] is True
    tmp = tmp_path / "new"
    tmp.write_text(json.dumps({"defects": {"legacy_payments_500": False}}))
    tmp.replace(path)
    assert cache.get()["defects"]["legacy_payments_500"] is False


# --- one real process ---

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    (tmp_path / "admin.env").write_text(f"ADMIN_EMAIL={ADMIN_EMAIL}\nADMIN_PASSWORD={ADMIN_PASSWORD}\n")
    (tmp_path / "config.json").write_text(json.dumps(default_config()))
    log = tmp_path / "marketplace.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.lab.marketplace_server", "--listen",
                                 "127.0.0.1:0", "--dir", str(tmp_path), "--code", ms.CODE],
                                stdout=out, stderr=out)
    try:
        line = wait_for(lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text()),
                        "the server to listen", timeout=20, interval=0.05)
        yield f"http://127.0.0.1:{line.group(1)}", log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_process_keeps_connections_alive_and_logs_no_secret(served: tuple[str, Path]) -> None:
    url, log = served
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        login = client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = login.json()["token"]
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.headers["content-length"] == str(len(me.content))
        assert me.headers.get("connection", "keep-alive").lower() != "close" and me.http_version == "HTTP/1.1"
        assert client.get("/healthz").status_code == 204
        assert client.get(f"/api/requests/{token}", headers={"Authorization": f"Bearer {token}"}).status_code == 404
        wrong = client.get("/api/me", headers={"Authorization": "Bearer wrong-token-0123456789"})
        assert wrong.status_code == 401
    logged = wait_for(lambda: (text := log.read_text()).count(" 127.0.0.1 ") >= 5 and text, "five logged requests",
                      timeout=10, interval=0.05)
    assert "POST /api/auth/login 200" in logged and "GET /api/me 401" in logged
    assert "GET /api/requests/*** 404" in logged
    for secret in (token, ADMIN_PASSWORD, "wrong-token-0123456789", "Bearer", "Authorization"):
        assert secret not in logged, secret


def test_a_malformed_config_is_a_500_but_health_stays_up_and_a_bad_request_line_is_not_logged(
        served: tuple[str, Path]) -> None:
    url, log = served
    config = log.with_name("config.json")
    config.write_text("{broken")
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        assert client.get("/healthz").status_code == 204
        broken = client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert broken.status_code == 500 and "config" in broken.json()["error"]
        config.write_text(json.dumps(default_config()))
        assert client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) \
            .status_code == 200
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /x?secret-in-a-bad-line HTTP/1.1 extra\r\n\r\n")
        assert b"Bad Request" in raw.recv(200)  # http.server answers a malformed line as HTTP/0.9: no headers
    logged = wait_for(lambda: "error 400" in (text := log.read_text()) and text, "the 400 logged", timeout=10,
                      interval=0.05)
    assert "secret-in-a-bad-line" not in logged and ADMIN_PASSWORD not in logged


def test_the_process_refuses_to_start_for_other_code(tmp_path: Path) -> None:
    (tmp_path / "admin.env").write_text(f"ADMIN_EMAIL={ADMIN_EMAIL}\nADMIN_PASSWORD={ADMIN_PASSWORD}\n")
    done = subprocess.run([sys.executable, "-m", "orchestrator.lab.marketplace_server", "--listen", "127.0.0.1:0",
                           "--dir", str(tmp_path), "--code", "0" * 16], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "refusing" in done.stderr


def test_the_process_wants_the_admin_credentials(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.lab.marketplace_server", "--listen", "127.0.0.1:0",
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "ADMIN_PASSWORD" in done.stderr
