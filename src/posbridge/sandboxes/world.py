"""Deterministic merchant worlds: the ground truth every sandbox serves.

`generate_world` turns a country profile and a seed into a complete merchant: places,
staff, catalog, customers, weeks of tickets with payments, Z reports, documents,
vouchers, reservations and web orders. The same arguments always give the same world
(one `random.Random`, no wall clock), so a sync can be checked against it order by
order and cent by cent. Money is `Decimal` everywhere; VAT rates are percents.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from posbridge.sandboxes.profiles import PAYMENT_KEYS, PROFILES

CENT = Decimal("0.01")
_Date = date
_HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    """Round to cents, half away from zero (the vendors' MySQL DECIMAL(…,2) behaviour)."""
    return value.quantize(CENT, ROUND_HALF_UP)


def component_vat(gross: Decimal, rate: Decimal) -> Decimal:
    """VAT inside one gross line component: `round_half_up(gross × rate / (100 + rate), 2)`.

    A component is the product part of a line or one subproduct part (docs/cloudpos-wire.md).
    Half-up on the magnitude keeps a return's VAT the exact negative of the sale's.
    """
    return money(gross * rate / (_HUNDRED + rate))


def component_net(gross: Decimal, rate: Decimal) -> Decimal:
    """Net amount of one line component: gross minus its rounded VAT."""
    return gross - component_vat(gross, rate)


# --- places and people ---------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Establishment:
    id: int
    name: str


@dataclass(slots=True, frozen=True)
class Device:
    """A till (CloudPOS `kassa`) in one establishment."""

    id: int
    establishment_id: int
    name: str


@dataclass(slots=True, frozen=True)
class Printer:
    id: int
    name: str


@dataclass(slots=True, frozen=True)
class User:
    """A staff member; `secnr` is the national register number (valid mod-97 for BE)."""

    id: int
    username: str
    admin: bool
    secnr: str
    establishment_id: int


@dataclass(slots=True, frozen=True)
class Table:
    id: int
    number: int
    status: int  # 0 free, 1 occupied, 2 awaiting payment


@dataclass(slots=True, frozen=True)
class PaymentType:
    """One of the nine payment methods; `key` is stable, `name` is the display name."""

    id: int
    key: str
    name: str


# --- catalog and customers (mutable: sandbox writes change them) ----------------------


@dataclass(slots=True)
class Category:
    id: int
    name: str


@dataclass(slots=True)
class Product:
    """A sellable item; `price` includes VAT, `vat` is a percent."""

    id: int
    name: str
    category_id: int
    price: Decimal
    purchase_price: Decimal
    stock: Decimal
    vat: Decimal
    barcode: str
    modtime: int
    popup: bool = False
    menupopup: bool = False
    openprice: bool = False
    table_vat: Decimal | None = None


@dataclass(slots=True)
class Subproduct:
    """A popup or menu option; its price is per unit of the line it is added to."""

    id: int
    name: str
    price: Decimal
    vat: Decimal
    stock: Decimal
    product_ids: list[int]
    modtime: int
    kind: str = "popup"  # "popup" | "menu"
    table_vat: Decimal | None = None


@dataclass(slots=True)
class Customer:
    """A person (`name` + `firstname`) or a company (`companyname` + `vatnumber`)."""

    id: int
    name: str
    firstname: str
    companyname: str
    street: str
    phone: str
    zipcode: str
    town: str
    vatnumber: str
    email: str
    tag_id: str
    tag_type: str  # "barcode" | "rfid" | ""
    tag_family_id: int
    modtime: int


# --- sales ------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class SubLine:
    subproduct_id: int
    price: Decimal
    vat: Decimal


@dataclass(slots=True, frozen=True)
class OrderLine:
    """`gross = quantity × (price + Σ sub prices)`; negative quantity on returns."""

    quantity: Decimal
    product_id: int
    price: Decimal
    vat: Decimal
    subs: tuple[SubLine, ...] = ()

    @property
    def gross(self) -> Decimal:
        return self.quantity * (self.price + sum((s.price for s in self.subs), Decimal(0)))

    def components(self) -> Iterator[tuple[Decimal, Decimal]]:
        """(gross, vat percent) of the product part and of each subproduct part."""
        yield self.quantity * self.price, self.vat
        for sub in self.subs:
            yield self.quantity * sub.price, sub.vat

    @property
    def net(self) -> Decimal:
        return sum((component_net(g, r) for g, r in self.components()), Decimal(0))


@dataclass(slots=True, frozen=True)
class Order:
    """A sales ticket; `ticket` is the licence-wide gap-free number, `dbid` the row id."""

    dbid: int
    ticket: int
    customer_id: int | None
    establishment_id: int
    device_id: int
    user_id: int
    ordertime: datetime  # naive local time
    lines: tuple[OrderLine, ...]
    payments: dict[str, Decimal]  # method key → amount; Σ == total
    total: Decimal

    @property
    def is_return(self) -> bool:
        return self.total < 0

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal(0))


@dataclass(slots=True, frozen=True)
class ClockEntry:
    """A clock-in/clock-out row (own id sequence; `dbid` shares the orders' table)."""

    id: int
    dbid: int
    user_id: int
    establishment_id: int
    device_id: int
    clockin: datetime
    clockout: datetime | None


@dataclass(slots=True, frozen=True)
class ZReport:
    """A closed period: a contiguous ticket range with its totals."""

    id: int
    startdate: datetime
    enddate: datetime
    startticket: int
    endticket: int
    ticketcount: int
    total_excl: Decimal
    total_incl: Decimal


@dataclass(slots=True, frozen=True)
class XReport:
    """The open period since the last Z (`ticketcount` 0 when nothing was sold yet)."""

    id: int
    startdate: datetime
    startticket: int
    ticketcount: int
    total_excl: Decimal
    total_incl: Decimal


# --- documents, vouchers, reservations, web orders -----------------------------------


@dataclass(slots=True, frozen=True)
class DocumentLine:
    quantity: Decimal
    name: str
    price: Decimal  # incl. VAT
    vat: Decimal


@dataclass(slots=True)
class Document:
    """An invoice (doctype 1), offer (2) or credit note (3), signed by the FDM."""

    id: int
    doctype: int
    number: str
    customer_id: int | None
    date: date
    expirationdate: _Date  # (`date` is shadowed by the field above)
    note: str
    lines: list[DocumentLine]
    total: Decimal
    docfromvatticket: bool
    vatticket: str


@dataclass(slots=True)
class GiftVoucher:
    id: int
    barcode: str
    value: Decimal
    validfrom: date
    validuntil: date
    paymenttype: int  # 1 cash, 2 transfer
    modtime: int


@dataclass(slots=True)
class Coupon:
    id: int
    barcode: str
    value: Decimal
    valuetype: int  # 1 money, 2 percent
    validfrom: date
    validuntil: date
    used: bool


@dataclass(slots=True, frozen=True)
class CustomerCredit:
    """One credit top-up (positive) or spend (negative), optionally tied to a product or category."""

    id: int
    customer_id: int
    value: Decimal
    product_id: int | None
    category_id: int | None
    paymenttype: int


@dataclass(slots=True, frozen=True)
class Reservation:
    id: int
    date: date
    hour: str  # "HH:MM", a key of World.reservation_slots
    persons: int
    name: str
    phone: str
    confirmed: bool


@dataclass(slots=True, frozen=True)
class WebOrderLine:
    product_id: int
    price: Decimal
    vat: Decimal
    subs: tuple[SubLine, ...] = ()
    extrainfo: str = ""


@dataclass(slots=True)
class WebOrder:
    """A web shop order; `confirmed_at` is the promised pick-up/delivery time."""

    id: int
    customer_id: int
    delivery: int  # 0 pick-up, 1 delivery, 2 on site
    onlinepaid: bool
    discount: Decimal
    autoconfirmation: bool
    planned_at: datetime | None
    remark: str
    lines: list[WebOrderLine]
    created: datetime
    confirmed_at: datetime | None


@dataclass(slots=True, frozen=True)
class EolOrderLine:
    product_id: int
    price: Decimal
    quantity: Decimal


@dataclass(slots=True, frozen=True)
class EolOrder:
    """An order booked through to Exact Online (write-only in CloudPOS)."""

    ordernumber: str
    date: str
    customer_id: str
    paymenttype: int
    lines: tuple[EolOrderLine, ...]


@dataclass(slots=True)
class World:
    """One merchant, complete. Collections keyed by id where writes look records up."""

    profile: str
    seed: int
    country: str
    currency: str
    timezone: str
    business_day_start_hour: int
    as_of: datetime  # naive local moment the world describes (after the last order)
    establishments: list[Establishment]
    devices: list[Device]
    printers: list[Printer]
    users: list[User]
    tables: list[Table]
    payment_types: list[PaymentType]
    categories: dict[int, Category]
    products: dict[int, Product]
    subproducts: dict[int, Subproduct]
    customers: dict[int, Customer]
    orders: list[Order]  # ascending ticket == ascending ordertime
    clock_entries: list[ClockEntry]
    zreports: list[ZReport]
    xreport: XReport
    documents: list[Document]
    gift_vouchers: list[GiftVoucher]
    coupons: list[Coupon]
    customer_credits: list[CustomerCredit]
    reservation_slots: dict[str, int]  # "HH:MM" → seats
    reservation_max_persons: int
    reservations: list[Reservation]
    weborders: dict[int, WebOrder]
    eol_orders: list[EolOrder] = field(default_factory=list)
    next_vatticket: int = 1

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def unix(self, local: datetime) -> int:
        """Unix time of a naive local datetime of this world."""
        return int(local.replace(tzinfo=self.tz).timestamp())

    def business_date(self, local: datetime) -> date:
        """The business day a local moment belongs to (the day starts at the start hour)."""
        return (local - timedelta(hours=self.business_day_start_hour)).date()


def summarize(orders: Iterable[Order]) -> tuple[Decimal, Decimal]:
    """(Σ net, Σ gross) of tickets with the component VAT rule: a Z/X report's totals."""
    net = gross = Decimal(0)
    for order in orders:
        net += order.net
        gross += order.total
    return net, gross


def close_business_day(world: World, at: datetime) -> ZReport:
    """Take a Z report at local time `at`: the open X period becomes a closed Z."""
    x = world.xreport
    end = x.startticket + x.ticketcount - 1
    z = ZReport(
        x.id, x.startdate, at, x.startticket, end, x.ticketcount, x.total_excl, x.total_incl
    )
    world.zreports.append(z)
    world.xreport = XReport(x.id + 1, at, end + 1, 0, Decimal("0.00"), Decimal("0.00"))
    return z


def generate_world(
    profile: str = "be_hospitality",
    *,
    seed: int = 1,
    days: int = 28,
    orders_per_day: int = 120,
    end_date: date = date(2026, 11, 1),
) -> World:
    """Build the world of `profile` for the `days` business days before `end_date`.

    The last business day stays open (the X report); the world's `as_of` is 30 minutes
    before the next business day starts on `end_date`.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
    if days < 1 or orders_per_day < 1:
        raise ValueError("days and orders_per_day must be at least 1")
    prof = PROFILES[profile]
    as_of = datetime.combine(end_date, time(prof.business_day_start_hour)) - timedelta(minutes=30)
    from posbridge.sandboxes.world_gen import Generator  # imports this module's dataclasses

    gen = Generator(prof, random.Random(f"{profile}:{seed}"), as_of)
    parts = gen.build(end_date - timedelta(days=days), days, orders_per_day)
    return World(
        profile=profile,
        seed=seed,
        country=prof.country,
        currency=prof.currency,
        timezone=prof.timezone,
        business_day_start_hour=prof.business_day_start_hour,
        as_of=as_of,
        **parts,
    )


assert len(PAYMENT_KEYS) == 9  # the payment columns of every CloudPOS order
