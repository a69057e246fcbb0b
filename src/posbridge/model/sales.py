"""Sales documents: orders (sales and returns) and invoices (incl. credit notes, quotes).

Amounts are `Decimal` in the document's currency. Every line keeps gross, net and tax
so that tax breakdowns and Z-report closures can be recomputed without the vendor.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

import msgspec

from posbridge.model.base import Record

__all__ = [
    "FiscalRef",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "LineModifier",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentMethod",
    "PaymentType",
    "TaxTotal",
]

PaymentMethod = Literal[
    "cash",
    "debit_card",
    "credit_card",
    "card",
    "voucher",
    "bank_transfer",
    "meal_voucher",
    "stored_value",
    "mobile",
    "cheque",
    "customer_credit",
    "other",
]
InvoiceKind = Literal["invoice", "credit_note", "quote", "proforma", "debit_note", "receipt"]


class TaxTotal(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a document's VAT breakdown: net + tax == gross."""

    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal


class LineModifier(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A modifier on an order line, priced per unit of the line."""

    name: str | None = None
    modifier_source_id: str | None = None
    unit_price_gross: Decimal
    tax_rate: Decimal
    gross: Decimal
    net: Decimal
    tax: Decimal


class OrderLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line of an order; `gross`/`net`/`tax` include the line's modifiers."""

    line_no: int
    product_source_id: str | None = None
    name: str | None = None
    quantity: Decimal
    unit_price_gross: Decimal
    tax_rate: Decimal
    discount: Decimal = Decimal(0)
    gross: Decimal
    net: Decimal
    tax: Decimal
    modifiers: list[LineModifier] = msgspec.field(default_factory=list)


class Payment(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A tender on an order: normalized method plus the vendor's own name for it."""

    method: PaymentMethod
    vendor_method: str
    amount: Decimal
    currency: str
    card_brand: str | None = None
    is_change: bool = False
    tip: Decimal = Decimal(0)


class FiscalRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """References a fiscal authority or device gives a receipt."""

    receipt_number: str | None = None
    device_serial: str | None = None
    uuid: str | None = None
    qr: str | None = None
    text: str | None = None


class Order(Record, frozen=True, kw_only=True):
    """A sale or a return.

    Invariants (tested): total_gross == Σ line gross − discount_total + service_total +
    tip_total + rounding; Σ payments == total_gross unless the difference is explicit
    change or an open balance; a return has negative quantities and totals.
    """

    object_type: ClassVar[str] = "order"
    number: str | None = None
    kind: Literal["sale", "return"] = "sale"
    status: Literal["completed", "open", "void"] = "completed"
    channel: Literal["pos", "web", "vending", "other"] = "pos"
    location_source_id: str | None = None
    device_source_id: str | None = None
    employee_source_id: str | None = None
    customer_source_id: str | None = None
    table_source_id: str | None = None
    occurred_at: datetime
    source_timezone: str
    business_date: date
    currency: str
    lines: list[OrderLine] = msgspec.field(default_factory=list)
    payments: list[Payment] = msgspec.field(default_factory=list)
    taxes: list[TaxTotal] = msgspec.field(default_factory=list)
    total_gross: Decimal
    total_net: Decimal
    total_tax: Decimal
    discount_total: Decimal = Decimal(0)
    service_total: Decimal = Decimal(0)
    tip_total: Decimal = Decimal(0)
    rounding: Decimal = Decimal(0)
    refund_of_source_id: str | None = None
    fiscal: FiscalRef | None = None
    note: str | None = None


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One line of an invoice, credit note or quote."""

    line_no: int
    name: str | None = None
    product_source_id: str | None = None
    quantity: Decimal
    unit_price_gross: Decimal
    tax_rate: Decimal
    gross: Decimal
    net: Decimal
    tax: Decimal


class Invoice(Record, frozen=True, kw_only=True):
    """An invoice, credit note, quote or other sales document."""

    object_type: ClassVar[str] = "invoice"
    kind: InvoiceKind
    number: str | None = None
    customer_source_id: str | None = None
    issued_on: date | None = None
    due_on: date | None = None
    currency: str
    lines: list[InvoiceLine] = msgspec.field(default_factory=list)
    taxes: list[TaxTotal] = msgspec.field(default_factory=list)
    total_gross: Decimal
    total_net: Decimal
    total_tax: Decimal
    note: str | None = None
    from_receipt: bool = False
    order_source_id: str | None = None
    status: str | None = None
    fiscal: FiscalRef | None = None


class PaymentType(Record, frozen=True, kw_only=True):
    """A tender the POS offers (cash, a card brand, meal vouchers), mapped to a method."""

    object_type: ClassVar[str] = "payment_type"
    name: str
    method: PaymentMethod
    active: bool = True
