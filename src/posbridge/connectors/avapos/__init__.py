"""AvaPOS / PractiPOS API (Ecuador): restaurant POS with a small-hotel module.

One URL (`api.php`), GET or POST, `key` + `action` (get/set/create) + `typedata` + `data`
(a JSON string). No ids to resume from and no modification times: invoices and purchases
are read by date window (`desde`/`hasta`) from the last synced day minus an overlap of
`overlap_days` (late edits and voids within it are picked up; older edits need a
`--full` sync or a backfill). Products, clients, reservations (every stay whose checkout
is on or before today + `checkout_ahead_days`) and physical stock are full lists.
Locations and cash boxes exist only as `establecimiento`/`caja` on invoices; categories
only as product `categoria` names. No documented rate limit; errors are plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Literal

import msgspec
from pydantic import BaseModel, SecretStr
from pydantic import Field as SettingField

from posbridge.connectors.avapos import mapping as m
from posbridge.connectors.avapos.commands import CAPABILITIES, execute_command
from posbridge.connectors.avapos.wire import (
    AvaPOSAuth,
    decode_list,
    decode_object,
    decode_record,
    decode_write,
)
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
from posbridge.connectors.cursors import date_cursor
from posbridge.connectors.fieldmap import Field
from posbridge.connectors.http import VendorClient
from posbridge.errors import CursorError
from posbridge.model import Customer, Order, Product, Report, Reservation, StockMovement

__all__ = ["AvaPOS", "AvaPOSSettings"]


class AvaPOSSettings(BaseModel):
    """Credentials and tuning of one AvaPOS / PractiPOS account."""

    key: SecretStr = SettingField(description="APIKEY of the account")
    history_days: int = SettingField(
        default=365, ge=1, le=3650, description="days of invoices read on the first sync"
    )
    window_days: int = SettingField(default=14, ge=1, le=366, description="days per request")
    overlap_days: int = SettingField(
        default=3, ge=0, le=60, description="days re-read before the last synced day (late edits)"
    )
    checkout_ahead_days: int = SettingField(
        default=400, ge=0, le=3650, description="reservas read up to checkout today + this"
    )
    date_format: Literal["iso", "dmy"] = SettingField(
        default="iso", description="desde/hasta as YYYY-MM-DD (document) or dd/mm/yyyy"
    )
    daily_limit: int | None = SettingField(
        default=None, ge=1, description="AvaPOS documents no limit; accepted and unused"
    )


class AvaPOS(Connector):
    """The AvaPOS / PractiPOS connector."""

    vendor: ClassVar[str] = "avapos"
    display_name: ClassVar[str] = "AvaPOS / PractiPOS API"
    Settings: ClassVar[type[BaseModel]] = AvaPOSSettings
    limits: ClassVar[Limits] = Limits(per_day=None, quota_timezone=m.TZ_NAME)
    currency: ClassVar[str] = m.CURRENCY
    timezone: ClassVar[str] = m.TZ_NAME
    default_base_url: ClassVar[str | None] = "http://practisis.net/apis/practipos/api.php"
    field_map: ClassVar[Mapping[str, tuple[str, Sequence[Field]]]] = m.FIELD_MAP

    def __init__(self, settings: BaseModel, http: VendorClient) -> None:
        assert isinstance(settings, AvaPOSSettings)
        super().__init__(settings, http)
        self.config = settings
        http.set_auth(AvaPOSAuth(settings.key.get_secret_value()))
        #: the last `get reservas` answer: (checkout limit, answer, parts already served)
        self._reservas_answer: tuple[date, dict[str, list[bytes]], set[str]] | None = None

    # -- wire ------------------------------------------------------------------------------
    def _params(self, action: str, typedata: str, data: Mapping[str, Any] | None) -> dict[str, str]:
        encoded = msgspec.json.encode(data).decode() if data else ""
        return {"action": action, "typedata": typedata, "data": encoded}

    def list_raw(
        self, typedata: str, key: str, data: Mapping[str, Any] | None = None
    ) -> list[bytes]:
        """One `get`: the exact bytes of each record under `key`."""
        return self.http.request(
            "GET",
            "",
            params=self._params("get", typedata, data),
            decode=lambda r: decode_list(r, key),
        )

    def list_records(
        self, typedata: str, key: str, data: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One `get`, decoded."""
        return [decode_record(raw) for raw in self.list_raw(typedata, key, data)]

    def write(self, action: str, typedata: str, data: Mapping[str, Any]) -> str:
        """One `create`/`set` sent as a POST form; returns the id the vendor answers."""
        return self.http.request(
            "POST", "", data=self._params(action, typedata, data), decode=decode_write, write=True
        )

    def check(self) -> None:
        """`get clientes` is the cheapest authenticated call (a bad key answers plain text)."""
        self.list_raw("clientes", "Clientes")

    # -- fetchers --------------------------------------------------------------------------
    def _day(self, d: date) -> str:
        return d.strftime("%d/%m/%Y") if self.config.date_format == "dmy" else d.isoformat()

    def _today(self, ctx: FetchContext) -> date:
        now = ctx.now or datetime.now(m.TZ)
        return now.astimezone(m.TZ).date()

    def _windowed(self, typedata: str, key: str) -> Callable[[FetchContext], Iterator[Page]]:
        """Date windows from the last synced day minus the overlap (or the history) to today.

        State `{"through": day}`: every day up to it was read. A backfill reads since..until
        without moving it.
        """
        size = timedelta(days=self.config.window_days)

        def fetch(ctx: FetchContext) -> Iterator[Page]:
            today = self._today(ctx)
            if ctx.since or ctx.until:
                start, end = ctx.since or ctx.until, ctx.until or ctx.since
                assert start is not None
                assert end is not None
            else:
                end = today
                through = None if ctx.full else date_cursor(ctx.state, "through")
                if through is not None and through > today + timedelta(days=1):
                    # Nothing would ever be read again: every window starts after today.
                    raise CursorError(
                        f"the stored cursor through='{through}' lies past the vendor's "
                        f"today ({today})"
                    )
                if through is not None:
                    start = through - timedelta(days=self.config.overlap_days)
                else:
                    start = today - timedelta(days=self.config.history_days)
            while start <= end:
                stop = min(end, start + size - timedelta(days=1))
                raw = self.list_raw(
                    typedata, key, {"desde": self._day(start), "hasta": self._day(stop)}
                )
                yield Page(records=None, raw=raw, state={"through": stop.isoformat()})
                start = stop + timedelta(days=1)

        return fetch

    def _full(self, typedata: str, key: str) -> Callable[[FetchContext], Iterator[Page]]:
        def fetch(ctx: FetchContext) -> Iterator[Page]:
            yield Page(records=None, raw=self.list_raw(typedata, key))

        return fetch

    def _reservas_list(self, ctx: FetchContext, part: str) -> Iterator[Page]:
        """One `get reservas` answers both `detalles` and `totales`: the second stream of a
        run reuses the first one's answer instead of asking again (one request saved)."""
        limit = self._today(ctx) + timedelta(days=self.config.checkout_ahead_days)
        cached = self._reservas_answer
        if cached is None or cached[0] != limit or part in cached[2]:
            answer = self.http.request(
                "GET",
                "",
                params=self._params("get", "reservas", {"checkout": limit.isoformat()}),
                decode=decode_object,
            )
            cached = (limit, answer, set())
            self._reservas_answer = cached
        cached[2].add(part)
        yield Page(records=None, raw=cached[1].get(part, []))

    def _reservas(self, ctx: FetchContext) -> Iterator[Page]:
        yield from self._reservas_list(ctx, "detalles")

    def _hotel_totals(self, ctx: FetchContext) -> Iterator[Page]:
        yield from self._reservas_list(ctx, "totales")

    # -- declaration -----------------------------------------------------------------------
    def streams(self) -> Sequence[Stream]:
        """Invoices first (they must stay fresh), then the full lists."""
        hourly, six_hours, daily = timedelta(hours=1), timedelta(hours=6), timedelta(days=1)
        S = partial(Stream, decode=decode_record)
        return (
            S(
                "orders",
                Order,
                self._windowed("facturas", "Facturas"),
                m.to_order,
                mode="incremental",
                every=timedelta(minutes=15),
                priority=0,
                supports_backfill=True,
                detect_deletions=False,
                related=m.places_of_order,
                description="facturas by date window (overlap re-read); locations and cajas from them",
            ),
            S(
                "products",
                Product,
                self._full("productos", "Productos"),
                m.to_product,
                every=six_hours,
                related=m.category_of_product,
                description="productos; categories from their names",
            ),
            S(
                "customers",
                Customer,
                self._full("clientes", "Clientes"),
                m.to_customer,
                every=six_hours,
                source_key="cedula",
            ),
            S(
                "reservations",
                Reservation,
                self._reservas,
                m.to_reservation,
                every=hourly,
                source_key="ID",
                description="reservas detalles (room stays)",
            ),
            S(
                "reports",
                Report,
                self._hotel_totals,
                m.to_hotel_report,
                every=hourly,
                source_key="date",
                description="reservas totales: occupancy, ADR, RevPAR per night and room type",
            ),
            S(
                "purchases",
                StockMovement,
                self._windowed("compras", "Compras"),
                m.to_purchase,
                mode="incremental",
                every=six_hours,
                supports_backfill=True,
                detect_deletions=False,
                description="compras by date window (INFERRED shape)",
            ),
            S(
                "stock",
                StockMovement,
                self._full("fisico", "Fisico"),
                m.to_stock,
                every=daily,
                detect_deletions=False,
                description="fisico: physical stock per establishment (INFERRED shape)",
            ),
        )

    def capabilities(self) -> Sequence[Capability]:
        """create/set of productos and clientes, create asientos and facturas."""
        return CAPABILITIES

    def execute(self, command: Command) -> CommandResult:
        """Perform one write."""
        return execute_command(self, command)
