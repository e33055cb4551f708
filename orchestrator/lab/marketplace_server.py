"""The lab's marketplace API: a small HTTP server with buyers, sellers, offers, payments and notifications.

    python -m orchestrator.lab.marketplace_server --listen 127.0.0.1:18110 --dir DIR [--pidfile FILE] [--code C]
                                                   [--daemon]

What `invoke flow` drives and checks in the lab. JSON in and out; `Authorization: Bearer <token>` on every route
but login and /healthz (401 without a valid token, 403 when the caller's role or relation may not, 404 unknown
id, 400 bad body, 409 duplicate or wrong state; every error body is {"error": "..."}). Ids are a prefix and 24
hex characters (usr_, req_, off_, ntf_), so a cut id is visibly wrong.

    GET  /healthz                               204 (no auth, never rate limited)
    POST /api/auth/login                        {email, password} -> {token, user: {id, email, role}}; 401 bad
    GET  /api/me                                {id, email, role}
    POST /api/admin/users          admin        {email, password, role: buyer|seller} -> 201 user
    POST /api/requests             buyer        {title, sellerIds} -> 201 {id, buyerId, sellerIds, title,
                                                status: open}; each seller: request.created (request id)
    GET  /api/requests/{id}        its buyer or a targeted seller
    POST /api/requests/{id}/offers a targeted seller  {price} -> 201 {id, requestId, sellerId, price,
                                                status: pending}; the buyer: offer.created (offer id)
    GET  /api/requests/{id}/offers its buyer    {items: [offer, ...]}
    POST /api/requests/{id}/selection its buyer {offerId} -> {requestId, offerId, status: selected};
                                                the offer's seller: offer.accepted (offer id)
    GET  /api/payments/{offerId}/status  buyer or seller of it   {offerId, status: pending|paid}
    POST /api/payments/{offerId}   the buyer, after selection    {offerId, status: paid}; seller: payment.received
    GET  /api/legacy/payments?offerId=   buyer or seller   {offerId, status} (the old route)
    POST /api/offers/{id}/delivery its seller, after payment     {offerId, status: delivered}; buyer: delivery.sent
    POST /api/offers/{id}/confirmation the buyer, after delivery {offerId, status: confirmed};
                                                seller: delivery.confirmed
    GET  /api/notifications                     {items: [{id, type, relatedId, read, createdAt}], unread}: the
                                                caller's own, newest first
    POST /api/notifications/{id}/read           {id, read: true} (another user's notification is a 404)

An offer's status goes pending -> accepted (the selected one; the others rejected) -> paid -> delivered ->
confirmed; the request's goes open -> selected. A second offer by one seller on one request, or a second
selection, payment, delivery or confirmation, is a 409, as is any step out of order.

DIR/config.json is read again on every request (cached by inode, mtime and size), so a test switches a defect
or the rate limit by writing it (marketplace.write_config):

    {"defects": {"incomplete_related_id": false, "legacy_payments_500": false, "no_delivery_notifications": false,
                 "accepted_to_all_sellers": false},
     "rate_limit": {"requests": 0, "window_seconds": 10}}           (requests 0: no limit; a missing file: all off)

- incomplete_related_id: offer.accepted's relatedId is the offer id cut to its first 12 characters;
- legacy_payments_500: GET /api/legacy/payments answers 500;
- no_delivery_notifications: delivery.sent notifications are not created;
- accepted_to_all_sellers: offer.accepted also goes to every other targeted seller (a wrong recipient).
Rate limit: more than `requests` requests (all clients together, all routes but /healthz, in a fixed window of
`window_seconds` that starts with the first request counted) -> 429 {"error": "rate limited"} with Retry-After
(whole seconds to the window's end, at least 1). A changed limit starts a new window.

DIR/admin.env (KEY=value: ADMIN_EMAIL, ADMIN_PASSWORD) is the admin's login, read again when it changes. State
lives in this process's memory: a restart starts empty but for the admin. The access log (stderr, which
marketplace.py points at the log file) has the method, the path (no query string) and the status: never a
header, a body, a token or a password. Request handling is the pure Marketplace.answer().
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .daemon import daemonize, loopback_address, serve_forever

CONFIG_FILE = "config.json"
ADMIN_FILE = "admin.env"
DEFECTS = ("incomplete_related_id", "legacy_payments_500", "no_delivery_notifications", "accepted_to_all_sellers")
DEFAULT_WINDOW_SECONDS = 10
CUT_ID_LENGTH = 12  # incomplete_related_id: the relatedId keeps this many characters
ROLES = ("buyer", "seller")  # what the admin may create; the admin's own role is "admin"
MAX_BODY = 1 << 20
# This file's code: marketplace.py passes the hash it expects as --code and restarts a server of other code.
CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
log = logging.getLogger("marketplace")  # a daemon's log (stderr, which marketplace.py points at the log file)


class ConfigError(ValueError):
    """The config does not have the documented shape (the message says where)."""


def default_config() -> dict[str, Any]:
    """All defects off, no rate limit: what lab.up and marketplace.reset_config() write."""
    return {"defects": dict.fromkeys(DEFECTS, False),
            "rate_limit": {"requests": 0, "window_seconds": DEFAULT_WINDOW_SECONDS}}


def parse_config(config: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The full config (missing keys: off) from the file's text, a mapping, or None (no file); ConfigError naming
    what is wrong (an unknown defect is an error: a misspelt switch must not silently do nothing)."""
    if config is None:
        return default_config()
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError as exc:
            raise ConfigError(f"{CONFIG_FILE} is not JSON: {exc}") from None
    if not isinstance(config, Mapping):
        raise ConfigError(f"{CONFIG_FILE} must be an object {{defects, rate_limit}}")
    unknown = sorted(set(config) - {"defects", "rate_limit"})
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} (allowed: defects, rate_limit)")
    full = default_config()
    defects = config.get("defects", {})
    if not isinstance(defects, Mapping):
        raise ConfigError("defects must be an object of booleans")
    for name, on in defects.items():
        if name not in DEFECTS:
            raise ConfigError(f"unknown defect {name!r} (known: {', '.join(DEFECTS)})")
        if not isinstance(on, bool):
            raise ConfigError(f"defects.{name} must be true or false, got {on!r}")
        full["defects"][name] = on
    limit = config.get("rate_limit", {})
    if not isinstance(limit, Mapping) or set(limit) - {"requests", "window_seconds"}:
        raise ConfigError("rate_limit must be an object {requests, window_seconds}")
    requests = limit.get("requests", 0)
    window = limit.get("window_seconds", DEFAULT_WINDOW_SECONDS)
    if not (_is_int(requests) and requests >= 0):
        raise ConfigError(f"rate_limit.requests must be a whole number >= 0 (0: off), got {requests!r}")
    if not (isinstance(window, int | float) and not isinstance(window, bool) and window > 0):
        raise ConfigError(f"rate_limit.window_seconds must be a positive number, got {window!r}")
    full["rate_limit"] = {"requests": requests, "window_seconds": window}
    return full


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.sha256(salt + password.encode()).digest()


@dataclass
class Answer:
    """One response: HTTP status, JSON body (None: no body), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __iter__(self):  # status, body = answer  (tests)
        return iter((self.status, self.body))


class Refusal(Exception):
    """An error response, raised from deep in a route."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


@dataclass
class User:
    id: str
    email: str
    role: str
    salt: bytes
    password_hash: bytes

    def json(self) -> dict[str, str]:
        return {"id": self.id, "email": self.email, "role": self.role}


@dataclass
class Request:
    id: str
    buyer_id: str
    seller_ids: list[str]
    title: str
    status: str = "open"
    offer_ids: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "buyerId": self.buyer_id, "sellerIds": list(self.seller_ids), "title": self.title,
                "status": self.status}


@dataclass
class Offer:
    id: str
    request_id: str
    seller_id: str
    price: int | float
    status: str = "pending"  # pending -> accepted | rejected; accepted -> paid -> delivered -> confirmed
    paid: bool = False

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "requestId": self.request_id, "sellerId": self.seller_id, "price": self.price,
                "status": self.status}


@dataclass
class Notification:
    id: str
    type: str
    related_id: str
    created_at: str
    read: bool = False

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "relatedId": self.related_id, "read": self.read,
                "createdAt": self.created_at}


class RateLimiter:
    """A fixed window over all clients: the window starts with the first request counted; a changed limit starts
    a new one."""

    def __init__(self) -> None:
        self.limit: tuple[int, float] = (0, DEFAULT_WINDOW_SECONDS)
        self.start = 0.0
        self.count = 0

    def retry_after(self, requests: int, window: float, now: float) -> int | None:
        """None if this request may go on (and it is counted), else the whole seconds to wait."""
        if requests <= 0:
            self.limit = (0, window)
            return None
        if self.limit != (requests, window) or now >= self.start + window or now < self.start:
            self.limit, self.start, self.count = (requests, window), now, 0
        if self.count >= requests:
            return max(1, math.ceil(self.start + window - now))
        self.count += 1
        return None


class Marketplace:
    """The whole API's state and request handling, without sockets: answer() is one request. Thread-safe (one
    lock over the state; answers carry copies, never live state)."""

    def __init__(self, admin_email: str, admin_password: str, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.users: dict[str, User] = {}
        self.by_email: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.requests: dict[str, Request] = {}
        self.offers: dict[str, Offer] = {}
        self.notifications: dict[str, list[Notification]] = {}  # user id -> oldest first
        self.notification_owner: dict[str, str] = {}
        self.limiter = RateLimiter()
        self.admin_id = new_id("usr")
        self.set_admin(admin_email, admin_password)

    # --- users and tokens ---

    def set_admin(self, email: str, password: str) -> None:
        """The admin's login (admin.env), keeping its id and tokens."""
        with self._lock:
            old = self.users.get(self.admin_id)
            if old is not None:
                self.by_email.pop(old.email.lower(), None)
            salt = secrets.token_bytes(16)
            self.users[self.admin_id] = User(self.admin_id, email, "admin", salt, _hash(password, salt))
            self.by_email[email.lower()] = self.admin_id
            self.notifications.setdefault(self.admin_id, [])

    def is_secret(self, text: str) -> bool:
        """True if text is a live token (the access log masks such a path segment)."""
        with self._lock:
            return text in self.tokens

    def _add_user(self, email: str, password: str, role: str) -> User:
        if email.lower() in self.by_email:
            raise Refusal(409, f"a user with email {email} already exists")
        salt = secrets.token_bytes(16)
        user = User(new_id("usr"), email, role, salt, _hash(password, salt))
        self.users[user.id] = user
        self.by_email[email.lower()] = user.id
        self.notifications[user.id] = []
        return user

    def _notify(self, user_id: str, kind: str, related_id: str) -> None:
        note = Notification(new_id("ntf"), kind, related_id, _now_iso())
        self.notifications.setdefault(user_id, []).append(note)
        self.notification_owner[note.id] = user_id

    # --- one request ---

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
               config: Mapping[str, Any] | None = None) -> Answer:
        """One request's answer. `config` is the parsed config (parse_config; None: all off). Never puts a
        presented token or password in a body."""
        config = config if config is not None else default_config()
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if parts == ["healthz"]:
            return Answer(204) if method in ("GET", "HEAD") else _error(405, "method not allowed")
        with self._lock:
            limit = config["rate_limit"]
            wait = self.limiter.retry_after(limit["requests"], limit["window_seconds"], self._clock())
            if wait is not None:
                return Answer(429, {"error": "rate limited"}, {"Retry-After": str(wait)})
            try:
                return self._route(method, parts, query, headers, body, config["defects"])
            except Refusal as refusal:
                return _error(refusal.status, refusal.message)

    def _route(self, method: str, parts: list[str], query: str, headers: Mapping[str, str], body: bytes,
               defects: Mapping[str, bool]) -> Answer:
        if parts[:1] != ["api"]:
            raise Refusal(404, "no such route")
        if parts == ["api", "auth", "login"]:
            _method(method, "POST")
            return self._login(_json_body(body))
        me = self._caller(headers)
        rest = parts[1:]
        if rest == ["me"]:
            _method(method, "GET")
            return Answer(200, me.json())
        if rest == ["admin", "users"]:
            _method(method, "POST")
            return self._create_user(me, _json_body(body))
        if rest == ["requests"]:
            _method(method, "POST")
            return self._create_request(me, _json_body(body))
        if len(rest) == 2 and rest[0] == "requests":
            _method(method, "GET")
            return Answer(200, self._visible_request(me, rest[1]).json())
        if len(rest) == 3 and rest[0] == "requests" and rest[2] == "offers":
            if method == "POST":
                return self._create_offer(me, rest[1], _json_body(body))
            _method(method, "GET")
            request = self._own_request(me, rest[1])
            return Answer(200, {"items": [self.offers[o].json() for o in request.offer_ids]})
        if len(rest) == 3 and rest[0] == "requests" and rest[2] == "selection":
            _method(method, "POST")
            return self._select(me, rest[1], _json_body(body), defects)
        if len(rest) == 3 and rest[0] == "payments" and rest[2] == "status":
            _method(method, "GET")
            return Answer(200, self._payment_status(me, rest[1]))
        if len(rest) == 2 and rest[0] == "payments":
            _method(method, "POST")
            return self._pay(me, rest[1])
        if rest == ["legacy", "payments"]:
            _method(method, "GET")
            offer_id = urllib.parse.parse_qs(query).get("offerId", [""])[0]
            if not offer_id:
                raise Refusal(400, "offerId query parameter is required")
            if defects["legacy_payments_500"]:
                raise Refusal(500, "internal server error")
            return Answer(200, self._payment_status(me, offer_id))
        if len(rest) == 3 and rest[0] == "offers" and rest[2] in ("delivery", "confirmation"):
            _method(method, "POST")
            if rest[2] == "delivery":
                return self._deliver(me, rest[1], defects)
            return self._confirm(me, rest[1])
        if rest == ["notifications"]:
            _method(method, "GET")
            mine = self.notifications.get(me.id, [])
            return Answer(200, {"items": [n.json() for n in reversed(mine)],
                                "unread": sum(1 for n in mine if not n.read)})
        if len(rest) == 3 and rest[0] == "notifications" and rest[2] == "read":
            _method(method, "POST")
            return self._mark_read(me, rest[1])
        raise Refusal(404, "no such route")

    def _caller(self, headers: Mapping[str, str]) -> User:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = auth.strip().partition(" ")
        user_id = self.tokens.get(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if user_id is None:
            raise Refusal(401, "missing or invalid bearer token")
        return self.users[user_id]

    def _login(self, body: dict[str, Any]) -> Answer:
        email, password = body.get("email"), body.get("password")
        if not (isinstance(email, str) and email and isinstance(password, str) and password):
            raise Refusal(400, "body must be {email, password}")
        user = self.users.get(self.by_email.get(email.lower(), ""))
        if user is None or not hmac.compare_digest(_hash(password, user.salt), user.password_hash):
            raise Refusal(401, "bad credentials")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = user.id
        return Answer(200, {"token": token, "user": user.json()})

    def _create_user(self, me: User, body: dict[str, Any]) -> Answer:
        _role(me, "admin")
        email, password, role = body.get("email"), body.get("password"), body.get("role")
        if not (isinstance(email, str) and re.fullmatch(r"[^@\s]+@[^@\s]+", email)):
            raise Refusal(400, "email must be an address (name@domain)")
        if not (isinstance(password, str) and password):
            raise Refusal(400, "password must be a non-empty string")
        if role not in ROLES:
            raise Refusal(400, f"role must be one of {', '.join(ROLES)}")
        return Answer(201, self._add_user(email, password, role).json())

    def _create_request(self, me: User, body: dict[str, Any]) -> Answer:
        _role(me, "buyer")
        title, seller_ids = body.get("title"), body.get("sellerIds")
        if not (isinstance(title, str) and title.strip()):
            raise Refusal(400, "title must be a non-empty string")
        if not (isinstance(seller_ids, list) and seller_ids and all(isinstance(s, str) for s in seller_ids)):
            raise Refusal(400, "sellerIds must be a non-empty list of seller ids")
        if len(set(seller_ids)) != len(seller_ids):
            raise Refusal(400, "sellerIds lists a seller twice")
        for seller_id in seller_ids:
            seller = self.users.get(seller_id)
            if seller is None:
                raise Refusal(404, f"no user {seller_id}")
            if seller.role != "seller":
                raise Refusal(400, f"{seller_id} is not a seller")
        request = Request(new_id("req"), me.id, list(seller_ids), title)
        self.requests[request.id] = request
        for seller_id in seller_ids:
            self._notify(seller_id, "request.created", request.id)
        return Answer(201, request.json())

    def _request(self, request_id: str) -> Request:
        request = self.requests.get(request_id)
        if request is None:
            raise Refusal(404, f"no request {request_id}")
        return request

    def _visible_request(self, me: User, request_id: str) -> Request:
        request = self._request(request_id)
        if me.id != request.buyer_id and me.id not in request.seller_ids:
            raise Refusal(403, "only the request's buyer and its targeted sellers may see it")
        return request

    def _own_request(self, me: User, request_id: str) -> Request:
        request = self._request(request_id)
        if me.id != request.buyer_id:
            raise Refusal(403, "only the request's buyer may do this")
        return request

    def _create_offer(self, me: User, request_id: str, body: dict[str, Any]) -> Answer:
        request = self._request(request_id)
        if me.id not in request.seller_ids:
            raise Refusal(403, "only a seller the request targets may offer")
        price = body.get("price")
        if not (isinstance(price, int | float) and not isinstance(price, bool) and math.isfinite(price)
                and price > 0):
            raise Refusal(400, "price must be a positive number")
        if request.status != "open":
            raise Refusal(409, f"request {request.id} is {request.status}: no more offers")
        if any(self.offers[o].seller_id == me.id for o in request.offer_ids):
            raise Refusal(409, f"you already offered on request {request.id}")
        offer = Offer(new_id("off"), request.id, me.id, price)
        self.offers[offer.id] = offer
        request.offer_ids.append(offer.id)
        self._notify(request.buyer_id, "offer.created", offer.id)
        return Answer(201, offer.json())

    def _select(self, me: User, request_id: str, body: dict[str, Any], defects: Mapping[str, bool]) -> Answer:
        request = self._own_request(me, request_id)
        offer_id = body.get("offerId")
        if not (isinstance(offer_id, str) and offer_id):
            raise Refusal(400, "body must be {offerId}")
        offer = self.offers.get(offer_id)
        if offer is None:
            raise Refusal(404, f"no offer {offer_id}")
        if offer.request_id != request.id:
            raise Refusal(400, f"offer {offer_id} is not an offer on request {request.id}")
        if request.status != "open":
            raise Refusal(409, f"request {request.id} already has its selection")
        request.status = "selected"
        for other in request.offer_ids:
            self.offers[other].status = "accepted" if other == offer.id else "rejected"
        related = offer.id[:CUT_ID_LENGTH] if defects["incomplete_related_id"] else offer.id
        self._notify(offer.seller_id, "offer.accepted", related)
        if defects["accepted_to_all_sellers"]:
            for seller_id in request.seller_ids:
                if seller_id != offer.seller_id:
                    self._notify(seller_id, "offer.accepted", related)
        return Answer(200, {"requestId": request.id, "offerId": offer.id, "status": "selected"})

    def _offer(self, offer_id: str) -> tuple[Offer, Request]:
        offer = self.offers.get(offer_id)
        if offer is None:
            raise Refusal(404, f"no offer {offer_id}")
        return offer, self.requests[offer.request_id]

    def _payment_status(self, me: User, offer_id: str) -> dict[str, str]:
        offer, request = self._offer(offer_id)
        if me.id not in (request.buyer_id, offer.seller_id):
            raise Refusal(403, "only the offer's buyer and seller may see its payment")
        return {"offerId": offer.id, "status": "paid" if offer.paid else "pending"}

    def _pay(self, me: User, offer_id: str) -> Answer:
        offer, request = self._offer(offer_id)
        if me.id != request.buyer_id:
            raise Refusal(403, "only the offer's buyer may pay it")
        if offer.paid:
            raise Refusal(409, f"offer {offer.id} is paid already")
        if offer.status != "accepted":
            raise Refusal(409, f"offer {offer.id} is {offer.status}: only the selected offer can be paid")
        offer.paid, offer.status = True, "paid"
        self._notify(offer.seller_id, "payment.received", offer.id)
        return Answer(200, {"offerId": offer.id, "status": "paid"})

    def _deliver(self, me: User, offer_id: str, defects: Mapping[str, bool]) -> Answer:
        offer, request = self._offer(offer_id)
        if me.id != offer.seller_id:
            raise Refusal(403, "only the offer's seller may deliver it")
        if offer.status != "paid":
            raise Refusal(409, f"offer {offer.id} is {offer.status}: delivery comes after payment")
        offer.status = "delivered"
        if not defects["no_delivery_notifications"]:
            self._notify(request.buyer_id, "delivery.sent", offer.id)
        return Answer(200, {"offerId": offer.id, "status": "delivered"})

    def _confirm(self, me: User, offer_id: str) -> Answer:
        offer, request = self._offer(offer_id)
        if me.id != request.buyer_id:
            raise Refusal(403, "only the offer's buyer may confirm its delivery")
        if offer.status != "delivered":
            raise Refusal(409, f"offer {offer.id} is {offer.status}: confirmation comes after delivery")
        offer.status = "confirmed"
        self._notify(offer.seller_id, "delivery.confirmed", offer.id)
        return Answer(200, {"offerId": offer.id, "status": "confirmed"})

    def _mark_read(self, me: User, notification_id: str) -> Answer:
        if self.notification_owner.get(notification_id) != me.id:
            raise Refusal(404, f"no notification {notification_id} of yours")
        note = next(n for n in self.notifications[me.id] if n.id == notification_id)
        note.read = True
        return Answer(200, {"id": note.id, "read": True})


def _method(method: str, wanted: str) -> None:
    if method != wanted:
        raise Refusal(405, "method not allowed")


def _role(me: User, role: str) -> None:
    if me.role != role:
        raise Refusal(403, f"only a {role} may do this")


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise Refusal(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise Refusal(400, "body must be a JSON object")
    return data


def parse_admin(text: str | None) -> tuple[str, str] | None:
    """(email, password) from admin.env's KEY=value lines, or None."""
    if text is None:
        return None
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    email, password = values.get("ADMIN_EMAIL", "").strip(), values.get("ADMIN_PASSWORD", "").strip()
    return (email, password) if email and password else None


# --- the process ---

class FileCache:
    """A file's parsed content, parsed again only when its inode, mtime or size change (one stat a request)."""

    def __init__(self, path: Path, parse: Callable[[str | None], Any]):
        self.path = path
        self.parse = parse
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._value: Any = None
        self._loaded = False

    def get(self) -> Any:
        """The parsed content (parse(None) for a missing file); what parse raises propagates."""
        try:
            st = os.stat(self.path)
            key: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        with self._lock:
            if self._loaded and key == self._key:
                return self._value
            try:
                text = self.path.read_text() if key is not None else None
            except (OSError, UnicodeDecodeError):
                text = None
            value = self.parse(text)  # a parse error is not cached: the next request tries again
            self._key, self._value, self._loaded = key, value, True
            return value


class Handler(BaseHTTPRequestHandler):
    server: MarketplaceServer
    protocol_version = "HTTP/1.1"  # keep-alive: every response has a Content-Length
    server_version = "shakedown-lab-marketplace"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection frees its thread
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed by http.server after each request)
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._answer()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _answer(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._send(_error(411, "send a Content-Length (no chunked bodies)"), path, started, close=True)
            return
        if length is not None and not (length.isdigit() and int(length) <= MAX_BODY):
            self._send(_error(413 if length.isdigit() else 400, "bad or too large Content-Length"), path,
                       started, close=True)
            return
        body = self.rfile.read(int(length)) if length else b""
        try:
            config = self.server.config.get()
        except ConfigError as exc:
            if path.strip("/") != "healthz":  # health does not depend on the config
                log.error("%s %s: lab marketplace config is malformed: %s", self.command, path, exc)
                self._send(_error(500, f"lab marketplace config is malformed: {exc}"), path, started)
                return
            config = default_config()
        self.server.refresh_admin()
        self._send(self.server.market.answer(self.command, path, query, self.headers, body, config), path, started)

    def _send(self, answer: Answer, path: str, started: float, close: bool = False) -> None:
        data = b"" if answer.body is None else json.dumps(answer.body).encode() + b"\n"
        self.send_response(answer.status)
        if answer.body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        log.info("%s %s %s %d %.1fms", self.client_address[0], self.command, self._shown(path), answer.status,
                 (time.monotonic() - started) * 1000)

    def _shown(self, path: str) -> str:
        """The path for the log: any segment that is a live token masked (a client that misplaces one)."""
        return "/".join("***" if len(p) >= 32 and self.server.market.is_secret(urllib.parse.unquote(p)) else p
                        for p in path.split("/"))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, ...): a short JSON body that repeats nothing of
        the request (nor does the log line: only the code)."""
        log.warning("%s: http.server: error %d", self.client_address[0], code)
        body = json.dumps({"error": self.responses.get(code, ("Error",))[0]}).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _send logs each request its own way (http.server's line has the query string)

    def log_message(self, format: str, *args: Any) -> None:
        """http.server's own complaints (a malformed request, a timeout): only the status code, since their text
        may quote the request line."""
        codes = [a for a in args if isinstance(a, int)]
        log.warning("%s: http.server: %s", self.client_address[0],
                    f"error {codes[0]}" if codes else format.split(":")[0].split("%")[0].strip() or "error")


class MarketplaceServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 32 clients connecting at once must not overflow the listen backlog

    def __init__(self, listen: tuple[str, int], directory: Path):
        self.dir = directory
        self.config = FileCache(directory / CONFIG_FILE, parse_config)
        self.admin = FileCache(directory / ADMIN_FILE, parse_admin)
        credentials = self.admin.get()
        if credentials is None:
            raise ValueError(f"no ADMIN_EMAIL and ADMIN_PASSWORD in {directory / ADMIN_FILE}")
        self._admin_seen = credentials
        self.market = Marketplace(*credentials)
        super().__init__(listen, Handler)

    def refresh_admin(self) -> None:
        credentials = self.admin.get()
        if credentials is not None and credentials != self._admin_seen:
            self._admin_seen = credentials
            self.market.set_admin(*credentials)
            log.info("admin credentials changed in %s", self.dir / ADMIN_FILE)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


def serve(listen: tuple[str, int], directory: Path, pidfile: Path | None, ready_fd: int | None = None) -> None:
    try:
        server = MarketplaceServer(listen, directory)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", *listen, exc.strerror)
        raise SystemExit(1) from None
    except ValueError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(1) from None
    host, port = server.server_address[:2]
    log.info("listening on %s:%d, config %s (code %s)", host, port, directory / CONFIG_FILE, CODE)
    serve_forever(server, pidfile, ready_fd)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.lab.marketplace_server",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=loopback_address, required=True, help="loopback HOST:PORT (port 0: any free)")
    parser.add_argument("--dir", type=Path, required=True, help="directory of config.json and admin.env")
    parser.add_argument("--pidfile", type=Path, help="written once the server listens")
    parser.add_argument("--code", help="the code hash the starter expects; another one refuses to start")
    parser.add_argument("--daemon", action="store_true", help="detach; exit 0 once listening, 1 if it cannot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s marketplace[%(process)d] %(levelname)s %(message)s")
    if args.code is not None and args.code != CODE:
        log.error("started for code %s but this file is %s: refusing", args.code, CODE)
        raise SystemExit(1)
    ready_fd = daemonize() if args.daemon else None
    serve(args.listen, args.dir, args.pidfile, ready_fd)


if __name__ == "__main__":
    main()
