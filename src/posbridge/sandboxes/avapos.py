"""AvaPOS / PractiPOS sandbox: the `api.php` document, served faithfully on loopback.

One endpoint (`/apis/practipos/api.php`), GET or POST (form), parameters `key`, `action`
(get/set/create), `typedata` and `data` (a JSON string). Answers are JSON objects keyed as
in the document (`Facturas`, `Productos`, `Clientes`, `totales`/`detalles`; INFERRED
`Compras`, `Fisico`), every number a string; create/set answer the bare id; errors are
plain-text strings (docs/avapos-wire.md). `/_sandbox/*` endpoints are for tests only.

The pipeline: key → action → typedata allowed for the action → `data` JSON → handler.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes import avapos_reads as r
from posbridge.sandboxes import avapos_writes as w
from posbridge.sandboxes.avapos_reads import ApiError
from posbridge.sandboxes.avapos_world import AvaWorld, generate_avapos_world
from posbridge.sandboxes.clock import Clock, DateHeaderMiddleware
from posbridge.sandboxes.faults import Faults, vendor_app

__all__ = ["BASE_PATH", "HANDLERS", "AvaPOSState", "create_app", "create_sandbox"]

BASE_PATH = "/apis/practipos/api.php"
Handler = Callable[[AvaWorld, Mapping[str, Any]], dict[str, Any]]
Writer = Callable[[AvaWorld, Mapping[str, Any], datetime], str]

READS: dict[str, Handler] = {
    "facturas": r.get_facturas,
    "productos": r.get_productos,
    "clientes": r.get_clientes,
    "reservas": r.get_reservas,
    "compras": r.get_compras,
    "fisico": r.get_fisico,
}
WRITES: dict[tuple[str, str], Writer] = {
    ("create", "productos"): w.create_producto,
    ("create", "clientes"): w.create_cliente,
    ("create", "asientos"): w.create_asiento,
    ("create", "facturas"): w.create_factura,
    ("set", "productos"): w.set_producto,
    ("set", "clientes"): w.set_cliente,
}
HANDLERS = {("get", k) for k in READS} | set(WRITES)
ERR_KEY = "Error: APIKEY no válida"
ERR_ACTION = "Error: acción no permitida"
ERR_TYPEDATA = "Error: typedata no permitido"
ERR_DATA = "Error: el parámetro data no es un JSON válido"
_encode = msgspec.json.encode


class RequestLogEntry(NamedTuple):
    """One vendor request as the sandbox saw it (`error` empty = success)."""

    at: datetime
    action: str
    typedata: str
    error: str


@dataclass(slots=True)
class AvaPOSState:
    """What the sandbox serves; mutate it from tests to set scenes."""

    world: AvaWorld
    clock: Clock
    faults: Faults
    key: str
    world_factory: Callable[[], AvaWorld]
    daily_limit: int | None = None
    request_log: deque[RequestLogEntry] = field(default_factory=lambda: deque(maxlen=10_000))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        """Back to the generated world: no writes, no faults, empty log."""
        with self.lock:
            self.world = self.world_factory()
            self.faults.reset()
            self.request_log.clear()

    def handle(self, params: Mapping[str, str]) -> tuple[bytes, str]:
        """One API call → (body, error text or "")."""
        action, typedata = params.get("action", ""), params.get("typedata", "")
        try:
            if params.get("key", "") != self.key:
                raise ApiError(ERR_KEY)
            if action not in ("get", "set", "create"):
                raise ApiError(ERR_ACTION)
            if (action, typedata) not in HANDLERS:
                raise ApiError(ERR_TYPEDATA)
            raw = params.get("data", "").strip()
            try:
                data = msgspec.json.decode(raw) if raw else {}
            except msgspec.DecodeError:
                raise ApiError(ERR_DATA) from None
            if not isinstance(data, dict):
                raise ApiError(ERR_DATA)
            with self.lock:
                if action == "get":
                    found = READS[typedata](self.world, data)
                    if typedata == "facturas":
                        found = r.malformed_facturas(found, self.faults)
                    return _encode(found), ""
                answer = WRITES[(action, typedata)](self.world, data, self.clock.local())
                return answer.encode(), ""
        except ApiError as exc:
            return str(exc).encode(), str(exc)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for `GET /_sandbox/state`."""
        with self.lock:
            world = self.world
            return {
                "vendor": "avapos",
                "now": self.clock.now().isoformat(),
                "requests": len(self.request_log),
                "faults": self.faults.snapshot(),
                "world": {
                    "facturas": len(world.facturas),
                    "productos": len(world.productos),
                    "clientes": len(world.clientes),
                    "reservas": len(world.reservas),
                    "compras": len(world.compras),
                    "asientos": len(world.asientos),
                },
            }


def create_app(state: AvaPOSState) -> DateHeaderMiddleware:
    """The Starlette app: the API endpoint plus `/_sandbox/state` and `/_sandbox/faults`."""

    async def api(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = (await request.body()).decode("utf-8", "replace")
            params.update(parse_qsl(form, keep_blank_values=True))
        body, error = state.handle(params)
        state.request_log.append(
            RequestLogEntry(
                state.clock.now(), params.get("action", ""), params.get("typedata", ""), error
            )
        )
        media = "text/html; charset=UTF-8" if error or params.get("action") != "get" else None
        return Response(body, media_type=media or "application/json; charset=UTF-8")

    async def admin_state(_request: Request) -> Response:
        return Response(_encode(state.snapshot()), media_type="application/json")

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            raw = await request.body()
            knobs = msgspec.json.decode(raw) if raw.strip() else {}
            if isinstance(knobs, dict):
                state.faults.update(**knobs)
        return Response(_encode(state.faults.snapshot()), media_type="application/json")

    app = Starlette(
        routes=[
            Route(BASE_PATH, api, methods=["GET", "POST"]),
            Route(BASE_PATH + "/", api, methods=["GET", "POST"]),
            Route("/_sandbox/state", admin_state, methods=["GET"]),
            Route("/_sandbox/faults", admin_faults, methods=["GET", "POST"]),
        ]
    )
    return vendor_app(app, state.faults, state.clock)


def create_sandbox(
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    daily_limit: int | None = None,
    clock: Clock | None = None,
    world: AvaWorld | None = None,
) -> Sandbox:
    """An AvaPOS sandbox over a generated restaurant-and-hotel world (or the `world` given).

    AvaPOS documents no rate limit: `daily_limit` is accepted (the demo passes it) and
    ignored. The APIKEY derives from the seed (base64-looking, like the vendor's).
    """
    if world is None:

        def factory() -> AvaWorld:
            return generate_avapos_world(seed=seed, days=days, orders_per_day=orders_per_day)
    else:
        pristine = pickle.dumps(world)

        def factory() -> AvaWorld:
            restored: AvaWorld = pickle.loads(pristine)
            return restored

    current = world if world is not None else factory()
    digest = hashlib.sha256(f"avapos-sandbox:{seed}".encode()).hexdigest()
    state = AvaPOSState(
        world=current,
        clock=clock or Clock.starting_at(current.as_of, current.timezone),
        faults=Faults(supported_kinds=r.MALFORMED_KINDS),
        key="MTk4NjE4" + digest[:24],
        world_factory=factory,
        daily_limit=daily_limit,
    )
    return Sandbox(
        vendor="avapos",
        app=create_app(state),
        state=state,
        credentials={"key": state.key},
        base_path=BASE_PATH,
    )
