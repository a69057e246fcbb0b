"""The iCash oracle: an iCash sandbox world against what the store holds."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.model import Customer, Invoice, Order, Product
from posbridge.store.repo import Store
from posbridge.testing.keys import duplicate_keys

__all__ = ["world_differences"]

_KIND = {
    ("PROFORMA", "NORMAL"): "proforma",
    ("INVOICE", "CREDIT"): "credit_note",
    ("INVOICE", "DEBIT"): "debit_note",
}


def _by_id(records: Iterable[Any]) -> dict[str, Any]:
    return {r.record.source_id: r.record for r in records}


def world_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[int] = ()
) -> list[str]:
    """Every difference between an iCash sandbox world and the store (empty = equal).

    `skip` names operation ids expected to be missing.
    """
    diffs: list[str] = duplicate_keys(store, connection_id)
    diffs += _orders(store, connection_id, world, set(skip))
    diffs += _catalog(store, connection_id, world)
    diffs += _documents(store, connection_id, world)
    return diffs


def _orders(store: Store, cid: str, world: Any, skip: set[int]) -> list[str]:
    diffs: list[str] = []
    tz = ZoneInfo(world.timezone)
    stored = _by_id(store.records("order", cid))
    expected = {
        str(o.id): o
        for o in world.operations
        if o.status == "NORMAL" and o.type in ("Sell", "ReturnClient") and o.id not in skip
    }
    for sid in sorted(expected.keys() - stored.keys()):
        diffs.append(f"operation {sid} missing")
    for sid in sorted(stored.keys() - expected.keys()):
        diffs.append(f"order {sid} not in the world")
    for sid in sorted(expected.keys() & stored.keys()):
        w, s = expected[sid], stored[sid]
        assert isinstance(s, Order)
        sign = Decimal(1) if w.type == "Sell" else Decimal(-1)
        problems: list[str] = []
        if s.kind != ("sale" if w.type == "Sell" else "return"):
            problems.append(f"kind {s.kind}")
        if s.number != str(w.num):
            problems.append(f"number {s.number} != {w.num}")
        if s.total_gross != sign * w.total:
            problems.append(f"total {s.total_gross} != {sign * w.total}")
        if s.total_tax != sign * w.vat:
            problems.append(f"vat {s.total_tax} != {sign * w.vat}")
        if s.occurred_at != w.completed.replace(tzinfo=tz):
            problems.append(f"time {s.occurred_at} != {w.completed}")
        live = w.live_lines()
        if len(s.lines) != len(live):
            problems.append(f"{len(s.lines)} lines != {len(live)}")
        for sl, wl in zip(s.lines, live, strict=False):
            got = (sl.quantity, sl.unit_price_gross, sl.tax_rate, sl.product_source_id)
            want = (sign * wl.qty, wl.price, wl.rate, str(wl.sale_item_id))
            if got != want:
                problems.append(f"line {sl.line_no} {got} != {want}")
            if sl.gross != sign * wl.amounts[0] or sl.tax != sign * wl.amounts[1]:
                problems.append(f"line {sl.line_no} amounts differ")
            if (sl.discount != 0) != (wl.discount != 0 or w.discount != 0):
                problems.append(f"line {sl.line_no} discount {sl.discount} lost")
        got_pay = sorted((p.vendor_method, p.amount) for p in s.payments)
        want_pay = sorted((str(p.pay_type_id), sign * p.amount) for p in w.payments)
        if got_pay != want_pay:
            problems.append(f"payments {got_pay} != {want_pay}")
        fiscal = s.fiscal
        if fiscal is None or fiscal.uuid != w.fisk_uuid:
            problems.append("fiscal UNP differs")
        elif w.electronic_receipt == "YES" and (
            fiscal.receipt_number != str(w.receipt_num) or fiscal.text != w.receipt_text
        ):
            problems.append("fiscal receipt number or text differs")
        want_ref = str(w.sell_operation_id) if w.sell_operation_id else None
        if s.refund_of_source_id != want_ref:
            problems.append(f"refund_of {s.refund_of_source_id} != {want_ref}")
        if problems:
            diffs.append(f"operation {sid}: " + "; ".join(problems))
    return diffs


def _catalog(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    products = _by_id(store.records("product", cid))
    for item in world.sale_items:
        p = products.get(str(item.id))
        if p is None:
            diffs.append(f"sale item {item.id} missing")
            continue
        assert isinstance(p, Product)
        if p.name != item.name or p.sku != item.inventory_id:
            diffs.append(f"sale item {item.id}: name/sku differ")
        if p.tax_rate != world.tax_rate(item.tax_group_id):
            diffs.append(f"sale item {item.id}: rate {p.tax_rate}")
        for s in world.stores:
            got = [x.amount for x in p.prices if x.location_source_id == str(s.id)]
            if got != [item.price_in(s.id)]:
                diffs.append(f"sale item {item.id}: store {s.id} price {got}")
        if item.type == "PRODUCT":
            stock = sum(item.stock.values(), Decimal(0))
            if p.stock_quantity != stock:
                diffs.append(f"sale item {item.id}: stock {p.stock_quantity} != {stock}")
    if len(products) != len(world.sale_items):
        diffs.append(f"{len(products)} products != {len(world.sale_items)} sale items")
    customers = _by_id(store.records("customer", cid))
    for c in world.contragents:
        sid = str(c.id) if c.type == "CLIENT" else f"supplier:{c.id}"
        party = customers.get(sid)
        if party is None:
            diffs.append(f"contragent {sid} missing")
        elif not isinstance(party, Customer) or party.name != c.name:
            diffs.append(f"contragent {sid} differs")
    if len(customers) != len(world.contragents):
        diffs.append(f"{len(customers)} customers != {len(world.contragents)} contragents")
    for model, want in (
        ("location", {str(s.id) for s in world.stores}),
        ("device", {str(r.id) for r in world.registers}),
        ("payment_type", {str(p.id) for p in world.pay_types}),
    ):
        got_ids = set(_by_id(store.records(model, cid)))
        if got_ids != want:
            diffs.append(f"{model}s {sorted(got_ids)} != {sorted(want)}")
    return diffs


def _documents(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    stored = _by_id(store.records("invoice", cid))
    for d in world.documents:
        s = stored.get(str(d.id))
        if s is None:
            diffs.append(f"document {d.id} missing")
            continue
        assert isinstance(s, Invoice)
        kind = _KIND.get((d.type, d.sub_type), "invoice")
        if (s.kind, s.number, s.total_gross, s.total_tax) != (kind, d.num, d.total, d.vat):
            diffs.append(f"document {d.id}: {s.kind} {s.number} {s.total_gross} differs")
    if len(stored) != len(world.documents):
        diffs.append(f"{len(stored)} invoices != {len(world.documents)} documents")
    return diffs
