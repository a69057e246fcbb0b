"""SimplyDevelop WService sandbox: the REST API of the document, served on loopback.

Login by Basic auth (`GET /api/login`) or body (`POST /api/login`) gives a SessionCode;
a session ends 30 minutes after its last call or when the same user logs in again.
Every resource of `codes.RESOURCES` answers every documented form, routed in one place
(`route`): `GET /api/<res>/{SessionCode}[?id…]`, `POST /api/get<res>/{SessionCode}[?id…]`,
`POST /api/get<res>` with the code in the body, `DELETE /api/<res>/{SessionCode}?id…`,
`POST /api/del<res>/{SessionCode}?id…`, `POST /api/del<res>` and `POST /api/set<res>`.
Answers carry `ResponseRequest`/`SuccessStatus`; refusals the INFERRED error envelope of
docs/wservice-wire.md. `/_sandbox/*` endpoints are for tests (state, faults, webhook).
"""

from __future__ import annotations

import base64
import hashlib
import pickle
import random
import string
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from posbridge.connectors.wservice.codes import RESOURCES
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes import wservice_writes as w
from posbridge.sandboxes.clock import Clock, DateHeaderMiddleware
from posbridge.sandboxes.faults import Faults, LoseAnswers, vendor_app
from posbridge.sandboxes.wservice_reads import (
    MALFORMED_KINDS,
    ApiError,
    malformed_documents,
    read,
)
from posbridge.sandboxes.wservice_webhook import WebhookConfig, WebhookPusher, describe
from posbridge.sandboxes.wservice_world import WServiceWorld, generate_wservice_world, iso

__all__ = [
    "BASE_PATH",
    "SESSION_MINUTES",
    "WServiceState",
    "create_app",
    "create_sandbox",
    "encode",
    "route",
]

BASE_PATH = "/api/"
SESSION_MINUTES = 30
ERR_SESSION = "Sessione non valida o scaduta"
ERR_LOGIN = "Utente o password non validi"
Writer = Callable[[WServiceWorld, Mapping[str, Any], datetime], dict[str, Any]]
WRITERS: dict[str, Writer] = {
    "setdepartments": w.set_departments,
    "setproducts": w.set_products,
    "setdocument": w.set_document,
    "setprepaid": w.set_prepaid,
}
assert set(WRITERS) == {s for _k, s, _d in RESOURCES.values() if s}
_encoder = msgspec.json.Encoder(decimal_format="number")


def encode(value: Any) -> bytes:
    """JSON with Decimal amounts as numbers (the vendor's CURRENCY values)."""
    return _encoder.encode(value)


def route(method: str, name: str) -> tuple[str, str] | None:
    """(operation, resource) of `/api/<name>` for `method`; None = no such endpoint."""
    if name == "login" and method in ("GET", "POST"):
        return "login", ""
    if name in RESOURCES:
        deletable = RESOURCES[name][2]
        if method == "GET":
            return "read", name
        if method == "DELETE" and deletable:
            return "delete", name
        return None
    if method != "POST":
        return None
    if name.startswith("get") and name[3:] in RESOURCES:
        return "read", name[3:]
    if name.startswith("del") and name[3:] in RESOURCES and RESOURCES[name[3:]][2]:
        return "delete", name[3:]
    for resource, (_key, setter, _deletable) in RESOURCES.items():
        if setter == name:
            return "write", resource
    return None


class Session(NamedTuple):
    user: str
    last_call: datetime


class RequestLogEntry(NamedTuple):
    """One request as the sandbox saw it (`error` empty = success)."""

    at: datetime
    method: str
    name: str
    error: str


@dataclass(slots=True)
class WServiceState:
    """What the sandbox serves; mutate it from tests to set scenes."""

    world: WServiceWorld
    clock: Clock
    faults: Faults
    users: dict[str, str]
    world_factory: Callable[[], WServiceWorld]
    sessions: dict[str, Session] = field(default_factory=dict)
    last_login: dict[str, datetime] = field(default_factory=dict)
    lose_response: dict[str, int] = field(default_factory=dict)
    webhook: WebhookPusher | None = None
    request_log: deque[RequestLogEntry] = field(default_factory=lambda: deque(maxlen=10_000))
    lock: threading.RLock = field(default_factory=threading.RLock)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def reset(self) -> None:
        """Back to the generated world: no writes, sessions, faults or webhook."""
        self.stop_webhook()
        with self.lock:
            self.world = self.world_factory()
            self.sessions.clear()
            self.faults.reset()
            self.request_log.clear()
            self.lose_response.clear()

    # -- sessions ------------------------------------------------------------------------
    def login(self, user: str, password: str) -> dict[str, Any]:
        """A new SessionCode; the user's previous session ends now."""
        if self.users.get(user) != password or not user:
            raise ApiError(ERR_LOGIN, status=401)
        now = self.clock.now()
        with self.lock:
            for code in [c for c, s in self.sessions.items() if s.user == user]:
                del self.sessions[code]
            code = "".join(
                self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(18)
            )
            self.sessions[code] = Session(user, now)
            previous = self.last_login.get(user)
            self.last_login[user] = now
        return {
            "ResponseRequest": "login",
            "SuccessStatus": True,
            "SessionCode": code,
            "User": user,
            "Data": "",
            "LastLogin": iso(previous),
        }

    def touch(self, code: str) -> None:
        """Check a SessionCode and restart its 30 minutes; expired ones are dropped."""
        now = self.clock.now()
        with self.lock:
            session = self.sessions.get(code)
            if session is None:
                raise ApiError(ERR_SESSION, status=401)
            if now - session.last_call > timedelta(minutes=SESSION_MINUTES):
                del self.sessions[code]
                raise ApiError(ERR_SESSION, status=401)
            self.sessions[code] = Session(session.user, now)

    # -- the API -------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        name: str,
        path_code: str | None,
        query: Mapping[str, str],
        body: Mapping[str, Any],
        auth: tuple[str, str] | None,
    ) -> dict[str, Any]:
        """One call → the success envelope (refusals raise ApiError)."""
        target = route(method, name)
        if target is None:
            raise ApiError(f"Richiesta non valida: {method} /api/{name}", status=404)
        operation, resource = target
        if operation == "login":
            if method == "GET":
                user, password = auth or ("", "")
            else:
                user, password = str(body.get("User", "")), str(body.get("Password", ""))
            return self.login(user, password)
        self.touch(path_code or str(body.get("SessionCode", "")))
        params = {**body, **query}
        with self.lock:
            if operation == "read":
                records = read(self.world, resource, params)
                if resource == "documents":
                    records = malformed_documents(self.faults, records)
                return {"ResponseRequest": resource, "SuccessStatus": True, resource: records}
            if operation == "delete":
                done = w.delete(self.world, resource, params)
                return {"ResponseRequest": name, "SuccessStatus": True, **done}
            result = WRITERS[name](self.world, body, self.clock.local())
            if name == "setdocument":
                return {
                    "ResponseRequest": name,
                    "SuccessStatus": True,
                    "idmovement": result["idmovement"],
                    "documents": [result],
                }
            return {"ResponseRequest": name, "SuccessStatus": True, **result}

    # -- the webhook ---------------------------------------------------------------------
    def documents_after(self, last_id: int) -> list[tuple[int, str, bytes]]:
        with self.lock:
            docs = self.world.documents
            return [
                (i, str(docs[i]["documenttype"]), encode(docs[i]))
                for i in sorted(docs)
                if i > last_id
            ]

    def top_document(self) -> int:
        with self.lock:
            return max(self.world.documents, default=0)

    def configure_webhook(self, config: WebhookConfig, *, start: bool = True) -> WebhookPusher:
        """Replace the webhook configuration (like editing WService.ini) and start pushing."""
        self.stop_webhook()
        pusher = WebhookPusher(config, self.documents_after, self.top_document)
        self.webhook = pusher
        if start:
            pusher.start()
        return pusher

    def stop_webhook(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for `GET /_sandbox/state`."""
        with self.lock:
            world = self.world
            return {
                "vendor": "wservice",
                "now": self.clock.now().isoformat(),
                "requests": len(self.request_log),
                "sessions": len(self.sessions),
                "faults": self.faults.snapshot(),
                "webhook": describe(self.webhook),
                "world": {
                    "departments": len(world.departments),
                    "products": len(world.products),
                    "documents": len(world.documents),
                    "prepaid": len(world.prepaid),
                },
            }


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def create_app(state: WServiceState) -> DateHeaderMiddleware:
    """The Starlette app: `/api/{name}[/{SessionCode}]` plus the `/_sandbox/*` endpoints."""

    async def api(request: Request) -> Response:
        name = request.path_params["name"].lower()
        code = request.path_params.get("code")
        raw = await request.body()
        error = ""
        try:
            try:
                body = msgspec.json.decode(raw) if raw.strip() else {}
            except msgspec.DecodeError:
                raise ApiError("Body JSON non valido") from None
            if not isinstance(body, dict):
                raise ApiError("Body JSON non valido")
            answer = state.handle(
                request.method,
                name,
                code,
                dict(request.query_params),
                body,
                _basic(request.headers.get("authorization", "")),
            )
            status = 200
        except ApiError as exc:
            error, status = str(exc), exc.status
            answer = {"ResponseRequest": name, "SuccessStatus": False, "Data": error}
        state.request_log.append(RequestLogEntry(state.clock.now(), request.method, name, error))
        return Response(encode(answer), status_code=status, media_type="application/json")

    async def admin_state(_request: Request) -> Response:
        return Response(encode(state.snapshot()), media_type="application/json")

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            raw = await request.body()
            knobs = msgspec.json.decode(raw) if raw.strip() else {}
            if isinstance(knobs, dict):
                state.faults.update(**knobs)
        return Response(encode(state.faults.snapshot()), media_type="application/json")

    async def admin_webhook(request: Request) -> Response:
        """POST a WService.ini text to (re)configure and start the pusher; GET its status."""
        if request.method == "POST":
            text = (await request.body()).decode("utf-8")
            interval = float(request.query_params.get("interval", "5"))
            state.configure_webhook(WebhookConfig.from_ini(text, interval=interval))
        return Response(encode(describe(state.webhook)), media_type="application/json")

    methods = ["GET", "POST", "DELETE"]
    app = Starlette(
        routes=[
            Route("/api/{name}", api, methods=methods),
            Route("/api/{name}/{code}", api, methods=methods),
            Route("/_sandbox/state", admin_state, methods=["GET"]),
            Route("/_sandbox/faults", admin_faults, methods=["GET", "POST"]),
            Route("/_sandbox/webhook", admin_webhook, methods=["GET", "POST"]),
        ]
    )
    lossy = LoseAnswers(app, state.lose_response, state.lock, _operation)
    return vendor_app(lossy, state.faults, state.clock)


def _operation(scope: Scope) -> str:
    """The endpoint a request calls (what `lose_response` is keyed by)."""
    parts = str(scope.get("path", "")).split("/")
    return parts[2].lower() if len(parts) > 2 and parts[1] == "api" else ""


def create_sandbox(
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    daily_limit: int | None = None,
    clock: Clock | None = None,
    world: WServiceWorld | None = None,
) -> Sandbox:
    """A WService sandbox over the `it_retail` world (WService documents no rate limit:
    `daily_limit` is accepted and ignored). The password derives from the seed."""
    if world is None:

        def factory() -> WServiceWorld:
            return generate_wservice_world(seed=seed, days=days, orders_per_day=orders_per_day)
    else:
        pristine = pickle.dumps(world)

        def factory() -> WServiceWorld:
            restored: WServiceWorld = pickle.loads(pristine)
            return restored

    current = world if world is not None else factory()
    password = hashlib.sha256(f"wservice-sandbox:{seed}".encode()).hexdigest()[:16]
    state = WServiceState(
        world=current,
        clock=clock or Clock.starting_at(current.as_of, current.timezone),
        faults=Faults(supported_kinds=MALFORMED_KINDS),
        users={"midwareadmin": password},
        world_factory=factory,
    )
    return Sandbox(
        vendor="wservice",
        app=create_app(state),
        state=state,
        credentials={"user": "midwareadmin", "password": password},
        base_path=BASE_PATH,
    )
