"""iCash client API sandbox (Bulgaria / Albania), served faithfully on loopback.

Every operation is `POST /clientapi/v1/<operation>` with a form-encoded body carrying
`api_key`, `nonce`, `signature` (HMAC-SHA256 of nonce + WareHouseID + api_key keyed
with the secret, 64 upper-case hex) and, after `login`, `ses`. Answers are
`{"nonce": "<echo>", "status": 1, "data": …}` or `{"nonce": …, "status": 0,
"error_message": …}` with HTTP 200. The request pipeline, in order: unknown operation
(HTTP 404) → api_key / signature ("Authentication Error") → nonce not above the last
one ("Invalid nonce") → session ("Missing value for ses" / "Session expired", 30 min
idle) → the operation. Decisions are written down in docs/icash-wire.md.
`/_sandbox/*` endpoints (not iCash) read state, arm faults and move the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.faults import Faults, LoseAnswers, vendor_app
from posbridge.sandboxes.icash_gen import generate_icash_world
from posbridge.sandboxes.icash_ops import OPERATIONS, Fail, Form
from posbridge.sandboxes.icash_world import ICashWorld, Operation

__all__ = ["SESSION_IDLE", "ICashState", "create_app", "create_sandbox", "sign"]

SESSION_IDLE = timedelta(minutes=30)
_encode = msgspec.json.encode


def sign(secret: str, nonce: int | str, warehouse_id: int | str, api_key: str) -> str:
    """The documented signature: HMAC-SHA256(secret, nonce + WareHouseID + api_key), HEX."""
    message = f"{nonce}{warehouse_id}{api_key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().upper()


class RequestLogEntry(NamedTuple):
    """One vendor request as the sandbox saw it (error "" = success)."""

    at: datetime
    operation: str
    nonce: str
    error: str
    fields: dict[str, str]


@dataclass(slots=True)
class ICashState:
    """Everything the sandbox serves and enforces; mutate it from tests to set scenes."""

    world: ICashWorld
    clock: Clock
    faults: Faults
    api_key: str
    secret_key: str
    world_factory: Callable[[], ICashWorld]
    operations: dict[int, Operation] = field(default_factory=dict)
    last_nonce: int = 0
    sessions: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    #: operation slug → how many of its next answers are lost after it ran
    lose_response: Counter[str] = field(default_factory=Counter)
    request_log: deque[RequestLogEntry] = field(default_factory=lambda: deque(maxlen=20_000))
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _session_seq: int = 0

    def __post_init__(self) -> None:
        self.operations = {o.id: o for o in self.world.operations}

    def now(self) -> datetime:
        return self.clock.local().replace(microsecond=0)

    def reset(self) -> None:
        """Back to the generated world: no sessions, nonces, faults or log."""
        with self.lock:
            self.world = self.world_factory()
            self.operations = {o.id: o for o in self.world.operations}
            self.faults.reset()
            self.sessions.clear()
            self.lose_response.clear()
            self.request_log.clear()
            self.calls.clear()
            self.last_nonce = 0

    def session_user(self, f: Form) -> int:
        return self.sessions.get(f.text("ses"), (self.world.user_id, self.now()))[0]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            w = self.world
            return {
                "vendor": "icash",
                "now": self.clock.now().isoformat(),
                "warehouse_id": w.warehouse_id,
                "last_nonce": self.last_nonce,
                "sessions": len(self.sessions),
                "requests": {"total": len(self.request_log), "by_operation": dict(self.calls)},
                "faults": self.faults.snapshot(),
                "world": {
                    "operations": len(w.operations),
                    "documents": len(w.documents),
                    "sale_items": len(w.sale_items),
                    "contragents": len(w.contragents),
                },
            }

    # --- the vendor request pipeline --------------------------------------------------

    def handle(self, operation: str, body: bytes) -> tuple[int, bytes]:
        """Answer one `/clientapi/v1/<operation>` request: (HTTP status, JSON body)."""
        with self.lock:
            f = Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            nonce = f.text("nonce")
            try:
                status, data = self._answer(operation, f)
                payload = _encode({"nonce": nonce, "status": 1, "data": data})
                error = ""
            except Fail as exc:
                status, error = 200, exc.message
                payload = _encode({"nonce": nonce, "status": 0, "error_message": exc.message})
            except _NotFound:
                status, error = 404, "Unknown operation"
                payload = _encode({"nonce": nonce, "status": 0, "error_message": error})
            self.request_log.append(RequestLogEntry(self.now(), operation, nonce, error, dict(f)))
            return status, payload

    def _answer(self, operation: str, f: Form) -> tuple[int, Any]:
        if operation != "login" and operation not in OPERATIONS:
            raise _NotFound
        for key in ("api_key", "nonce", "signature"):
            if not f.text(key):
                raise Fail(f"Missing value for {key}")
        expected = sign(self.secret_key, f.text("nonce"), f.text("WareHouseID"), self.api_key)
        if f.text("api_key") != self.api_key or not hmac.compare_digest(
            f.text("signature"), expected
        ):
            raise Fail("Authentication Error")
        try:
            nonce = int(f.text("nonce"))
        except ValueError:
            raise Fail("Invalid nonce") from None
        if nonce <= self.last_nonce:
            raise Fail("Invalid nonce")
        self.last_nonce = nonce
        now = self.now()
        self.calls[operation] += 1
        if operation == "login":
            return 200, self._login(f, now)
        ses = f.text("ses")
        if not ses:
            raise Fail("Missing value for ses")
        known = self.sessions.get(ses)
        if known is None or now - known[1] > SESSION_IDLE:
            self.sessions.pop(ses, None)
            raise Fail("Session expired")
        self.sessions[ses] = (known[0], now)
        return 200, OPERATIONS[operation](self, f)

    def _login(self, f: Form, now: datetime) -> dict[str, str]:
        user = f.num("UserID")
        if f.text("WareHouseID") != str(self.world.warehouse_id) or all(
            u.id != user for u in self.world.users
        ):
            raise Fail("Authentication Error")
        self._session_seq += 1
        sid = hashlib.md5(f"{self.api_key}:{self._session_seq}".encode()).hexdigest()
        assert user is not None
        self.sessions[sid] = (user, now)
        return {"session_id": sid}


class _NotFound(Exception):
    pass


def _json(data: Any, status: int = 200) -> Response:
    return Response(_encode(data), status, media_type="application/json")


def create_app(state: ICashState) -> ASGIApp:
    """The Starlette app for `state`, wrapped in fault injection and the Date header."""

    async def api(request: Request) -> Response:
        body = await request.body()
        status, payload = state.handle(request.path_params["operation"], body)
        return Response(payload, status, media_type="application/json")

    async def admin_state(_request: Request) -> Response:
        return _json(state.snapshot())

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            raw = await request.body()
            knobs = msgspec.json.decode(raw) if raw.strip() else {}
            try:
                if knobs.pop("reset", False):
                    state.faults.reset()
                for op, n in dict(knobs.pop("lose_response", {})).items():
                    state.lose_response[str(op)] = int(n)
                state.faults.update(**knobs)
            except (ValueError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json(state.faults.snapshot() | {"lose_response": dict(state.lose_response)})

    async def admin_clock(request: Request) -> Response:
        if request.method == "POST":
            raw = await request.body()
            data = msgspec.json.decode(raw) if raw.strip() else {}
            try:
                if "set" in data:
                    state.clock.set(datetime.fromisoformat(str(data["set"])))
                if "advance_seconds" in data:
                    state.clock.advance(float(data["advance_seconds"]))
            except (TypeError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({"now": state.clock.now().isoformat()})

    app = Starlette(
        routes=[
            Route("/clientapi/v1/{operation}", api, methods=["POST"]),
            Route("/_sandbox/state", admin_state, methods=["GET"]),
            Route("/_sandbox/faults", admin_faults, methods=["GET", "POST"]),
            Route("/_sandbox/clock", admin_clock, methods=["GET", "POST"]),
        ]
    )
    lossy = LoseAnswers(
        app,
        state.lose_response,
        state.lock,
        lambda scope: str(scope.get("path", "")).rsplit("/", 1)[-1],
    )
    return vendor_app(lossy, state.faults, state.clock)


def create_sandbox(
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    daily_limit: int | None = None,
    profile: str = "bg_retail",
    clock: Clock | None = None,
    world: ICashWorld | None = None,
    **_: Any,
) -> Sandbox:
    """An iCash sandbox over a generated `bg_retail` (or `al_retail`) chain.

    iCash documents no request quota, so `daily_limit` is accepted and ignored.
    Credentials derive from the seed.
    """
    del daily_limit
    if world is None:

        def factory() -> ICashWorld:
            return generate_icash_world(
                profile, seed=seed, days=days, orders_per_day=orders_per_day
            )
    else:
        pristine = pickle.dumps(world)

        def factory() -> ICashWorld:
            restored: ICashWorld = pickle.loads(pristine)
            return restored

    current = world if world is not None else factory()
    digest = hashlib.sha256(f"icash-sandbox:{profile}:{seed}".encode()).hexdigest()
    state = ICashState(
        world=current,
        clock=clock or Clock.starting_at(current.as_of, current.timezone),
        faults=Faults(),  # every malformed kind applies to operations
        api_key=f"icash_{digest[:16]}",
        secret_key=digest[16:48],
        world_factory=factory,
    )
    return Sandbox(
        vendor="icash",
        app=create_app(state),
        state=state,
        credentials={
            "api_key": state.api_key,
            "secret_key": state.secret_key,
            "warehouse_id": str(current.warehouse_id),
            "user_id": str(current.user_id),
            "country": current.country,
        },
        base_path="/clientapi/v1/",
    )
