"""Consistency rules every vendor's order mapping applies before a record is stored.

A vendor record can be well-formed and still wrong: a line whose quantity sign flipped,
a total that no longer matches its lines, a ticket in another currency. Stored as is,
the difference would vanish into `rounding` or be summed with the wrong money. These
rules turn such a record into a `MappingError` (quarantined with its raw bytes and a
reason naming both figures); they never correct anything.

- **Totals.** When a document has lines, Σ line gross − discount_total + service_total
  + tip_total must equal total_gross within `totals_tolerance(currency)`: five minor
  units (0.05 EUR), the largest cash-rounding step in our vendors' countries (Belgian
  and Dutch cash totals round to 0.05; RELIABILITY.md R42). Anything the vendor's total
  holds beyond that is not rounding.
- **Signs.** A line's quantity and its amount share a sign: a return line has both
  negative; a negative quantity priced as a positive amount is a flipped sign.
- **Currency.** The order and each of its payments are in the connection's currency;
  posbridge does no conversion, so another currency is never summed with it.
"""

from __future__ import annotations

from decimal import Decimal

from posbridge.errors import MappingError
from posbridge.model.money import minor_units, normalize_currency
from posbridge.model.sales import Order

__all__ = ["check_order", "order_problems", "totals_tolerance"]

#: cash-rounding steps allowed between a ticket's lines and its total, in minor units
CASH_ROUNDING_UNITS = 5


def totals_tolerance(currency: str) -> Decimal:
    """Five minor units of `currency`: 0.05 EUR, 5 JPY, 0.005 BHD."""
    return Decimal(CASH_ROUNDING_UNITS).scaleb(-minor_units(normalize_currency(currency)))


def _money(value: Decimal) -> str:
    return f"{value:f}"


def order_problems(order: Order, *, currency: str | None = None) -> list[str]:
    """Every rule `order` breaks, in words with both figures; empty when consistent.

    `currency` is the connection's currency; None skips the currency rule (a vendor
    whose records carry no currency cannot disagree with it).
    """
    problems: list[str] = []
    if currency is not None:
        expected = normalize_currency(currency)
        if order.currency != expected:
            problems.append(
                f"the order is in {order.currency}, the connection in {expected}: "
                "amounts in another currency are never summed with it"
            )
        others = sorted({p.currency for p in order.payments} - {expected})
        if others:
            problems.append(
                f"payments in {', '.join(others)} on a connection in {expected}: "
                "amounts in another currency are never summed with it"
            )
    for line in order.lines:
        if line.quantity and line.gross and (line.quantity < 0) != (line.gross < 0):
            problems.append(
                f"line {line.line_no} has quantity {_money(line.quantity)} but amount "
                f"{_money(line.gross)}: a quantity and its amount share a sign "
                "(a return line has both negative)"
            )
    if order.lines:
        lines = sum((line.gross for line in order.lines), Decimal(0))
        due = lines - order.discount_total + order.service_total + order.tip_total
        tolerance = totals_tolerance(order.currency)
        if abs(order.total_gross - due) > tolerance:
            adjusted = (
                f" (after discounts {_money(order.discount_total)}, service "
                f"{_money(order.service_total)}, tips {_money(order.tip_total)})"
                if due != lines
                else ""
            )
            problems.append(
                f"lines add up to {_money(due)}{adjusted}, the ticket says "
                f"{_money(order.total_gross)} {order.currency}: a difference of "
                f"{_money(order.total_gross - due)}, beyond the {_money(tolerance)} "
                "cash-rounding tolerance"
            )
    return problems


def check_order(order: Order, *, currency: str | None = None) -> Order:
    """`order` unchanged when it is consistent; a `MappingError` naming every problem."""
    problems = order_problems(order, currency=currency)
    if problems:
        raise MappingError("; ".join(problems))
    return order
