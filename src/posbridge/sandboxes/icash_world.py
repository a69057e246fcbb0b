"""The iCash world: a Bulgarian or Albanian retail chain as iCash stores it.

Deterministic from the seed (one `random.Random`, no wall clock). Names, items and VAT
classes come from the `bg_retail` / `al_retail` profiles; everything iCash-specific
(stores, cash registers with fiscal device numbers, tax groups, measure units, pay
types, contragents, per-store prices and stock, operations with fiscal receipts and
storno references, documents, bank accounts) is generated here. Amount rules are those
of docs/icash-wire.md: a line's unit price already carries the line and the operation
discount (5 decimals), its amount is `round2(qty × price)`, its VAT
`round2(amount × rate / (100 + rate))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "BankAccount",
    "CashRegister",
    "Contragent",
    "Document",
    "DocumentLine",
    "ICashWorld",
    "OpLine",
    "OpPayment",
    "Operation",
    "SaleItem",
    "Storno",
    "line_amounts",
    "q2",
    "q5",
]

_HUNDRED = Decimal(100)


def q2(value: Decimal) -> Decimal:
    """Round half up to 2 decimals (DECIMAL(10,2))."""
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def q5(value: Decimal) -> Decimal:
    """Round half up to 5 decimals (DECIMAL(15,5))."""
    return value.quantize(Decimal("0.00001"), ROUND_HALF_UP)


def line_amounts(qty: Decimal, price: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(gross amount, VAT) of a line: both rounded to cents, VAT from the gross."""
    gross = q2(qty * price)
    return gross, q2(gross * rate / (_HUNDRED + rate))


@dataclass(slots=True)
class Store:
    id: int
    name: str
    town: str
    address: str


@dataclass(slots=True)
class CashRegister:
    """`device_num` is the fiscal device number (≥ 10000000), `serial` its UNP prefix."""

    id: int
    name: str
    type: str  # VIRTUAL | HARDWARE
    store_id: int
    device_num: int
    serial: str
    receipts: int = 0


@dataclass(slots=True)
class TaxGroup:
    id: int
    name: str
    rate: Decimal


@dataclass(slots=True)
class Named:
    id: int
    name: str


@dataclass(slots=True)
class Contragent:
    id: int
    name: str
    type: str  # CLIENT | SUPPLIER
    country: str
    city: str
    tax_num: str
    vat_registered: int
    address: str
    phone: str
    email: str
    mol: str
    barcode: str
    create_date: datetime
    active: int = 1


@dataclass(slots=True)
class SaleItem:
    id: int
    inventory_id: str
    barcode: str
    name: str
    type: str  # PRODUCT | SERVICE
    measure_unit_id: int
    tax_group_id: int
    price: Decimal  # default sell price with VAT, 6 decimals on the wire
    store_prices: dict[int, Decimal]
    stock: dict[int, Decimal]
    cash_register_name: str = ""
    comment: str = ""
    status: str = "Normal"
    forbid_sale: int = 0
    forbid_discount: int = 0
    group_id: int = 0

    def price_in(self, store_id: int) -> Decimal:
        return self.store_prices.get(store_id, self.price)


@dataclass(slots=True)
class OpLine:
    id: int
    sale_item_id: int
    qty: Decimal
    list_price: Decimal
    discount: Decimal  # line discount, percent
    price: Decimal  # unit price with every discount, 5 decimals
    rate: Decimal
    unit: str
    status: str = "NORMAL"

    @property
    def amounts(self) -> tuple[Decimal, Decimal]:
        return line_amounts(self.qty, self.price, self.rate)


@dataclass(slots=True)
class OpPayment:
    id: int
    pay_type_id: int
    amount: Decimal
    cash_register_id: int
    user_id: int
    created: datetime


@dataclass(slots=True)
class Storno:
    """What a return refers to: the fiscal receipt of the sale."""

    type: int  # 0 operator error, 1 return/exchange, 2 reduction of the tax base
    rcp_num: int
    device_num: int
    bon_date: str  # DD-MM-YY HH:mm
    uuid: str


@dataclass(slots=True)
class Operation:
    id: int
    type: str  # Sell | ReturnClient
    cash_register_id: int
    store_id: int
    num: int
    status: str  # TEMP | NORMAL | DELETED ...
    contragent_id: int | None
    comment: str
    create_user: int
    created: datetime
    discount: Decimal = Decimal(0)  # operation discount, percent
    completed: datetime | None = None
    complete_user: int | None = None
    import_type: str = "POS"
    import_source: str = ""
    import_ref_id: str = ""
    electronic_receipt: str = "NO"
    fisk_uuid: str = ""
    receipt_num: int | None = None
    storno: Storno | None = None
    sell_operation_id: int | None = None
    receipt_text: str = ""
    qr: str = ""
    lines: list[OpLine] = field(default_factory=list)
    payments: list[OpPayment] = field(default_factory=list)

    def live_lines(self) -> list[OpLine]:
        return [x for x in self.lines if x.status == "NORMAL"]

    @property
    def total(self) -> Decimal:
        return sum((x.amounts[0] for x in self.live_lines()), Decimal(0))

    @property
    def vat(self) -> Decimal:
        return sum((x.amounts[1] for x in self.live_lines()), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))

    @property
    def op_date(self) -> date:
        return (self.completed or self.created).date()


@dataclass(slots=True)
class DocumentLine:
    sale_item_id: int
    name: str
    qty: Decimal
    price: Decimal  # with VAT
    rate: Decimal

    @property
    def amounts(self) -> tuple[Decimal, Decimal]:
        return line_amounts(self.qty, self.price, self.rate)


@dataclass(slots=True)
class Document:
    id: int
    type: str  # INVOICE | PROFORMA
    sub_type: str  # NORMAL | CREDIT | DEBIT | ADVANCE
    num: str
    date: date
    store_id: int
    contragent_id: int
    operation_id: int | None
    pay_type_id: int
    bank_account_id: int | None
    created: datetime
    lines: list[DocumentLine]
    status: str = "NORMAL"
    operation_type: str = "NORMAL"
    import_source: str = ""
    import_ref_id: str = ""

    @property
    def total(self) -> Decimal:
        return sum((x.amounts[0] for x in self.lines), Decimal(0))

    @property
    def vat(self) -> Decimal:
        return sum((x.amounts[1] for x in self.lines), Decimal(0))


@dataclass(slots=True)
class BankAccount:
    id: int
    bank: str
    iban: str
    bic: str
    currency: str
    created: datetime
    active: int = 1


@dataclass(slots=True)
class CashMovement:
    id: int
    cash_register_id: int
    kind: int  # ServiceIssuedSumType
    amount: Decimal
    created: datetime


@dataclass(slots=True)
class ICashWorld:
    """One iCash account (WareHouseID) of a retail chain."""

    profile: str
    country: str
    currency: str
    timezone: str
    warehouse_id: int
    user_id: int
    as_of: datetime
    stores: list[Store]
    registers: list[CashRegister]
    tax_groups: list[TaxGroup]
    pay_types: list[Named]
    measure_units: list[Named]
    users: list[Named]
    contragents: list[Contragent]
    sale_items: list[SaleItem]
    operations: list[Operation]
    documents: list[Document]
    bank_accounts: list[BankAccount]
    cash_movements: list[CashMovement] = field(default_factory=list)
    next_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        value = self.next_ids.get(kind, 1)
        self.next_ids[kind] = value + 1
        return value

    def tax_rate(self, group_id: int) -> Decimal:
        return next(g.rate for g in self.tax_groups if g.id == group_id)

    def register(self, register_id: int) -> CashRegister:
        return next(r for r in self.registers if r.id == register_id)

    def unit_name(self, unit_id: int) -> str:
        return next(u.name for u in self.measure_units if u.id == unit_id)
