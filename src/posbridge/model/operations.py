"""Everything around the sale: stock, vouchers, reservations, shifts, events, journal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

import msgspec

from posbridge.model.base import Record
from posbridge.model.sales import Payment, TaxTotal

__all__ = [
    "DeviceEvent",
    "JournalEntry",
    "JournalLine",
    "Report",
    "Reservation",
    "Shift",
    "StockMovement",
    "StockMovementLine",
    "Voucher",
    "VoucherKind",
]

VoucherKind = Literal["gift_voucher", "coupon", "prepaid_card", "customer_credit", "campaign"]


class StockMovementLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One product's quantity change within a stock movement."""

    product_source_id: str | None = None
    name: str | None = None
    quantity: Decimal
    unit_cost: Decimal | None = None


class StockMovement(Record, frozen=True, kw_only=True):
    """Goods in or out: purchases, load/unload documents, counts, adjustments."""

    object_type: ClassVar[str] = "stock_movement"
    kind: Literal["purchase", "load", "unload", "transfer", "count", "adjustment", "sale"]
    number: str | None = None
    location_source_id: str | None = None
    occurred_at: datetime | None = None
    currency: str | None = None
    lines: list[StockMovementLine] = msgspec.field(default_factory=list)


class Voucher(Record, frozen=True, kw_only=True):
    """A liability or promotion: gift voucher, coupon, prepaid card, customer credit.

    `value` is the face value (or the percent when `value_type` is "percent");
    `balance` what is left to redeem when the vendor tells.
    """

    object_type: ClassVar[str] = "voucher"
    kind: VoucherKind
    code: str | None = None
    value: Decimal
    value_type: Literal["amount", "percent"] = "amount"
    currency: str | None = None
    balance: Decimal | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    redeemed: bool = False
    customer_source_id: str | None = None
    product_source_id: str | None = None
    category_source_id: str | None = None
    campaign_source_id: str | None = None


class Reservation(Record, frozen=True, kw_only=True):
    """A table booking or a hotel stay."""

    object_type: ClassVar[str] = "reservation"
    kind: Literal["table", "room"] = "table"
    name: str | None = None
    phone: str | None = None
    persons: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: Literal["requested", "confirmed", "cancelled", "seated", "completed"] = "requested"
    table_source_id: str | None = None
    room_type: str | None = None
    location_source_id: str | None = None
    order_source_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


class Shift(Record, frozen=True, kw_only=True):
    """A Z report, X report, cashier shift, fiscal closure or time-clock entry.

    Z reports carry the POS's own totals; `posbridge verify` checks the synced orders
    of the period against them.
    """

    object_type: ClassVar[str] = "shift"
    kind: Literal["z_report", "x_report", "shift", "timeclock", "fiscal_closure"]
    number: str | None = None
    location_source_id: str | None = None
    device_source_id: str | None = None
    employee_source_id: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    business_date: date | None = None
    first_ticket: str | None = None
    last_ticket: str | None = None
    ticket_count: int | None = None
    currency: str | None = None
    total_gross: Decimal | None = None
    total_net: Decimal | None = None
    total_tax: Decimal | None = None
    payments: list[Payment] = msgspec.field(default_factory=list)
    taxes: list[TaxTotal] = msgspec.field(default_factory=list)


class DeviceEvent(Record, frozen=True, kw_only=True):
    """Telemetry, an error or an alert from a device."""

    object_type: ClassVar[str] = "device_event"
    device_source_id: str | None = None
    location_source_id: str | None = None
    kind: str
    code: str | None = None
    severity: Literal["info", "warning", "error", "critical"] = "info"
    message: str | None = None
    occurred_at: datetime
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    resolved: bool | None = None


class Report(Record, frozen=True, kw_only=True):
    """A vendor-computed figure set for one day (and dimension), kept as the vendor states it.

    For figures the POS itself reports that are not closures: a hotel's occupancy, ADR and
    RevPAR per night and room type (AvaPOS reservas `totales`), say. `metrics` are exact
    Decimals keyed by the vendor's own names.
    """

    object_type: ClassVar[str] = "report"
    kind: str
    business_date: date
    dimension: str | None = None
    location_source_id: str | None = None
    currency: str | None = None
    metrics: dict[str, Decimal] = msgspec.field(default_factory=dict)


class JournalLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One booking line: exactly one of debit or credit is non-zero."""

    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    description: str | None = None


class JournalEntry(Record, frozen=True, kw_only=True):
    """An accounting entry (AvaPOS asiento); balanced: Σ debit == Σ credit."""

    object_type: ClassVar[str] = "journal_entry"
    number: str | None = None
    entry_date: date
    description: str | None = None
    currency: str | None = None
    lines: list[JournalLine] = msgspec.field(default_factory=list)
