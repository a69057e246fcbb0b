"""WService writes: setdepartments, setproducts, setdocument, setprepaid and the deletes.

The lookup and default rules are the document's notes: a product is matched by id, then
productcode, then the first product with one of the barcodes (in EAN order), then —
only without productcode and barcodes — by name; department and VAT are inherited or
inserted; an empty EAN is generated; `movementcodename` auto-completes the document
head; load/unload documents move stock. Texts are in docs/wservice-wire.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posbridge.connectors.wservice.codes import (
    MOVEMENT_CODES,
    DocumentType,
    InOut,
    OriginType,
    ReceiptType,
    RowType,
    default_movement,
)
from posbridge.sandboxes.wservice_docs import add_document
from posbridge.sandboxes.wservice_reads import (
    ApiError,
    render_department,
    render_prepaid,
    render_product,
)
from posbridge.sandboxes.wservice_world import (
    Department,
    Prepaid,
    Vat,
    WProduct,
    WServiceWorld,
    finish,
    header,
    iso,
    render_rows,
)

__all__ = [
    "delete",
    "ean13",
    "set_departments",
    "set_document",
    "set_prepaid",
    "set_products",
]


def _s(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _int(data: Mapping[str, Any], key: str) -> int | None:
    text = _s(data, key)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiError(f"Campo {key} non valido: {text!r}") from None


def _dec(data: Mapping[str, Any], key: str) -> Decimal | None:
    text = _s(data, key)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ApiError(f"Campo {key} non numerico: {text!r}") from None
    if not value.is_finite():
        raise ApiError(f"Campo {key} non numerico: {text!r}")
    return value


def _bool(data: Mapping[str, Any], *keys: str, default: bool) -> bool:
    for key in keys:
        if key in data and data[key] is not None:
            return data[key] in (True, 1, "1", "true", "True")
    return default


def _date(data: Mapping[str, Any], key: str) -> datetime | None:
    text = _s(data, key)
    if not text or text.startswith("1899-12-30"):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(f"Data {key} non valida: {text!r}") from None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment


def ean13(body: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _vat(world: WServiceWorld, data: Mapping[str, Any]) -> Vat | None:
    """The VAT a payload names (id, code or percentage); inserted when unknown."""
    vid, code, pct = _int(data, "idvat"), _s(data, "vatcode"), _dec(data, "vatpercentage")
    if vid and vid in world.vats:
        return world.vats[vid]
    for vat in world.vats.values():
        if (code and vat.code == code) or (not code and pct is not None and vat.percentage == pct):
            return vat
    if not code and pct is None:
        return None
    if pct is None:
        try:
            pct = Decimal(code)
        except InvalidOperation:
            raise ApiError(f"vatpercentage mancante per il codice IVA {code!r}") from None
    if not Decimal(0) <= pct < Decimal(100):
        raise ApiError(f"vatpercentage non valida: {pct}")
    new = Vat(
        world.new_id("vat", max(world.vats)),
        code or f"{pct}",
        _s(data, "vatname") or f"IVA {pct}%",
        pct,
    )
    world.vats[new.id] = new
    return new


def set_departments(world: WServiceWorld, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Insert or update a department by departmentcode (or iddepartment)."""
    did, code = _int(data, "iddepartment"), _int(data, "departmentcode")
    found = world.departments.get(did) if did else None
    if found is None and code is not None:
        found = next((d for d in world.departments.values() if d.code == code), None)
    vat = _vat(world, data)
    if found is None:
        name = _s(data, "departmentname")
        if not name:
            raise ApiError("Campo departmentname obbligatorio")
        if vat is None:
            raise ApiError("IVA obbligatoria per un nuovo reparto (idvat, vatcode o vatpercentage)")
        new_id = world.new_id("department", max(world.departments))
        found = Department(new_id, code if code is not None else new_id, name[:40], vat.id)
        world.departments[found.id] = found
    else:
        found.name = (_s(data, "departmentname") or found.name)[:40]
        if vat is not None:
            found.idvat = vat.id
    found.tickets = _bool(data, "tickets", "ticket", default=found.tickets)
    found.discounts = _bool(data, "discounts", default=found.discounts)
    found.promotions = _bool(data, "promotions", default=found.promotions)
    found.points = _bool(data, "points", default=found.points)
    found.reference = _s(data, "reference") or found.reference
    return render_department(world, found)


def _find_product(world: WServiceWorld, data: Mapping[str, Any]) -> WProduct | None:
    pid = _int(data, "idproduct")
    if pid and pid in world.products:
        return world.products[pid]
    code = _s(data, "productcode")
    if code:
        hit = next((p for p in world.products.values() if p.code == code), None)
        if hit is not None:
            return hit
    eans = sorted(_s(b, "barcode") for b in data.get("barcodes") or [] if _s(b, "barcode"))
    for ean in eans:
        for p in world.products.values():
            if any(b["barcode"] == ean for b in p.barcodes):
                return p
    if not code and not eans and _s(data, "productname"):
        name = _s(data, "productname").upper()
        return next((p for p in world.products.values() if p.name.upper() == name), None)
    return None


def _department_for(world: WServiceWorld, data: Mapping[str, Any], vat: Vat | None) -> int | None:
    did = _int(data, "iddepartment")
    if did and did in world.departments:
        return did
    code = _int(data, "departmentcode")
    if code is None:
        return None
    hit = next((d for d in world.departments.values() if d.code == code), None)
    if hit is not None:
        return hit.id
    dep = set_departments(
        world,
        {
            "departmentcode": code,
            "departmentname": _s(data, "departmentname") or f"REPARTO {code}",
            "idvat": vat.id if vat else world.departments[world.default_department].idvat,
        },
        datetime.min,
    )
    return int(dep["iddepartment"])


def set_products(world: WServiceWorld, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Insert or update a product with the lookup, department, VAT and EAN rules."""
    product = _find_product(world, data)
    vat = _vat(world, data)
    dep_id = _department_for(world, data, vat)
    if product is None:
        name = _s(data, "productname")
        if not name:
            raise ApiError("Campo productname obbligatorio")
        pid = world.new_id("product", max(world.products))
        product = WProduct(
            id=pid,
            code=_s(data, "productcode") or f"{pid:06d}",
            name=name[:40],
            iddepartment=dep_id or world.default_department,
            idvat=None,
            netcost=Decimal(0),
            idum=1,
            idbrand=0,
            prices=[],
            barcodes=[],
            insertdate=now,
            lastmodifydate=now,
        )
        world.products[pid] = product
    else:
        product.name = (_s(data, "productname") or product.name)[:40]
        if dep_id:
            product.iddepartment = dep_id
        product.lastmodifydate = now
    if vat is not None:
        dep_vat = world.departments[product.iddepartment].idvat
        product.idvat = None if vat.id == dep_vat else vat.id
    for key, attr in (("referencename", "referencename"), ("extendedproductname", "extended")):
        if _s(data, key):
            setattr(product, attr, _s(data, key))
    cost = _dec(data, "netproductcost") or _dec(data, "netcostproduct")
    if cost is not None:
        product.netcost = cost
    product.variableprice = _bool(data, "variableprice", default=product.variableprice)
    for price in data.get("prices") or []:
        _set_price(world, product, price)
    for code in data.get("barcodes") or []:
        ean = _s(code, "barcode")
        if ean and any(b["barcode"] == ean for b in product.barcodes):
            continue
        if not ean:
            ean = ean13(f"25{world.new_id('ean', 0):010d}")
        if len(ean) > 13 or not ean.isdigit():
            raise ApiError(f"Codice EAN non valido: {ean!r}")
        product.barcodes.append(
            {
                "idbarcodeproduct": world.new_id(
                    "barcode",
                    max(
                        (
                            b["idbarcodeproduct"]
                            for q in world.products.values()
                            for b in q.barcodes
                        ),
                        default=0,
                    ),
                ),
                "barcode": ean,
                "packquantity": _dec(code, "packquantity") or Decimal(1),
            }
        )
    return render_product(world, product)


def _set_price(world: WServiceWorld, product: WProduct, price: Mapping[str, Any]) -> None:
    value = _dec(price, "pricevalue")
    if value is None:
        raise ApiError("Campo pricevalue obbligatorio nei listini")
    pid, name, code = _int(price, "idprice"), _s(price, "pricename"), _s(price, "pricecode")
    for row in product.prices:
        if (
            (pid and row["idprice"] == pid)
            or (code and row["pricecode"] == code)
            or (name and row["pricename"].upper() == name.upper())
        ):
            row["pricevalue"] = value
            return
    lists = {r["idprice"]: r for p in world.products.values() for r in p.prices}
    known = next(
        (r for r in lists.values() if name and r["pricename"].upper() == name.upper()), None
    )
    new_id = known["idprice"] if known else (max(lists, default=0) + 1)
    product.prices.append(
        {
            "idprice": new_id,
            "pricevalue": value,
            "pricename": (name or "LISTINO").upper(),
            "pricecode": known["pricecode"] if known else (code or f"{new_id:04d}"),
        }
    )


def set_prepaid(world: WServiceWorld, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Create a prepaid card (with an initial credit) or change its validity by code."""
    code = _s(data, "prepaidcode")
    if not code:
        raise ApiError("Campo prepaidcode obbligatorio")
    card = next((c for c in world.prepaid.values() if c.code == code), None)
    start, end = _date(data, "validfrom"), _date(data, "validto")
    if card is None:
        card = Prepaid(
            world.new_id("prepaid", max(world.prepaid, default=0)),
            code[:30],
            (_s(data, "prepaidname") or code)[:100],
            None,
            None,
            _dec(data, "prepaidbalance") or Decimal(0),
        )
        world.prepaid[card.id] = card
    elif _s(data, "prepaidname"):
        card.name = _s(data, "prepaidname")[:100]
    if start is not None:
        card.validfrom = _day(start)
    if end is not None:
        card.validto = _day(end)
    return render_prepaid(card)


def _day(moment: datetime) -> date:
    return moment.date()


def delete(world: WServiceWorld, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Delete a department (refused while products use it) or a product by id."""
    key = "iddepartment" if resource == "departments" else "idproduct"
    rid = _int(params, key)
    if rid is None:
        raise ApiError(f"Parametro {key} obbligatorio")
    table: dict[int, Any] = world.departments if resource == "departments" else world.products
    if rid not in table:
        raise ApiError(f"{key} {rid} non trovato", status=404)
    if resource == "departments" and any(p.iddepartment == rid for p in world.products.values()):
        raise ApiError(f"Reparto {rid} in uso da prodotti")
    del table[rid]
    return {key: rid}


def _row_product(world: WServiceWorld, row: Mapping[str, Any]) -> WProduct | None:
    pid = _int(row, "idproduct")
    if pid and pid in world.products:
        return world.products[pid]
    ean = _s(row, "barcode")
    if ean:
        hit = next(
            (p for p in world.products.values() if any(b["barcode"] == ean for b in p.barcodes)),
            None,
        )
        if hit is not None:
            return hit
    code = _s(row, "productcode")
    return next((p for p in world.products.values() if code and p.code == code), None)


def set_document(world: WServiceWorld, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Record a document; movement code auto-completion; loads/unloads/sales move stock."""
    movement = MOVEMENT_CODES.get(_s(data, "movementcodename").upper())
    raw_type = _s(data, "documenttype").upper()
    if raw_type:
        try:
            dtype = DocumentType(raw_type)
        except ValueError:
            raise ApiError(f"documenttype {raw_type!r} non previsto (Tabella 1)") from None
    elif movement is not None:
        dtype = movement.document_type
    else:
        raise ApiError("documenttype o movementcodename obbligatorio")
    movement = movement or default_movement(dtype)
    rows_in = data.get("documentrows") or []
    if not isinstance(rows_in, list) or not rows_in:
        raise ApiError("documentrows obbligatorio")
    when = _date(data, "movementdate") or now
    when = (
        when.replace(tzinfo=None)
        if when.tzinfo is None
        else when.astimezone(world_tz(world)).replace(tzinfo=None)
    )
    doc_date = _date(data, "documentdate") or when
    doc_date = (
        doc_date.replace(tzinfo=None)
        if doc_date.tzinfo is None
        else doc_date.astimezone(world_tz(world)).replace(tzinfo=None)
    )
    sign = dtype.stock_sign
    sale = dtype.family == "order"
    items: list[tuple[WProduct | None, str, Decimal, Decimal, Decimal]] = []
    for row in rows_in:
        product = _row_product(world, row)
        qty = _dec(row, "qtymovement")
        if qty is None:
            raise ApiError("qtymovement obbligatorio in ogni riga")
        rate = _dec(row, "vatpercentage")
        if rate is None:
            rate = world.product_vat(product).percentage if product else None
        if rate is None:
            raise ApiError("vatpercentage obbligatoria per righe senza prodotto")
        net, gross = _dec(row, "netprice"), _dec(row, "price")
        if sale:
            price = (
                gross
                if gross is not None
                else (product.prices[0]["pricevalue"] if product and product.prices else None)
            )
        else:
            price = net if net is not None else (product.netcost if product else None)
        if price is None:
            raise ApiError("prezzo mancante per una riga senza prodotto")
        name = _s(row, "rowdescription") or (product.name if product else "")
        items.append((product, name, qty, price, rate))
    pos_id = _int(data, "idpos") or (min(world.pos) if sale else None)
    pos = world.pos.get(pos_id) if pos_id else None
    origin = _s(data, "origintype") or (movement.origin if movement else OriginType.AZI)
    qtycode = (movement.qtycode if movement else "") or dtype.description.upper()
    number = sum(1 for d in world.documents.values() if d["documenttype"] == dtype) + 1
    doc = header(
        world,
        dtype,
        when,
        number=_int(data, "documentnumber") or number,
        transaction=_s(data, "documenttransactionnumber") or f"{dtype}/{number}",
        origin=OriginType(origin),
        idorigin=_int(data, "idorigin") or (pos_id or 1),
        originname=_s(data, "originname") or world.company["companyname"],
        movementcode=movement.name if movement else dtype.description.upper(),
        inout=_inout(data, movement, sign),
        cussup=_s(data, "cussup") or (movement.cussup if movement else ""),
        receipt=ReceiptType.FISCAL if sale else None,
        pos=pos,
    )
    doc["documentdate"] = iso(doc_date)
    rows, per_rate = render_rows(
        world,
        items,
        when,
        qty_sign=sign or 0,
        row_type=RowType.PRODUCT,
        qtycode=qtycode,
        gross_prices=sale,
    )
    for text in ("notes", "discardreason", "documentobject"):
        if _s(data, text):
            doc[text] = _s(data, text)
    finish(doc, rows, per_rate, world)
    if sale:
        doc["idcashier"] = _int(data, "idcashier") or min(world.cashiers)
        doc["payments"] = _sale_payments(world, data, doc["documenttotal"])
    for product, _name, qty, _price, _rate in items:
        if product is not None:
            product.stock += qty * sign
    add_document(world, doc)
    return doc


def _inout(data: Mapping[str, Any], movement: Any, sign: int) -> InOut:
    given = _s(data, "inout").upper()
    if given:
        try:
            return InOut(given)
        except ValueError:
            raise ApiError(f"inout {given!r} non valido (I/U)") from None
    if movement is not None:
        return InOut(movement.inout)
    return InOut.IN if sign > 0 else InOut.OUT


def _sale_payments(world: WServiceWorld, data: Mapping[str, Any], total: Decimal) -> list[Any]:
    given = data.get("payments") or []
    out: list[dict[str, Any]] = []
    for pay in given:
        pid = _int(pay, "idpaymentmethod") or 1
        amount = _dec(pay, "totalpayment")
        if amount is None:
            raise ApiError("totalpayment obbligatorio nei pagamenti")
        out.append(
            {
                "idpaymentmovement": 0,
                "paymentcode": str(pid),
                "paymenttype": world.payment_methods.get(pid, "ALTRO"),
                "totalpayment": amount,
                "idpaymentmethod": pid,
            }
        )
    if not out:
        out.append(
            {
                "idpaymentmovement": 0,
                "paymentcode": "1",
                "paymenttype": world.payment_methods.get(1, "CONTANTI"),
                "totalpayment": total,
                "idpaymentmethod": 1,
            }
        )
    paid: Decimal = sum((Decimal(p["totalpayment"]) for p in out), Decimal(0))
    if paid != total:
        raise ApiError(f"Totale pagamenti diverso dal totale documento {total}")
    return out


def world_tz(world: WServiceWorld) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(world.timezone)
