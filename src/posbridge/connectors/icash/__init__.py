"""iCash client API (Bulgaria / Albania): fiscal retail cloud with an HMAC-signed API.

Every call is a signed form POST to `/clientapi/v1/<operation>`; the nonce grows across
processes and machines (the store's shared counter, `wire.Nonces`) and the session is renewed inside
the auth flow. Orders are read from `operations-list` (full operation records) by
completion time with `offset`/`count` paging; documents by date; the catalogue, stores,
registers, pay types and contragents are small full lists. Writes go through the sale
flow with `ImportSource`/`ImportRefID`, so a retried write finds its operation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

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
    SharedCounters,
    Stream,
)
from posbridge.connectors.cursors import date_cursor, time_cursor
from posbridge.connectors.fieldmap import Field
from posbridge.connectors.http import VendorClient
from posbridge.connectors.icash import mapping as m
from posbridge.connectors.icash.commands import CAPABILITIES, execute_command
from posbridge.connectors.icash.wire import (
    ICashAuth,
    ListPage,
    LocalCounters,
    Nonces,
    decode_data,
    decode_list,
    legacy_nonce_path,
    nonce_scope,
    read_legacy_nonce,
)
from posbridge.errors import CursorError, TransientError
from posbridge.model import (
    Customer,
    Device,
    Invoice,
    Location,
    Order,
    PaymentType,
    Product,
)

__all__ = ["ICash", "ICashSettings"]

log = logging.getLogger(__name__)

PAGE = 100  # the documented maximum of `count`
SCAN_TRIES = 3  # reads of a full list that keeps changing before the stream gives up


def default_state_dir() -> Path:
    """Where posbridge before the shared counter kept nonce files (read once on upgrade):
    `POSBRIDGE_ICASH_STATE_DIR`; else beside the SQLite
    database of `POSBRIDGE_DATABASE_URL`; else `$XDG_STATE_HOME/posbridge`
    (`~/.local/state/posbridge`)."""
    explicit = os.environ.get("POSBRIDGE_ICASH_STATE_DIR")
    if explicit:
        return Path(explicit)
    url = os.environ.get("POSBRIDGE_DATABASE_URL", "")
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :]).resolve().parent / ".posbridge-state"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "posbridge"


class ICashSettings(BaseModel):
    """Credentials of one iCash API user and warehouse."""

    api_key: str = SettingField(min_length=1, description="API key of the user")
    secret_key: SecretStr = SettingField(description="secret key signing every request")
    warehouse_id: str = SettingField(min_length=1, description="WareHouseID (account number)")
    user_id: str = SettingField(default="1", description="UserID of the API user")
    country: Literal["BG", "AL"] = SettingField(default="BG", description="BG or AL")
    state_dir: str | None = SettingField(
        default=None,
        description="directory of the old nonce counter file (read once, on upgrade)",
    )
    stock: bool = SettingField(default=True, description="read stock per item and store")
    overlap_seconds: int = SettingField(
        default=300, ge=0, description="completion times re-read below the last one"
    )
    daily_limit: int | None = SettingField(
        default=None, ge=1, description="optional own cap (iCash documents no quota)"
    )


class ICash(Connector):
    """The iCash client API connector."""

    vendor: ClassVar[str] = "icash"
    display_name: ClassVar[str] = "iCash client API"
    Settings: ClassVar[type[BaseModel]] = ICashSettings
    limits: ClassVar[Limits] = Limits(per_day=None, quota_timezone="Europe/Sofia", max_bad_logins=1)
    currency: ClassVar[str] = "BGN"
    timezone: ClassVar[str] = "Europe/Sofia"
    default_base_url: ClassVar[str | None] = "https://v5.icash.bg/clientapi/v1/"
    field_map: ClassVar[Mapping[str, tuple[str, Sequence[Field]]]] = m.FIELD_MAP

    def __init__(self, settings: BaseModel, http: VendorClient) -> None:
        assert isinstance(settings, ICashSettings)
        super().__init__(settings, http)
        self.config = settings
        directory = Path(settings.state_dir) if settings.state_dir else default_state_dir()
        legacy = legacy_nonce_path(directory, settings.api_key, settings.warehouse_id)
        # Process-local until `use_counters` hands over the store's shared counter.
        self.nonces = Nonces(
            LocalCounters(),
            nonce_scope(settings.api_key, settings.warehouse_id),
            seed=partial(read_legacy_nonce, legacy),
        )
        self.auth = ICashAuth(
            settings.api_key,
            settings.secret_key.get_secret_value(),
            settings.warehouse_id,
            settings.user_id,
            self.nonces,
        )
        http.set_auth(self.auth)
        self.country = settings.country
        self.currency_code = "ALL" if settings.country == "AL" else "BGN"
        self._rates: dict[str, Decimal] = {}
        self._units: dict[str, str] = {}

    def use_counters(self, counters: SharedCounters) -> None:
        """Nonces from the store, shared by every worker using this API key."""
        self.nonces.counters = counters

    def effective_limits(self) -> Limits:
        from dataclasses import replace

        return replace(
            self.limits,
            per_day=self.config.daily_limit,
            quota_timezone=m.TIMEZONES[self.country],
        )

    # -- wire ------------------------------------------------------------------------------
    def call(
        self,
        operation: str,
        fields: Mapping[str, Any] | None = None,
        *,
        write: bool = False,
        once: bool = False,
    ) -> Any:
        """One operation; returns its decoded `data` (errors raised as taxonomy).

        `once` sends a single attempt (budget and error mapping still apply): for writes
        the vendor cannot deduplicate, whose retry must first ask what happened.
        """
        return self.http.request(
            "POST", operation, data=_form(fields), decode=decode_data, write=write, once=once
        )

    def fetch_list(self, operation: str, fields: Mapping[str, Any] | None = None) -> ListPage:
        return self.http.request("POST", operation, data=_form(fields), decode=decode_list)

    def pages(self, operation: str, fields: Mapping[str, Any]) -> Iterator[ListPage]:
        """offset/count paging until TotalRecords is reached."""
        offset = 0
        while True:
            page = self.fetch_list(operation, {**fields, "offset": offset, "count": PAGE})
            yield page
            offset += len(page.raw)
            if not page.raw or offset >= page.total:
                return

    def scan(self, operation: str, fields: Mapping[str, Any]) -> list[ListPage]:
        """Every page of a full list, read while the list held still.

        Offset paging skips a record when one before it is deleted between two pages
        (and repeats one when a record is inserted), and a full stream marks what it did
        not see as deleted. So a read whose `TotalRecords` moved between pages is read
        again from offset 0; if the list keeps moving the stream fails for this run
        (nothing is stored, nothing marked deleted) rather than delete live records.
        A delete and an insert between the same two pages leave the total unchanged and
        go unnoticed.
        """
        for attempt in range(1, SCAN_TRIES + 1):
            pages = list(self.pages(operation, fields))
            if len({p.total for p in pages}) <= 1:
                return pages
            log.info(
                "%s changed while paged (TotalRecords %s); reading it again (%d/%d)",
                operation,
                [p.total for p in pages],
                attempt,
                SCAN_TRIES,
            )
        raise TransientError(
            f"{operation} kept changing while it was paged ({SCAN_TRIES} reads); "
            "not marking deletions from an unstable read",
            vendor="icash",
        )

    def check(self) -> None:
        """get-pay-types is the cheapest authenticated call (it logs in first)."""
        self.call("get-pay-types")

    # -- fetchers --------------------------------------------------------------------------
    def _full(self, operation: str, **fields: Any) -> Callable[[FetchContext], Iterator[Page]]:
        def fetch(ctx: FetchContext) -> Iterator[Page]:
            page = self.fetch_list(operation, fields or None)
            yield Page(records=page.records, raw=page.raw)

        return fetch

    def _paged(self, operation: str, **fields: Any) -> Callable[[FetchContext], Iterator[Page]]:
        def fetch(ctx: FetchContext) -> Iterator[Page]:
            raws: list[bytes] = []
            records: list[dict[str, Any]] = []
            for page in self.scan(operation, {**fields, "sort": fields.get("sort", "")}):
                raws += page.raw
                records += page.records
            yield Page(records=records, raw=raws, requests=max(1, len(raws) // PAGE))

        return fetch

    def _lookups(self) -> None:
        groups = self.fetch_list("get-tax-groups")
        self._rates.clear()
        self._rates.update({str(g["id"]): Decimal(str(g["rate"])) for g in groups.records})
        units = self.fetch_list("get-measure-units")
        self._units.clear()
        self._units.update({str(u["id"]): str(u["value"]) for u in units.records})

    def _products(self, ctx: FetchContext) -> Iterator[Page]:
        """Sale items with each store's price (3.12 per StoreID) and stock (3.23)."""
        self._lookups()
        stores = [str(s["StoreID"]) for s in self.fetch_list("get-stores").records]
        per_store: dict[str, dict[str, bytes]] = {}
        for store in stores:
            for page in self.scan("get-sale-items", {"StoreID": store, "sort": "SaleItemID"}):
                for raw, rec in zip(page.raw, page.records, strict=True):
                    per_store.setdefault(str(rec["SaleItemID"]), {})[store] = raw
        raws: list[bytes] = []
        for page in self.scan("get-sale-items", {"sort": "SaleItemID"}):
            for raw, rec in zip(page.raw, page.records, strict=True):
                parts = []
                for store, store_raw in per_store.get(str(rec["SaleItemID"]), {}).items():
                    qty = b"null"
                    if self.config.stock and rec.get("SaleItemType") == "PRODUCT":
                        qty = self.http.request(
                            "POST",
                            "get-sale-item-qty",
                            data={
                                "SaleItemInventoryID": str(rec["SaleItemInventoryID"]),
                                "StoreID": store,
                            },
                            decode=_raw_data,
                        )
                    parts.append(
                        b'{"StoreID":'
                        + store.encode()
                        + b',"item":'
                        + store_raw
                        + b',"qty":'
                        + qty
                        + b"}"
                    )
                raws.append(b'{"item":' + raw + b',"stores":[' + b",".join(parts) + b"]}")
        yield Page(records=[_decode_record(r) for r in raws], raw=raws)

    def _operations(self, ctx: FetchContext) -> Iterator[Page]:
        """Completed sales and returns by completion time (re-read from the last one
        minus `overlap_seconds`), oldest first, 100 a page; state after each page."""
        fields: dict[str, Any] = {
            "OperationType": "Sell,ReturnClient",
            "OperationStatus": "NORMAL",
            "sort": "OperationCompleteDate",
            "order": "ASC",
        }
        if ctx.since or ctx.until:
            if ctx.since:
                fields["OperationDateFrom"] = ctx.since.isoformat()
            if ctx.until:
                fields["OperationDateTo"] = ctx.until.isoformat()
        stamp = "%Y-%m-%d %H:%M:%S"
        cursor = time_cursor(ctx.state, "complete_from", stamp)
        last = cursor.strftime(stamp) if cursor else ""
        # With an overlap the first window holds the last committed operation (fiscal
        # operations stay): an empty one means the cursor lies past the vendor's data.
        resuming = bool(cursor and self.config.overlap_seconds and not (ctx.since or ctx.until))
        if cursor and not (ctx.since or ctx.until):
            start = cursor - timedelta(seconds=self.config.overlap_seconds)
            fields["OperationCompleteDateFrom"] = start.strftime(stamp)
        top = last
        for page in self.pages("operations-list", fields):
            if resuming and not page.raw:
                raise CursorError(
                    f"the stored cursor complete_from={last!r} lies past the newest "
                    f"operation the vendor has (none completed since "
                    f"{fields['OperationCompleteDateFrom']})"
                )
            resuming = False
            for rec in page.records:
                done = str(rec.get("OperationCompleteDate") or "")
                if _is_stamp(done, stamp):  # a malformed record must not move the cursor
                    top = max(top, done)
            state = {"complete_from": top} if top else {}
            yield Page(records=page.records, raw=page.raw, state=state)

    def _documents(self, ctx: FetchContext) -> Iterator[Page]:
        """Invoices, proformas, credit and debit notes from the last document date on."""
        fields: dict[str, Any] = {"sort": "DocumentID", "order": "ASC"}
        day = date_cursor(ctx.state, "date_from")
        last = day.isoformat() if day else ""
        if ctx.since:
            fields["DocumentDateFrom"] = ctx.since.isoformat()
        elif last:
            fields["DocumentDateFrom"] = last
        if ctx.until:
            fields["DocumentDateTo"] = ctx.until.isoformat()
        top = last
        for page in self.pages("documents-list", fields):
            for rec in page.records:
                issued = str(rec.get("DocumentDate") or "")
                if _is_stamp(issued, "%Y-%m-%d"):
                    top = max(top, issued)
            yield Page(records=page.records, raw=page.raw, state={"date_from": top} if top else {})

    # -- declaration -----------------------------------------------------------------------
    def streams(self) -> Sequence[Stream]:
        """Stores, registers, pay types, contragents, sale items, operations, documents."""
        hourly, six_hours, daily = timedelta(hours=1), timedelta(hours=6), timedelta(days=1)
        location = partial(m.to_location, country=self.country, currency=self.currency_code)
        product = partial(
            m.to_product, rates=self._rates, units=self._units, currency=self.currency_code
        )
        order = partial(
            m.to_order,
            rates=[Decimal(20), Decimal(9) if self.country == "BG" else Decimal(6), Decimal(0)],
            expected_currency=self.currency_code,
        )
        return (
            Stream(
                "orders",
                Order,
                self._operations,
                order,
                mode="incremental",
                every=timedelta(minutes=5),
                priority=0,
                source_key="OperationID",
                supports_backfill=True,
                description="sales and returns (operations-list, by completion time)",
            ),
            Stream(
                "locations",
                Location,
                self._full("get-stores"),
                location,
                every=daily,
                source_key="StoreID",
                description="stores (get-stores, see icash-wire.md)",
            ),
            Stream("devices", Device, self._full("get-cash-registers"), m.to_device, every=daily),
            Stream(
                "payment_types",
                PaymentType,
                self._full("get-pay-types"),
                m.to_payment_type,
                every=daily,
            ),
            Stream(
                "customers",
                Customer,
                self._paged("get-contragents", sort="ContragentID"),
                m.to_contragent,
                every=six_hours,
                source_key="ContragentID",
                description="CLIENT contragents; SUPPLIERs as `supplier:<id>`",
            ),
            Stream(
                "products",
                Product,
                self._products,
                product,
                every=six_hours,
                description="sale items, per-store prices and stock",
            ),
            Stream(
                "invoices",
                Invoice,
                self._documents,
                m.to_invoice,
                mode="incremental",
                every=hourly,
                priority=10,
                source_key="DocumentID",
                supports_backfill=True,
                description="invoices, proformas, credit and debit notes",
            ),
        )

    def capabilities(self) -> Sequence[Capability]:
        return CAPABILITIES

    def execute(self, command: Command) -> CommandResult:
        return execute_command(self, command)


def _form(fields: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (fields or {}).items() if v is not None}


def _raw_data(response: Any) -> bytes:
    from posbridge.connectors.icash.wire import decode_raw_data

    return decode_raw_data(response)


def _decode_record(raw: bytes) -> dict[str, Any]:
    from posbridge.connectors.icash.wire import decode_record

    return decode_record(raw)


def _is_stamp(value: str, fmt: str) -> bool:
    """Whether `value` is a time in `fmt`: only those may become a stored cursor."""
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True
