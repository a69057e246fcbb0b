"""iCash records → posbridge models (pure functions; docs/icash-wire.md for the rules).

Operations (3.14 / 3.20) become orders: a `ReturnClient` is a return with negative
quantities and totals, linked to its sale by `SellOperationID` and keeping the storno
reference (fiscal receipt number, device, date, UNP) in its note. Line amounts follow
the vendor's rule: gross = round2(qty × unit price with discount), VAT from the gross.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.connectors.icash.fields import FIELD_MAP
from posbridge.errors import MappingError
from posbridge.model import (
    Customer,
    Device,
    FiscalRef,
    Invoice,
    InvoiceLine,
    Location,
    Order,
    OrderLine,
    Payment,
    PaymentType,
    Price,
    Product,
    TaxTotal,
)
from posbridge.model.consistency import check_order
from posbridge.model.money import round_half_up
from posbridge.model.sales import PaymentMethod

__all__ = [
    "FIELD_MAP",
    "TIMEZONES",
    "pay_method",
    "to_contragent",
    "to_customer",
    "to_device",
    "to_invoice",
    "to_location",
    "to_order",
    "to_payment_type",
    "to_product",
    "to_supplier",
]

TIMEZONES = {"BG": "Europe/Sofia", "AL": "Europe/Tirane"}
_HUNDRED = Decimal(100)
#: documented pay type ids (3.06: 1 Cash, 2 Credit card, 3 Check)
_METHODS: dict[int, PaymentMethod] = {1: "cash", 2: "credit_card", 3: "cheque"}
_KEYWORDS: tuple[tuple[tuple[str, ...], PaymentMethod], ...] = (
    (("cash", "брой", "в брой"), "cash"),
    (("card", "карта", "kartë"), "card"),
    (("check", "cheque", "чек", "çek"), "cheque"),
    (("transfer", "превод", "transfertë"), "bank_transfer"),
    (("voucher", "ваучер", "kupon"), "voucher"),
)
_RECEIPT_HEAD = re.compile(r"\x1aD\t(\d+) ")


def pay_method(pay_type_id: int, name: str | None = None) -> PaymentMethod:
    """Normalized method of a pay type: by its name when known, else the documented ids."""
    if name:
        low = name.lower()
        for words, method in _KEYWORDS:
            if any(w in low for w in words):
                return method
    return _METHODS.get(pay_type_id, "other")


def _dec(raw: Mapping[str, Any], key: str) -> Decimal:
    value = raw.get(key)
    try:
        return Decimal(str(value)) if value is not None and value != "" else Decimal(0)
    except InvalidOperation:
        raise MappingError(f"icash: {key} is not a decimal: {value!r}") from None


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return str(value) if value not in (None, "") else None


def _id(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value in (None, ""):
        raise MappingError(f"icash: record without {key}")
    return str(value)


def _local(value: str | None, tz: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
    except ValueError:
        raise MappingError(f"icash: bad date-time {value!r}") from None


def to_location(raw: Mapping[str, Any], *, country: str = "BG", currency: str = "BGN") -> Location:
    return Location(
        source_id=_id(raw, "StoreID"),
        name=str(raw.get("StoreName") or ""),
        timezone=TIMEZONES.get(country),
        currency=currency,
        country=country,
        street=_text(raw, "StoreAddress"),
        town=_text(raw, "StoreCity"),
    )


def to_device(raw: Mapping[str, Any]) -> Device:
    return Device(
        source_id=_id(raw, "id"),
        name=str(raw.get("value") or raw.get("name") or ""),
        kind="register",
        location_source_id=_text(raw, "storeID"),
        model=_text(raw, "type"),
    )


def to_payment_type(raw: Mapping[str, Any]) -> PaymentType:
    pid = _id(raw, "id")
    name = str(raw.get("value") or raw.get("name") or "")
    return PaymentType(source_id=pid, name=name, method=pay_method(int(pid), name))


def _party(raw: Mapping[str, Any], source_id: str) -> Customer:
    company = str(raw.get("ContragentVatRegistered", "0")) == "1" or bool(raw.get("ContragentMOL"))
    name = _text(raw, "ContragentName")
    return Customer(
        source_id=source_id,
        name=name,
        company_name=name if company else None,
        vat_number=_text(raw, "ContragentTaxNum"),
        email=_text(raw, "ContragentEmail"),
        phone=_text(raw, "ContragentPhone"),
        street=_text(raw, "ContragentAddress"),
        town=_text(raw, "ContragentCityName"),
        country=_text(raw, "ContragentCountryCode"),
    )


def to_customer(raw: Mapping[str, Any]) -> Customer:
    """A CLIENT contragent; its id is the source id."""
    return _party(raw, _id(raw, "ContragentID"))


def to_supplier(raw: Mapping[str, Any]) -> Customer:
    """A SUPPLIER contragent, kept beside the customers as `supplier:<id>`."""
    return _party(raw, "supplier:" + _id(raw, "ContragentID"))


def to_contragent(raw: Mapping[str, Any]) -> Customer:
    """Any contragent: a CLIENT by its id, a SUPPLIER as `supplier:<id>`."""
    if str(raw.get("ContragentType", "CLIENT")).upper() == "SUPPLIER":
        return to_supplier(raw)
    return to_customer(raw)


def to_product(
    raw: Mapping[str, Any],
    *,
    rates: Mapping[str, Decimal],
    units: Mapping[str, str],
    currency: str = "BGN",
) -> Product:
    """A sale item with one price per store (`{"item": …, "stores": [{StoreID, item, qty}]}`)."""
    item = raw.get("item")
    if not isinstance(item, Mapping):
        raise MappingError("icash: sale item without its record")
    group = str(item.get("SaleItemTaxGroupID", ""))
    if group not in rates:
        raise MappingError(f"icash: unknown tax group {group!r}")
    prices = [Price(amount=_dec(item, "SaleItemSellPrice"), currency=currency)]
    stock: Decimal | None = None
    for entry in raw.get("stores") or []:
        store_item = entry.get("item") or {}
        prices.append(
            Price(
                amount=_dec(store_item, "SaleItemSellPrice"),
                currency=currency,
                price_list=f"store:{entry.get('StoreID')}",
                location_source_id=str(entry.get("StoreID")),
            )
        )
        qty = entry.get("qty")
        if isinstance(qty, Mapping):
            stock = (stock or Decimal(0)) + _dec(qty, "Qty")
    barcode = _text(item, "SaleItemBarcode")
    return Product(
        source_id=_id(item, "SaleItemID"),
        name=str(item.get("SaleItemName") or ""),
        sku=_text(item, "SaleItemInventoryID"),
        barcodes=[barcode] if barcode else [],
        prices=prices,
        tax_rate=rates[group],
        stock_quantity=stock,
        unit=units.get(str(item.get("SaleItemPrimaryMeasureUnitID"))),
        active=str(item.get("SaleItemStatus", "Normal")) == "Normal",
    )


def _receipt_number(text: str | None) -> str | None:
    match = _RECEIPT_HEAD.search(text or "")
    return str(int(match.group(1))) if match else None


#: percentage points between a rate implied by an item's two prices and its tax group's
#: rate: the vendor rounds the price without VAT to 5 decimals, far inside this
_RATE_SLACK = Decimal(1)


def _line_rate(price: Decimal, net: Decimal, rates: Sequence[Decimal]) -> Decimal:
    """The tax group's rate, recovered from the unit price with and without VAT.

    Operations carry no rate; a pair of prices implying none of the country's rates
    is an unknown VAT rate, and the operation is quarantined.
    """
    if net <= 0 or price <= 0:
        return rates[-1] if rates else Decimal(0)
    implied = (price / net - 1) * _HUNDRED
    if not rates:
        return round_half_up(implied, 0)
    best = min(rates, key=lambda r: abs(r - implied))
    if abs(best - implied) > _RATE_SLACK:
        known = ", ".join(str(r) for r in sorted(rates))
        raise MappingError(
            f"icash: unknown VAT rate: price {price} and {net} without VAT imply "
            f"{round_half_up(implied, 2)}%, not one of {known}"
        )
    return best


def to_order(
    raw: Mapping[str, Any], *, rates: Sequence[Decimal] = (), expected_currency: str = "BGN"
) -> Order:
    """An operation (Sell or ReturnClient) → an order; amounts to the vendor's decimals.

    The operation, its items and payments each name a currency; all must be the
    connection's (`expected_currency`: BGN, or ALL in Albania).
    """
    kind = raw.get("OperationType")
    if kind not in ("Sell", "ReturnClient"):
        raise MappingError(f"icash: operation type {kind!r} is not a sale or return")
    sign = Decimal(1) if kind == "Sell" else Decimal(-1)
    currency = str(raw.get("OperationCurrencyCode") or "BGN")
    tz_name = "Europe/Tirane" if currency == "ALL" else "Europe/Sofia"
    tz = ZoneInfo(tz_name)
    done = _local(_text(raw, "OperationCompleteDate"), tz) or _local(
        _text(raw, "OperationCreateDate"), tz
    )
    if done is None:
        raise MappingError("icash: operation without a date")
    lines: list[OrderLine] = []
    by_rate: dict[Decimal, tuple[Decimal, Decimal]] = {}
    known = list(rates) or [Decimal(20), Decimal(9), Decimal(6), Decimal(0)]
    for n, x in enumerate(raw.get("OperationSaleItems") or [], start=1):
        if str(x.get("OperationSaleItemStatus", "NORMAL")) != "NORMAL":
            continue
        qty, price = _dec(x, "OperationSaleItemPMUQuantity"), _dec(x, "OperationSaleItemPrice")
        rate = _line_rate(price, _dec(x, "OperationSaleItemPriceWithoutVat"), known)
        gross = round_half_up(qty * price, 2)
        tax = round_half_up(gross * rate / (_HUNDRED + rate), 2)
        pct = _dec(x, "OperationSaleItemDiscount")
        factor = (1 - pct / _HUNDRED) * (1 - _dec(raw, "OperationTotalDiscount") / _HUNDRED)
        undiscounted = round_half_up(qty * price / factor, 2) if factor > 0 else gross
        g, t = by_rate.get(rate, (Decimal(0), Decimal(0)))
        by_rate[rate] = (g + gross, t + tax)
        lines.append(
            OrderLine(
                line_no=n,
                product_source_id=_text(x, "OperationSaleItemSaleItemID"),
                quantity=sign * qty,
                unit_price_gross=price,
                tax_rate=rate,
                discount=sign * (undiscounted - gross),
                gross=sign * gross,
                net=sign * (gross - tax),
                tax=sign * tax,
            )
        )
    payments = [
        Payment(
            method=pay_method(int(p.get("PaymentPayTypeID") or 0)),
            vendor_method=str(p.get("PaymentPayTypeID")),
            amount=sign * _dec(p, "PaymentSum"),
            currency=str(p.get("PaymentCurrencyCode") or currency),
        )
        for p in raw.get("OperationPayments") or []
    ]
    if raw.get("OperationPrice") in (None, ""):
        raise MappingError("icash: missing required field OperationPrice (the total)")
    total, vat = _dec(raw, "OperationPrice"), _dec(raw, "OperationTotalVat")
    receipt = _text(raw, "OperationElectronicDataReceipt")
    storno = _text(raw, "FiskBonUUID")
    note = None
    if kind == "ReturnClient" and storno:
        note = (
            f"storno type {raw.get('stornoType')} of receipt {raw.get('FiskBonRcpNum')} "
            f"device {raw.get('FiskDeviceNum')} at {raw.get('FiskBonDate')} UNP {storno}"
        )
    item_currencies = {
        str(x.get("OperationSaleItemCurrencyCode"))
        for x in raw.get("OperationSaleItems") or []
        if x.get("OperationSaleItemCurrencyCode") not in (None, "", expected_currency)
    }
    if item_currencies:
        raise MappingError(
            f"icash: sale items in {', '.join(sorted(item_currencies))} on a connection in "
            f"{expected_currency}: amounts in another currency are never summed with it"
        )
    order = Order(
        source_id=_id(raw, "OperationID"),
        number=_text(raw, "OperationNum"),
        kind="sale" if kind == "Sell" else "return",
        location_source_id=_text(raw, "OperationStoreID"),
        device_source_id=_text(raw, "OperationCashRegisterID"),
        employee_source_id=_text(raw, "OperationCompleteUserID"),
        customer_source_id=_text(raw, "OperationContragentID"),
        occurred_at=done,
        source_timezone=tz_name,
        business_date=done.date(),
        currency=currency,
        lines=lines,
        payments=payments,
        taxes=[
            TaxTotal(rate=r, net=sign * (g - t), tax=sign * t, gross=sign * g)
            for r, (g, t) in sorted(by_rate.items())
        ],
        total_gross=sign * total,
        total_net=sign * (total - vat),
        total_tax=sign * vat,
        refund_of_source_id=_text(raw, "SellOperationID"),
        fiscal=FiscalRef(
            receipt_number=_receipt_number(receipt),
            uuid=_text(raw, "OperationFiskBonUUID"),
            qr=_text(raw, "OperationElectronicDataQrCode"),
            text=receipt,
        ),
        note=note,
    )
    return check_order(order, currency=expected_currency)


_KINDS = {"CREDIT": "credit_note", "DEBIT": "debit_note"}


def to_invoice(raw: Mapping[str, Any]) -> Invoice:
    """A document (3.21 / 3.22): invoice, proforma, credit or debit note."""
    doc_type, sub = raw.get("DocumentType"), str(raw.get("DocumentSubType") or "NORMAL")
    kind: Any = "proforma" if doc_type == "PROFORMA" else _KINDS.get(sub, "invoice")
    currency = str(raw.get("DocumentCurrencyCode") or "BGN")
    lines = []
    for n, x in enumerate(raw.get("DocumentSaleItems") or [], start=1):
        gross, tax = _dec(x, "TotalPrice"), _dec(x, "TotalVat")
        lines.append(
            InvoiceLine(
                line_no=n,
                name=_text(x, "SaleItemName"),
                product_source_id=_text(x, "SaleItemID"),
                quantity=_dec(x, "Qty"),
                unit_price_gross=_dec(x, "Price"),
                tax_rate=_dec(x, "VatRate"),
                gross=gross,
                net=gross - tax,
                tax=tax,
            )
        )
    issued = _text(raw, "DocumentDate")
    try:
        issued_on = datetime.strptime(issued, "%Y-%m-%d").date() if issued else None
    except ValueError:
        raise MappingError(f"icash: bad DocumentDate {issued!r}") from None
    return Invoice(
        source_id=_id(raw, "DocumentID"),
        kind=kind,
        number=_text(raw, "DocumentNum"),
        customer_source_id=_text(raw, "DocumentContragentID"),
        issued_on=issued_on,
        currency=currency,
        lines=lines,
        total_gross=_dec(raw, "DocumentTotalPrice"),
        total_net=_dec(raw, "DocumentPriceBase"),
        total_tax=_dec(raw, "DocumentTotalVat"),
        order_source_id=_text(raw, "DocumentOperationID"),
        status=_text(raw, "DocumentStatus"),
    )
