"""Closure-verified completeness: synced orders against the POS's own Z reports.

A business day is *verified* only when, for every Z report of it, the synced orders of
its ticket range add up to the report's ticket count and to its totals incl. and excl.
VAT. Anything else is reported with the difference and the missing ticket numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from posbridge.model import Shift
from posbridge.store.repo import ConnectionRow, Store
from posbridge.store.tables import RECORD_TABLES, order_lines
from posbridge.store.types import from_micros

__all__ = ["ClosureCheck", "verify_connection"]

orders = RECORD_TABLES["order"]


@dataclass(frozen=True, slots=True)
class ClosureCheck:
    """One Z report against the synced orders of its ticket range."""

    connection: str
    report: str
    business_date: date | None
    first_ticket: int
    last_ticket: int
    expected_count: int
    actual_count: int
    expected_gross: Decimal
    actual_gross: Decimal
    expected_net: Decimal
    actual_net: Decimal
    missing_tickets: list[int] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when count and both totals agree to the cent."""
        return (
            self.expected_count == self.actual_count
            and self.expected_gross == self.actual_gross
            and self.expected_net == self.actual_net
        )

    def differences(self) -> list[str]:
        """Human-readable differences, empty when verified."""
        out = []
        if self.expected_count != self.actual_count:
            out.append(f"tickets {self.actual_count} of {self.expected_count}")
        if self.expected_gross != self.actual_gross:
            out.append(
                f"incl. VAT {self.actual_gross} vs Z {self.expected_gross} "
                f"(diff {self.actual_gross - self.expected_gross})"
            )
        if self.expected_net != self.actual_net:
            out.append(
                f"excl. VAT {self.actual_net} vs Z {self.expected_net} "
                f"(diff {self.actual_net - self.expected_net})"
            )
        if self.missing_tickets:
            shown = ", ".join(str(t) for t in self.missing_tickets[:20])
            more = len(self.missing_tickets) - 20
            out.append(f"missing tickets {shown}" + (f" and {more} more" if more > 0 else ""))
        return out


def verify_connection(
    store: Store, row: ConnectionRow, *, date_from: date | None = None, date_to: date | None = None
) -> Iterator[ClosureCheck]:
    """Check every Z report of a connection (optionally within business dates)."""
    reports = [r.record for r in store.records("shift", row.id)]
    for z in sorted(
        (r for r in reports if isinstance(r, Shift) and r.kind == "z_report"),
        key=lambda s: int(s.first_ticket or 0),
    ):
        if z.first_ticket is None or z.last_ticket is None or z.ticket_count is None:
            continue
        if date_from and z.business_date and z.business_date < date_from:
            continue
        if date_to and z.business_date and z.business_date > date_to:
            continue
        yield _check(store, row, z)


def _check(store: Store, row: ConnectionRow, z: Shift) -> ClosureCheck:
    first, last = int(z.first_ticket or 0), int(z.last_ticket or 0)
    ticket = sa.cast(orders.c.number, sa.BigInteger)
    in_range = sa.and_(
        orders.c.connection_id == row.id, orders.c.deleted_at.is_(None), ticket.between(first, last)
    )
    with store.engine.connect() as conn:
        numbers = [
            int(n) for n in conn.execute(sa.select(orders.c.number).where(in_range)).scalars()
        ]
        gross = conn.execute(
            sa.select(_micros_sum(orders.c.total_gross)).where(in_range)
        ).scalar_one()
        net = conn.execute(
            sa.select(_micros_sum(order_lines.c.net))
            .select_from(order_lines.join(orders, order_lines.c.order_row == orders.c.row_id))
            .where(in_range)
        ).scalar_one()
    present = set(numbers)
    return ClosureCheck(
        connection=row.name,
        report=z.number or z.source_id,
        business_date=z.business_date,
        first_ticket=first,
        last_ticket=last,
        expected_count=z.ticket_count or 0,
        actual_count=len(numbers),
        expected_gross=z.total_gross or Decimal(0),
        actual_gross=from_micros(int(gross)),
        expected_net=z.total_net or Decimal(0),
        actual_net=from_micros(int(net)),
        missing_tickets=[t for t in range(first, last + 1) if t not in present],
    )


def _micros_sum(column: sa.ColumnElement[Decimal]) -> sa.ColumnElement[int]:
    """Σ of a money column as raw integer millionths (exact on every engine)."""
    return sa.func.coalesce(sa.func.sum(sa.type_coerce(column, sa.BigInteger)), 0)
