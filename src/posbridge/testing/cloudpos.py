"""The CloudPOS oracle: a CloudPOS sandbox world against what the store holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.model import Customer, Invoice, Order, Product, Shift, Voucher
from posbridge.store.repo import Store
from posbridge.testing.keys import duplicate_keys

__all__ = ["world_differences"]

_DOCTYPE = {1: "invoice", 2: "quote", 3: "credit_note"}


def _by_id(records: Iterable[Any]) -> dict[str, Any]:
    return {r.record.source_id: r.record for r in records}


def world_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[int] = ()
) -> list[str]:
    """Every difference between a CloudPOS sandbox world and what the store holds.

    `skip` names tickets expected to be missing (quarantined on purpose by a test).
    """
    diffs: list[str] = duplicate_keys(store, connection_id)
    skip = set(skip)
    diffs += _orders(store, connection_id, world, skip)
    diffs += _catalog(store, connection_id, world)
    diffs += _documents(store, connection_id, world)
    diffs += _vouchers_and_reports(store, connection_id, world)
    return diffs


def _orders(store: Store, cid: str, world: Any, skip: set[int]) -> list[str]:
    diffs: list[str] = []
    tz = ZoneInfo(world.timezone)
    stored = _by_id(store.records("order", cid))
    expected = {str(o.dbid): o for o in world.orders if o.ticket not in skip}
    for sid in expected.keys() - stored.keys():
        diffs.append(f"order {sid} (ticket {expected[sid].ticket}) missing")
    for sid in stored.keys() - expected.keys():
        diffs.append(f"order {sid} not in the world")
    for sid in expected.keys() & stored.keys():
        w, s = expected[sid], stored[sid]
        assert isinstance(s, Order)
        problems = []
        if s.number != str(w.ticket):
            problems.append(f"number {s.number} != {w.ticket}")
        if s.total_gross != w.total:
            problems.append(f"total {s.total_gross} != {w.total}")
        if s.total_net != w.net:
            problems.append(f"net {s.total_net} != {w.net}")
        if s.occurred_at != w.ordertime.replace(tzinfo=tz):
            problems.append(f"time {s.occurred_at} != {w.ordertime}")
        if len(s.lines) != len(w.lines):
            problems.append(f"{len(s.lines)} lines != {len(w.lines)}")
        for sl, wl in zip(s.lines, w.lines, strict=False):
            if (sl.quantity, sl.unit_price_gross, sl.tax_rate, sl.product_source_id) != (
                wl.quantity,
                wl.price,
                wl.vat,
                str(wl.product_id),
            ):
                problems.append(f"line {sl.line_no} differs")
            if sl.gross != wl.gross:
                problems.append(f"line {sl.line_no} gross {sl.gross} != {wl.gross}")
            got_mods = [
                (m.modifier_source_id, m.unit_price_gross, m.tax_rate) for m in sl.modifiers
            ]
            want_mods = [(str(x.subproduct_id), x.price, x.vat) for x in wl.subs]
            if got_mods != want_mods:
                problems.append(f"line {sl.line_no} modifiers {got_mods} != {want_mods}")
        got_pay = Counter({p.vendor_method: p.amount for p in s.payments})
        want_pay = Counter({k: v for k, v in w.payments.items() if v})
        if got_pay != want_pay:
            problems.append(f"payments {dict(got_pay)} != {dict(want_pay)}")
        if sum((p.amount for p in s.payments), Decimal(0)) != s.total_gross:
            problems.append("payments do not add up to the total")
        if problems:
            diffs.append(f"order {sid} (ticket {w.ticket}): " + "; ".join(problems))
    return diffs


def _catalog(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    products = _by_id(store.records("product", cid))
    for pid, wp in world.products.items():
        sp = products.pop(str(pid), None)
        if not isinstance(sp, Product):
            diffs.append(f"product {pid} missing")
        elif (sp.name, sp.prices[0].amount, sp.category_source_id) != (
            wp.name,
            wp.price,
            str(wp.category_id),
        ):
            diffs.append(f"product {pid} differs")
    diffs += [f"product {p} not in the world" for p in products]
    customers = _by_id(store.records("customer", cid))
    for cust_id, wc in world.customers.items():
        sc = customers.pop(str(cust_id), None)
        if not isinstance(sc, Customer):
            diffs.append(f"customer {cust_id} missing")
        elif (sc.email or "", sc.company_name or "") != (wc.email or "", wc.companyname or ""):
            diffs.append(f"customer {cust_id} differs")
    diffs += [f"customer {c} not in the world" for c in customers]
    for kind, expected in (
        ("category", len(world.categories)),
        ("modifier", len(world.subproducts)),
        ("employee", len(world.users)),
        ("table", len(world.tables)),
        ("location", len(world.establishments)),
        ("payment_type", len(world.payment_types)),
    ):
        got = store.count(kind, cid)
        if got != expected:
            diffs.append(f"{kind}: {got} stored, {expected} in the world")
    return diffs


def _documents(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    invoices = _by_id(store.records("invoice", cid))
    for doc in world.documents:
        si = invoices.pop(str(doc.id), None)
        if not isinstance(si, Invoice):
            diffs.append(f"document {doc.id} missing")
            continue
        if (si.kind, si.number, si.total_gross, len(si.lines)) != (
            _DOCTYPE[doc.doctype],
            doc.number,
            doc.total,
            len(doc.lines),
        ):
            diffs.append(f"document {doc.id} differs")
        if sum((x.gross for x in si.lines), Decimal(0)) != si.total_gross:
            diffs.append(f"document {doc.id}: lines do not add up")
    diffs += [f"invoice {i} not in the world" for i in invoices]
    return diffs


def _vouchers_and_reports(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    vouchers = _by_id(store.records("voucher", cid))
    for gv in world.gift_vouchers:
        v = vouchers.get(f"giftvoucher:{gv.id}")
        if not isinstance(v, Voucher) or (v.code, v.value) != (gv.barcode, gv.value):
            diffs.append(f"gift voucher {gv.id} missing or different")
    for cp in world.coupons:
        v = vouchers.get(f"coupon:{cp.id}")
        if not isinstance(v, Voucher) or (v.code, v.value, v.redeemed) != (
            cp.barcode,
            cp.value,
            cp.used,
        ):
            diffs.append(f"coupon {cp.id} missing or different")
    credit: dict[int, Decimal] = {}
    for entry in world.customer_credits:
        credit[entry.customer_id] = credit.get(entry.customer_id, Decimal(0)) + entry.value
    for cust, value in credit.items():
        v = vouchers.get(f"credit:{cust}")
        if not isinstance(v, Voucher) or v.value != value:
            diffs.append(f"customer credit of {cust} missing or different")
    shifts = _by_id(store.records("shift", cid))
    for z in world.zreports:
        s = shifts.get(f"z:{z.id}")
        if not isinstance(s, Shift) or (s.ticket_count, s.total_gross, s.total_net) != (
            z.ticketcount,
            z.total_incl,
            z.total_excl,
        ):
            diffs.append(f"Z report {z.id} missing or different")
    for entry in world.clock_entries:
        if f"clock:{entry.id}" not in shifts:
            diffs.append(f"clock entry {entry.id} missing")
    return diffs
