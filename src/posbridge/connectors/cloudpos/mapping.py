"""CloudPOS v1 records ↔ the normalized model. Pure functions, no I/O.

`FIELD_MAP` is the declaration docs/connectors.md is generated from; flat fields are
mapped straight from it, orders and invoices by code that reads exactly the declared
fields (a test checks that).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from posbridge.connectors.cloudpos.fields import FIELD_MAP, PAYMENT_COLUMNS
from posbridge.connectors.fieldmap import RULES, map_fields
from posbridge.errors import MappingError
from posbridge.model import (
    Category,
    Customer,
    Device,
    Employee,
    Invoice,
    InvoiceLine,
    LineModifier,
    Location,
    LoyaltyTag,
    Modifier,
    Order,
    OrderLine,
    Payment,
    PaymentType,
    Price,
    Product,
    Shift,
    Table,
    TaxTotal,
    Voucher,
)
from posbridge.model.consistency import check_order
from posbridge.model.money import round_half_up, vat_from_gross
from posbridge.model.sales import InvoiceKind, PaymentMethod

TZ_NAME: Final = "Europe/Brussels"
TZ: Final = ZoneInfo(TZ_NAME)
CURRENCY: Final = "EUR"
#: Belgian VAT rates in percent; anything else is quarantined as an unknown rate.
BE_RATES: Final = frozenset(Decimal(r) for r in ("0", "6", "12", "21"))
#: hospitality business days end at 04:00 local; later tickets belong to the next day.
BUSINESS_DAY_START: Final = timedelta(hours=4)
CENT: Final = Decimal("0.01")

_PAYMENT_NAMES: Final[dict[str, PaymentMethod]] = {
    "cash": "cash",
    "contant": "cash",
    "bancontact": "debit_card",
    "voucher": "voucher",
    "kadobon": "voucher",
    "transfer": "bank_transfer",
    "overschrijving": "bank_transfer",
    "visa": "credit_card",
    "chargecard": "stored_value",
    "oplaadkaart": "stored_value",
    "luncheoncard": "meal_voucher",
    "maaltijdcheque": "meal_voucher",
    "americanexpress": "credit_card",
    "american express": "credit_card",
    "mastercard": "credit_card",
}
_DOCTYPES: Final[dict[int, InvoiceKind]] = {1: "invoice", 2: "quote", 3: "credit_note"}

# -- helpers ---------------------------------------------------------------------------
_dec = RULES["decimal"]
_rate = RULES["vat_percent"]
_id = RULES["id"]


@lru_cache(maxsize=65536)
def _parse_decimal(v: str | int) -> Decimal:
    result: Decimal = _dec(v)
    return result


def _money(v: Any) -> Decimal:
    # Prices and quantities repeat across tickets: parse each distinct string once.
    if type(v) is str or type(v) is int:
        return _parse_decimal(v)
    result: Decimal = _dec(v)
    return result


@lru_cache(maxsize=1024)
def _vat_rate_cached(v: str | int) -> Decimal:
    rate: Decimal = _rate(v)
    if rate not in BE_RATES:
        raise MappingError(f"unknown VAT rate {rate}% (Belgian rates are 0, 6, 12, 21)")
    return rate


def _vat_rate(v: Any) -> Decimal:
    if type(v) is str or type(v) is int:
        return _vat_rate_cached(v)
    rate: Decimal = _rate(v)
    if rate not in BE_RATES:
        raise MappingError(f"unknown VAT rate {rate}% (Belgian rates are 0, 6, 12, 21)")
    return rate


def local_datetime(v: Any) -> tuple[datetime, date]:
    """Vendor-local `YYYY-MM-DD HH:MM:SS` → (UTC instant, business date)."""
    if not isinstance(v, str) or not v:
        raise MappingError(f"missing or empty datetime {v!r}")
    try:
        local = datetime.fromisoformat(v)
    except ValueError:
        raise MappingError(f"impossible datetime {v!r}") from None
    return local.replace(tzinfo=TZ).astimezone(UTC), (local - BUSINESS_DAY_START).date()


def _opt_local(v: Any) -> datetime | None:
    if v in (None, "", "0000-00-00 00:00:00"):
        return None
    return local_datetime(v)[0]


@lru_cache(maxsize=65536)
def split_vat(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, vat) of a VAT-inclusive amount: VAT rounded half-up to the cent.

    Cached: the same line amounts recur on thousands of tickets.
    """
    vat = vat_from_gross(gross, rate)
    return gross - vat, vat


@lru_cache(maxsize=65536)
def _line_gross(quantity: Decimal, unit: Decimal) -> Decimal:
    return round_half_up(quantity * unit, 2)


def _taxes(acc: dict[Decimal, list[Decimal]]) -> list[TaxTotal]:
    return [
        TaxTotal(rate=r, net=v[0], tax=v[1], gross=v[0] + v[1])
        for r, v in sorted(acc.items(), reverse=True)
    ]


# -- read side -------------------------------------------------------------------------
_SUB_FIELDS: Final = tuple(
    (f"subproduct{i}id", f"subproduct{i}price", f"subproduct{i}tax") for i in range(1, 11)
)
Component = tuple[Decimal, Decimal, Decimal]  # (rate, net, vat)


def _line_key(n: int, d: Any) -> tuple[Any, ...]:
    """The vendor fields of one detail line, as a hashable key (lines recur a lot)."""
    if not isinstance(d, dict):
        raise MappingError(f"orderdetail line {n} is not an object")
    key: tuple[Any, ...] = (
        n,
        d.get("quantity"),
        d.get("productid"),
        d.get("productprice"),
        d.get("producttax"),
    )
    for fid, fprice, ftax in _SUB_FIELDS:
        sid = d.get(fid)
        if sid is None:
            break
        key += (sid, d.get(fprice), d.get(ftax))
    try:
        hash(key)
    except TypeError:
        raise MappingError(
            f"orderdetail line {n} has a list or object where a value belongs"
        ) from None
    return key


@lru_cache(maxsize=65536)
def _order_line(key: tuple[Any, ...]) -> tuple[OrderLine, tuple[Component, ...]]:
    """One detail line → OrderLine + its VAT components; cached, the result is immutable."""
    n, qty_v, pid, price_v, tax_v = key[:5]
    qty, price, rate = _money(qty_v), _money(price_v), _vat_rate(tax_v)
    gross = _line_gross(qty, price)
    net, vat = split_vat(gross, rate)
    components: list[Component] = [(rate, net, vat)]
    l_gross, l_net, l_vat = gross, net, vat
    mods: list[LineModifier] = []
    for i in range(5, len(key), 3):
        sid, s_price_v, s_tax_v = key[i : i + 3]
        s_price, s_rate = _money(s_price_v), _vat_rate(s_tax_v)
        s_gross = _line_gross(qty, s_price)
        s_net, s_vat = split_vat(s_gross, s_rate)
        components.append((s_rate, s_net, s_vat))
        mods.append(
            LineModifier(
                modifier_source_id=_id(sid),
                unit_price_gross=s_price,
                tax_rate=s_rate,
                gross=s_gross,
                net=s_net,
                tax=s_vat,
            )
        )
        l_gross += s_gross
        l_net += s_net
        l_vat += s_vat
    line = OrderLine(
        line_no=n,
        product_source_id=_id(pid),
        quantity=qty,
        unit_price_gross=price,
        tax_rate=rate,
        gross=l_gross,
        net=l_net,
        tax=l_vat,
        modifiers=mods,
    )
    return line, tuple(components)


def to_order(raw: Mapping[str, Any]) -> Order:
    """A get-orders ticket → Order (lines with modifiers, nine payment columns, VAT)."""
    dbid = raw.get("dbid")
    if dbid is None:
        raise MappingError("missing required field 'dbid'")
    if raw.get("id") is None:
        raise MappingError("missing required field 'id'")
    if "totalprice" not in raw:
        raise MappingError("missing required field 'totalprice'")
    occurred_at, business_date = local_datetime(raw.get("ordertime"))
    total = _money(raw["totalprice"])
    acc: dict[Decimal, list[Decimal]] = {}
    lines: list[OrderLine] = []
    lines_gross = Decimal(0)
    for n, d in enumerate(raw.get("orderdetail") or (), 1):
        line, components = _order_line(_line_key(n, d))
        lines.append(line)
        lines_gross += line.gross
        for rate, net, vat in components:
            bucket = acc.get(rate)
            if bucket is None:
                acc[rate] = [net, vat]
            else:
                bucket[0] += net
                bucket[1] += vat
    payments = []
    for column, method, name, brand in PAYMENT_COLUMNS:
        value = raw.get(column)
        if value is None or value in ("0.00", "0", 0, ""):
            continue
        amount = _money(value)
        if amount:
            payments.append(
                Payment(
                    method=method,
                    vendor_method=name,
                    amount=amount,
                    currency=CURRENCY,
                    card_brand=brand,
                )
            )
    taxes = _taxes(acc)
    total_tax = sum((t.tax for t in taxes), Decimal(0))
    kassa = _id(raw.get("kassaid"))
    order = Order(
        source_id=str(dbid),
        number=str(raw["id"]),
        kind="return" if total < 0 else "sale",
        location_source_id=_id(raw.get("establishmentid")),
        device_source_id=None if kassa is None else f"kassa:{kassa}",
        employee_source_id=_id(raw.get("user")),
        customer_source_id=_id(raw.get("customerid")),
        occurred_at=occurred_at,
        source_timezone=TZ_NAME,
        business_date=business_date,
        currency=CURRENCY,
        lines=lines,
        payments=payments,
        taxes=taxes,
        total_gross=total,
        total_tax=total_tax,
        total_net=total - total_tax,
        rounding=total - lines_gross,
    )
    return check_order(order)  # CloudPOS tickets carry no currency


def devices_of_order(order: Any) -> list[Device]:
    """CloudPOS lists no kassas: each kassa is known from the orders that name it."""
    if not isinstance(order, Order) or order.device_source_id is None:
        return []
    number = order.device_source_id.split(":", 1)[1]
    return [
        Device(
            source_id=order.device_source_id,
            name=f"Kassa {number}",
            kind="register",
            location_source_id=order.location_source_id,
        )
    ]


def to_location(raw: Mapping[str, Any]) -> Location:
    """get-establishments row → Location."""
    return Location(
        **map_fields(FIELD_MAP["locations"][1], raw),
        timezone=TZ_NAME,
        currency=CURRENCY,
        country="BE",
    )


def to_printer(raw: Mapping[str, Any]) -> Device:
    """get-printers row → Device(kind=printer)."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    name = RULES["text"](raw.get("printername")) or f"Printer {sid}"
    return Device(source_id=f"printer:{sid}", name=name, kind="printer")


def to_employee(raw: Mapping[str, Any]) -> Employee:
    """get-users row → Employee (secnr kept as national_id: personal data)."""
    kw = map_fields(FIELD_MAP["employees"][1], raw)
    kw["role"] = "admin" if kw.get("is_admin") else "user"
    return Employee(**kw)


def to_table(raw: Mapping[str, Any]) -> Table:
    """get-tables row → Table."""
    kw = map_fields(FIELD_MAP["tables"][1], raw)
    status = {"0": "free", "1": "occupied", "2": "awaiting_payment"}.get(
        str(raw.get("status")), "unknown"
    )
    return Table(**kw, status=status)  # type: ignore[arg-type]


def to_payment_type(raw: Mapping[str, Any]) -> PaymentType:
    """get-payment row → PaymentType with the normalized method guessed from its name."""
    kw = map_fields(FIELD_MAP["payment_types"][1], raw)
    key = kw["name"].lower().replace("-", " ").strip()
    method = _PAYMENT_NAMES.get(key) or _PAYMENT_NAMES.get(key.replace(" ", ""), "other")
    return PaymentType(**kw, method=method)


def to_category(raw: Mapping[str, Any]) -> Category:
    """get-categories row → Category."""
    return Category(**map_fields(FIELD_MAP["categories"][1], raw))


def to_product(raw: Mapping[str, Any]) -> Product:
    """get-products row → Product (price incl. VAT on the default price list)."""
    kw = map_fields(FIELD_MAP["products"][1], raw)
    groups: list[Any] = []
    if RULES["flag_01"](raw.get("popup")):
        groups.append("popup")
    if RULES["flag_01"](raw.get("menupopup")):
        groups.append("menu")
    prices = []
    if raw.get("price") not in (None, ""):
        prices.append(Price(amount=_money(raw["price"]), currency=CURRENCY, includes_tax=True))
    return Product(**kw, prices=prices, modifier_groups=groups)


def to_modifier(raw: Mapping[str, Any]) -> Modifier:
    """get-subproducts row → Modifier linked to its products."""
    kw = map_fields(FIELD_MAP["modifiers"][1], raw)
    links = raw.get("productlink") or []
    if not isinstance(links, list):
        links = [links]
    return Modifier(**kw, currency=CURRENCY, product_source_ids=[str(p) for p in links])


def to_customer(raw: Mapping[str, Any]) -> Customer:
    """get-customers row → Customer with its loyalty tag."""
    kw = map_fields([f for f in FIELD_MAP["customers"][1] if not f.nested], raw)
    company, first, last = kw.get("company_name"), kw.get("first_name"), kw.get("last_name")
    name = company or " ".join(p for p in (first, last) if p) or None
    tags = []
    tag = RULES["text"](raw.get("tagid"))
    if tag:
        tags.append(
            LoyaltyTag(
                tag_id=tag,
                tag_type=RULES["text"](raw.get("tagtype")),
                family_id=_id(raw.get("tagfamid")),
            )
        )
    return Customer(**kw, name=name, loyalty_tags=tags)


def to_timeclock(raw: Mapping[str, Any]) -> Shift:
    """A clock-in/clock-out row of get-orders&clockinclockout → Shift(kind=timeclock)."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    opened = _opt_local(raw.get("clockin"))
    return Shift(
        source_id=f"clock:{sid}",
        kind="timeclock",
        number=sid,
        employee_source_id=_id(raw.get("user")),
        opened_at=opened,
        closed_at=_opt_local(raw.get("clockout")),
        business_date=None if opened is None else local_datetime(raw["clockin"])[1],
    )


def to_z_report(raw: Mapping[str, Any]) -> Shift:
    """get-zreports row → Shift(kind=z_report) with the POS's own totals."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    gross, net = _money(raw.get("totalinclvat")), _money(raw.get("totalexclvat"))
    opened, closed = _opt_local(raw.get("startdate")), _opt_local(raw.get("enddate"))
    # A Z report is taken after the day it closes (often past midnight, before the
    # business-day boundary): its business day is that of its end, not of its start.
    edge = "enddate" if closed is not None else "startdate"
    return Shift(
        source_id=f"z:{sid}",
        kind="z_report",
        number=sid,
        opened_at=opened,
        closed_at=closed,
        business_date=None if opened is None and closed is None else local_datetime(raw[edge])[1],
        first_ticket=RULES["text"](raw.get("startticket")),
        last_ticket=RULES["text"](raw.get("endticket")),
        ticket_count=RULES["int"](raw.get("ticketcount")),
        currency=CURRENCY,
        total_gross=gross,
        total_net=net,
        total_tax=gross - net,
    )


def to_x_report(raw: Mapping[str, Any]) -> Shift:
    """get-xreport → Shift(kind=x_report), the running period since the last Z."""
    gross, net = _money(raw.get("totalinclvat")), _money(raw.get("totalexclvat"))
    return Shift(
        source_id="x:current",
        kind="x_report",
        number=RULES["text"](raw.get("id")),
        opened_at=_opt_local(raw.get("startdate")),
        first_ticket=RULES["text"](raw.get("startticket")),
        currency=CURRENCY,
        total_gross=gross,
        total_net=net,
        total_tax=gross - net,
    )


def to_invoice(raw: Mapping[str, Any]) -> Invoice:
    """get-invoices row → Invoice / quote / credit note with VAT per line."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    try:
        kind = _DOCTYPES[int(raw.get("doctype"))]  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        raise MappingError(f"unknown doctype {raw.get('doctype')!r}") from None
    acc: dict[Decimal, list[Decimal]] = {}
    lines = []
    for n, d in enumerate(raw.get("invoicedetail") or (), 1):
        qty, price, rate = (
            _dec(d.get("quantity")),
            _money(d.get("productprice")),
            _vat_rate(d.get("producttax")),
        )
        gross = _line_gross(qty, price)
        net, vat = split_vat(gross, rate)
        bucket = acc.setdefault(rate, [Decimal(0), Decimal(0)])
        bucket[0] += net
        bucket[1] += vat
        lines.append(
            InvoiceLine(
                line_no=n,
                name=RULES["text"](d.get("productname")),
                quantity=qty,
                unit_price_gross=price,
                tax_rate=rate,
                gross=gross,
                net=net,
                tax=vat,
            )
        )
    total = _money(raw.get("totalprice"))
    taxes = _taxes(acc)
    total_tax = sum((t.tax for t in taxes), Decimal(0))
    return Invoice(
        source_id=sid,
        kind=kind,
        number=RULES["text"](raw.get("number")),
        customer_source_id=_id(raw.get("customerid")),
        issued_on=RULES["date"](raw.get("date")),
        due_on=RULES["date"](raw.get("expirationdate")),
        currency=CURRENCY,
        lines=lines,
        taxes=taxes,
        total_gross=total,
        total_tax=total_tax,
        total_net=total - total_tax,
        note=RULES["text"](raw.get("note")),
        from_receipt=RULES["flag_01"](raw.get("docfromvatticket")),
    )


def to_gift_voucher(raw: Mapping[str, Any]) -> Voucher:
    """get-giftvoucher row → Voucher(kind=gift_voucher)."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    return Voucher(
        source_id=f"giftvoucher:{sid}",
        kind="gift_voucher",
        code=RULES["text"](raw.get("barcode")),
        value=_money(raw.get("value")),
        currency=CURRENCY,
        valid_from=RULES["date"](raw.get("validfrom")),
        valid_until=RULES["date"](raw.get("validuntil")),
        source_updated_at=RULES["unix_time"](raw.get("modtime")),
    )


def to_coupon(raw: Mapping[str, Any]) -> Voucher:
    """get-coupon row → Voucher(kind=coupon), money or percent."""
    sid = _id(raw.get("id"))
    if sid is None:
        raise MappingError("missing required field 'id'")
    percent = str(raw.get("valuetype")) == "2"
    return Voucher(
        source_id=f"coupon:{sid}",
        kind="coupon",
        code=RULES["text"](raw.get("barcode")),
        value=_money(raw.get("value")),
        value_type="percent" if percent else "amount",
        currency=None if percent else CURRENCY,
        valid_from=RULES["date"](raw.get("validfrom")),
        valid_until=RULES["date"](raw.get("validuntil")),
        redeemed=RULES["flag_01"](raw.get("used")),
    )


def to_customer_credit(raw: Mapping[str, Any]) -> Voucher:
    """get-customercredits summary row → Voucher(kind=customer_credit) per customer."""
    cid = _id(raw.get("customerid"))
    if cid is None:
        raise MappingError("missing required field 'customerid'")
    value = _money(raw.get("value"))
    return Voucher(
        source_id=f"credit:{cid}",
        kind="customer_credit",
        customer_source_id=cid,
        value=value,
        balance=value,
        currency=CURRENCY,
        code=RULES["text"](raw.get("tagid")),
    )
