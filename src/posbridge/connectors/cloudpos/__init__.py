"""CloudPOS API v1 (Belgium): hospitality and retail cloud POS.

One URL, `licname` + `token`, the function as a bare query flag. 500 requests a day per
licence shared by every stream and write; five bad logins block the IP for 30 minutes,
so an auth error stops the connection after one call. Orders, invoices, coupons, Z
reports and clock entries are read by id range (`start`/`end`) from the last committed
id minus a lookback; the catalogue and customers are small full lists whose unchanged
records the store skips by hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, model_validator
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
from posbridge.connectors.cloudpos import mapping as m
from posbridge.connectors.cloudpos.commands import (
    CAPABILITIES,
    execute_command,
    preview_command,
)
from posbridge.connectors.cloudpos.fields import FIELD_MAP
from posbridge.connectors.cloudpos.wire import (
    CloudPOSAuth,
    decode_envelope,
    decode_fields,
    decode_record,
    decode_records,
    raw_records,
    top_id,
)
from posbridge.connectors.cursors import id_cursor
from posbridge.connectors.fieldmap import Field
from posbridge.connectors.http import VendorClient
from posbridge.errors import CursorError, UsageError
from posbridge.model import (
    Category,
    Customer,
    Device,
    Employee,
    Invoice,
    Location,
    Modifier,
    Order,
    PaymentType,
    Product,
    Shift,
    Table,
    Voucher,
)

__all__ = ["CloudPOS", "CloudPOSSettings"]


class CloudPOSSettings(BaseModel):
    """Credentials and tuning of one CloudPOS licence."""

    licname: str = SettingField(min_length=1, description="licence name (licentienaam)")
    token: SecretStr = SettingField(description="API token of the licence")
    page_size: int = SettingField(default=500, ge=10, le=5000, description="ids per range request")
    lookback: int = SettingField(
        default=50, ge=0, le=10000, description="ids re-read below the last committed one"
    )
    daily_limit: int = SettingField(
        default=500, ge=1, description="requests per day of the licence (500 unless agreed)"
    )

    @model_validator(mode="after")
    def _lookback_below_page(self) -> CloudPOSSettings:
        # A window must reach past the last known id, or "is there more?" is undecidable.
        if self.lookback >= self.page_size:
            raise ValueError(
                f"lookback ({self.lookback}) must be smaller than page_size ({self.page_size})"
            )
        return self


class CloudPOS(Connector):
    """The CloudPOS v1 connector."""

    vendor: ClassVar[str] = "cloudpos"
    display_name: ClassVar[str] = "CloudPOS API v1"
    Settings: ClassVar[type[BaseModel]] = CloudPOSSettings
    limits: ClassVar[Limits] = Limits(
        per_day=500, quota_timezone="Europe/Brussels", write_reserve=25, max_bad_logins=1
    )
    currency: ClassVar[str] = "EUR"
    timezone: ClassVar[str] = "Europe/Brussels"
    #: 2: a Z report's business day is that of its end (it closes the day before)
    mapping_version: ClassVar[str] = "2"
    default_base_url: ClassVar[str | None] = "https://cloudpos.be/api/"
    field_map: ClassVar[Mapping[str, tuple[str, Sequence[Field]]]] = FIELD_MAP

    def __init__(self, settings: BaseModel, http: VendorClient) -> None:
        assert isinstance(settings, CloudPOSSettings)
        super().__init__(settings, http)
        self.config = settings
        http.set_auth(CloudPOSAuth(settings.licname, settings.token.get_secret_value()))

    # -- wire ------------------------------------------------------------------------------
    def call(
        self,
        function: str,
        params: Mapping[str, Any] | None = None,
        fields: Mapping[str, str] | None = None,
        *,
        write: bool = False,
    ) -> Any:
        """One function call; returns the decoded envelope (errors raised as taxonomy)."""
        budget = self.http.budget
        return self.http.request(
            "POST" if fields is not None else "GET",
            _query(function, params),
            data=fields,
            decode=lambda r: decode_envelope(r, budget),
            write=write,
        )

    def call_fields(
        self,
        function: str,
        fields: Mapping[str, str] | None,
        *,
        write: bool,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A call whose answer fields (id, modtime, persons, data, ...) are returned.

        POST with `fields`, GET without them.
        """
        budget = self.http.budget

        def decode(response: httpx.Response) -> dict[str, Any]:
            decode_envelope(response, budget)
            body: dict[str, Any] = decode_fields(response.content)
            return {k: v for k, v in body.items() if k not in ("success", "errorcode", "message")}

        method = "POST" if fields is not None else "GET"
        return self.http.request(
            method, _query(function, params), data=fields, decode=decode, write=write
        )

    def _list(self, function: str, params: Mapping[str, Any] | None = None) -> Page:
        result = decode_records(self.call(function, params))
        return Page(records=result.records, raw=result.raw)

    def _decoded(self, function: str) -> list[dict[str, Any]]:
        return decode_records(self.call(function)).records

    def _raw_list(self, function: str, params: Mapping[str, Any] | None = None) -> Page:
        """A list page left undecoded: the engine decodes where it maps (maybe a worker)."""
        return Page(records=None, raw=raw_records(self.call(function, params)))

    def effective_limits(self) -> Limits:
        """500 a day unless the licence was granted more (vendor doc: "kan besproken worden")."""
        return replace(self.limits, per_day=self.config.daily_limit)

    def check(self) -> None:
        """get-establishments is the cheapest authenticated call."""
        self.call("get-establishments")

    # -- fetchers --------------------------------------------------------------------------
    def _full(self, function: str) -> Callable[[FetchContext], Iterator[Page]]:
        def fetch(ctx: FetchContext) -> Iterator[Page]:
            yield self._list(function)

        return fetch

    def _id_range(
        self,
        function: str,
        key: str = "id",
        *,
        extra: Mapping[str, Any] | None = None,
        first_id: Callable[[], int | None] | None = None,
    ) -> Callable[[FetchContext], Iterator[Page]]:
        """Read `start`..`end` id windows from the last committed id minus the lookback.

        Ids do not start at 1 on a licence in use, and v1 has no "first id" call. On the
        first sync, small streams are read once without a range (one request, all of it);
        orders, too many for one answer, start at the first ticket of the oldest Z report
        (`first_id`). A window stops the read when it is empty or its highest id lies below
        its end. State is the highest id committed, so a crash resumes from it.

        A stored cursor that is not an id, or whose resume window comes back empty (with a
        lookback the window holds the last committed record, and CloudPOS keeps fiscal
        records: an empty one means the cursor lies past the vendor's data), raises
        `CursorError` rather than silently reading nothing from then on.
        """
        size, lookback = self.config.page_size, self.config.lookback

        def fetch(ctx: FetchContext) -> Iterator[Page]:
            if ctx.since or ctx.until:
                yield from self._by_date(function, ctx, extra)
                return
            last = _cursor(ctx.state)
            resuming = bool(last and lookback)
            if not last and first_id is None:
                page = self._raw_list(function, extra)
                page.state = {"last_id": _top(page, key)}
                yield page
                return
            if last:
                start = max(1, last - lookback + 1)
            else:
                assert first_id is not None
                found = first_id()
                if found is None:
                    return
                start = found
            while True:
                end = start + size - 1
                page = self._raw_list(function, {**(extra or {}), "start": start, "end": end})
                if resuming and not page.raw:
                    raise CursorError(
                        f"the stored cursor last_id={last} lies past the newest record the "
                        f"vendor has (ids {start}..{end} are empty)"
                    )
                resuming = False
                top = _top(page, key)
                last = max(last, top)
                page.state = {"last_id": last}
                yield page
                if not page.raw or top < end:
                    return
                start = end + 1

        return fetch

    def _first_ticket(self) -> int | None:
        """The oldest ticket the licence still knows: the first Z report's start ticket."""
        starts = [
            int(r["startticket"])
            for r in self._decoded("get-zreports")
            if _is_int(r.get("startticket"))
        ]
        if not starts:
            starts = [
                int(r["startticket"])
                for r in self._decoded("get-xreport")
                if _is_int(r.get("startticket"))
            ]
        return min(starts, default=None)

    def _by_date(
        self, function: str, ctx: FetchContext, extra: Mapping[str, Any] | None
    ) -> Iterator[Page]:
        day = ctx.since or ctx.until
        last_day = ctx.until or ctx.since
        assert day is not None
        assert last_day is not None
        while day <= last_day:
            yield self._list(function, {**(extra or {}), "date": day.isoformat()})
            day += timedelta(days=1)

    def _x_report(self, ctx: FetchContext) -> Iterator[Page]:
        yield self._list("get-xreport")

    # -- declaration -----------------------------------------------------------------------
    def streams(self) -> Sequence[Stream]:
        """Every get-* list of the v1 document, orders first (they must stay fresh)."""
        hourly, six_hours, daily = timedelta(hours=1), timedelta(hours=6), timedelta(days=1)
        full = self._full
        # Every CloudPOS record is a JSON object: the engine may decode and map big pages in a worker.
        S = partial(Stream, decode=decode_record)  # a local alias of the class
        return (
            S(
                "orders",
                Order,
                self._id_range("get-orders", first_id=self._first_ticket),
                m.to_order,
                mode="incremental",
                every=timedelta(minutes=5),
                priority=0,
                source_key="dbid",
                supports_backfill=True,
                related=m.devices_of_order,
                description="sales tickets and returns by ticket id range",
            ),
            S("locations", Location, full("get-establishments"), m.to_location, every=daily),
            S(
                "devices",
                Device,
                full("get-printers"),
                m.to_printer,
                every=daily,
                detect_deletions=False,
                description="printers; kassas come from orders",
            ),
            S("employees", Employee, full("get-users"), m.to_employee, every=daily),
            S("tables", Table, full("get-tables"), m.to_table, every=hourly),
            S("payment_types", PaymentType, full("get-payment"), m.to_payment_type, every=daily),
            S("categories", Category, full("get-categories"), m.to_category, every=six_hours),
            S("products", Product, full("get-products"), m.to_product, every=six_hours),
            S("modifiers", Modifier, full("get-subproducts"), m.to_modifier, every=six_hours),
            S("customers", Customer, full("get-customers"), m.to_customer, every=six_hours),
            S(
                "invoices",
                Invoice,
                self._id_range("get-invoices"),
                m.to_invoice,
                mode="incremental",
                every=hourly,
                priority=10,
                supports_backfill=True,
            ),
            S(
                "z_reports",
                Shift,
                self._id_range("get-zreports"),
                m.to_z_report,
                mode="incremental",
                every=hourly,
                priority=10,
            ),
            S(
                "x_report",
                Shift,
                self._x_report,
                m.to_x_report,
                every=hourly,
                detect_deletions=False,
            ),
            S(
                "shifts",
                Shift,
                self._id_range("get-orders", extra={"clockinclockout": ""}),
                m.to_timeclock,
                mode="incremental",
                every=six_hours,
                detect_deletions=False,
                description="clock-in / clock-out entries",
            ),
            S(
                "gift_vouchers",
                Voucher,
                full("get-giftvoucher"),
                m.to_gift_voucher,
                every=six_hours,
                detect_deletions=False,
            ),
            S(
                "coupons",
                Voucher,
                self._id_range("get-coupon"),
                m.to_coupon,
                mode="incremental",
                every=six_hours,
            ),
            S(
                "customer_credits",
                Voucher,
                full("get-customercredits"),
                m.to_customer_credit,
                every=six_hours,
                detect_deletions=False,
                source_key="customerid",
            ),
        )

    def capabilities(self) -> Sequence[Capability]:
        """Every post-* and update-* of the v1 document, plus its lookups."""
        return CAPABILITIES

    def execute(self, command: Command) -> CommandResult:
        """Perform one write (or write-side lookup) against the licence."""
        return execute_command(self, command)

    def passthrough(
        self, operation: str, params: Mapping[str, str], fields: Mapping[str, str] | None
    ) -> Any:
        """Any v1 function (`get-xreport`, `post-coupon`, ...) as the vendor answers it."""
        if not operation.startswith(("get-", "post-", "update-")):
            raise UsageError(
                f"{operation!r} is not a CloudPOS v1 function (get-*, post-*, update-*)"
            )
        read = operation.startswith("get-")
        body = None if (read and fields is None) else dict(fields or {})
        return self.call_fields(operation, body, params=params, write=not read)

    def preview(self, command: Command) -> dict[str, Any]:
        """The request `execute` would send, without sending it (dry run)."""
        return preview_command(command)


def _query(function: str, params: Mapping[str, Any] | None) -> str:
    """`?get-orders&start=1&end=5`: the function as a bare flag, then the filters."""
    return (
        "?"
        + function
        + "".join(
            f"&{k}" if v == "" else f"&{k}={quote(str(v), safe='')}"
            for k, v in (params or {}).items()
        )
    )


def _cursor(state: Mapping[str, Any]) -> int:
    """The stored `last_id`: a non-negative integer, or `CursorError` naming what is there."""
    return id_cursor(state, "last_id")


def _top(page: Page, key: str) -> int:
    """The highest numeric `key` in a page (0 when empty)."""
    return top_id(page.raw, key)


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True
