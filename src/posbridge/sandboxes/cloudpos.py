"""CloudPOS API v1 sandbox: the vendor document, served faithfully on loopback.

One URL (`/api/?licname=L&token=T&<function>`), every function of the v1 document
(`FUNCTIONS`), the document's error codes and texts, the 500-a-day quota, the 5-strike
IP lock and per-module licences, with the envelope and formats of docs/cloudpos-wire.md.
`/_sandbox/*` endpoints (not CloudPOS) let tests read state, arm faults and move the
clock; they are not counted and never faulted.

The request pipeline, in order: blocked IP (1004) → empty credentials (1001) → bad
credentials (1002, counted towards the lock) → quota (1003) → function flag (HTTP 404)
→ module licence (1005) → the function itself (2000-range answers).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes import cloudpos_reads as r
from posbridge.sandboxes import cloudpos_writes as w
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.cloudpos_reads import OrderIndex
from posbridge.sandboxes.cloudpos_wire import Fail, Fields, error, fmt_dt, parse_request
from posbridge.sandboxes.faults import Faults, vendor_app
from posbridge.sandboxes.world import World, ZReport, close_business_day, generate_world

__all__ = [
    "FUNCTIONS",
    "MODULES",
    "CloudPOSState",
    "RequestLogEntry",
    "create_app",
    "create_sandbox",
]

Handler = Callable[["CloudPOSState", Fields], bytes]

MODULES = (
    "catalog",
    "customers",
    "staff",
    "sales",
    "invoices",
    "weborders",
    "reservations",
    "vouchers",
    "reports",
    "eol",
)

#: function flag → (licence module, handler). `get-orders&clockinclockout` is `staff`.
FUNCTIONS: dict[str, tuple[str, Handler]] = {
    "get-categories": ("catalog", r.get_categories),
    "get-products": ("catalog", r.get_products),
    "get-subproducts": ("catalog", r.get_subproducts),
    "get-printers": ("catalog", r.get_printers),
    "post-category": ("catalog", w.post_category),
    "post-product": ("catalog", w.post_product),
    "post-subproduct": ("catalog", w.post_subproduct),
    "update-category": ("catalog", w.update_category),
    "update-product": ("catalog", w.update_product),
    "update-subproduct": ("catalog", w.update_subproduct),
    "get-customers": ("customers", r.get_customers),
    "post-customer": ("customers", w.post_customer),
    "update-customer": ("customers", w.update_customer),
    "get-customercredits": ("customers", r.get_customercredits),
    "post-customercredit": ("customers", w.post_customercredit),
    "get-users": ("staff", r.get_users),
    "get-orders": ("sales", r.get_orders),
    "get-tables": ("sales", r.get_tables),
    "get-payment": ("sales", r.get_payment),
    "get-establishments": ("sales", r.get_establishments),
    "get-invoices": ("invoices", r.get_invoices),
    "get-invoicesigned": ("invoices", r.signed(1)),
    "get-offersigned": ("invoices", r.signed(2)),
    "get-creditnotesigned": ("invoices", r.signed(3)),
    "post-invoice": ("invoices", w.post_document(1)),
    "post-offer": ("invoices", w.post_document(2)),
    "post-creditnote": ("invoices", w.post_document(3)),
    "get-confirmedweborder": ("weborders", r.get_confirmedweborder),
    "post-weborder": ("weborders", w.post_weborder),
    "get-reservationpersons": ("reservations", r.get_reservationpersons),
    "get-reservationhours": ("reservations", r.get_reservationhours),
    "post-reservationentry": ("reservations", w.post_reservationentry),
    "get-giftvoucher": ("vouchers", r.get_giftvoucher),
    "post-giftvoucher": ("vouchers", w.post_giftvoucher),
    "get-coupon": ("vouchers", r.get_coupon),
    "post-coupon": ("vouchers", w.post_coupon),
    "get-zreports": ("reports", r.get_zreports),
    "get-xreport": ("reports", r.get_xreport),
    "post-eolorder": ("eol", w.post_eolorder),
}

_LOCK_WINDOW = timedelta(minutes=30)
_BAD_LOGINS = 5
_NOT_FOUND = msgspec.json.encode({"success": 0, "errorcode": 0, "message": "Unknown function"})
_encode = msgspec.json.encode


class RequestLogEntry(NamedTuple):
    """One vendor request as the sandbox saw it (errorcode 0 = success)."""

    at: datetime
    ip: str
    function: str
    errorcode: int


@dataclass(slots=True)
class CloudPOSState:
    """Everything the sandbox serves and enforces; mutate it from tests to set scenes."""

    world: World
    clock: Clock
    faults: Faults
    licname: str
    token: str
    daily_limit: int
    licensed_modules: frozenset[str]
    world_factory: Callable[[], World]
    orders: OrderIndex = field(init=False)
    quota_day: date | None = None
    quota_used: int = 0
    bad_logins: dict[str, list[datetime]] = field(default_factory=dict)
    blocked: dict[str, datetime] = field(default_factory=dict)
    request_log: deque[RequestLogEntry] = field(default_factory=lambda: deque(maxlen=10_000))
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.orders = OrderIndex(self.world.orders)

    # --- controls for tests and the admin endpoints -----------------------------------

    def reset(self) -> None:
        """Back to the generated world: no writes, no quota used, no locks, no faults."""
        with self.lock:
            self.world = self.world_factory()
            self.orders = OrderIndex(self.world.orders)
            self.faults.reset()
            self.reset_quota()
            self.bad_logins.clear()
            self.blocked.clear()
            self.request_log.clear()
            self.calls.clear()

    def reset_quota(self) -> None:
        with self.lock:
            self.quota_day, self.quota_used = None, 0

    def take_z_report(self, at: datetime | None = None) -> ZReport:
        """Close the open period (what the operator's Z key does); X starts empty."""
        with self.lock:
            return close_business_day(self.world, at or self.clock.local().replace(microsecond=0))

    def confirm_weborder(self, weborder_id: int, at: datetime | None = None) -> None:
        """Confirm a web order as the merchant would at the till (default: now + 20 min)."""
        with self.lock:
            when = at or self.clock.local().replace(microsecond=0) + timedelta(minutes=20)
            self.world.weborders[weborder_id].confirmed_at = when

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for `GET /_sandbox/state`."""
        with self.lock:
            world = self.world
            return {
                "vendor": "cloudpos",
                "now": self.clock.now().isoformat(),
                "licname": self.licname,
                "quota": {
                    "day": self.quota_day.isoformat() if self.quota_day else None,
                    "used": self.quota_used,
                    "limit": self.daily_limit,
                },
                "requests": {"total": len(self.request_log), "by_function": dict(self.calls)},
                "blocked_ips": {ip: fmt_dt(self._local(t)) for ip, t in self.blocked.items()},
                "bad_logins": {ip: len(times) for ip, times in self.bad_logins.items()},
                "licensed_modules": sorted(self.licensed_modules),
                "faults": self.faults.snapshot(),
                "world": {
                    "orders": len(world.orders),
                    "first_ticket": world.orders[0].ticket,
                    "last_ticket": world.orders[-1].ticket,
                    "zreports": len(world.zreports),
                    "products": len(world.products),
                    "customers": len(world.customers),
                    "documents": len(world.documents),
                    "weborders": len(world.weborders),
                },
            }

    # --- the vendor request pipeline --------------------------------------------------

    def handle(self, query: str, body: bytes, content_type: str, ip: str) -> tuple[int, bytes]:
        """Answer one `/api/` request: (HTTP status, JSON body)."""
        with self.lock:
            now = self.clock.now().replace(microsecond=0)
            names, data = parse_request(query, body, content_type)
            flags = [n for n in names if n.startswith(("get-", "post-", "update-"))]
            function = flags[0] if len(flags) == 1 else ""
            status, payload, code = self._answer(now, Fields(data), ip, function)
            self.request_log.append(RequestLogEntry(now, ip, function, code))
            return status, payload

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.clock.tz).replace(tzinfo=None)

    def _answer(self, now: datetime, f: Fields, ip: str, function: str) -> tuple[int, bytes, int]:
        # Lock-out times are kept in UTC so "30 minutes" stays exact across DST changes;
        # the messages, the quota day and its reset are local wall time.
        utc = now.astimezone(UTC)
        until = self.blocked.get(ip)
        if until is not None and utc < until:
            stated = fmt_dt(self._local(until))
            return _fail(1004, f"5 bad logins reached, your ip adress is blocked till '{stated}'")
        self.blocked.pop(ip, None)
        licname, token = f.text("licname"), f.text("token")
        if not licname or not token:
            return _fail(1001, "Token and name can not be empty")
        if licname != self.licname or token != self.token:
            recent = [t for t in self.bad_logins.get(ip, []) if t > utc - _LOCK_WINDOW] + [utc]
            if len(recent) >= _BAD_LOGINS:
                self.blocked[ip] = utc + _LOCK_WINDOW
                self.bad_logins.pop(ip, None)
            else:
                self.bad_logins[ip] = recent
            return _fail(1002, "Token or name not valid")
        today = now.date()
        if self.quota_day != today:
            self.quota_day, self.quota_used = today, 0
        self.quota_used += 1
        if self.quota_used > self.daily_limit:
            reset_at = fmt_dt(datetime.combine(today + timedelta(days=1), time()))
            return _fail(
                1003,
                f"Limit of '{self.daily_limit}' requests per day reached, "
                f"next request possible '{reset_at}'",
            )
        if function not in FUNCTIONS:  # none, several or an unknown flag
            return 404, _NOT_FOUND, 0
        module, handler = FUNCTIONS[function]
        if function == "get-orders" and f.has("clockinclockout"):
            module = "staff"
        if module not in self.licensed_modules:
            return _fail(1005, "No license for this module")
        self.calls[function] += 1
        try:
            return 200, handler(self, f), 0
        except Fail as exc:
            return _fail(exc.code, exc.message)


def _fail(code: int, message: str) -> tuple[int, bytes, int]:
    return 200, error(code, message), code


# --- the ASGI app ---------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> Response:
    return Response(_encode(data), status, media_type="application/json")


def create_app(state: CloudPOSState) -> ASGIApp:
    """The Starlette app for `state`, wrapped in fault injection and the clock's Date header."""

    async def api(request: Request) -> Response:
        body = await request.body()
        ip = request.client.host if request.client else "unknown"
        query = request.scope["query_string"].decode("latin-1")
        status, payload = state.handle(query, body, request.headers.get("content-type", ""), ip)
        return Response(payload, status, media_type="application/json")

    async def admin_state(_request: Request) -> Response:
        return _json(state.snapshot())

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            knobs = await _body(request)
            try:
                if knobs.pop("reset", False):
                    state.faults.reset()
                state.faults.update(**knobs)
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
        return _json(state.faults.snapshot())

    async def admin_clock(request: Request) -> Response:
        if request.method == "POST":
            data = await _body(request)
            try:
                if "set" in data:
                    state.clock.set(datetime.fromisoformat(str(data["set"])))
                if "advance_seconds" in data:
                    state.clock.advance(float(data["advance_seconds"]))
            except (TypeError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json({"now": state.clock.now().isoformat()})

    async def admin_reset_quota(_request: Request) -> Response:
        state.reset_quota()
        return _json(state.snapshot())

    app = Starlette(
        routes=[
            Route("/api/", api, methods=["GET", "POST"]),
            Route("/_sandbox/state", admin_state, methods=["GET"]),
            Route("/_sandbox/faults", admin_faults, methods=["GET", "POST"]),
            Route("/_sandbox/clock", admin_clock, methods=["GET", "POST"]),
            Route("/_sandbox/reset-quota", admin_reset_quota, methods=["POST"]),
        ]
    )
    return vendor_app(app, state.faults, state.clock)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def create_sandbox(
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    daily_limit: int = 500,
    licensed_modules: Iterable[str] | None = None,
    clock: Clock | None = None,
    world: World | None = None,
) -> Sandbox:
    """A CloudPOS sandbox over a `be_hospitality` world (or the `world` given).

    Credentials derive from the seed. Without a `clock`, time starts at the world's
    `as_of` and runs; tests usually pass a frozen `Clock`.
    """
    if world is None:

        def factory() -> World:
            return generate_world(
                "be_hospitality", seed=seed, days=days, orders_per_day=orders_per_day
            )
    else:
        pristine = pickle.dumps(world)  # several times faster than deepcopy to restore

        def factory() -> World:
            restored: World = pickle.loads(pristine)
            return restored

    current = world if world is not None else factory()
    modules = frozenset(MODULES if licensed_modules is None else licensed_modules)
    unknown = modules - set(MODULES)
    if unknown:
        raise ValueError(f"unknown CloudPOS modules {sorted(unknown)}; known: {MODULES}")
    digest = hashlib.sha256(f"cloudpos-sandbox:{seed}".encode()).hexdigest()
    state = CloudPOSState(
        world=current,
        clock=clock or Clock.starting_at(current.as_of, "Europe/Brussels"),
        faults=Faults(supported_kinds=r.MALFORMED_KINDS),
        licname=f"belfort{seed}",
        token=digest[:32],
        daily_limit=daily_limit,
        licensed_modules=modules,
        world_factory=factory,
    )
    return Sandbox(
        vendor="cloudpos",
        app=create_app(state),
        state=state,
        credentials={"licname": state.licname, "token": state.token},
        base_path="/api/",
    )
