"""WService records ↔ the normalized model. Pure functions, no I/O.

Documents are split by `codes.DocumentType.family`: receipts (VEN, VEA void, VES open,
BIL) become orders, CHF fiscal closures shifts, loads/unloads/transfers stock movements,
customer documents invoices, MIV/RAP reports. A line's VAT is recomputed from its gross
`totalprice` (half up, per row) so that Σ line net equals the document's `vatmovements`
and the CHF of its POS and day. Departments carry their VAT (→ tax rates); receipts
name their store, POS, cashier and fidelity card (→ locations, devices, employees,
customers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from posbridge.connectors.fieldmap import RULES, Field
from posbridge.connectors.wservice.codes import (
    EMPTY_DATE,
    CustomerType,
    DocumentType,
    Family,
    RowType,
)
from posbridge.errors import MappingError
from posbridge.model import (
    Category,
    Customer,
    Device,
    Employee,
    FiscalRef,
    Invoice,
    InvoiceLine,
    Location,
    LoyaltyTag,
    Order,
    OrderLine,
    Payment,
    Price,
    Product,
    Record,
    Report,
    Shift,
    StockMovement,
    StockMovementLine,
    TaxRate,
    TaxTotal,
    Voucher,
)
from posbridge.model.consistency import check_order
from posbridge.model.money import vat_from_gross
from posbridge.model.sales import InvoiceKind, PaymentMethod

__all__ = [
    "FIELD_MAP",
    "document_related",
    "family_record",
    "parse_time",
    "to_category",
    "to_invoice",
    "to_order",
    "to_product",
    "to_report",
    "to_shift",
    "to_stock_movement",
    "to_tax_rates",
    "to_voucher",
]

TZ_NAME: Final = "Europe/Rome"
TZ: Final = ZoneInfo(TZ_NAME)
CURRENCY: Final = "EUR"
#: Italian VAT rates (percent): standard 22, reduced 10 and 5, super-reduced 4, exempt 0
IT_RATES: Final = tuple(Decimal(r) for r in ("0", "4", "5", "10", "22"))
F = Field

#: payment `paymenttype` (upper case) → method; unknown names are "other"
PAYMENTS: Final[dict[str, PaymentMethod]] = {
    "CONTANTI": "cash",
    "BANCOMAT": "debit_card",
    "BUONO": "voucher",
    "BONIFICO": "bank_transfer",
    "VISA": "credit_card",
    "MASTERCARD": "credit_card",
    "AMERICAN EXPRESS": "credit_card",
    "CARTA FEDELTÀ": "stored_value",
    "BUONO PASTO": "meal_voucher",
    "PREPAGATA": "stored_value",
}
INVOICE_KINDS: Final[dict[DocumentType, InvoiceKind]] = {
    DocumentType.DUC: "invoice",
    DocumentType.RDC: "credit_note",
    DocumentType.PRE: "quote",
}
STOCK_KINDS: Final[dict[DocumentType, Any]] = {
    DocumentType.CAR: "load",
    DocumentType.DUF: "purchase",
    DocumentType.SCA: "unload",
    DocumentType.RAF: "unload",
    DocumentType.MTM: "transfer",
}

_DOC = [
    F("idmovement", "source_id", "id", True),
    F("documenttype", "(stream)", "computed", True, "Tabella 1 → family (wservice-wire.md)"),
    F("documenttransactionnumber", "number", "text"),
    F("documentdate", "occurred_at", "computed", True, "ISO + offset → UTC"),
    F("documenttotal", "total_gross", "decimal", True),
    F("taxabletotal", "total_net", "decimal", True),
    F("vattotal", "total_tax", "decimal", True),
    F("vatmovements[].vatpercentage", "taxes[].rate", "vat_percent"),
    F("vatmovements[].taxabletotal", "taxes[].net", "decimal"),
    F("vatmovements[].vattotal", "taxes[].tax", "decimal"),
]
FIELD_MAP: Final[dict[str, tuple[str, list[Field]]]] = {
    "orders": (
        "documents VEN/VEA/VES/BIL (by iddocument walk or webhook)",
        [
            *_DOC,
            F("idpos", "device_source_id", "id"),
            F("idstore", "location_source_id", "id"),
            F("idcashier", "employee_source_id", "id"),
            F("idcustomerreceipt", "customer_source_id", "id", note="fidelity card"),
            F("canceleddocument", "status", "computed", note="set (≠ 1899-12-30) → void"),
            F("suspendedreceipt", "status", "computed", note="true → open"),
            F("cashmachineserialnumber", "fiscal.device_serial", "text"),
            F("points", "note", "computed", note="fidelity points"),
            F("documentrows[].rowtype", "lines[]", "computed", note="P/R/O lines, S/V discounts"),
            F("documentrows[].totalprice", "lines[].gross", "decimal"),
            F("documentrows[].qtymovement", "lines[].quantity", "decimal"),
            F("documentrows[].price", "lines[].unit_price_gross", "decimal"),
            F("payments[].paymenttype", "payments[].method", "computed"),
            F("payments[].totalpayment", "payments[].amount", "decimal"),
        ],
    ),
    "shifts": (
        "documents CHF (one per POS and day)",
        [
            *_DOC,
            F("idpos", "device_source_id", "id", True),
            F("documentnumber", "number", "text"),
            F("payments[].totalpayment", "payments[].amount", "decimal"),
        ],
    ),
    "invoices": ("documents DUC/RDC/PRE/DCC/DUI/ORD/ORS/COM", _DOC),
    "stock_movements": (
        "documents CAR/DUF/SCA/RAF/MTM",
        [
            F("idmovement", "source_id", "id", True),
            F(
                "documentrows[].qtymovement",
                "lines[].quantity",
                "computed",
                note="× qtytypemovement",
            ),
            F("documentrows[].netprice", "lines[].unit_cost", "decimal"),
        ],
    ),
    "reports": ("documents MIV/RAP", [F("idmovement", "source_id", "id", True)]),
    "categories": (
        "departments",
        [
            F("iddepartment", "source_id", "id", True),
            F("departmentname", "name", "text", True),
            F("vatpercentage", "tax_rate", "vat_percent"),
        ],
    ),
    "products": (
        "products",
        [
            F("idproduct", "source_id", "id", True),
            F("productname", "name", "text", True),
            F("productcode", "sku", "text"),
            F("iddepartment", "category_source_id", "id"),
            F("vatpercentage", "tax_rate", "vat_percent"),
            F("netcostproduct", "cost_price", "decimal?"),
            F("umcode", "unit", "text"),
            F("variableprice", "is_open_price", "computed"),
            F("prices[].pricevalue", "prices[].amount", "decimal"),
            F("barcodes[].barcode", "barcodes[]", "text"),
        ],
    ),
    "vouchers": (
        "prepaid (INFERRED read form)",
        [
            F("idprepaid", "source_id", "id", True),
            F("prepaidcode", "code", "text"),
            F("prepaidbalance", "balance", "decimal"),
            F("validfrom", "valid_from", "computed"),
            F("validto", "valid_until", "computed"),
        ],
    ),
}

_dec = RULES["decimal"]
_rate = RULES["vat_percent"]


def _id(value: Any) -> str | None:
    result: str | None = RULES["id"](value)
    return result


def _text(value: Any) -> str | None:
    result: str | None = RULES["text"](value)
    return result


def parse_time(value: Any) -> datetime | None:
    """`2025-04-01T11:34:16.000+02:00` → aware UTC; the 1899-12-30 zero date → None."""
    text = str(value or "").strip()
    if not text or text.startswith(EMPTY_DATE[:10]):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"impossible date {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(UTC)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def _doc_type(rec: Mapping[str, Any]) -> DocumentType:
    try:
        return DocumentType(str(rec.get("documenttype", "")))
    except ValueError:
        raise MappingError(
            f"documenttype {rec.get('documenttype')!r} is not in Tabella 1"
        ) from None


def _when(rec: Mapping[str, Any]) -> datetime:
    moment = parse_time(rec.get("documentdate")) or parse_time(rec.get("movementdate"))
    if moment is None:
        raise MappingError("document without documentdate/movementdate")
    return moment


def _taxes(rec: Mapping[str, Any]) -> list[TaxTotal]:
    out = []
    for v in rec.get("vatmovements") or []:
        net, tax = _dec(v["taxabletotal"]), _dec(v["vattotal"])
        out.append(TaxTotal(rate=_rate(v["vatpercentage"]), net=net, tax=tax, gross=net + tax))
    return out


def _payments(rec: Mapping[str, Any]) -> list[Payment]:
    out = []
    for p in rec.get("payments") or []:
        name = str(p.get("paymenttype") or "").strip()
        method = PAYMENTS.get(name.upper(), "other")
        brand = name.title() if method == "credit_card" else None
        out.append(
            Payment(
                method=method,
                vendor_method=name,
                amount=_dec(p["totalpayment"]),
                currency=CURRENCY,
                card_brand=brand,
            )
        )
    return out


def _row_type(row: Mapping[str, Any]) -> RowType:
    try:
        return RowType(str(row.get("rowtype") or RowType.PRODUCT))
    except ValueError:
        raise MappingError(f"rowtype {row.get('rowtype')!r} is not in Tabella 5") from None


def _check_family(rec: Mapping[str, Any], family: Family) -> DocumentType:
    dtype = _doc_type(rec)
    if dtype.family != family:
        raise MappingError(f"{dtype} documents are {dtype.family}s, not {family}s")
    return dtype


def to_order(rec: Mapping[str, Any]) -> Order:
    """A receipt: sale or return, with lines, VAT, payments, fidelity and fiscal serial."""
    dtype = _check_family(rec, "order")
    when = _when(rec)
    lines: list[OrderLine] = []
    discount = Decimal(0)
    for row in rec.get("documentrows") or []:
        kind = _row_type(row)
        gross = _dec(row.get("totalprice") or 0)
        if kind.discounts:  # S/V rows reduce the goods row before them
            if not lines:
                discount += -gross
                continue
            last = lines[-1]
            cut, new_gross = -gross, last.gross + gross
            tax = vat_from_gross(new_gross, last.tax_rate)
            lines[-1] = msgspec.structs.replace(
                last, discount=last.discount + cut, gross=new_gross, net=new_gross - tax, tax=tax
            )
            continue
        if not kind.sells:
            continue
        rate = _rate(row["vatpercentage"])
        if rate not in IT_RATES:
            raise MappingError(
                f"row {len(lines) + 1}: unknown VAT rate {rate}% "
                f"(Italian rates are {', '.join(str(r) for r in IT_RATES)})"
            )
        tax = vat_from_gross(gross, rate)
        lines.append(
            OrderLine(
                line_no=len(lines) + 1,
                product_source_id=_id(row.get("idproduct")),
                name=_text(row.get("rowdescription")),
                quantity=_dec(row["qtymovement"]),
                unit_price_gross=_dec(row.get("price") or 0),
                tax_rate=rate,
                gross=gross,
                net=gross - tax,
                tax=tax,
            )
        )
    if rec.get("documenttotal") in (None, ""):
        raise MappingError("missing required field 'documenttotal'")
    total = _dec(rec["documenttotal"])
    status: Any = "completed"
    if parse_time(rec.get("canceleddocument")) is not None or dtype == DocumentType.VEA:
        status = "void"
    elif rec.get("suspendedreceipt") is True or dtype == DocumentType.VES:
        status = "open"
    fid = str(rec.get("customertypereceipt") or "") == CustomerType.FIDELITY
    points = int(rec.get("points") or 0)
    order = Order(
        source_id=str(rec["idmovement"]),
        number=_text(rec.get("documenttransactionnumber")),
        kind="return" if total < 0 else "sale",
        status=status,
        location_source_id=_id(rec.get("idstore")),
        device_source_id=_id(rec.get("idpos")),
        employee_source_id=_id(rec.get("idcashier")),
        customer_source_id=_id(rec.get("idcustomerreceipt")) if fid else None,
        occurred_at=when,
        source_timezone=TZ_NAME,
        business_date=_local_day(when),
        currency=CURRENCY,
        lines=lines,
        payments=_payments(rec),
        taxes=_taxes(rec),
        total_gross=total,
        total_net=_dec(rec["taxabletotal"]),
        total_tax=_dec(rec["vattotal"]),
        discount_total=discount,
        fiscal=FiscalRef(
            receipt_number=_text(rec.get("documenttransactionnumber")),
            device_serial=_text(rec.get("cashmachineserialnumber")),
        ),
        note=f"fidelity points {points}" if points else None,
    )
    return check_order(order)  # documents carry no currency (EUR)


def to_shift(rec: Mapping[str, Any]) -> Shift:
    """A CHF fiscal closure: the POS's own totals of one day (checked by `verify`)."""
    _check_family(rec, "closure")
    when = _when(rec)
    if _id(rec.get("idpos")) is None:
        raise MappingError("CHF document without idpos")
    return Shift(
        source_id=str(rec["idmovement"]),
        kind="fiscal_closure",
        number=_text(rec.get("documentnumber")),
        location_source_id=_id(rec.get("idstore")),
        device_source_id=_id(rec.get("idpos")),
        closed_at=when,
        business_date=_local_day(when),
        currency=CURRENCY,
        total_gross=_dec(rec["documenttotal"]),
        total_net=_dec(rec["taxabletotal"]),
        total_tax=_dec(rec["vattotal"]),
        payments=_payments(rec),
        taxes=_taxes(rec),
    )


def to_invoice(rec: Mapping[str, Any]) -> Invoice:
    """A customer document; rows carry their own VAT (`vattotalprice`)."""
    dtype = _check_family(rec, "invoice")
    lines: list[InvoiceLine] = []
    for row in rec.get("documentrows") or []:
        if not _row_type(row).sells:
            continue
        gross = _dec(row.get("totalprice") or 0)
        tax = _dec(row.get("vattotalprice") or 0)
        lines.append(
            InvoiceLine(
                line_no=len(lines) + 1,
                name=_text(row.get("rowdescription")),
                product_source_id=_id(row.get("idproduct")),
                quantity=_dec(row["qtymovement"]),
                unit_price_gross=_dec(row.get("price") or 0),
                tax_rate=_rate(row["vatpercentage"]),
                gross=gross,
                net=gross - tax,
                tax=tax,
            )
        )
    return Invoice(
        source_id=str(rec["idmovement"]),
        kind=INVOICE_KINDS.get(dtype, "proforma"),
        number=_text(rec.get("documenttransactionnumber")),
        customer_source_id=_id(rec.get("idorigin")) if rec.get("origintype") == "CLI" else None,
        issued_on=_local_day(_when(rec)),
        currency=CURRENCY,
        lines=lines,
        taxes=_taxes(rec),
        total_gross=_dec(rec["documenttotal"]),
        total_net=_dec(rec["taxabletotal"]),
        total_tax=_dec(rec["vattotal"]),
        note=_text(rec.get("notes")),
        status=str(dtype),
    )


def to_stock_movement(rec: Mapping[str, Any]) -> StockMovement:
    """A load, unload, purchase or transfer; quantities signed by `qtytypemovement`."""
    dtype = _check_family(rec, "stock")
    lines: list[StockMovementLine] = []
    for row in rec.get("documentrows") or []:
        if not _row_type(row).sells:
            continue
        sign = int(row.get("qtytypemovement") or 0)
        lines.append(
            StockMovementLine(
                product_source_id=_id(row.get("idproduct")),
                name=_text(row.get("rowdescription")),
                quantity=_dec(row["qtymovement"]) * (sign if dtype != DocumentType.MTM else 1),
                unit_cost=RULES["decimal?"](row.get("netprice")),
            )
        )
    return StockMovement(
        source_id=str(rec["idmovement"]),
        kind=STOCK_KINDS[dtype],
        number=_text(rec.get("documenttransactionnumber")),
        location_source_id=_id(rec.get("idstore")),
        occurred_at=_when(rec),
        currency=CURRENCY,
        lines=lines,
    )


def to_report(rec: Mapping[str, Any]) -> Report:
    """MIV/RAP documents as the figures they state."""
    dtype = _check_family(rec, "report")
    metrics = {k: _dec(rec.get(k) or 0) for k in ("taxabletotal", "vattotal", "documenttotal")}
    for t in _taxes(rec):  # MIV: the VAT register of the period, per rate
        metrics[f"taxable_{t.rate}"] = t.net
        metrics[f"vat_{t.rate}"] = t.tax
    return Report(
        source_id=str(rec["idmovement"]),
        kind=f"wservice_{str(dtype).lower()}",
        business_date=_local_day(_when(rec)),
        currency=CURRENCY,
        metrics=metrics,
    )


FAMILY_MAPPERS: Final = {
    "order": to_order,
    "closure": to_shift,
    "invoice": to_invoice,
    "stock": to_stock_movement,
    "report": to_report,
}


def family_record(rec: Mapping[str, Any]) -> Record:
    """Any document, mapped by its family (the webhook receiver's entry point)."""
    mapper: Any = FAMILY_MAPPERS[_doc_type(rec).family]
    result: Record = mapper(rec)
    return result


def document_related(record: Record) -> Sequence[Record]:
    """Store, POS, cashier and fidelity card a receipt or closure names."""
    out: list[Record] = []
    if not isinstance(record, Order | Shift):
        return out
    if record.location_source_id:
        out.append(
            Location(
                source_id=record.location_source_id,
                name=f"store {record.location_source_id}",
                country="IT",
                currency=CURRENCY,
                timezone=TZ_NAME,
            )
        )
    if record.device_source_id:
        serial = (
            record.fiscal.device_serial if isinstance(record, Order) and record.fiscal else None
        )
        out.append(
            Device(
                source_id=record.device_source_id,
                name=f"POS {record.device_source_id}",
                kind="register",
                location_source_id=record.location_source_id,
                serial=serial,
            )
        )
    if isinstance(record, Order):
        if record.employee_source_id:
            out.append(
                Employee(
                    source_id=record.employee_source_id,
                    name=f"cashier {record.employee_source_id}",
                    role="cashier",
                )
            )
        if record.customer_source_id:
            out.append(
                Customer(
                    source_id=record.customer_source_id,
                    loyalty_tags=[
                        LoyaltyTag(tag_id=record.customer_source_id, tag_type="fidelity")
                    ],
                )
            )
    return out


def to_category(rec: Mapping[str, Any]) -> Category:
    """A department with its VAT percent."""
    return Category(
        source_id=str(rec["iddepartment"]),
        name=str(rec["departmentname"]).strip(),
        tax_rate=_rate(rec["vatpercentage"]) if rec.get("vatpercentage") is not None else None,
    )


def to_tax_rates(record: Record) -> Sequence[Record]:
    """The department's VAT as a tax rate (WService has no VAT list endpoint)."""
    if not isinstance(record, Category) or record.tax_rate is None:
        return []
    rate = record.tax_rate
    return [
        TaxRate(source_id=f"{rate}", name=f"IVA {rate}%", rate=rate, country="IT", code=f"{rate}")
    ]


def to_product(rec: Mapping[str, Any]) -> Product:
    """A product with its price lists (VAT included) and EAN barcodes."""
    rate = _rate(rec["vatpercentage"]) if rec.get("vatpercentage") is not None else None
    prices = [
        Price(
            amount=_dec(p["pricevalue"]),
            currency=CURRENCY,
            includes_tax=True,
            price_list=str(p.get("pricename") or "default"),
        )
        for p in rec.get("prices") or []
    ]
    return Product(
        source_id=str(rec["idproduct"]),
        source_updated_at=parse_time(rec.get("lastmodifydate")),
        name=str(rec["productname"]).strip(),
        category_source_id=_id(rec.get("iddepartment")),
        sku=_text(rec.get("productcode")),
        barcodes=[str(b["barcode"]) for b in rec.get("barcodes") or [] if b.get("barcode")],
        prices=prices,
        cost_price=RULES["decimal?"](rec.get("netcostproduct", rec.get("netproductcost"))),
        tax_rate=rate,
        stock_quantity=RULES["decimal?"](rec.get("stock")),
        unit=_text(rec.get("umcode")),
        is_open_price=rec.get("variableprice") is True,
    )


def to_voucher(rec: Mapping[str, Any]) -> Voucher:
    """A prepaid card; its balance is both the value and what is left."""
    start, end = parse_time(rec.get("validfrom")), parse_time(rec.get("validto"))
    balance = _dec(rec.get("prepaidbalance") or 0)
    return Voucher(
        source_id=str(rec["idprepaid"]),
        kind="prepaid_card",
        code=_text(rec.get("prepaidcode")),
        value=balance,
        currency=CURRENCY,
        balance=balance,
        valid_from=_local_day(start) if start else None,
        valid_until=_local_day(end) if end else None,
        redeemed=parse_time(rec.get("blacklistdate")) is not None,
    )
