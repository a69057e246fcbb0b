"""SmartNow sandbox: the vending/unattended-retail telemetry API, served on loopback.

Every operation of the document (`connectors/smartnow/routes.py`, shared with the
connector) is dispatched from one table: JSON bodies, `Authorization: Bearer <access>`,
errors as `{"message": ...}` with 400 (bad input), 401 (no/expired token, bad login), 404
(unknown id or path). `POST /auth/login` answers 201 with an access token (a JWT-shaped
string with `exp`, lifetime `token_lifetime` seconds on the sandbox clock) and a refresh
token that works once (rotation). `/_sandbox/*` endpoints are for tests only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
import re
import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarRoute
from starlette.types import ASGIApp, Scope

from posbridge.connectors.smartnow.routes import ROUTES, Route
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.faults import Faults, LoseAnswers, vendor_app
from posbridge.sandboxes.smartnow_gen import generate_smartnow_world
from posbridge.sandboxes.smartnow_lists import ApiError
from posbridge.sandboxes.smartnow_reads import MALFORMED_KINDS
from posbridge.sandboxes.smartnow_world import SNWorld

__all__ = ["BASE_PATH", "Call", "Csv", "SmartNowState", "create_app", "create_sandbox"]

BASE_PATH = "/"
_encode = msgspec.json.encode


@dataclass(slots=True)
class Csv:
    """A CSV answer (exports)."""

    text: str
    filename: str = "export.csv"


@dataclass(slots=True)
class Call:
    """One parsed request, handed to a handler."""

    route: Route
    params: dict[str, str]
    items: list[tuple[str, str]]
    body: Any
    user: int | None

    def query(self, key: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.items if k == key), default)

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError(400, "Missing parameters")
        return self.body

    def int_param(self, key: str) -> int:
        value = self.params[key]
        if not value.lstrip("-").isdigit():
            raise ApiError(400, f"{key} must be an integer")
        return int(value)


Handler = Callable[["SmartNowState", Call], tuple[int, Any]]


class RequestLogEntry(NamedTuple):
    """One request as the sandbox saw it."""

    at: datetime
    method: str
    path: str
    route: str
    status: int


@dataclass(slots=True)
class SmartNowState:
    """What the sandbox serves; mutate it from tests to set scenes."""

    world: SNWorld
    clock: Clock
    faults: Faults
    world_factory: Callable[[], SNWorld]
    token_lifetime: int = 3600
    access: dict[str, tuple[int, int]] = field(default_factory=dict)  # token → (user, exp)
    refresh: dict[str, int] = field(default_factory=dict)  # token → user (one use)
    passwords: dict[int, str] = field(default_factory=dict)
    initial_passwords: dict[int, str] = field(default_factory=dict)
    mail_tokens: dict[str, int] = field(default_factory=dict)  # reset/confirm token → user
    #: test knob: every access token issued so far expires after this many more requests
    expire_after_requests: int | None = None
    lose_response: Counter[str] = field(default_factory=Counter)
    request_log: deque[RequestLogEntry] = field(default_factory=lambda: deque(maxlen=20_000))
    lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: int = 0

    def reset(self) -> None:
        """Back to the generated world: no writes, no faults, no tokens, empty log."""
        with self.lock:
            self.world = self.world_factory()
            self.faults.reset()
            self.access.clear()
            self.refresh.clear()
            self.lose_response.clear()
            self.request_log.clear()
            self.expire_after_requests = None
            self.mail_tokens.clear()
            self.passwords = dict(self.initial_passwords)

    def issue(self, user: int) -> dict[str, str]:
        """A new access (JWT-shaped, with `exp`) and refresh token pair."""
        self._seq += 1
        exp = self.clock.unix() + self.token_lifetime
        payload = _b64(_encode({"sub": user, "exp": exp, "jti": self._seq}))
        head = _b64(b'{"alg":"HS256","typ":"JWT"}')
        sig = _b64(hmac.new(b"sandbox", f"{head}.{payload}".encode(), hashlib.sha256).digest())
        token = f"{head}.{payload}.{sig}"
        refresh = secrets.token_urlsafe(24)
        self.access[token] = (user, exp)
        self.refresh[refresh] = user
        return {"access_token": token, "refresh_token": refresh}

    def user_of(self, header: str | None) -> int:
        """The user of a bearer header, or 401."""
        if not header or not header.startswith("Bearer "):
            raise ApiError(401, "Unauthorized")
        entry = self.access.get(header[7:].strip())
        if entry is None or entry[1] <= self.clock.unix():
            raise ApiError(401, "Unauthorized: access token expired or invalid")
        return entry[0]

    def tick(self) -> None:
        """Count one request against the `expire_after_requests` knob."""
        if self.expire_after_requests is None:
            return
        self.expire_after_requests -= 1
        if self.expire_after_requests <= 0:
            now = self.clock.unix()
            self.access = {t: (u, min(e, now)) for t, (u, e) in self.access.items()}
            self.expire_after_requests = None

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for `GET /_sandbox/state`."""
        with self.lock:
            return {
                "vendor": "smartnow",
                "now": self.clock.now().isoformat(),
                "requests": len(self.request_log),
                "faults": self.faults.snapshot(),
                "world": {k: len(v) for k, v in self.world.tables.items()},
            }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _compile(route: Route) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return re.compile(f"^{pattern}$")


def _handlers() -> dict[str, Handler]:
    from posbridge.sandboxes import (
        smartnow_auth,
        smartnow_ops,
        smartnow_reads,
        smartnow_reports,
        smartnow_vouchers,
        smartnow_writes,
    )

    table: dict[str, Handler] = {}
    for module in (
        smartnow_reads,
        smartnow_reports,
        smartnow_writes,
        smartnow_auth,
        smartnow_ops,
        smartnow_vouchers,
    ):
        table.update(module.HANDLERS)
    missing = [r.name for r in ROUTES if r.name not in table]
    assert not missing, f"routes without a sandbox handler: {missing}"
    return table


# static segments beat parameters: fewer `{` first, then the table order
_ORDERED = sorted(ROUTES, key=lambda r: r.path.count("{"))
_PATTERNS = [(r, _compile(r)) for r in _ORDERED]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of `method path` and its path parameters (None: no such operation)."""
    allowed = False
    for route, pattern in _PATTERNS:
        m = pattern.match(path)
        if m:
            if route.method == method:
                return route, m.groupdict()
            allowed = True
    if allowed:
        raise ApiError(404, f"Cannot {method} {path}")
    return None


def create_app(state: SmartNowState) -> ASGIApp:
    """The Starlette app: the whole API plus `/_sandbox/state` and `/_sandbox/faults`."""
    handlers = _handlers()

    async def api(request: Request) -> Response:
        path = "/" + request.path_params.get("rest", "")
        raw = await request.body()
        status, payload, name = _serve(state, handlers, request, path, raw)
        state.request_log.append(
            RequestLogEntry(state.clock.now(), request.method, path, name, status)
        )
        if isinstance(payload, Csv):
            return Response(
                payload.text,
                status,
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{payload.filename}"'},
            )
        if payload is None:
            return Response(b"", status)
        return Response(_encode(payload), status, media_type="application/json; charset=utf-8")

    async def admin_state(_request: Request) -> Response:
        return Response(_encode(state.snapshot()), media_type="application/json")

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            raw = await request.body()
            knobs = msgspec.json.decode(raw) if raw.strip() else {}
            if isinstance(knobs, dict):
                state.faults.update(**knobs)
        return Response(_encode(state.faults.snapshot()), media_type="application/json")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            StarRoute("/_sandbox/state", admin_state, methods=["GET"]),
            StarRoute("/_sandbox/faults", admin_faults, methods=["GET", "POST"]),
            StarRoute("/{rest:path}", api, methods=methods),
        ]
    )
    lossy = LoseAnswers(app, state.lose_response, state.lock, _operation)
    return vendor_app(lossy, state.faults, state.clock)


def _serve(
    state: SmartNowState, handlers: Mapping[str, Handler], request: Request, path: str, raw: bytes
) -> tuple[int, Any, str]:
    name = ""
    try:
        found = match(request.method, path.rstrip("/") or "/")
        if found is None:
            raise ApiError(404, f"Cannot {request.method} {path}")
        route, params = found
        name = route.name
        try:
            body = msgspec.json.decode(raw) if raw.strip() else None
        except msgspec.DecodeError:
            raise ApiError(400, "Request body is not valid JSON") from None
        with state.lock:
            user = None
            if route.auth:
                state.tick()
                user = state.user_of(request.headers.get("authorization"))
            call = Call(route, params, list(request.query_params.multi_items()), body, user)
            status, payload = handlers[route.name](state, call)
            return status, payload, name
    except ApiError as exc:
        return exc.status, {"message": exc.message}, name


def _operation(scope: Scope) -> str:
    """The routing table's name of a request (what `lose_response` is keyed by)."""
    try:
        found = match(scope["method"], str(scope.get("path", "")).rstrip("/") or "/")
    except ApiError:
        return ""
    return found[0].name if found else ""


def create_sandbox(
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    daily_limit: int | None = None,
    clock: Clock | None = None,
    world: SNWorld | None = None,
    token_lifetime: int = 3600,
    archive_days: int = 14,
) -> Sandbox:
    """A SmartNow sandbox over the `nl_vending` world of `seed` (or the `world` given).

    SmartNow documents no rate limit: `daily_limit` is accepted (the demo passes it) and
    ignored. `token_lifetime` is the access-token lifetime in seconds of the sandbox
    clock; transactions and logs older than `archive_days` need `useArchive=true`.
    """
    del daily_limit
    if world is None:
        world = generate_smartnow_world(seed=seed, days=days, orders_per_day=orders_per_day)
        world.archive_days = archive_days
    pristine = pickle.dumps(world)

    def factory() -> SNWorld:
        restored: SNWorld = pickle.loads(pristine)
        return restored

    current = world
    state = SmartNowState(
        world=current,
        clock=clock or Clock.starting_at(current.as_of, current.timezone),
        faults=Faults(supported_kinds=MALFORMED_KINDS),
        world_factory=factory,
        token_lifetime=token_lifetime,
    )
    login_user = next(u for u in current.tables["user"].values() if u["email"] == current.username)
    state.passwords[login_user["id"]] = current.password
    state.initial_passwords = dict(state.passwords)
    return Sandbox(
        vendor="smartnow",
        app=create_app(state),
        state=state,
        credentials={"username": current.username, "password": current.password},
        base_path=BASE_PATH,
    )
