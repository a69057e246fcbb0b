"""The WService oracle: a WService sandbox world against what the store holds.

Every document is checked in the model its family maps to (orders, shifts, invoices,
stock movements, reports) by id, totals to the cent, lines, VAT and payments; then
departments, products (prices, barcodes) and prepaid cards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from posbridge.connectors.wservice.codes import DocumentType, Family, RowType
from posbridge.model import Category, Invoice, Order, Product, Report, Shift, Voucher
from posbridge.store.repo import Store
from posbridge.testing.keys import duplicate_keys

__all__ = ["document_differences", "world_differences"]

TABLES: dict[Family, str] = {
    "order": "order",
    "closure": "shift",
    "invoice": "invoice",
    "stock": "stock_movement",
    "report": "report",
}


def _live(store: Store, object_type: str, connection_id: str) -> dict[str, Any]:
    return {
        r.record.source_id: r.record
        for r in store.records(object_type, connection_id)
        if getattr(r, "deleted_at", None) is None
    }


def world_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[Any] = ()
) -> list[str]:
    """Every difference between a WService world and the store (empty = equal).

    `skip` names document ids expected to be missing (quarantined on purpose).
    """
    diffs = duplicate_keys(store, connection_id)
    diffs += document_differences(store, connection_id, world, skip=skip)
    diffs += _catalog(store, connection_id, world)
    return diffs


def document_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[Any] = ()
) -> list[str]:
    """The documents only: what the webhook receiver alone must get right."""
    skipped = {str(s) for s in skip}
    diffs: list[str] = []
    stored = {fam: _live(store, table, connection_id) for fam, table in TABLES.items()}
    expected: dict[Family, set[str]] = {fam: set() for fam in TABLES}
    for idm, doc in world.documents.items():
        sid = str(idm)
        if sid in skipped:
            continue
        family = DocumentType(doc["documenttype"]).family
        expected[family].add(sid)
        got = stored[family].get(sid)
        if got is None:
            diffs.append(f"document {sid} ({doc['documenttype']}): missing")
            continue
        diffs += [f"document {sid}: {p}" for p in _document_problems(got, doc)]
    for fam, records in stored.items():
        extra = sorted(set(records) - expected[fam])
        if extra:
            diffs.append(f"{TABLES[fam]}: unexpected {extra[:10]}")
    diffs += _named_in_documents(store, connection_id, world, skipped)
    return diffs


def _named_in_documents(
    store: Store, connection_id: str, world: Any, skipped: set[str]
) -> list[str]:
    """Stores, POS, cashiers and fidelity cards named by receipts and closures."""
    want: dict[str, set[str]] = {
        "location": set(),
        "device": set(),
        "employee": set(),
        "customer": set(),
    }
    for idm, doc in world.documents.items():
        family = DocumentType(doc["documenttype"]).family
        if str(idm) in skipped or family not in ("order", "closure"):
            continue
        for key, otype in (("idstore", "location"), ("idpos", "device")):
            if doc.get(key):
                want[otype].add(str(doc[key]))
        if family == "order" and doc.get("idcashier"):
            want["employee"].add(str(doc["idcashier"]))
        if family == "order" and doc.get("customertypereceipt") == "FID":
            want["customer"].add(str(doc["idcustomerreceipt"]))
    diffs = []
    for otype, ids in want.items():
        have = set(_live(store, otype, connection_id))
        if have != ids:
            diffs.append(f"{otype}: {sorted(have)} != {sorted(ids)}")
    return diffs


def _document_problems(got: Any, doc: dict[str, Any]) -> list[str]:
    problems = []
    totals = (doc["documenttotal"], doc["taxabletotal"], doc["vattotal"])
    if isinstance(got, Order | Shift | Invoice):
        have = (got.total_gross, got.total_net, got.total_tax)
        if have != totals:
            problems.append(f"totals {have} != {totals}")
        want_tax = Counter(
            (Decimal(v["vatpercentage"]), v["taxabletotal"], v["vattotal"])
            for v in doc["vatmovements"]
        )
        have_tax = Counter((t.rate, t.net, t.tax) for t in got.taxes)
        if have_tax != want_tax:
            problems.append(f"VAT {dict(have_tax)} != {dict(want_tax)}")
    if isinstance(got, Order | Shift):
        want_pay = Counter((p["paymenttype"], p["totalpayment"]) for p in doc["payments"])
        have_pay = Counter((p.vendor_method, p.amount) for p in got.payments)
        if have_pay != want_pay:
            problems.append(f"payments {dict(have_pay)} != {dict(want_pay)}")
        if str(got.device_source_id or "") != str(doc.get("idpos") or ""):
            problems.append(f"POS {got.device_source_id} != {doc.get('idpos')}")
    if isinstance(got, Order):
        want_lines: list[list[Any]] = []
        for r in doc["documentrows"]:
            kind = RowType(r["rowtype"])
            if kind.discounts and want_lines:
                want_lines[-1][2] += r["totalprice"]
            elif kind.sells:
                pid = str(r["idproduct"]) if r["idproduct"] else None
                want_lines.append([pid, r["qtymovement"], r["totalprice"]])
        have_lines = [[x.product_source_id, x.quantity, x.gross] for x in got.lines]
        if have_lines != want_lines:
            problems.append(f"lines {have_lines} != {want_lines}")
        if sum((x.net for x in got.lines), Decimal(0)) != doc["taxabletotal"]:
            problems.append("line net does not add up to taxabletotal")
    elif isinstance(got, Report):
        if got.metrics.get("documenttotal") != doc["documenttotal"]:
            problems.append(f"report total {got.metrics.get('documenttotal')}")
        for v in doc["vatmovements"]:
            if got.metrics.get(f"vat_{Decimal(v['vatpercentage'])}") != v["vattotal"]:
                problems.append(f"report VAT {v['vatpercentage']}% differs")
    elif not isinstance(got, Shift | Invoice):
        rows = [r for r in doc["documentrows"] if RowType(r["rowtype"]).sells]
        if hasattr(got, "lines") and len(got.lines) != len(rows):
            problems.append(f"{len(got.lines)} lines != {len(rows)} rows")
    return problems


def _catalog(store: Store, connection_id: str, world: Any) -> list[str]:
    diffs = []
    cats = _live(store, "category", connection_id)
    for dep in world.departments.values():
        got = cats.pop(str(dep.id), None)
        rate = world.vats[dep.idvat].percentage
        if not isinstance(got, Category):
            diffs.append(f"department {dep.id}: missing")
        elif (got.name, got.tax_rate) != (dep.name, rate):
            diffs.append(f"department {dep.id}: {(got.name, got.tax_rate)} != {(dep.name, rate)}")
    diffs += [f"category {sid}: not in the world" for sid in cats]
    prods = _live(store, "product", connection_id)
    for p in world.products.values():
        got = prods.pop(str(p.id), None)
        if not isinstance(got, Product):
            diffs.append(f"product {p.id}: missing")
            continue
        want = (
            p.name,
            p.code,
            [b["barcode"] for b in p.barcodes],
            [x["pricevalue"] for x in p.prices],
            world.product_vat(p).percentage,
            p.stock,
        )
        have = (
            got.name,
            got.sku,
            got.barcodes,
            [x.amount for x in got.prices],
            got.tax_rate,
            got.stock_quantity,
        )
        if have != want:
            diffs.append(f"product {p.id}: {have} != {want}")
    diffs += [f"product {sid}: not in the world" for sid in prods]
    cards = _live(store, "voucher", connection_id)
    for c in world.prepaid.values():
        got = cards.pop(str(c.id), None)
        if not isinstance(got, Voucher):
            diffs.append(f"prepaid {c.id}: missing")
        elif (got.code, got.balance, got.valid_from, got.valid_until) != (
            c.code,
            c.balance,
            c.validfrom,
            c.validto,
        ):
            diffs.append(f"prepaid {c.id}: {got.code} {got.balance} != {c.code} {c.balance}")
    diffs += [f"prepaid {sid}: not in the world" for sid in cards]
    return diffs
