"""Closure-verified completeness: synced orders against the POS's own closures.

A closure is a `Shift` carrying the POS's totals — a Z report, a closed cashier shift or a
fiscal closure. Its scope is either a ticket range (`first_ticket..last_ticket`, the
orders whose number lies in it — of the closure's location when it names one, for POSes
that number all locations in one sequence) or, for a fiscal closure without one, the
completed orders of a device and business day. A closure is *verified* only when the
synced orders of its scope agree with every total it carries: ticket count, gross, net,
payments by method and VAT by rate.

The check reads the connection's orders once and aggregates lines and payments per order
in two grouped queries, so it stays linear in the store instead of one scan per closure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa

from posbridge.model import Shift
from posbridge.store.repo import ConnectionRow, Store
from posbridge.store.scaled import from_micros
from posbridge.store.tables import RECORD_TABLES, order_lines, order_payments

__all__ = ["ClosureCheck", "closures_of", "verify_connection"]

orders = RECORD_TABLES["order"]

#: Shift kinds that carry the POS's own totals for a closed period.
CLOSURE_KINDS = frozenset({"z_report", "shift", "fiscal_closure"})

_K = TypeVar("_K", str, Decimal)


@dataclass(frozen=True, slots=True)
class ClosureCheck:
    """One closure against the synced orders of its scope (amounts in Decimal)."""

    connection: str
    report: str
    kind: str
    business_date: date | None
    location: str | None
    device: str | None
    first_ticket: int | None
    last_ticket: int | None
    expected_count: int | None
    actual_count: int
    expected_gross: Decimal
    actual_gross: Decimal
    expected_net: Decimal | None
    actual_net: Decimal
    expected_payments: dict[str, Decimal] = field(default_factory=dict)
    actual_payments: dict[str, Decimal] = field(default_factory=dict)
    expected_taxes: dict[Decimal, Decimal] = field(default_factory=dict)
    actual_taxes: dict[Decimal, Decimal] = field(default_factory=dict)
    missing_tickets: list[int] = field(default_factory=list)

    @property
    def scope(self) -> str:
        """What the closure covers, for messages."""
        if self.first_ticket is not None:
            return f"tickets {self.first_ticket}–{self.last_ticket}"
        return f"device {self.device} on {self.business_date}"

    @property
    def verified(self) -> bool:
        """True when every total the closure carries agrees to the cent."""
        return not self.differences()

    def differences(self) -> list[str]:
        """Human-readable differences, empty when verified."""
        out = []
        if self.expected_count is not None and self.expected_count != self.actual_count:
            out.append(f"tickets {self.actual_count} of {self.expected_count}")
        if self.expected_gross != self.actual_gross:
            out.append(
                f"incl. VAT {self.actual_gross} vs closure {self.expected_gross} "
                f"(diff {self.actual_gross - self.expected_gross})"
            )
        if self.expected_net is not None and self.expected_net != self.actual_net:
            out.append(
                f"excl. VAT {self.actual_net} vs closure {self.expected_net} "
                f"(diff {self.actual_net - self.expected_net})"
            )
        out += _dict_differences("payments", self.expected_payments, self.actual_payments)
        out += _dict_differences("VAT", self.expected_taxes, self.actual_taxes, suffix="%")
        if self.missing_tickets:
            shown = ", ".join(str(t) for t in self.missing_tickets[:20])
            more = len(self.missing_tickets) - 20
            out.append(f"missing tickets {shown}" + (f" and {more} more" if more > 0 else ""))
        return out


def _dict_differences(
    what: str, expected: dict[_K, Decimal], actual: dict[_K, Decimal], *, suffix: str = ""
) -> list[str]:
    if not expected:
        return []
    zero = Decimal(0)
    return [
        f"{what} {key}{suffix} {actual.get(key, zero)} vs closure {expected.get(key, zero)}"
        for key in sorted(set(expected) | set(actual), key=str)
        if expected.get(key, zero) != actual.get(key, zero)
    ]


def closures_of(
    store: Store, row: ConnectionRow, *, date_from: date | None = None, date_to: date | None = None
) -> list[Shift]:
    """The connection's closures with a checkable scope, oldest first."""
    out = []
    for rec in store.records("shift", row.id):
        z = rec.record
        if not isinstance(z, Shift) or z.kind not in CLOSURE_KINDS:
            continue
        if date_from and z.business_date and z.business_date < date_from:
            continue
        if date_to and z.business_date and z.business_date > date_to:
            continue
        if _ticket_range(z) is not None or _device_day(z) is not None:
            out.append(z)
    return sorted(out, key=lambda s: (s.business_date or date.min, _sort_ticket(s), s.source_id))


def verify_connection(
    store: Store, row: ConnectionRow, *, date_from: date | None = None, date_to: date | None = None
) -> Iterator[ClosureCheck]:
    """Check every closure of a connection (optionally within business dates)."""
    closures = closures_of(store, row, date_from=date_from, date_to=date_to)
    if not closures:
        return
    sums = _OrderSums.load(store, row.id, closures)
    for z in closures:
        yield sums.check(row.name, z)


def _ticket_range(z: Shift) -> tuple[int, int] | None:
    if z.first_ticket is None or z.last_ticket is None or z.ticket_count is None:
        return None
    try:
        return int(z.first_ticket), int(z.last_ticket)
    except ValueError:
        return None


def _device_day(z: Shift) -> tuple[str, date] | None:
    if z.kind != "fiscal_closure" or z.device_source_id is None or z.business_date is None:
        return None
    return z.device_source_id, z.business_date


def _sort_ticket(z: Shift) -> int:
    scope = _ticket_range(z)
    return scope[0] if scope else 0


def _ticket_number(number: str | None) -> int | None:
    if number is None or not number.isdigit():
        return None
    return int(number)


@dataclass(slots=True)
class _Order:
    number: int | None
    device: str | None
    location: str | None
    business_date: date | None
    completed: bool
    gross: int
    net: int = 0
    taxes: dict[Decimal, int] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _OrderSums:
    """Per-order totals (integer millionths) of one connection, indexed by scope."""

    by_ticket: dict[int, _Order]
    by_device_day: dict[tuple[str, date], list[_Order]]

    @classmethod
    def load(cls, store: Store, connection_id: str, closures: Iterable[Shift]) -> _OrderSums:
        dates = [z.business_date for z in closures]
        live = sa.and_(orders.c.connection_id == connection_id, orders.c.deleted_at.is_(None))
        if all(d is not None for d in dates):
            # Tickets of a closure may cross midnight: a day of slack on each side.
            low = min(d for d in dates if d) - timedelta(days=1)
            high = max(d for d in dates if d) + timedelta(days=1)
            live = sa.and_(live, orders.c.business_date.between(low, high))
        by_row: dict[int, _Order] = {}
        money = sa.type_coerce(orders.c.total_gross, sa.BigInteger)
        with store.engine.connect() as conn:
            cols = [
                orders.c.row_id,
                orders.c.number,
                orders.c.device_source_id,
                orders.c.location_source_id,
                orders.c.business_date,
                orders.c.status,
                money,
            ]
            for row_id, number, device, location, day, status, gross in conn.execute(
                sa.select(*cols).where(live)
            ):
                by_row[row_id] = _Order(
                    _ticket_number(number),
                    device,
                    location,
                    day,
                    status in (None, "completed"),
                    int(gross or 0),
                )
            lines = (
                sa.select(
                    order_lines.c.order_row,
                    order_lines.c.tax_rate,
                    _micros_sum(order_lines.c.net),
                    _micros_sum(order_lines.c.tax),
                )
                .where(order_lines.c.connection_id == connection_id)
                .group_by(order_lines.c.order_row, order_lines.c.tax_rate)
            )
            for order_row, rate, net, tax in conn.execute(lines):
                order = by_row.get(order_row)
                if order is not None:
                    order.net += int(net)
                    order.taxes[rate] = order.taxes.get(rate, 0) + int(tax)
            pays = (
                sa.select(
                    order_payments.c.order_row,
                    order_payments.c.method,
                    _micros_sum(order_payments.c.amount),
                )
                .where(order_payments.c.connection_id == connection_id)
                .group_by(order_payments.c.order_row, order_payments.c.method)
            )
            for order_row, method, amount in conn.execute(pays):
                order = by_row.get(order_row)
                if order is not None:
                    order.payments[method] = order.payments.get(method, 0) + int(amount)
        by_ticket: dict[int, _Order] = {}
        by_device_day: dict[tuple[str, date], list[_Order]] = defaultdict(list)
        for order in by_row.values():
            if order.number is not None:
                by_ticket[order.number] = order
            if order.completed and order.device is not None and order.business_date is not None:
                by_device_day[order.device, order.business_date].append(order)
        return cls(by_ticket, by_device_day)

    def check(self, connection: str, z: Shift) -> ClosureCheck:
        tickets = _ticket_range(z)
        missing: list[int] = []
        if tickets is not None:
            first, last = tickets
            scope = [self.by_ticket[t] for t in range(first, last + 1) if t in self.by_ticket]
            missing = [t for t in range(first, last + 1) if t not in self.by_ticket]
            if z.location_source_id is not None:
                # A location's closure over a range its location shares with others (one
                # global numbering): only its own tickets count; a number absent from the
                # whole connection is still reported missing.
                scope = [o for o in scope if o.location == z.location_source_id]
        else:
            device_day = _device_day(z)
            scope = self.by_device_day.get(device_day, []) if device_day else []
        taxes: dict[Decimal, int] = defaultdict(int)
        payments: dict[str, int] = defaultdict(int)
        for order in scope:
            for rate, tax in order.taxes.items():
                taxes[rate] += tax
            for method, amount in order.payments.items():
                payments[method] += amount
        expected_payments: dict[str, Decimal] = defaultdict(Decimal)
        for p in z.payments:
            expected_payments[p.method] += p.amount
        return ClosureCheck(
            connection=connection,
            report=z.number or z.source_id,
            kind=z.kind,
            business_date=z.business_date,
            location=z.location_source_id,
            device=z.device_source_id,
            first_ticket=tickets[0] if tickets else None,
            last_ticket=tickets[1] if tickets else None,
            expected_count=z.ticket_count,
            actual_count=len(scope),
            expected_gross=z.total_gross or Decimal(0),
            actual_gross=from_micros(sum(o.gross for o in scope)),
            expected_net=z.total_net,
            actual_net=from_micros(sum(o.net for o in scope)),
            expected_payments=dict(expected_payments),
            actual_payments={m: from_micros(v) for m, v in payments.items()} if z.payments else {},
            expected_taxes={_rate(t.rate): t.tax for t in z.taxes},
            actual_taxes={_rate(r): from_micros(v) for r, v in taxes.items()} if z.taxes else {},
            missing_tickets=missing,
        )


def _rate(rate: Decimal) -> Decimal:
    """A VAT rate without trailing zeros, so 21.00 and 21 print and key alike."""
    return Decimal(f"{rate.normalize():f}")


def _micros_sum(column: sa.ColumnElement[Decimal]) -> sa.ColumnElement[int]:
    """Σ of a money column as raw integer millionths (exact on every engine)."""
    return sa.func.coalesce(sa.func.sum(sa.type_coerce(column, sa.BigInteger)), 0)
