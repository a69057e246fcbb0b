"""The consistency rules every order mapping applies (model/consistency.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import msgspec
import pytest

from posbridge.errors import MappingError
from posbridge.model import Order, OrderLine, Payment
from posbridge.model.consistency import check_order, order_problems, totals_tolerance


def _line(n: int, qty: str, unit: str) -> OrderLine:
    gross = D(qty) * D(unit)
    return OrderLine(
        line_no=n,
        quantity=D(qty),
        unit_price_gross=D(unit),
        tax_rate=D(21),
        gross=gross,
        net=gross,
        tax=D(0),
    )


def _order(*lines: OrderLine, total: str, currency: str = "EUR", **kw: object) -> Order:
    return Order(
        source_id="1",
        occurred_at=datetime(2026, 10, 1, tzinfo=UTC),
        source_timezone="Europe/Brussels",
        business_date=date(2026, 10, 1),
        currency=currency,
        lines=list(lines),
        payments=[Payment(method="cash", vendor_method="cash", amount=D(total), currency="EUR")],
        total_gross=D(total),
        total_net=D(total),
        total_tax=D(0),
        **kw,  # type: ignore[arg-type]  # discount/service/tip totals
    )


def test_a_consistent_sale_and_a_return_pass() -> None:
    """Lines and adjustments adding up to the total; a return negates everything."""
    sale = _order(
        _line(1, "2", "3.20"),
        _line(2, "1", "6.00"),
        total="12.90",
        discount_total=D("0.50"),
        service_total=D("1.00"),
        tip_total=D("0.00"),
    )
    assert order_problems(sale, currency="EUR") == []
    back = _order(_line(1, "-2", "3.20"), total="-6.40", kind="return")
    assert check_order(back) is back


def test_cash_rounding_within_five_minor_units_passes_and_beyond_names_both_figures() -> None:
    """12.38 of lines on a 12.40 ticket is cash rounding; on a 13.40 ticket it is not."""
    assert order_problems(_order(_line(1, "1", "12.38"), total="12.40")) == []
    assert order_problems(_order(_line(1, "1", "12.35"), total="12.40")) == []
    (problem,) = order_problems(_order(_line(1, "1", "12.40"), total="13.40"))
    assert problem.startswith("lines add up to 12.40, the ticket says 13.40 EUR")
    assert "difference of 1.00, beyond the 0.05 cash-rounding tolerance" in problem
    assert totals_tolerance("EUR") == D("0.05")
    assert totals_tolerance("JPY") == D(5)
    assert totals_tolerance("BHD") == D("0.005")


def test_a_flipped_quantity_sign_is_refused_by_sign_or_by_totals() -> None:
    """A vendor-given amount with a negated quantity breaks the sign rule; a computed one
    moves the lines away from the total."""
    given = msgspec.structs.replace(_line(1, "2", "1.29"), quantity=D(-2))
    (sign,) = order_problems(_order(given, total="2.58"))
    assert "line 1 has quantity -2 but amount 2.58" in sign
    (totals,) = order_problems(_order(_line(1, "-2", "1.29"), _line(2, "1", "5"), total="7.58"))
    assert "lines add up to 2.42, the ticket says 7.58 EUR" in totals


def test_another_currency_is_refused_never_summed() -> None:
    """An order or a payment in another currency than the connection's is a problem."""
    order = _order(_line(1, "1", "5"), total="5", currency="USD")
    problems = order_problems(order, currency="EUR")
    assert problems[0].startswith("the order is in USD, the connection in EUR")
    assert order_problems(order) == []  # a vendor without a currency field: not checked
    with pytest.raises(MappingError, match="the order is in USD"):
        check_order(order, currency="EUR")
