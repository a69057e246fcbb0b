"""SmartNow records → the normalized model (pure functions of the vendor's bytes).

Money on the wire is integer cents (`price 10` = €0.10), mapped to Decimal euros.
Orders are revenue transactions joined with their payment transactions and the machine
product (for its `vatrate`): the connector keeps all three exact in one composite raw
record `{"revenuetransaction": …, "paymenttransactions": […], "product": …}`. Shifts
carry the vendor's own figures from the shift reports: `{"shift": …, "sales": […],
"payments": […]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from posbridge.connectors.fieldmap import Field as F
from posbridge.errors import MappingError
from posbridge.model import (
    Device,
    DeviceEvent,
    Employee,
    Location,
    Modifier,
    Order,
    OrderLine,
    Payment,
    Product,
    Shift,
    TaxTotal,
    Voucher,
)
from posbridge.model.catalog import Price
from posbridge.model.consistency import check_order
from posbridge.model.money import vat_from_gross
from posbridge.model.sales import PaymentMethod

__all__ = ["FIELD_MAP", "METHODS", "from_cents", "to_order"]

CURRENCY = "EUR"
TZ_NAME = "Europe/Amsterdam"
_ZONE = ZoneInfo(TZ_NAME)
#: SmartNow payment method → normalized method
METHODS: Final[dict[str, PaymentMethod]] = {
    "cash": "cash",
    "card": "card",
    "code": "voucher",
    "virtual": "mobile",
    "token": "stored_value",
}
_SEVERITY = {"CM_REBOOT": "info", "CM_OFFLINE": "warning"}
#: Closed shifts carry `ticket_count`, which makes them closures `posbridge verify` checks
#: by ticket range: firstTransaction..lastTransaction holds the global transaction ids of
#: every location, and verify counts only the shift's own location in it.
SHIFT_TICKET_COUNT = True

FIELD_MAP: Final[dict[str, tuple[str, list[F]]]] = {
    "orders": (
        "GET /revenuetransaction + /paymenttransaction + /machine/{m}/product",
        [
            F("id", "source_id", "id", True),
            F("id", "number", "id", True, "the transaction id"),
            F("occurredAt", "business_date", "computed", True, "local date of `occurredAt`"),
            F("timestamp", "occurred_at", "unix_time", True),
            F("timeZone", "source_timezone", "text", True),
            F("machine", "device_source_id", "id"),
            F("location", "location_source_id", "id"),
            F("price", "total_gross", "computed", True, "cents → euros"),
            F("product", "lines[].product_source_id", "id"),
            F(
                "product.vatrate",
                "lines[].tax_rate",
                "vat_percent",
                note="the machine product's rate",
            ),
            F(
                "paymenttransactions[].method",
                "payments[].method",
                "computed",
                True,
                "cash, card, code → voucher, virtual → mobile, token → stored_value",
            ),
            F(
                "paymenttransactions[].price",
                "payments[].amount",
                "computed",
                True,
                "cents → euros",
            ),
        ],
    ),
    "device_events": (
        "GET /log",
        [
            F("id", "source_id", "id", True),
            F("code", "code", "text", True),
            F("timestamp", "occurred_at", "unix_time", True),
            F("duration", "duration_seconds", "int"),
            F("resolvedAt", "ended_at", "computed", note="UTC `Z`"),
            F("state", "resolved", "computed", note="resolved → true, active → false, null → null"),
        ],
    ),
    "shifts": (
        "GET /shift + POST /report/shifts + POST /report/revenue",
        [
            F("id", "source_id", "id", True),
            F("firstTransaction", "first_ticket", "id"),
            F("lastTransaction", "last_ticket", "id"),
            F("closed", "closed_at", "computed"),
            F("sales[].quantity", "ticket_count", "computed", note="Σ per shift (report/shifts)"),
            F(
                "payments[].revenue",
                "payments[].amount",
                "computed",
                note="per payment (report/revenue)",
            ),
        ],
    ),
    "vouchers": (
        "GET /voucher",
        [
            F("id", "source_id", "text", True),
            F("code", "code", "text"),
            F("value", "value", "computed", True, "cents → euros"),
            F("campaign", "campaign_source_id", "id"),
            F("balance", "balance", "computed", note="gift vouchers only"),
        ],
    ),
}


def from_cents(value: Any) -> Decimal:
    """Integer cents (int or digit string) → Decimal euros."""
    if isinstance(value, bool) or value is None:
        raise MappingError(f"amount {value!r} is not integer cents")
    try:
        cents = Decimal(str(value))
    except ArithmeticError:
        raise MappingError(f"amount {value!r} is not integer cents") from None
    if cents != cents.to_integral_value():
        raise MappingError(f"amount {value!r} is not integer cents")
    return cents.scaleb(-2).quantize(Decimal("0.01"))


def _utc(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{name} {value!r} is not an ISO timestamp") from None
    if moment.tzinfo is None:
        raise MappingError(f"{name} {value!r} has no offset")
    return moment.astimezone(UTC)


def _local(raw: Mapping[str, Any]) -> tuple[datetime, date]:
    occurred = raw.get("occurredAt")
    if occurred in (None, ""):
        raise MappingError("missing required field 'occurredAt'")
    try:
        local = datetime.fromisoformat(str(occurred))
    except ValueError:
        raise MappingError(f"occurredAt {occurred!r} is not an ISO timestamp") from None
    if local.tzinfo is None:
        raise MappingError(f"occurredAt {occurred!r} has no offset")
    stamp = raw.get("timestamp")
    moment = (
        datetime.fromtimestamp(int(stamp), UTC) if isinstance(stamp, int) else local.astimezone(UTC)
    )
    if moment != local.astimezone(UTC):
        raise MappingError(f"timestamp {stamp} and occurredAt {occurred} disagree")
    return moment, local.date()


def _sid(value: Any) -> str | None:
    return None if value in (None, "", 0) else str(value)


def to_order(raw: Mapping[str, Any]) -> Order:
    """A composite `{revenuetransaction, paymenttransactions, product}` → Order."""
    tx = raw.get("revenuetransaction")
    if not isinstance(tx, Mapping) or "id" not in tx:
        raise MappingError("revenue transaction without id")
    gross = from_cents(tx.get("price"))
    product = raw.get("product") or {}
    rate = Decimal(str(product.get("vatrate"))) if product.get("vatrate") is not None else None
    if rate is None:
        raise MappingError(
            f"product {tx.get('product')} of machine {tx.get('machine')} has no vatrate"
        )
    tax = vat_from_gross(gross, rate)
    payments = []
    for p in raw.get("paymenttransactions") or []:
        method = str(p.get("method"))
        if method not in METHODS:
            raise MappingError(f"unknown payment method {method!r}")
        payments.append(
            Payment(
                method=METHODS[method],
                vendor_method=method,
                amount=from_cents(p.get("price")),
                currency=str(p.get("currency") or CURRENCY),
            )
        )
    if len(payments) != tx.get("numPaymentTransactions", len(payments)):
        raise MappingError(
            f"{len(payments)} of {tx.get('numPaymentTransactions')} payment transactions"
        )
    paid = sum((p.amount for p in payments), Decimal(0))
    if paid != gross:
        raise MappingError(
            f"payments do not add up to the price of transaction {tx['id']}: "
            f"payments add up to {paid}, the vend's price is {gross}"
        )
    occurred, business = _local(tx)
    line = OrderLine(
        line_no=1,
        product_source_id=_sid(tx.get("product")),
        name=tx.get("name"),
        quantity=Decimal(1),
        unit_price_gross=gross,
        tax_rate=rate,
        gross=gross,
        net=gross - tax,
        tax=tax,
    )
    order = Order(
        source_id=str(tx["id"]),
        source_updated_at=_utc(tx.get("updatedAt"), "updatedAt"),
        number=str(tx["id"]),
        channel="vending",
        location_source_id=_sid(tx.get("location")),
        device_source_id=_sid(tx.get("machine")),
        occurred_at=occurred,
        source_timezone=str(tx.get("timeZone") or TZ_NAME),
        business_date=business,
        currency=str(tx.get("currency") or CURRENCY),
        lines=[line],
        payments=payments,
        taxes=[TaxTotal(rate=rate, net=gross - tax, tax=tax, gross=gross)],
        total_gross=gross,
        total_net=gross - tax,
        total_tax=tax,
    )
    return check_order(order, currency=CURRENCY)  # every SmartNow location trades in EUR


def to_location(raw: Mapping[str, Any]) -> Location:
    return Location(
        source_id=str(raw["id"]),
        source_updated_at=_utc(raw.get("updatedAt"), "updatedAt"),
        name=str(raw.get("name") or ""),
        timezone=raw.get("timeZone"),
        currency=CURRENCY,
        country=raw.get("country"),
        street=raw.get("address"),
        zipcode=raw.get("postcode"),
        town=raw.get("city"),
    )


def to_device(raw: Mapping[str, Any]) -> Device:
    return Device(
        source_id=str(raw["id"]),
        source_updated_at=_utc(raw.get("updatedAt"), "updatedAt"),
        name=str(raw.get("name") or ""),
        kind="vending_machine",
        location_source_id=_sid(raw.get("location")),
        serial=raw.get("hostname"),
        model=_sid(raw.get("machineModel")),
        status="active" if raw.get("active") else "inactive",
    )


def to_product(raw: Mapping[str, Any]) -> Product:
    """A composite `{product, modifiers}`: a machine product and its machine's options."""
    p = raw.get("product")
    if not isinstance(p, Mapping) or "id" not in p:
        raise MappingError("product without id")
    mods = [str(m) for m in raw.get("modifiers") or []]
    groups: list[Literal["popup", "menu", "flavour", "extra"]] = [
        g for g in ("extra", "flavour") if any(m.startswith(g + ":") for m in mods)
    ]
    return Product(
        source_id=str(p["id"]),
        source_updated_at=_utc(p.get("updatedAt"), "updatedAt"),
        name=str(p.get("name") or ""),
        sku=_sid(p.get("plu")),
        barcodes=[str(p["barcode"])] if p.get("barcode") else [],
        prices=[
            Price(
                amount=from_cents(p.get("price")),
                currency=CURRENCY,
                location_source_id=_sid(p.get("machine")),
            )
        ],
        tax_rate=Decimal(str(p["vatrate"])) if p.get("vatrate") is not None else None,
        modifier_groups=groups,
        modifier_source_ids=mods,
    )


def to_modifier(raw: Mapping[str, Any]) -> Modifier:
    """A composite `{kind, item}`: a flavour or extra of one machine (price a cent string)."""
    item, kind = raw.get("item"), str(raw.get("kind") or "")
    if not isinstance(item, Mapping) or "id" not in item or kind not in ("flavour", "extra"):
        raise MappingError("flavour/extra without id or kind")
    return Modifier(
        source_id=f"{kind}:{item['id']}",
        source_updated_at=_utc(item.get("updatedAt"), "updatedAt"),
        name=str(item.get("name") or item.get("reportName") or ""),
        price=from_cents(item.get("price")),
        currency=CURRENCY,
        group=kind,
        product_source_ids=[str(p) for p in raw.get("products") or []],
    )


def to_event(raw: Mapping[str, Any]) -> DeviceEvent:
    code = str(raw.get("code") or "")
    occurred = datetime.fromtimestamp(int(raw["timestamp"]), UTC)
    state = raw.get("state")
    return DeviceEvent(
        source_id=str(raw["id"]),
        device_source_id=_sid(raw.get("machine")),
        location_source_id=_sid(raw.get("location")),
        kind="iot" if code.startswith("CM_") else "error",
        code=code,
        severity=_SEVERITY.get(code, "error"),  # type: ignore[arg-type]
        message=raw.get("extraData"),
        occurred_at=occurred,
        ended_at=_utc(raw.get("resolvedAt"), "resolvedAt"),
        duration_seconds=raw.get("duration"),
        resolved=None if state is None else state == "resolved",
    )


def to_shift(raw: Mapping[str, Any]) -> Shift:
    """A composite `{shift, sales, payments}` → Shift (closed ones carry the vendor totals)."""
    s = raw.get("shift")
    if not isinstance(s, Mapping) or "id" not in s:
        raise MappingError("shift without id")
    closed = _utc(s.get("closed"), "closed")
    payments: dict[str, Decimal] = {}
    for row in raw.get("payments") or []:
        method = str(row.get("payment"))
        if method not in METHODS:
            raise MappingError(f"unknown payment method {method!r}")
        payments[method] = payments.get(method, Decimal(0)) + from_cents(row.get("revenue"))
    sales = raw.get("sales") or []
    count = sum(int(r.get("quantity") or 0) for r in sales)
    total = sum((from_cents(r.get("revenue")) for r in sales), Decimal(0))
    return Shift(
        source_id=str(s["id"]),
        source_updated_at=_utc(s.get("updatedAt"), "updatedAt"),
        kind="shift",
        number=str(s["id"]),
        location_source_id=_sid(s.get("location")),
        opened_at=_utc(s.get("createdAt"), "createdAt"),
        closed_at=closed,
        # The day a shift closes (local time): where reconciliation files its figures.
        business_date=closed.astimezone(_ZONE).date() if closed else None,
        first_ticket=_sid(s.get("firstTransaction")),
        last_ticket=_sid(s.get("lastTransaction")),
        ticket_count=count if closed and SHIFT_TICKET_COUNT else None,
        currency=CURRENCY if closed else None,
        total_gross=total if closed else None,
        payments=[
            Payment(method=METHODS[m], vendor_method=m, amount=a, currency=CURRENCY)
            for m, a in sorted(payments.items())
        ]
        if closed
        else [],
    )


def to_voucher(raw: Mapping[str, Any]) -> Voucher:
    gift = raw.get("type") == "gift"
    limit, count = raw.get("redemptionLimit") or 0, raw.get("redemptionCount") or 0
    expires = raw.get("expiresOn")
    return Voucher(
        source_id=str(raw["id"]),
        source_updated_at=_utc(raw.get("updatedAt"), "updatedAt"),
        kind="gift_voucher" if gift else "coupon",
        code=raw.get("code"),
        value=from_cents(raw.get("value")),
        currency=raw.get("currency") or CURRENCY,
        balance=from_cents(raw.get("balance")) if gift else None,
        valid_until=date.fromisoformat(str(expires)[:10]) if expires else None,
        redeemed=bool(limit) and count >= limit,
        campaign_source_id=_sid(raw.get("campaign")),
    )


def to_campaign(raw: Mapping[str, Any]) -> Voucher:
    expires = raw.get("expiresOn")
    return Voucher(
        source_id=f"campaign:{raw['id']}",
        source_updated_at=_utc(raw.get("updatedAt"), "updatedAt"),
        kind="campaign",
        code=raw.get("prefix") or None,
        value=from_cents(raw.get("voucherValue")),
        currency=raw.get("currency") or CURRENCY,
        valid_until=date.fromisoformat(str(expires)[:10]) if expires else None,
    )


def to_employee(raw: Mapping[str, Any]) -> Employee:
    """A composite `{user, admin}`: a user and whether its user group is an admin group."""
    u = raw.get("user")
    if not isinstance(u, Mapping) or "id" not in u:
        raise MappingError("user without id")
    return Employee(
        source_id=str(u["id"]),
        source_updated_at=_utc(u.get("updatedAt"), "updatedAt"),
        name=str(u.get("username") or ""),
        username=u.get("username"),
        email=u.get("email"),
        role=_sid(u.get("userGroup")),
        is_admin=bool(raw.get("admin")),
    )
