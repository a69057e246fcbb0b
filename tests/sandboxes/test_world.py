"""The merchant world generator: determinism, money invariants, reports and profiles."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from posbridge.sandboxes.profiles import PAYMENT_KEYS, PROFILES
from posbridge.sandboxes.world import (
    World,
    close_business_day,
    component_net,
    component_vat,
    generate_world,
)


@pytest.fixture(scope="module")
def world() -> World:
    """The default CloudPOS merchant: 28 business days of a Belgian brasserie."""
    return generate_world()


def _independent_net(order: Any) -> Decimal:
    """Σ net of a ticket, recomputed from the contract's rule without world helpers."""
    total = Decimal(0)
    for line in order.lines:
        parts = [(line.quantity * line.price, line.vat)]
        parts += [(line.quantity * s.price, s.vat) for s in line.subs]
        for gross, rate in parts:
            vat = (gross * rate / (100 + rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            total += gross - vat
    return total


def test_same_seed_gives_identical_world() -> None:
    """Generating twice with the same arguments yields equal worlds, field by field."""
    assert generate_world(seed=3, days=5) == generate_world(seed=3, days=5)


def test_different_seed_gives_different_world() -> None:
    """Another seed changes the tickets, not just their ids."""
    a, b = generate_world(seed=1, days=3), generate_world(seed=2, days=3)
    assert [o.total for o in a.orders] != [o.total for o in b.orders]


def test_world_depends_on_end_date_not_on_today(world: World) -> None:
    """The period ends at `end_date`: its last tickets fall on the business day before it."""
    assert world.business_date(world.orders[-1].ordertime) == date(2026, 10, 31)
    assert world.business_date(world.orders[0].ordertime) == date(2026, 10, 4)
    assert world.as_of.isoformat() == "2026-11-01T03:30:00"


def test_payments_sum_to_total(world: World) -> None:
    """Every ticket's payments add up to its total exactly, over the nine method keys."""
    for order in world.orders:
        assert sum(order.payments.values(), Decimal(0)) == order.total
        assert set(order.payments) <= set(PAYMENT_KEYS)


def test_total_is_sum_of_line_grosses(world: World) -> None:
    """total = Σ quantity × (product price + Σ subproduct prices), in cents."""
    for order in world.orders:
        expected = sum(
            (
                line.quantity * (line.price + sum((s.price for s in line.subs), Decimal(0)))
                for line in order.lines
            ),
            Decimal(0),
        )
        assert order.total == expected
        assert order.total == order.total.quantize(Decimal("0.01"))


def test_tickets_are_gap_free_in_time_order(world: World) -> None:
    """Tickets form one gap-free sequence across establishments, ascending with time."""
    tickets = [o.ticket for o in world.orders]
    assert tickets == list(range(tickets[0], tickets[0] + len(tickets)))
    times = [o.ordertime for o in world.orders]
    assert times == sorted(times)
    assert len({o.establishment_id for o in world.orders}) == len(world.establishments)


def test_dbids_are_unique_and_not_tickets(world: World) -> None:
    """`dbid` is a distinct unique row id shared with clock rows, not the ticket number."""
    dbids = [o.dbid for o in world.orders] + [c.dbid for c in world.clock_entries]
    assert len(set(dbids)) == len(dbids)
    assert all(o.dbid != o.ticket for o in world.orders)


def test_every_ticket_lies_in_exactly_one_report(world: World) -> None:
    """Z ranges and the X range tile the ticket sequence without gaps or overlaps."""
    covered: Counter[int] = Counter()
    for z in world.zreports:
        assert z.ticketcount == z.endticket - z.startticket + 1
        covered.update(range(z.startticket, z.endticket + 1))
    x = world.xreport
    covered.update(range(x.startticket, x.startticket + x.ticketcount))
    assert covered == Counter(o.ticket for o in world.orders)
    assert x.id == world.zreports[-1].id + 1
    assert x.startdate == world.zreports[-1].enddate


def test_z_totals_match_orders(world: World) -> None:
    """Each Z's totals equal its tickets' sums with the per-component VAT rule."""
    by_ticket = {o.ticket: o for o in world.orders}
    for z in world.zreports:
        orders = [by_ticket[t] for t in range(z.startticket, z.endticket + 1)]
        assert z.total_incl == sum((o.total for o in orders), Decimal(0))
        assert z.total_excl == sum((_independent_net(o) for o in orders), Decimal(0))
        assert z.startdate <= orders[0].ordertime
        assert orders[-1].ordertime <= z.enddate


def test_business_day_starts_at_four(world: World) -> None:
    """Tickets after midnight belong to the previous business day's Z report."""
    late = [o for o in world.orders if o.ordertime.hour < 4]
    assert late, "the brasserie serves past midnight"
    by_ticket = {z.startticket: z for z in world.zreports}
    for z in by_ticket.values():
        days = {
            world.business_date(o.ordertime)
            for o in world.orders
            if z.startticket <= o.ticket <= z.endticket
        }
        assert len(days) == 1


def test_trading_pattern_has_peaks_and_busy_weekends(world: World) -> None:
    """Lunch and dinner outsell the afternoon; Saturdays outsell Tuesdays."""
    hours = Counter(o.ordertime.hour for o in world.orders)
    assert hours[12] + hours[13] > 2 * (hours[15] + hours[16]) / 2
    assert hours[19] > hours[16]
    weekdays = Counter(world.business_date(o.ordertime).weekday() for o in world.orders)
    assert weekdays[5] > weekdays[1]


def test_returns_are_negative(world: World) -> None:
    """About 2 % of tickets are returns with negative quantities, totals and payments."""
    returns = [o for o in world.orders if o.is_return]
    assert 0.005 < len(returns) / len(world.orders) < 0.04
    for order in returns:
        assert all(line.quantity < 0 for line in order.lines)
        assert all(amount < 0 for amount in order.payments.values())


def test_some_tickets_split_payment_and_use_subproducts(world: World) -> None:
    """Split payments and popup/menu subproducts both occur, up to three per line."""
    assert any(len(o.payments) == 2 for o in world.orders)
    subs = Counter(len(line.subs) for o in world.orders for line in o.lines)
    assert subs[1]
    assert subs[2]
    assert subs[3]
    assert max(subs) <= 3


def test_component_vat_rounds_half_up() -> None:
    """VAT per component rounds half away from zero: 0.42 at 12 % holds exactly 0.045."""
    assert component_vat(Decimal("0.42"), Decimal(12)) == Decimal("0.05")
    assert component_vat(Decimal("-0.42"), Decimal(12)) == Decimal("-0.05")
    assert component_net(Decimal("10.00"), Decimal(21)) == Decimal("8.26")
    assert component_net(Decimal("5.00"), Decimal(0)) == Decimal("5.00")


def _mod97_ok(digits: str, check: str) -> bool:
    return 97 - int(digits) % 97 == int(check)


def test_identifiers_carry_valid_check_digits(world: World) -> None:
    """National numbers, VAT numbers and EAN-13 barcodes have valid check digits."""
    for user in world.users:
        base, check = user.secnr[:9], user.secnr[9:]
        assert len(user.secnr) == 11
        assert _mod97_ok(base, check) or _mod97_ok("2" + base, check)
    companies = [c for c in world.customers.values() if c.companyname]
    assert companies
    for c in companies:
        assert c.vatnumber.startswith("BE0")
        assert len(c.vatnumber) == 12
        assert _mod97_ok(c.vatnumber[2:10], c.vatnumber[10:])
        assert not c.name
        assert not c.firstname
    for p in world.products.values():
        digits = [int(d) for d in p.barcode]
        assert len(digits) == 13
        assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def test_catalog_is_complete(world: World) -> None:
    """~150 products in ~10 categories, priced in cents, at Belgian rates, with flags."""
    products = list(world.products.values())
    assert 130 <= len(products) <= 170
    assert 9 <= len(world.categories) <= 12
    assert {p.vat for p in products} == {Decimal(r) for r in ("21", "12", "6", "0")}
    assert all(p.price == p.price.quantize(Decimal("0.01")) for p in products)
    assert any(p.popup for p in products)
    assert any(p.menupopup for p in products)
    assert any(p.openprice for p in products)
    linked = {pid for s in world.subproducts.values() for pid in s.product_ids}
    assert linked <= set(world.products)
    assert [p.key for p in world.payment_types] == list(PAYMENT_KEYS)
    assert len(world.customers) == 200


def test_paperwork_exists(world: World) -> None:
    """Documents of all three types, vouchers, coupons, credits, bookings and web orders."""
    assert {d.doctype for d in world.documents} == {1, 2, 3}
    for d in world.documents:
        assert d.total == sum((line.quantity * line.price for line in d.lines), Decimal(0))
    assert world.gift_vouchers
    assert world.coupons
    assert world.customer_credits
    assert {c.valuetype for c in world.coupons} == {1, 2}
    assert world.reservations
    assert world.reservation_slots
    assert world.weborders
    assert any(w.confirmed_at is None for w in world.weborders.values())
    clock_users = {c.user_id for c in world.clock_entries}
    assert {o.user_id for o in world.orders} <= clock_users


def _floats(value: Any, path: str = "world") -> list[str]:
    if isinstance(value, float):
        return [path]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            hit
            for f in dataclasses.fields(value)
            for hit in _floats(getattr(value, f.name), f"{path}.{f.name}")
        ]
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _floats(v, f"{path}[{k!r}]")]
    if isinstance(value, (list, tuple, set)):
        return [hit for i, v in enumerate(value) for hit in _floats(v, f"{path}[{i}]")]
    return []


def test_no_float_anywhere() -> None:
    """Money and rates are Decimal throughout: the world holds no float at all."""
    assert _floats(generate_world(days=3)) == []


def test_closing_the_day_moves_x_into_z() -> None:
    """Taking a Z closes the open period and leaves an empty X that starts after it."""
    w = generate_world(days=2, orders_per_day=10)
    x = w.xreport
    at = w.as_of
    z = close_business_day(w, at)
    assert (z.id, z.startticket, z.ticketcount, z.total_incl) == (
        x.id,
        x.startticket,
        x.ticketcount,
        x.total_incl,
    )
    assert z.endticket == w.orders[-1].ticket
    assert w.xreport.ticketcount == 0
    assert w.xreport.startticket == z.endticket + 1
    assert w.xreport.id == z.id + 1
    assert w.xreport.startdate == at


@pytest.mark.parametrize("code", sorted(PROFILES))
def test_every_profile_generates_a_consistent_world(code: str) -> None:
    """Each country profile yields a world with its currency, rates and intact invariants."""
    profile = PROFILES[code]
    w = generate_world(code, days=3, orders_per_day=30)
    assert (w.currency, w.timezone, w.country) == (
        profile.currency,
        profile.timezone,
        profile.country,
    )
    rates = {line.vat for o in w.orders for line in o.lines}
    assert rates <= set(profile.vat_rates)
    assert {p.vat for p in w.products.values()} <= set(profile.vat_rates)
    for order in w.orders:
        assert sum(order.payments.values(), Decimal(0)) == order.total
    assert sum(z.ticketcount for z in w.zreports) + w.xreport.ticketcount == len(w.orders)
    assert all(c.email.isascii() and "@" in c.email for c in w.customers.values())


def test_service_charge_profile_adds_a_vat_free_line() -> None:
    """Ecuador's 10 % service is a VAT-free line worth 10 % of the ticket's net."""
    w = generate_world("ec_restaurant", days=2, orders_per_day=20)
    service = next(p for p in w.products.values() if p.name == "Servicio 10%")
    for order in w.orders:
        last = order.lines[-1]
        assert last.product_id == service.id
        assert last.vat == 0
        net = sum((line.net for line in order.lines[:-1]), Decimal(0))
        assert abs(last.gross) == abs(
            (net * Decimal("0.10")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        )


def test_bad_arguments_are_refused() -> None:
    """An unknown profile or an empty period is a ValueError, not an empty world."""
    with pytest.raises(ValueError, match="unknown profile"):
        generate_world("xx_nowhere")
    with pytest.raises(ValueError, match="at least 1"):
        generate_world(days=0)


def test_end_date_moves_the_window() -> None:
    """A different end date shifts every ticket by the same calendar span."""
    w = generate_world(days=2, orders_per_day=5, end_date=date(2026, 6, 1))
    assert w.business_date(w.orders[-1].ordertime) == date(2026, 6, 1) - timedelta(days=1)
