"""The lab's marketplace API (marketplace_server.py on 127.0.0.1:18110, controlled through marketplace.py), as
`invoke flow` will meet it: real HTTP to the server lab.up started, its defects and rate limit switched by writing
the config file. Every test that changes the config puts it back (all off) in a `finally`, so the next one, and
`lab.up`, find it clean. The server's memory outlives a test: each one makes users of its own."""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from orchestrator import lab
from orchestrator.lab import marketplace, spec
from orchestrator.lab.errors import LabError
from tests.integration.labkit import invoke
from tests.waiting import wait_for

pytestmark = pytest.mark.lab

ID = re.compile(r"(usr|req|off|ntf)_[0-9a-f]{24}")


@pytest.fixture
def clean(lab_up: None) -> Iterator[None]:
    """The config all off during the test, and again after it whatever the test wrote."""
    marketplace.reset_config()
    try:
        yield
    finally:
        marketplace.reset_config()


@pytest.fixture
def client(clean: None) -> Iterator[httpx.Client]:
    """A client of the lab's marketplace (no proxy: loopback only)."""
    with httpx.Client(base_url=spec.MARKETPLACE_URL, trust_env=False, timeout=10) as c:
        yield c


@dataclass
class People:
    """Users made for one test through the admin, each logged in: `auth[name]` are its headers."""

    client: httpx.Client
    ids: dict[str, str]
    auth: dict[str, dict[str, str]]
    passwords: list[str]

    def call(self, method: str, path: str, who: str, body: Any = None, status: int = 200, **kw: Any) -> Any:
        r = self.client.request(method, path, headers=self.auth[who], json=body, **kw)
        assert r.status_code == status, (method, path, who, r.status_code, r.text)
        return r.json() if r.content else None

    def notes(self, who: str) -> list[dict[str, Any]]:
        return self.call("GET", "/api/notifications", who)["items"]

    def selected_offer(self) -> tuple[dict[str, Any], dict[str, Any]]:
        request = self.call("POST", "/api/requests", "buyer",
                            {"title": "ten crates", "sellerIds": [self.ids["seller"], self.ids["seller2"]]}, 201)
        offer = self.call("POST", f"/api/requests/{request['id']}/offers", "seller", {"price": 40}, 201)
        self.call("POST", f"/api/requests/{request['id']}/selection", "buyer", {"offerId": offer["id"]})
        return request, offer


def login(client: httpx.Client, email: str, password: str) -> tuple[str, dict[str, Any]]:
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"], r.json()["user"]


@pytest.fixture
def people(client: httpx.Client) -> People:
    email, password = marketplace.admin()
    admin_token, admin_user = login(client, email, password)
    assert admin_user["role"] == "admin"
    crowd = People(client, {"admin": admin_user["id"]}, {"admin": {"Authorization": f"Bearer {admin_token}"}},
                   [password])
    tag = secrets.token_hex(4)
    for name, role in (("buyer", "buyer"), ("seller", "seller"), ("seller2", "seller"), ("seller3", "seller")):
        mail, pw = f"{name}-{tag}@lab.test", f"pw-{name}-{secrets.token_hex(8)}"
        user = crowd.call("POST", "/api/admin/users", "admin", {"email": mail, "password": pw, "role": role}, 201)
        token, logged_in = login(client, mail, pw)
        assert logged_in == user
        crowd.ids[name], crowd.auth[name] = user["id"], {"Authorization": f"Bearer {token}"}
        crowd.passwords.append(pw)
    return crowd


def with_defect(name: str) -> None:
    config = marketplace.read_config()
    config["defects"][name] = True
    assert marketplace.write_config(config)


def test_the_whole_buyer_seller_flow_over_http_with_its_notifications(people: People) -> None:
    p = people
    request = p.call("POST", "/api/requests", "buyer",
                     {"title": "ten crates", "sellerIds": [p.ids["seller"], p.ids["seller2"]]}, 201)
    assert ID.fullmatch(request["id"]) and request["status"] == "open"
    for seller in ("seller", "seller2"):
        assert [(n["type"], n["relatedId"]) for n in p.notes(seller)] == [("request.created", request["id"])]
        assert p.call("GET", f"/api/requests/{request['id']}", seller) == request
    assert p.notes("seller3") == []
    p.call("GET", f"/api/requests/{request['id']}", "seller3", status=403)
    offer = p.call("POST", f"/api/requests/{request['id']}/offers", "seller", {"price": 40}, 201)
    other = p.call("POST", f"/api/requests/{request['id']}/offers", "seller2", {"price": 45}, 201)
    assert ID.fullmatch(offer["id"]) and offer["status"] == "pending"
    assert p.call("GET", f"/api/requests/{request['id']}/offers", "buyer")["items"] == [offer, other]
    assert p.call("POST", f"/api/requests/{request['id']}/selection", "buyer", {"offerId": offer["id"]}) == \
        {"requestId": request["id"], "offerId": offer["id"], "status": "selected"}
    oid = offer["id"]
    assert p.call("GET", f"/api/payments/{oid}/status", "seller") == {"offerId": oid, "status": "pending"}
    assert p.call("POST", f"/api/payments/{oid}", "buyer") == {"offerId": oid, "status": "paid"}
    assert p.call("GET", "/api/legacy/payments", "buyer", params={"offerId": oid}) == {"offerId": oid,
                                                                                        "status": "paid"}
    assert p.call("POST", f"/api/offers/{oid}/delivery", "seller") == {"offerId": oid, "status": "delivered"}
    assert p.call("POST", f"/api/offers/{oid}/confirmation", "buyer") == {"offerId": oid, "status": "confirmed"}
    assert [(n["type"], n["relatedId"]) for n in p.notes("buyer")] == \
        [("delivery.sent", oid), ("offer.created", other["id"]), ("offer.created", oid)]
    assert [(n["type"], n["relatedId"]) for n in p.notes("seller")] == \
        [("delivery.confirmed", oid), ("payment.received", oid), ("offer.accepted", oid),
         ("request.created", request["id"])]
    assert [n["type"] for n in p.notes("seller2")] == ["request.created"]  # not selected: never told otherwise
    mine = p.call("GET", "/api/notifications", "seller")
    assert mine["unread"] == 4 and all(ID.fullmatch(n["id"]) for n in mine["items"])
    assert p.call("POST", f"/api/notifications/{mine['items'][0]['id']}/read", "seller") == \
        {"id": mine["items"][0]["id"], "read": True}
    assert p.call("GET", "/api/notifications", "seller")["unread"] == 3


def test_no_token_is_401_and_a_wrong_role_403(people: People) -> None:
    assert people.client.get("/api/me").status_code == 401
    assert people.client.get("/api/me", headers={"Authorization": "Bearer not-a-token-0123456789"}).status_code == 401
    people.call("POST", "/api/admin/users", "buyer", {"email": "x@lab.test", "password": "x", "role": "buyer"},
                status=403)
    people.call("POST", "/api/requests", "seller", {"title": "t", "sellerIds": [people.ids["seller"]]}, status=403)
    assert people.client.get("/healthz").status_code == 204


def test_incomplete_related_id_observed(people: People) -> None:
    with_defect("incomplete_related_id")
    try:
        _, offer = people.selected_offer()
        accepted = next(n for n in people.notes("seller") if n["type"] == "offer.accepted")
        assert accepted["relatedId"] == offer["id"][:12] != offer["id"]
    finally:
        marketplace.reset_config()
    _, offer = people.selected_offer()
    assert next(n for n in people.notes("seller") if n["type"] == "offer.accepted")["relatedId"] == offer["id"]


def test_legacy_payments_500_observed(people: People) -> None:
    _, offer = people.selected_offer()
    with_defect("legacy_payments_500")
    try:
        people.call("GET", "/api/legacy/payments", "buyer", params={"offerId": offer["id"]}, status=500)
        people.call("GET", f"/api/payments/{offer['id']}/status", "buyer")
    finally:
        marketplace.reset_config()
    people.call("GET", "/api/legacy/payments", "buyer", params={"offerId": offer["id"]})


def test_no_delivery_notifications_observed(people: People) -> None:
    _, offer = people.selected_offer()
    people.call("POST", f"/api/payments/{offer['id']}", "buyer")
    with_defect("no_delivery_notifications")
    try:
        people.call("POST", f"/api/offers/{offer['id']}/delivery", "seller")
        assert "delivery.sent" not in {n["type"] for n in people.notes("buyer")}
    finally:
        marketplace.reset_config()


def test_accepted_to_all_sellers_observed(people: People) -> None:
    with_defect("accepted_to_all_sellers")
    try:
        _, offer = people.selected_offer()
        wrong = [n for n in people.notes("seller2") if n["type"] == "offer.accepted"]
        assert [n["relatedId"] for n in wrong] == [offer["id"]]
        assert people.notes("seller3") == []
    finally:
        marketplace.reset_config()


def test_rate_limit_answers_429_with_retry_after(people: People) -> None:
    config = marketplace.read_config()
    config["rate_limit"] = {"requests": 5, "window_seconds": 30}
    marketplace.write_config(config)
    try:
        statuses = [people.client.get("/api/me", headers=people.auth["buyer"]) for _ in range(8)]
        assert [r.status_code for r in statuses] == [200] * 5 + [429] * 3
        limited = statuses[-1]
        assert limited.json() == {"error": "rate limited"}
        assert limited.headers["retry-after"].isdigit() and 1 <= int(limited.headers["retry-after"]) <= 30
        assert people.client.get("/healthz").status_code == 204  # never limited
    finally:
        marketplace.reset_config()
    assert people.client.get("/api/me", headers=people.auth["buyer"]).status_code == 200


def test_a_malformed_config_is_a_loud_500_and_write_config_refuses_one(people: People) -> None:
    with pytest.raises(LabError, match="unknown defect"):
        marketplace.write_config({"defects": {"no_such_defect": True}})
    try:
        spec.MARKETPLACE_CONFIG_FILE.write_text("{not json")
        r = people.client.get("/api/me", headers=people.auth["buyer"])
        assert r.status_code == 500 and "config" in r.json()["error"]
    finally:
        marketplace.reset_config()
    assert people.client.get("/api/me", headers=people.auth["buyer"]).status_code == 200


def test_the_files_have_their_modes_and_the_log_holds_no_secret(people: People) -> None:
    assert spec.MARKETPLACE_ADMIN_FILE.stat().st_mode & 0o777 == 0o600
    assert spec.MARKETPLACE_CONFIG_FILE.stat().st_mode & 0o777 == 0o644
    email, password = marketplace.admin()
    assert email == "admin@lab.test" and len(password) >= 24
    assert spec.MARKETPLACE_ADMIN_FILE.read_text() == f"ADMIN_EMAIL={email}\nADMIN_PASSWORD={password}\n"
    assert json.loads(spec.MARKETPLACE_CONFIG_FILE.read_text()) == marketplace.read_config()
    assert not any(marketplace.read_config()["defects"].values())
    marker = f"/api/requests/req_{secrets.token_hex(12)}"
    people.call("GET", marker, "buyer", status=404)
    logged = wait_for(lambda: marker in (text := spec.MARKETPLACE_LOG.read_text()) and text,
                      "the marker request in the access log", timeout=10, interval=0.05)
    tokens = [h["Authorization"].split()[1] for h in people.auth.values()]
    for secret in (*tokens, *people.passwords, "Bearer", "Authorization"):
        assert secret not in logged


def test_lab_status_reports_the_marketplace(people: People) -> None:
    status = lab.status()["marketplace"]
    assert status == {"url": "http://127.0.0.1:18110", "admin_credentials_file": str(spec.MARKETPLACE_ADMIN_FILE),
                      "config_file": str(spec.MARKETPLACE_CONFIG_FILE), "up": True, "pid": marketplace.pid()}
    assert status["pid"] is not None
    cli = invoke("lab.status", "--json")
    assert cli.rc == 0 and cli.json()["marketplace"]["url"] == spec.MARKETPLACE_URL
    table = invoke("lab.status")
    assert table.rc == 0 and spec.MARKETPLACE_URL in table.stdout


def test_lab_up_resets_the_config_and_restarts_a_stopped_server_keeping_the_admin(clean: None) -> None:
    kept = marketplace.admin()
    with_defect("legacy_payments_500")
    old = marketplace.pid()
    marketplace.stop(echo=lambda line: None)  # our own server, by its pid
    assert marketplace.pid() is None
    lines: list[str] = []
    lab.up(echo=lines.append)
    assert marketplace.admin() == kept and not any(marketplace.read_config()["defects"].values())
    assert marketplace.pid() not in (None, old)
    assert any(line.startswith("marketplace: config reset") for line in lines), lines
    assert any(line.startswith("marketplace: API started") for line in lines), lines
    with httpx.Client(base_url=spec.MARKETPLACE_URL, trust_env=False, timeout=10) as c:
        token, user = login(c, *kept)
        assert user["role"] == "admin" and token


def test_lab_up_leaves_a_running_server_of_this_code_alone(clean: None) -> None:
    running = marketplace.pid()
    lines: list[str] = []
    marketplace.ensure(lines.append)
    assert marketplace.pid() == running is not None
    assert any(line.startswith("marketplace: API already running") for line in lines), lines


def test_ensure_names_the_port_when_another_process_holds_it(clean: None) -> None:
    marketplace.stop(echo=lambda line: None)
    try:
        with socket.create_server((spec.MARKETPLACE_HOST, spec.MARKETPLACE_PORT)) as squatter:
            squatter.listen()
            with pytest.raises(LabError, match=f"{spec.MARKETPLACE_HOST}:{spec.MARKETPLACE_PORT} is already taken"):
                marketplace.ensure(echo=lambda line: None)
    finally:
        marketplace.ensure(echo=lambda line: None)
    assert marketplace.status()["up"] is True
