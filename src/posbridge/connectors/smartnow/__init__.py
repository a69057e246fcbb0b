"""SmartNow API (vending and unattended retail telemetry, NL/EU).

REST + JSON with bearer tokens (`POST /auth/login` → access + refresh token; the connector
refreshes before expiry and on a 401, then logs in once more, then stops as needing
attention). Paths come from one routing table (`connectors/smartnow/routes.py`, listed
below): the document lost them, most are INFERRED. Orders are revenue transactions (one
vend each) joined with their payment transactions and the machine product's VAT rate,
read incrementally by id (`where[id][>]`, `sort=id ASC`, `limit=100`,
`useArchive=true`); IoT/device logs and shifts by id from the oldest still-open one (so
resolutions and closings are picked up); vouchers by `updatedAt`. A sync with nothing
new costs one request per incremental stream. Money is integer cents on the wire;
booleans are 0/1. No rate limit is documented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, SecretStr
from pydantic import Field as SettingField

from posbridge.connectors.base import (
    Capability,
    Command,
    CommandResult,
    Connector,
    FetchContext,
    Limits,
    Page,
    Stream,
)
from posbridge.connectors.cursors import id_cursor, optional_id_cursor
from posbridge.connectors.fieldmap import Field
from posbridge.connectors.http import VendorClient
from posbridge.connectors.smartnow import mapping as m
from posbridge.connectors.smartnow.routes import ROUTES, Route, path
from posbridge.connectors.smartnow.wire import (
    SmartNowAuth,
    decode_json,
    decode_raw_list,
    decode_record,
    decode_report_rows,
)
from posbridge.errors import CursorError
from posbridge.model import (
    Device,
    DeviceEvent,
    Employee,
    Location,
    Modifier,
    Order,
    Product,
    Shift,
    Voucher,
)

__all__ = ["SmartNow", "SmartNowSettings"]

_TZ = ZoneInfo(m.TZ_NAME)


def _local_day(utc: str) -> date:
    """The local (Europe/Amsterdam) date of a UTC `…Z` timestamp."""
    return datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(_TZ).date()


Params = list[tuple[str, Any]]


class SmartNowSettings(BaseModel):
    """Credentials and tuning of one SmartNow account."""

    username: str = SettingField(description="login e-mail or user name")
    password: SecretStr = SettingField(description="password of the API user")
    page_size: int = SettingField(default=100, ge=1, le=100, description="limit per list request")
    daily_limit: int | None = SettingField(
        default=None, ge=1, description="SmartNow documents no limit; accepted and unused"
    )


def _composite(key: Any, **parts: bytes | list[bytes] | int | str | None) -> bytes:
    """`{"id": key, part: <exact vendor bytes>, ...}` without re-encoding the parts."""
    out = [b'{"id":' + (f'"{key}"' if isinstance(key, str) else str(key)).encode()]
    for name, value in parts.items():
        if isinstance(value, list):
            body = b"[" + b",".join(value) + b"]"
        elif isinstance(value, bytes):
            body = value
        elif isinstance(value, str):
            body = f'"{value}"'.encode()
        else:
            body = b"null" if value is None else str(value).encode()
        out.append(f'"{name}":'.encode() + body)
    return b",".join(out) + b"}"


class SmartNow(Connector):
    """The SmartNow connector."""

    vendor: ClassVar[str] = "smartnow"
    display_name: ClassVar[str] = "SmartNow API"
    Settings: ClassVar[type[BaseModel]] = SmartNowSettings
    limits: ClassVar[Limits] = Limits(per_day=None, quota_timezone=m.TZ_NAME)
    currency: ClassVar[str] = m.CURRENCY
    timezone: ClassVar[str] = m.TZ_NAME
    default_base_url: ClassVar[str | None] = "https://api.smart-now.com/"
    field_map: ClassVar[Mapping[str, tuple[str, Sequence[Field]]]] = m.FIELD_MAP
    #: every operation's method and path (rendered into docs/connectors.md)
    routes: ClassVar[Sequence[Route]] = ROUTES

    def __init__(self, settings: BaseModel, http: VendorClient) -> None:
        assert isinstance(settings, SmartNowSettings)
        super().__init__(settings, http)
        self.config = settings
        self.auth = SmartNowAuth(
            http.base_url, settings.username, settings.password.get_secret_value()
        )
        http.set_auth(self.auth)
        self._products: dict[int, dict[int, bytes]] = {}  # machine → product id → raw
        #: catalogue lists read by this connector: the engine builds one connector per run,
        #: and devices, products and modifiers all list machines, products and modifiers
        #: both list each machine's flavours and extras; asked once per run, not 2-3 times
        self._lists: dict[tuple[str, int], list[bytes]] = {}

    # -- wire ------------------------------------------------------------------------------
    def call(
        self,
        name: str,
        *,
        params: Params | None = None,
        json: Any = None,
        write: bool = False,
        once: bool = False,
        **path_params: Any,
    ) -> Any:
        """One operation of the routing table, decoded as JSON."""
        route = next(r for r in ROUTES if r.name == name)
        return self.http.request(
            route.method,
            path(name, **path_params).lstrip("/"),
            params=params,
            json=json,
            decode=decode_json,
            write=write,
            once=once,
        )

    def raw_list(self, name: str, params: Params | None = None, **path_params: Any) -> list[bytes]:
        """One list operation: the exact bytes of each element."""
        return self.http.request(
            "GET", path(name, **path_params).lstrip("/"), params=params, decode=decode_raw_list
        )

    def check(self) -> None:
        """`GET /user/me`: logs in and proves the token works."""
        self.call("user.me")

    def _paged(
        self, name: str, where: Params, sort: str, *, archive: bool = False
    ) -> Iterator[list[bytes]]:
        """Pages of a list operation by `skip`, until a short page."""
        skip, size = 0, self.config.page_size
        while True:
            params: Params = [*where, ("sort", sort), ("limit", size), ("skip", skip)]
            if archive:
                params.append(("useArchive", "true"))
            raws = self.raw_list(name, params)
            yield raws
            if len(raws) < size:
                return
            skip += size

    # -- orders ----------------------------------------------------------------------------
    def _machine_products(self, machine: int) -> dict[int, bytes]:
        if machine not in self._products:
            raws = self.raw_list("product.list", machine=machine)
            self._products[machine] = {int(decode_record(r)["id"]): r for r in raws}
        return self._products[machine]

    def _orders(self, ctx: FetchContext) -> Iterator[Page]:
        """Revenue transactions after the last id, each with its payments and product.

        A transaction whose payment transactions have not all arrived yet ends the page
        (state stays before it), so it is read again complete next time.
        """
        after = 0 if ctx.full else id_cursor(ctx.state, "after")
        size = self.config.page_size
        while True:
            raws = self.raw_list(
                "revenuetransaction.list",
                [
                    ("where[id][>]", after),
                    ("sort", "id ASC"),
                    ("limit", size),
                    ("useArchive", "true"),
                ],
            )
            if not raws:
                return
            # Ids ascending, each once: a page that lists them out of order or repeats
            # the previous page's tail must not move the cursor past an unread vend.
            by_id = {int(t["id"]): (r, t) for r, t in ((r, decode_record(r)) for r in raws)}
            pairs = [by_id[i] for i in sorted(by_id)]
            ids = [str(t["id"]) for _, t in pairs]
            pays: dict[int, dict[int, bytes]] = {}
            for page in self._paged(
                "paymenttransaction.list",
                [("where[revenuetransaction][in][]", i) for i in ids],
                "id ASC",
                archive=True,
            ):
                for raw in page:
                    pay = decode_record(raw)
                    pays.setdefault(int(pay["revenuetransaction"]), {})[int(pay["id"])] = raw
            out, last, complete = [], after, True
            for raw, tx in pairs:
                mine = list(pays.get(int(tx["id"]), {}).values())
                if len(mine) < int(tx.get("numPaymentTransactions") or 0):
                    complete = False
                    break
                product = self._machine_products(int(tx["machine"])).get(int(tx["product"] or 0))
                out.append(
                    _composite(
                        tx["id"], revenuetransaction=raw, paymenttransactions=mine, product=product
                    )
                )
                last = max(last, int(tx["id"]))
            if out:
                yield Page(records=None, raw=out, state={"after": last})
            if not complete or len(raws) < size:
                return
            after = last

    # -- logs, shifts, vouchers -------------------------------------------------------------
    def _from_oldest_open(
        self,
        name: str,
        is_open: Callable[[dict[str, Any]], bool],
        ctx: FetchContext,
        enrich: Callable[[list[bytes], list[dict[str, Any]]], list[bytes]] | None = None,
    ) -> Iterator[Page]:
        """Records after the last id, re-reading from the oldest one still open.

        State `{"after": id, "open": oldest open id or null}`: the next read starts before
        the oldest record that may still change (an unresolved event, an open shift).
        """
        state = {} if ctx.full else ctx.state
        opened = optional_id_cursor(state, "open")
        start = opened - 1 if opened is not None else id_cursor(state, "after")
        oldest_open: int | None = None
        last = start
        for raws in self._paged(name, [("where[id][>]", start)], "id ASC", archive=True):
            if not raws:
                break
            recs = [decode_record(r) for r in raws]
            for rec in recs:  # ids may come out of order: keep the lowest open one
                if is_open(rec) and (oldest_open is None or int(rec["id"]) < oldest_open):
                    oldest_open = int(rec["id"])
            last = max(last, *(int(r["id"]) for r in recs))
            body = enrich(raws, recs) if enrich else raws
            yield Page(records=None, raw=body, state={"after": last, "open": oldest_open})

    def _logs(self, ctx: FetchContext) -> Iterator[Page]:
        yield from self._from_oldest_open("log.list", lambda r: r.get("state") == "active", ctx)

    def _shift_figures(self, raws: list[bytes], recs: list[dict[str, Any]]) -> list[bytes]:
        """Attach the vendor's own figures to closed shifts: rows of `POST /report/shifts`
        (sales per product) and `POST /report/revenue` (revenue per payment) of each shift,
        asked for the shifts' locations over a period around them (exact bytes kept)."""
        closed = [r for r in recs if r.get("closed")]
        figures: dict[str, dict[int, list[bytes]]] = {"sales": {}, "payments": {}}
        if closed:
            first = _local_day(min(str(r["createdAt"]) for r in closed)) - timedelta(days=1)
            last = _local_day(max(str(r["closed"]) for r in closed)) + timedelta(days=1)
            body = {
                "locations": sorted({int(r["location"]) for r in closed}),
                "period1": {"startDate": f"{first} 00:00:00", "endDate": f"{last} 23:59:59"},
            }
            for name, part in (("report.shifts", "sales"), ("report.revenue", "payments")):
                rows = self.http.request(
                    "POST", path(name).lstrip("/"), json=body, decode=decode_report_rows
                )
                for row in rows:
                    shift = decode_record(row).get("shift")
                    figures[part].setdefault(int(shift or 0), []).append(row)
        return [
            _composite(
                rec["id"],
                shift=raw,
                sales=figures["sales"].get(int(rec["id"]), []) if rec.get("closed") else [],
                payments=figures["payments"].get(int(rec["id"]), []) if rec.get("closed") else [],
            )
            for raw, rec in zip(raws, recs, strict=True)
        ]

    def _shifts(self, ctx: FetchContext) -> Iterator[Page]:
        yield from self._from_oldest_open(
            "shift.list", lambda r: not r.get("closed"), ctx, self._shift_figures
        )

    def _vouchers(self, ctx: FetchContext) -> Iterator[Page]:
        """Vouchers changed since the last `updatedAt` (ties at it remembered by id)."""
        since, seen = (None, set()) if ctx.full else _voucher_cursor(ctx.state)
        where: Params = [("where[updatedAt][>=]", since)] if since else []
        for raws in self._paged("voucher.list", where, "updatedAt ASC,id ASC"):
            recs = [decode_record(r) for r in raws]
            fresh = [
                (raw, rec)
                for raw, rec in zip(raws, recs, strict=True)
                if not (rec["updatedAt"] == since and rec["id"] in seen)
            ]
            for rec in recs:
                if rec["updatedAt"] != since:
                    since, seen = rec["updatedAt"], set()
                seen.add(rec["id"])
            yield Page(
                records=None,
                raw=[r for r, _ in fresh],
                state={"since": since, "seen": sorted(seen)},
            )

    # -- full lists ----------------------------------------------------------------------------
    def _shared_list(self, name: str, machine: int = 0) -> list[bytes]:
        """A catalogue list answer, asked of the vendor once per run (per connector)."""
        key = (name, machine)
        if key not in self._lists:
            raws = self.raw_list(name, machine=machine) if machine else self.raw_list(name)
            self._lists[key] = raws
        return self._lists[key]

    def _full(self, name: str) -> Callable[[FetchContext], Iterator[Page]]:
        def fetch(ctx: FetchContext) -> Iterator[Page]:
            raws = self._shared_list(name) if name == "machine.list" else self.raw_list(name)
            yield Page(records=None, raw=raws)

        return fetch

    def _machines(self) -> list[int]:
        return [int(decode_record(r)["id"]) for r in self._shared_list("machine.list")]

    def _catalog(self, ctx: FetchContext) -> Iterator[Page]:
        for machine in self._machines():
            self._products.pop(machine, None)
            products = self._machine_products(machine)
            mods = [
                f"flavour:{decode_record(r)['id']}"
                for r in self._shared_list("productflavour.list", machine)
            ]
            mods += [
                f"extra:{decode_record(r)['id']}"
                for r in self._shared_list("productextra.list", machine)
            ]
            yield Page(
                records=None,
                raw=[
                    _composite(pid, product=raw, modifiers=[f'"{x}"'.encode() for x in mods])
                    for pid, raw in products.items()
                ],
            )

    def _modifiers(self, ctx: FetchContext) -> Iterator[Page]:
        for machine in self._machines():
            out = []
            for kind in ("flavour", "extra"):
                for raw in self._shared_list(f"product{kind}.list", machine):
                    out.append(
                        _composite(f"{kind}:{decode_record(raw)['id']}", kind=kind, item=raw)
                    )
            yield Page(records=None, raw=out)

    def _employees(self, ctx: FetchContext) -> Iterator[Page]:
        me = self.call("user.me")
        root = me["userGroup"]
        groups = [root, *self.call("usergroup.children", parentid=root["id"])]
        out = []
        for group in groups:
            for raw in self.raw_list("usergroup.populate", parentid=group["id"], alias="users"):
                out.append(
                    _composite(
                        decode_record(raw)["id"], user=raw, admin=int(group.get("admin") or 0)
                    )
                )
        yield Page(records=None, raw=out)

    # -- declaration -----------------------------------------------------------------------
    def streams(self) -> Sequence[Stream]:
        """Sales first (they must stay fresh), then events, shifts, vouchers and the lists."""
        S = partial(Stream, decode=decode_record)
        hourly, six = timedelta(hours=1), timedelta(hours=6)
        return (
            S(
                "orders",
                Order,
                self._orders,
                m.to_order,
                mode="incremental",
                every=timedelta(minutes=15),
                priority=0,
                detect_deletions=False,
                description="revenue transactions by id + their payment transactions + product VAT",
            ),
            S(
                "device_events",
                DeviceEvent,
                self._logs,
                m.to_event,
                mode="incremental",
                every=timedelta(minutes=15),
                detect_deletions=False,
                description="logs / IoT events by id, re-read from the oldest unresolved",
            ),
            S(
                "shifts",
                Shift,
                self._shifts,
                m.to_shift,
                mode="incremental",
                every=hourly,
                detect_deletions=False,
                description="shifts by id from the oldest open; totals from report/shifts + report/revenue",
            ),
            S(
                "vouchers",
                Voucher,
                self._vouchers,
                m.to_voucher,
                mode="incremental",
                every=hourly,
                detect_deletions=False,
                description="vouchers by updatedAt",
            ),
            S(
                "campaigns",
                Voucher,
                self._full("campaign.list"),
                m.to_campaign,
                every=six,
                detect_deletions=False,
                description="campaigns as vouchers of kind campaign",
            ),
            S("locations", Location, self._full("location.list"), m.to_location, every=six),
            S(
                "devices",
                Device,
                self._full("machine.list"),
                m.to_device,
                every=hourly,
                description="machines",
            ),
            S(
                "products",
                Product,
                self._catalog,
                m.to_product,
                every=six,
                description="per machine: products, with the machine's flavours/extras as modifiers",
            ),
            S(
                "modifiers",
                Modifier,
                self._modifiers,
                m.to_modifier,
                every=six,
                description="per machine: product flavours and extras",
            ),
            S(
                "employees",
                Employee,
                self._employees,
                m.to_employee,
                every=six,
                description="users of the own user group and its children",
            ),
        )

    def capabilities(self) -> Sequence[Capability]:
        from posbridge.connectors.smartnow.commands import CAPABILITIES

        return CAPABILITIES

    def execute(self, command: Command) -> CommandResult:
        from posbridge.connectors.smartnow.commands import execute_command

        return execute_command(self, command)

    def preview(self, command: Command) -> dict[str, Any]:
        from posbridge.connectors.smartnow.commands import preview_command

        return preview_command(command)


def _voucher_cursor(state: Mapping[str, Any]) -> tuple[str | None, set[Any]]:
    """The stored (`since` updatedAt, ids `seen` at it), or `CursorError` saying what is there."""
    since, seen = state.get("since"), state.get("seen", [])
    if since is not None:
        try:
            if not isinstance(since, str):
                raise TypeError
            datetime.fromisoformat(since.replace("Z", "+00:00"))
        except (TypeError, ValueError):
            raise CursorError(f"the stored cursor since={since!r} is not a timestamp") from None
    if not isinstance(seen, list) or not all(
        isinstance(i, (int, str)) and not isinstance(i, bool) for i in seen
    ):
        raise CursorError(f"the stored cursor seen={seen!r} is not a list of voucher ids")
    return since, set(seen)
