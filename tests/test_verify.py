"""Closure checks: ticket ranges and device days, payments by method and VAT by rate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from posbridge.model import Order, OrderLine, Payment, Shift, TaxTotal
from posbridge.store.repo import Store
from posbridge.store.tables import order_lines
from posbridge.verify import verify_connection

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 2)
#: one line object shared by every order, as mapping caches do
LINE = OrderLine(
    line_no=1,
    quantity=Decimal(1),
    unit_price_gross=Decimal("12.10"),
    tax_rate=Decimal(21),
    gross=Decimal("12.10"),
    net=Decimal("10.00"),
    tax=Decimal("2.10"),
)


def _order(number: int, device: str, method: str = "cash") -> Order:
    return Order(
        source_id=str(number),
        number=str(number),
        occurred_at=NOW,
        source_timezone="Europe/Rome",
        business_date=DAY,
        device_source_id=device,
        currency="EUR",
        total_gross=Decimal("12.10"),
        total_net=Decimal("10.00"),
        total_tax=Decimal("2.10"),
        lines=[LINE],
        payments=[
            Payment(method=method, vendor_method=method, amount=Decimal("12.10"), currency="EUR")
        ],  # type: ignore[arg-type]
    )


def _closure(source_id: str, **kw: object) -> Shift:
    return Shift(source_id=source_id, business_date=DAY, currency="EUR", **kw)  # type: ignore[arg-type]


def _write(store: Store, cid: str, object_type: str, records: list[Order] | list[Shift]) -> None:
    with store.engine.begin() as conn:
        store.writer.write(conn, cid, object_type, [(r, b"{}") for r in records], NOW)


def test_device_day_closure_compares_totals_payments_and_vat(store: Store) -> None:
    """A fiscal closure of one device and day agrees only when every total it carries does."""
    cid = store.add_connection("it", "wservice", "http://x/", {}).id
    _write(store, cid, "order", [_order(1, "pos1"), _order(2, "pos1", "card"), _order(3, "pos2")])
    good = _closure(
        "chf:1",
        kind="fiscal_closure",
        device_source_id="pos1",
        total_gross=Decimal("24.20"),
        total_net=Decimal("20.00"),
        payments=[
            Payment(method="cash", vendor_method="c", amount=Decimal("12.10"), currency="EUR"),
            Payment(method="card", vendor_method="k", amount=Decimal("12.10"), currency="EUR"),
        ],
        taxes=[
            TaxTotal(rate=Decimal(21), net=Decimal(20), tax=Decimal("4.20"), gross=Decimal("24.20"))
        ],
    )
    wrong_mix = _closure(
        "chf:2",
        kind="fiscal_closure",
        device_source_id="pos2",
        total_gross=Decimal("12.10"),
        payments=[
            Payment(method="card", vendor_method="k", amount=Decimal("12.10"), currency="EUR")
        ],
        taxes=[
            TaxTotal(rate=Decimal(10), net=Decimal(11), tax=Decimal("1.10"), gross=Decimal("12.10"))
        ],
    )
    _write(store, cid, "shift", [good, wrong_mix])
    checks = {c.report: c for c in verify_connection(store, store.get_connection("it"))}
    assert checks["chf:1"].verified, checks["chf:1"].differences()
    assert checks["chf:1"].actual_count == 2
    bad = checks["chf:2"]
    assert not bad.verified
    assert bad.actual_gross == Decimal("12.10")
    assert set(bad.differences()) == {
        "payments card 0 vs closure 12.10",
        "payments cash 12.10 vs closure 0",
        "VAT 10% 0 vs closure 1.10",
        "VAT 21% 2.10 vs closure 0",
    }


def test_ticket_range_closure_names_missing_tickets(store: Store) -> None:
    """A cashier shift over tickets 1..4 with ticket 3 missing lists it and the count."""
    cid = store.add_connection("nl", "smartnow", "http://x/", {}).id
    _write(store, cid, "order", [_order(n, "m1") for n in (1, 2, 4)])
    shift = _closure(
        "s1",
        kind="shift",
        first_ticket="1",
        last_ticket="4",
        ticket_count=4,
        total_gross=Decimal("48.40"),
    )
    _write(store, cid, "shift", [shift])
    (check,) = verify_connection(store, store.get_connection("nl"))
    assert check.missing_tickets == [3]
    assert check.differences() == [
        "tickets 3 of 4",
        "incl. VAT 36.30 vs closure 48.40 (diff -12.10)",
        "missing tickets 3",
    ]


def test_shared_line_objects_keep_their_own_connection(store: Store) -> None:
    """Two connections writing the same cached line object each own their line rows."""
    a = store.add_connection("a", "cloudpos", "http://x/", {}).id
    b = store.add_connection("b", "cloudpos", "http://x/", {}).id
    _write(store, a, "order", [_order(1, "d")])
    _write(store, b, "order", [_order(1, "d")])
    with store.engine.connect() as conn:
        owners = conn.execute(
            sa.select(order_lines.c.connection_id, sa.func.count()).group_by(
                order_lines.c.connection_id
            )
        ).all()
    assert sorted(owners) == sorted([(a, 1), (b, 1)])
