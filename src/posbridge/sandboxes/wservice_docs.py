"""The WService document history: receipts, closures and every other type of Tabella 1.

Receipts (VEN) are the world's tickets, numbered per POS and day like an Italian RT
(`documenttransactionnumber` "closure-receipt"); after each POS's last receipt of a day
comes its CHF fiscal closure carrying that day's totals, VAT per rate and payments per
method. Loads, unloads, transfers, invoices, quotes, orders and reports are spread over
the days so every document type appears. Ids grow with time.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from posbridge.connectors.wservice.codes import (
    EMPTY_DATE,
    DocumentType,
    InOut,
    OriginType,
    ProductType,
    ReceiptType,
    RowType,
)
from posbridge.sandboxes.world import Order, World, component_vat
from posbridge.sandboxes.wservice_world import (
    FIRST_ID,
    WServiceWorld,
    fidelity_fields,
    finish,
    header,
    iso,
    q2,
    render_rows,
)

__all__ = ["add_document", "build_documents", "closure_document"]

D = DocumentType
Pending = tuple[datetime, int, int, dict[str, Any]]  # (time, kind order, sequence, doc)


def add_document(world: WServiceWorld, doc: dict[str, Any]) -> int:
    """Give a document the next idmovement (and its rows ids) and store it."""
    idm = world.new_id("movement", FIRST_ID - 1)
    doc["idmovement"] = idm
    for row in doc.get("documentrows", []):
        row["idrowmovement"] = world.new_id("row", FIRST_ID * 10)
    for pay in doc.get("payments", []):
        pay["idpaymentmovement"] = world.new_id("payment", 0)
    world.documents[idm] = doc
    return idm


def receipt_document(
    world: WServiceWorld, order: Order, number: int, closure: int, names: dict[int, str]
) -> dict[str, Any]:
    """One VEN receipt (a return has rows of type R and negative amounts)."""
    pos = world.pos[order.device_id]
    ret = order.total < 0
    doc = header(
        world,
        D.VEN,
        order.ordertime,
        number=number,
        transaction=f"{closure:04d}-{number:04d}",
        origin=OriginType.POS,
        idorigin=pos["idpos"],
        originname=f"POS: {pos['idpos']}. {pos['posname']} GP{pos['idstore']}",
        movementcode="RESO" if ret else "VENDITA",
        inout=InOut.IN if ret else InOut.OUT,
        receipt=ReceiptType.FISCAL,
        pos=pos,
    )
    doc["idcashier"] = order.user_id
    items = [
        (
            world.products[line.product_id],
            world.products[line.product_id].name,
            line.quantity,
            line.price,
            line.vat,
        )
        for line in order.lines
    ]
    rows, per_rate = render_rows(
        world,
        items,
        order.ordertime,
        qty_sign=1 if ret else -1,
        row_type=RowType.RETURN if ret else RowType.PRODUCT,
        qtycode="RESA" if ret else "VENDUTA",
    )
    doc |= fidelity_fields(world, order.customer_id, order.total)
    if doc["customertypereceipt"]:
        rows.append(_description_row(order.ordertime, f"CARTA {doc['customercodereceipt']}"))
    finish(doc, rows, per_rate, world)
    doc["payments"] = [
        {
            "idpaymentmovement": 0,
            "paymentcode": str(pid),
            "paymenttype": names[pid],
            "totalpayment": amount,
            "idpaymentmethod": pid,
        }
        for pid, amount in _payments(world, order)
    ]
    return doc


def _payments(world: WServiceWorld, order: Order) -> list[tuple[int, Decimal]]:
    """(payment method id, amount) of a ticket, by the base world's payment keys."""
    return [(_KEY_IDS[key], amount) for key, amount in order.payments.items()]


_KEY_IDS: dict[str, int] = {}


def _description_row(when: datetime, text: str) -> dict[str, Any]:
    return {
        "idrowmovement": 0,
        "documentdate": iso(when),
        "registrationdate": iso(when),
        "qtytypemovement": 0,
        "valtypemovement": 0,
        "insertmethod": "N",
        "rowtype": RowType.DESCRIPTION,
        "rowdescription": text,
        "producttype": None,
        "idproduct": 0,
        "qtymovement": Decimal(0),
        "totalprice": Decimal(0),
        "roworder": 99,
    }


def closure_document(
    world: WServiceWorld, pos_id: int, day: date, number: int, receipts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The CHF of one POS and day: Σ of its VEN receipts, VAT per rate, payments per method."""
    last = max(datetime.fromisoformat(r["documentdate"]) for r in receipts).replace(tzinfo=None)
    when = min(last + timedelta(minutes=2), datetime.combine(day, time(23, 59, 59)))
    pos = world.pos[pos_id]
    doc = header(
        world,
        D.CHF,
        when,
        number=number,
        transaction=f"{number:04d}",
        origin=OriginType.POS,
        idorigin=pos_id,
        originname=f"POS: {pos_id}. {pos['posname']}",
        movementcode="CHIUSURA FISCALE",
        inout=InOut.OUT,
        receipt=ReceiptType.FISCAL,
        pos=pos,
    )
    per_rate: dict[Decimal, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    pays: dict[int, Decimal] = defaultdict(Decimal)
    names: dict[int, str] = {}
    for r in receipts:
        for v in r["vatmovements"]:
            acc = per_rate[v["vatpercentage"]]
            acc[0] += v["taxabletotal"]
            acc[1] += v["vattotal"]
        for p in r["payments"]:
            pays[p["idpaymentmethod"]] += p["totalpayment"]
            names[p["idpaymentmethod"]] = p["paymenttype"]
    total = sum((a + b for a, b in per_rate.values()), Decimal(0))
    row = {
        "idrowmovement": 0,
        "documentdate": iso(when),
        "registrationdate": iso(when),
        "qtytypemovement": 0,
        "valtypemovement": 0,
        "insertmethod": "N",
        "rowtype": RowType.CLOSURE,
        "rowdescription": f"CHIUSURA FISCALE N. {number}",
        "producttype": ProductType.SUBTOTAL,
        "idproduct": 0,
        "qtymovement": Decimal(len(receipts)),
        "totalprice": total,
        "roworder": 0,
    }
    finish(doc, [row], dict(per_rate), world)
    doc["notes"] = f"SCONTRINI {len(receipts)}"
    doc["payments"] = [
        {
            "idpaymentmovement": 0,
            "paymentcode": str(pid),
            "paymenttype": names[pid],
            "totalpayment": pays[pid],
            "idpaymentmethod": pid,
        }
        for pid in sorted(pays)
    ]
    return doc


def pending_showcase_done(pending: list[Pending]) -> bool:
    """Whether the one receipt with every row type was already made."""
    return any(doc.get("notes") == SHOWCASE for *_k, doc in pending)


SHOWCASE = "RICEVUTA CON TUTTI I TIPI DI RIGA"


def showcase_receipt(
    world: WServiceWorld, pos_id: int, after: datetime, number: int, closure: int
) -> dict[str, Any]:
    """One VEN receipt with a row of every type of Tabella 5 but C (closures have that).

    A percent (V) and a value (S) discount reduce the goods row before them; a void (A)
    and a reversal (T) cancel an earlier row; a gift (O) is free; a return (R) refunds.
    Line VAT is computed on each goods row after its discounts.
    """
    when = after + timedelta(minutes=1)
    pos = world.pos[pos_id]
    doc = header(
        world,
        D.VEN,
        when,
        number=number,
        transaction=f"{closure:04d}-{number:04d}",
        origin=OriginType.POS,
        idorigin=pos_id,
        originname=f"POS: {pos_id}. {pos['posname']}",
        movementcode="VENDITA",
        inout=InOut.OUT,
        receipt=ReceiptType.FISCAL,
        pos=pos,
    )
    doc["idcashier"] = min(world.cashiers)
    goods = sorted(world.products.values(), key=lambda p: (p.prices[0]["pricevalue"], p.id))
    cheap, a, b, c, e = goods[0], goods[-1], goods[-2], goods[-3], goods[-4]

    def price(p: Any) -> Decimal:
        return Decimal(p.prices[0]["pricevalue"])

    plan: list[tuple[RowType, Any, Decimal, Decimal]] = [
        (RowType.PRODUCT, a, Decimal(2), price(a)),
        (RowType.DISCOUNT_PERCENT, None, Decimal(10), Decimal(0)),
        (RowType.PRODUCT, b, Decimal(1), price(b)),
        (RowType.VOID, b, Decimal(-1), price(b)),
        (RowType.PRODUCT, c, Decimal(1), price(c)),
        (RowType.REVERSAL, c, Decimal(-1), price(c)),
        (RowType.GIFT, cheap, Decimal(1), Decimal(0)),
        (RowType.PRODUCT, e, Decimal(1), price(e)),
        (RowType.DISCOUNT_VALUE, None, Decimal("0.50"), Decimal(0)),
        (RowType.RETURN, cheap, Decimal(-1), price(cheap)),
    ]
    rows: list[dict[str, Any]] = []
    lines: list[list[Any]] = []  # [row, product, gross]
    for kind, product, qty, unit in plan:
        if kind in (RowType.DISCOUNT_PERCENT, RowType.DISCOUNT_VALUE):
            target = lines[-1]
            cut = q2(target[2] * qty / 100) if kind == RowType.DISCOUNT_PERCENT else qty
            target[2] -= cut
            row = _description_row(when, "SCONTO")
            row |= {
                "rowtype": kind,
                "totalprice": -cut,
                "roworder": len(rows),
                "vatpercentage": target[0]["vatpercentage"],
                "producttype": None,
            }
            if kind == RowType.DISCOUNT_PERCENT:
                row["percentagechange"] = qty
            rows.append(row)
            continue
        rate = world.product_vat(product).percentage
        made, _ = render_rows(
            world,
            [(product, product.name, qty, unit, rate)],
            when,
            qty_sign=1 if qty < 0 else -1,
            row_type=kind,
        )
        made[0]["roworder"] = len(rows)
        rows.append(made[0])
        lines.append([made[0], product, made[0]["totalprice"]])
    per_rate: dict[Decimal, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row, _product, gross in lines:
        rate = row["vatpercentage"]
        vat = component_vat(gross, rate)
        acc = per_rate[rate]
        acc[0] += gross - vat
        acc[1] += vat
    rows.append(_description_row(when, "GRAZIE E ARRIVEDERCI"))
    finish(doc, rows, dict(per_rate), world)
    doc["notes"] = SHOWCASE
    doc["payments"] = [
        {
            "idpaymentmovement": 0,
            "paymentcode": "1",
            "paymenttype": world.payment_methods[1],
            "totalpayment": doc["documenttotal"],
            "idpaymentmethod": 1,
        }
    ]
    return doc


def build_documents(world: WServiceWorld, base: World, rng: random.Random) -> None:
    """Render the base world's history as WService documents, in time order."""
    _KEY_IDS.update({t.key: t.id for t in base.payment_types})
    names = dict(world.payment_methods)
    closed_until = base.as_of.date()
    per_day: dict[tuple[int, date], list[Order]] = defaultdict(list)
    for order in base.orders:
        per_day[(order.device_id, order.ordertime.date())].append(order)
    pending: list[Pending] = []
    closure_no: dict[int, int] = defaultdict(lambda: 100)
    for (pos_id, day), orders in sorted(per_day.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        closure_no[pos_id] += 1
        z = closure_no[pos_id]
        made: list[dict[str, Any]] = []
        for n, order in enumerate(orders, start=1):
            doc = receipt_document(world, order, n, z, names)
            made.append(doc)
            pending.append((order.ordertime, 0, len(pending), doc))
        if not pending_showcase_done(pending):
            showcase = showcase_receipt(world, pos_id, orders[-1].ordertime, len(orders) + 1, z)
            made.append(showcase)
            when = orders[-1].ordertime + timedelta(minutes=1)
            pending.append((when, 0, len(pending), showcase))
        if day < closed_until:
            chf = closure_document(world, pos_id, day, z, made)
            when = datetime.fromisoformat(chf["documentdate"]).replace(tzinfo=None)
            pending.append((when, 1, len(pending), chf))
    days = sorted({d for _p, d in per_day})
    vat: dict[Decimal, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for *_k, receipt in pending:
        for v in receipt["vatmovements"] if receipt["documenttype"] == D.VEN else []:
            vat[v["vatpercentage"]][0] += v["taxabletotal"]
            vat[v["vatpercentage"]][1] += v["vattotal"]
    for doc_when, doc in _other_documents(world, base, rng, days, dict(vat)):
        pending.append((doc_when, 2, len(pending), doc))
    for *_key, ready in sorted(pending, key=lambda p: p[:3]):
        add_document(world, ready)


def _goods(world: WServiceWorld, rng: random.Random, n: int) -> list[Any]:
    picks = rng.sample(sorted(world.products), min(n, len(world.products)))
    return [world.products[i] for i in picks]


def goods_document(
    world: WServiceWorld,
    dtype: DocumentType,
    when: datetime,
    items: list[tuple[Any, Decimal]],
    *,
    number: int,
    origin: OriginType = OriginType.FOR,
    originname: str = "FORNITORE PROVA",
    movementcode: str = "",
    qtycode: str = "",
    discardreason: str = "",
) -> dict[str, Any]:
    """A back-office document of goods at net cost (loads, unloads, transfers, orders)."""
    sign = dtype.stock_sign
    inout = InOut.IN if sign > 0 else InOut.OUT
    doc = header(
        world,
        dtype,
        when,
        number=number,
        transaction=f"{dtype}/{number}",
        origin=origin,
        idorigin=1,
        originname=originname,
        movementcode=movementcode or dtype.description.upper(),
        inout=inout,
        cussup="F" if origin == OriginType.FOR else "C",
        receipt=ReceiptType.POS_UNLOAD if dtype == D.SCA else None,
    )
    lines = [(p, p.name, qty, p.netcost, world.product_vat(p).percentage) for p, qty in items]
    rows, per_rate = render_rows(
        world,
        lines,
        when,
        qty_sign=sign,
        qtycode=qtycode or dtype.description.upper(),
        gross_prices=False,
    )
    if discardreason:
        doc["iddiscardreason"] = 1
        doc["discardreason"] = discardreason
    return finish(doc, rows, per_rate, world)


def _other_documents(
    world: WServiceWorld,
    base: World,
    rng: random.Random,
    days: list[date],
    vat_of_receipts: dict[Decimal, list[Decimal]],
) -> list[tuple[datetime, dict[str, Any]]]:
    out: list[tuple[datetime, dict[str, Any]]] = []
    for i, day in enumerate(days):
        when = datetime.combine(day, time(7, 30))
        items = [(p, Decimal(rng.randrange(6, 25))) for p in _goods(world, rng, 3)]
        out.append(
            (
                when,
                goods_document(
                    world, D.CAR, when, items, number=i + 1, movementcode="FATFOR", qtycode="CARICO"
                ),
            )
        )
    specials = [D.SCA, D.MTM, D.RAF, D.DCC, D.DUF, D.DUI, D.ORD, D.ORS, D.COM, D.PRE, D.RDC]
    for j, dtype in enumerate(specials):
        day = days[j % len(days)]
        when = datetime.combine(day, time(8, 5 + j))
        items = [(p, Decimal(rng.randrange(1, 4))) for p in _goods(world, rng, 2)]
        origin = OriginType.CLI if dtype.family == "invoice" else OriginType.FOR
        if dtype == D.MTM:
            origin = OriginType.MAG
        out.append(
            (
                when,
                goods_document(
                    world,
                    dtype,
                    when,
                    items,
                    number=j + 1,
                    origin=origin,
                    originname="CLIENTE PROVA" if origin == OriginType.CLI else "FORNITORE PROVA",
                    qtycode="SCARICO" if dtype == D.SCA else "",
                    discardreason="PRODOTTO SCADUTO" if dtype == D.SCA else "",
                ),
            )
        )
    for k, document in enumerate(base.documents):
        dtype = {1: D.DUC, 2: D.PRE, 3: D.RDC}[document.doctype]
        when = datetime.combine(document.date, time(18, 0)) + timedelta(minutes=k)
        by_name = {p.name: p for p in world.products.values()}
        lines = [
            (by_name.get(x.name.upper()[:40]), x.name.upper()[:40], x.quantity, x.price, x.vat)
            for x in document.lines
        ]
        sign = dtype.stock_sign
        doc = header(
            world,
            dtype,
            when,
            number=k + 1,
            transaction=document.number,
            origin=OriginType.CLI,
            idorigin=document.customer_id or 0,
            originname="CLIENTE",
            movementcode=dtype.description.upper(),
            inout=InOut.IN if sign > 0 else InOut.OUT,
        )
        rows, per_rate = render_rows(world, lines, when, qty_sign=sign, qtycode="FATTURATA")
        out.append((when, finish(doc, rows, per_rate, world)))
    pos = world.pos[min(world.pos)]
    for m, (dtype, flag) in enumerate(((D.VEA, "cancel"), (D.VES, "suspend"), (D.BIL, "scale"))):
        # in the still open day (no CHF yet): a void or suspended receipt is not in a closure
        when = world.as_of - timedelta(minutes=25 - 5 * m)
        product = world.products[min(world.products)]
        doc = header(
            world,
            dtype,
            when,
            number=m + 1,
            transaction=f"{dtype}/{m + 1}",
            origin=OriginType.BIL if flag == "scale" else OriginType.POS,
            idorigin=pos["idpos"],
            originname=f"POS: {pos['idpos']}. {pos['posname']}",
            movementcode="VENDITA",
            inout=InOut.OUT,
            receipt=ReceiptType.NON_FISCAL,
            pos=None if flag == "scale" else pos,
        )
        rows, per_rate = render_rows(
            world,
            [
                (
                    product,
                    product.name,
                    Decimal(1),
                    product.prices[0]["pricevalue"],
                    world.product_vat(product).percentage,
                )
            ],
            when,
            qty_sign=-1,
        )
        finish(doc, rows, per_rate, world)
        if flag == "cancel":
            doc["canceleddocument"] = iso(when + timedelta(minutes=1))
        doc["suspendedreceipt"] = flag == "suspend"
        out.append((when, doc))
    last = datetime.combine(days[-1], time(21, 0))
    for dtype in (D.MIV, D.RAP):
        doc = header(
            world,
            dtype,
            last,
            number=1,
            transaction=f"{dtype}/1",
            origin=OriginType.AZI,
            idorigin=1,
            originname=world.company["companyname"],
            movementcode=dtype.description.upper(),
            inout=InOut.OUT,
        )
        # MIV states the period's VAT of the receipts (RAP is a print log: no amounts)
        finish(doc, [], vat_of_receipts if dtype == D.MIV else {}, world)
        doc["canceleddocument"] = EMPTY_DATE
        doc["notes"] = f"{dtype.description} {days[0]} - {days[-1]}"
        out.append((last, doc))
    return out
