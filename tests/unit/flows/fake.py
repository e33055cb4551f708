"""An in-memory marketplace behind httpx.MockTransport (the contract of the lab marketplace, its defects and a
fixed-window rate limit), so the runner's logic is tested without a server. The integration tests use the real
lab marketplace."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

ADMIN = {"ADMIN_EMAIL": "admin@lab.test", "ADMIN_PASSWORD": "pw-" + secrets.token_hex(12)}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Fake:
    defects: set[str] = field(default_factory=set)
    rate_limit: int = 0  # this many answers, then 429 forever
    refuse_every: int = 0  # every N-th request answers 429 (a busy window that keeps reopening)
    retry_after: str = "1"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    served: int = 0
    limited: int = 0

    def __post_init__(self) -> None:
        self.users[ADMIN["ADMIN_EMAIL"]] = {"id": _id("usr"), "email": ADMIN["ADMIN_EMAIL"], "role": "admin",
                                            "password": ADMIN["ADMIN_PASSWORD"]}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.rate_limit and request.url.path != "/healthz" and self.served >= self.rate_limit:
            self.limited += 1
            return httpx.Response(429, json={"error": "rate limited"}, headers={"Retry-After": self.retry_after})
        if self.refuse_every and (self.served + self.limited + 1) % self.refuse_every == 0:
            self.limited += 1
            return httpx.Response(429, json={"error": "rate limited"}, headers={"Retry-After": self.retry_after})
        self.served += 1
        body = json.loads(request.content) if request.content else {}
        path = request.url.path
        if path == "/healthz":
            return httpx.Response(204)
        if path == "/api/auth/login":
            user = self.users.get(body.get("email"))
            if not user or user["password"] != body.get("password"):
                return httpx.Response(401, json={"error": "bad credentials"})
            token = secrets.token_hex(24)
            self.tokens[token] = user["email"]
            return httpx.Response(200, json={"token": token, "user": _public(user)})
        me = self.users.get(self.tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "), ""))
        if me is None:
            return httpx.Response(401, json={"error": "no token"})
        return self.route(request.method, path, body, me, request)

    def route(self, method: str, path: str, body: dict[str, Any], me: dict[str, Any],
              request: httpx.Request) -> httpx.Response:
        if path == "/api/me":
            return httpx.Response(200, json=_public(me))
        if path == "/api/admin/users":
            user = {"id": _id("usr"), **body}
            self.users[body["email"]] = user
            return httpx.Response(201, json=_public(user))
        if path == "/api/requests":
            req = {"id": _id("req"), "buyerId": me["id"], "sellerIds": body["sellerIds"], "status": "open"}
            self.requests[req["id"]] = req
            for seller in req["sellerIds"]:
                self.notify(seller, "request.created", req["id"])
            return httpx.Response(201, json=req)
        if m := re.fullmatch(r"/api/requests/(\w+)/offers", path):
            if method == "GET":
                return httpx.Response(200, json={"items": [o for o in self.offers.values()
                                                           if o["requestId"] == m[1]]})
            offer = {"id": _id("off"), "requestId": m[1], "sellerId": me["id"], "price": body["price"],
                     "status": "pending"}
            self.offers[offer["id"]] = offer
            self.notify(self.requests[m[1]]["buyerId"], "offer.created", offer["id"])
            return httpx.Response(201, json=offer)
        if m := re.fullmatch(r"/api/requests/(\w+)/selection", path):
            offer = self.offers[body["offerId"]]
            related = offer["id"][:12] if "incomplete_related_id" in self.defects else offer["id"]
            self.notify(offer["sellerId"], "offer.accepted", related)
            if "accepted_to_all_sellers" in self.defects:
                for seller in self.requests[m[1]]["sellerIds"]:
                    if seller != offer["sellerId"]:
                        self.notify(seller, "offer.accepted", related)
            return httpx.Response(200, json={"requestId": m[1], "offerId": offer["id"], "status": "selected"})
        return self.money(method, path, me, request)

    def money(self, method: str, path: str, me: dict[str, Any], request: httpx.Request) -> httpx.Response:
        if m := re.fullmatch(r"/api/payments/(\w+)/status", path):
            return httpx.Response(200, json={"offerId": m[1], "status": self.offers[m[1]].get("paid", "pending")})
        if m := re.fullmatch(r"/api/payments/(\w+)", path):
            self.offers[m[1]]["paid"] = "paid"
            self.notify(self.offers[m[1]]["sellerId"], "payment.received", m[1])
            return httpx.Response(200, json={"offerId": m[1], "status": "paid"})
        if path == "/api/legacy/payments":
            if "legacy_payments_500" in self.defects:
                return httpx.Response(500, json={"error": "internal"})
            offer = request.url.params["offerId"]
            return httpx.Response(200, json={"offerId": offer, "status": self.offers[offer].get("paid", "pending")})
        if m := re.fullmatch(r"/api/offers/(\w+)/(delivery|confirmation)", path):
            offer = self.offers[m[1]]
            if m[2] == "delivery":
                if "no_delivery_notifications" not in self.defects:
                    self.notify(self.requests[offer["requestId"]]["buyerId"], "delivery.sent", m[1])
                return httpx.Response(200, json={"offerId": m[1], "status": "delivered"})
            self.notify(offer["sellerId"], "delivery.confirmed", m[1])
            return httpx.Response(200, json={"offerId": m[1], "status": "confirmed"})
        if path == "/api/notifications":
            items = list(reversed(self.notes.get(me["id"], [])))
            return httpx.Response(200, json={"items": items, "unread": sum(not i["read"] for i in items)})
        return httpx.Response(404, json={"error": "unknown route"})

    def notify(self, user: str, kind: str, related: str) -> None:
        self.notes.setdefault(user, []).append({"id": _id("ntf"), "type": kind, "relatedId": related,
                                                "read": False, "createdAt": "now"})


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("id", "email", "role")}
