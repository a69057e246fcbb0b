"""The WService world: an Italian retail back office as SimplyDevelop keeps it.

Built from the `it_retail` profile of `world.generate_world` (stores, tills, staff,
catalogue, fidelity customers, receipts with payments, invoices, gift vouchers); what
only WService has (VAT table, departments, units, brands, price lists, RT serials,
prepaid cards, every document type of Tabella 1, one CHF fiscal closure per POS and day)
is derived deterministically from the seed. Documents are kept as wire-ready dicts with
`Decimal` amounts, in `idmovement` order; `wservice_writes` appends to them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.connectors.wservice.codes import (
    EMPTY_DATE,
    CustomerType,
    DocumentType,
    InOut,
    InsertMethod,
    OriginType,
    ProductType,
    ReceiptType,
    RowType,
)
from posbridge.sandboxes.world import World, component_vat, generate_world

__all__ = [
    "Department",
    "Prepaid",
    "Vat",
    "WProduct",
    "WServiceWorld",
    "generate_wservice_world",
    "iso",
    "q2",
    "q4",
    "render_rows",
]

TZ = ZoneInfo("Europe/Rome")
_HUNDRED = Decimal(100)
FIRST_ID = 1


def q2(v: Decimal) -> Decimal:
    """Half-up to cents (the totals and VAT breakdown)."""
    return v.quantize(Decimal("0.01"), ROUND_HALF_UP)


def q4(v: Decimal) -> Decimal:
    """Half-up to 4 decimals (CURRENCY unit and row amounts, like 5.7377)."""
    return v.quantize(Decimal("0.0001"), ROUND_HALF_UP)


def iso(moment: datetime | date | None) -> str:
    """`2025-04-01T11:34:16.000+02:00` in Europe/Rome; None → the 1899-12-30 empty date."""
    if moment is None:
        return EMPTY_DATE
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time())
    aware = moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment.astimezone(TZ)
    text = aware.isoformat(timespec="milliseconds")
    return text


@dataclass(slots=True)
class Vat:
    id: int
    code: str
    name: str
    percentage: Decimal


@dataclass(slots=True)
class Department:
    id: int
    code: int
    name: str
    idvat: int
    tickets: bool = True
    discounts: bool = True
    promotions: bool = False
    points: bool = True
    reference: str = ""


@dataclass(slots=True)
class WProduct:
    """A product; `idvat` None = inherited from the department; prices include VAT."""

    id: int
    code: str
    name: str
    iddepartment: int
    idvat: int | None
    netcost: Decimal
    idum: int
    idbrand: int
    prices: list[dict[str, Any]]
    barcodes: list[dict[str, Any]]
    insertdate: datetime
    lastmodifydate: datetime
    stock: Decimal = Decimal(0)
    referencename: str = ""
    extended: str = ""
    variableprice: bool = False


@dataclass(slots=True)
class Prepaid:
    id: int
    code: str
    name: str
    validfrom: date | None
    validto: date | None
    balance: Decimal
    blacklist: date | None = None


@dataclass(slots=True)
class WServiceWorld:
    """Everything the sandbox serves; mutate through `wservice_writes`."""

    seed: int
    timezone: str
    as_of: datetime
    company: dict[str, Any]
    vats: dict[int, Vat]
    departments: dict[int, Department]
    units: dict[int, str]
    brands: dict[int, str]
    products: dict[int, WProduct]
    stores: dict[int, dict[str, Any]]
    pos: dict[int, dict[str, Any]]
    cashiers: dict[int, str]
    payment_methods: dict[int, str]
    fidelity: dict[int, dict[str, Any]]
    prepaid: dict[int, Prepaid]
    documents: dict[int, dict[str, Any]] = field(default_factory=dict)
    stocks: dict[int, str] = field(default_factory=lambda: {1: "MAG1", 2: "MAG2"})
    default_department: int = 1
    next_ids: dict[str, int] = field(default_factory=dict)

    def new_id(self, kind: str, floor: int) -> int:
        """The next id of `kind`, above every id generated so far."""
        value = max(self.next_ids.get(kind, 0), floor) + 1
        self.next_ids[kind] = value
        return value

    def vat_by_rate(self, rate: Decimal) -> Vat | None:
        return next((v for v in self.vats.values() if v.percentage == rate), None)

    def product_vat(self, product: WProduct) -> Vat:
        """The product's own VAT, else its department's (note 3 of the document)."""
        vid = product.idvat or self.departments[product.iddepartment].idvat
        return self.vats[vid]


def render_rows(
    world: WServiceWorld,
    items: Iterable[tuple[WProduct | None, str, Decimal, Decimal, Decimal]],
    when: datetime,
    *,
    qty_sign: int,
    row_type: RowType = RowType.PRODUCT,
    qtycode: str = "VENDUTA",
    gross_prices: bool = True,
) -> tuple[list[dict[str, Any]], dict[Decimal, list[Decimal]]]:
    """Rows of (product, description, quantity, unit price, VAT %) and the VAT per rate.

    Line VAT is rounded per row (`component_vat` for gross prices, net × rate for net
    ones), so the document's `vatmovements` are the sums of the row VATs.
    """
    rows: list[dict[str, Any]] = []
    per_rate: dict[Decimal, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for index, (product, name, qty, price, rate) in enumerate(items):
        if gross_prices:
            gross = q2(qty * price)
            vat = component_vat(gross, rate)
            net_total = gross - vat
            unit_net = q4(price * _HUNDRED / (_HUNDRED + rate))
        else:
            net_total = q2(qty * price)
            vat = q2(net_total * rate / _HUNDRED)
            gross = net_total + vat
            unit_net = price
        unit_vat = q4(unit_net * rate / _HUNDRED)
        vat_obj = world.vat_by_rate(rate)
        cost = product.netcost if product else Decimal(0)
        cost_vat = q4(cost * rate / _HUNDRED)
        row: dict[str, Any] = {
            "idrowmovement": 0,
            "documentdate": iso(when),
            "registrationdate": iso(when),
            "qtytypemovement": qty_sign,
            "valtypemovement": 1,
            "insertmethod": InsertMethod.SCANNER if product else InsertMethod.MANUAL,
            "rowtype": row_type,
            "productcode": product.code if product else "",
            "rowdescription": name,
            "producttype": ProductType.PRODUCT if product else ProductType.DEPARTMENT,
            "idproduct": product.id if product else 0,
            "idbarcodeproduct": product.barcodes[0]["idbarcodeproduct"] if product else 0,
            "barcode": product.barcodes[0]["barcode"] if product else "",
            "qtycode": qtycode,
            "qtymovement": qty,
            "vatpercentage": rate,
            "netprice": unit_net,
            "vatprice": unit_vat if not gross_prices else price - unit_net,
            "price": price if gross_prices else unit_net + unit_vat,
            "netpricelist": unit_net,
            "vatpricelist": unit_vat if not gross_prices else price - unit_net,
            "pricelist": price if gross_prices else unit_net + unit_vat,
            "nettotalprice": net_total,
            "vattotalprice": vat,
            "totalprice": gross,
            "netcost": cost,
            "vatcost": cost_vat,
            "cost": cost + cost_vat,
            "nettotalcost": q4(cost * qty),
            "vattotalcost": q4(cost_vat * qty),
            "totalcost": q4((cost + cost_vat) * qty),
            "canceledrow": EMPTY_DATE,
            "closingdate": EMPTY_DATE,
            "iddepartment": product.iddepartment if product else world.default_department,
            "idlist": 0,
            "idvat": vat_obj.id if vat_obj else 0,
            "vatcode": vat_obj.code if vat_obj else f"{rate}",
            "vatname": vat_obj.name if vat_obj else f"IVA {rate}%",
            "idstock": 1,
            "stockcode": world.stocks[1],
            "roworder": index,
            "idum": product.idum if product else 1,
            "umcode": world.units[product.idum if product else 1],
            "packquantity": Decimal(1),
        }
        rows.append(row)
        acc = per_rate[rate]
        acc[0] += net_total
        acc[1] += vat
    return rows, per_rate


def vat_movements(world: WServiceWorld, per_rate: dict[Decimal, list[Decimal]]) -> list[Any]:
    """The `vatmovements` block, highest rate first."""
    out = []
    for rate in sorted(per_rate, reverse=True):
        vat = world.vat_by_rate(rate)
        out.append(
            {
                "idvat": vat.id if vat else 0,
                "vatcode": vat.code if vat else f"{rate}",
                "vatname": vat.name if vat else f"IVA {rate}%",
                "vatpercentage": rate,
                "taxabletotal": per_rate[rate][0],
                "vattotal": per_rate[rate][1],
            }
        )
    return out


def header(
    world: WServiceWorld,
    dtype: DocumentType,
    when: datetime,
    *,
    number: int,
    transaction: str,
    origin: OriginType,
    idorigin: int,
    originname: str,
    movementcode: str,
    inout: InOut,
    cussup: str = "C",
    receipt: ReceiptType | None = None,
    pos: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The head fields every document has (POS fields only for POS documents)."""
    iso_year, iso_week, _ = when.isocalendar()
    doc: dict[str, Any] = {
        "idmovement": 0,
        "documenttype": dtype,
        **world.company,
        "idmovementcode": 0,
        "movementcodename": movementcode,
        "receipttype": receipt or "",
        "cussup": cussup,
        "inout": inout,
        "depositdocument": False,
        "movementdate": iso(when),
        "year": when.year,
        "month": when.month,
        "week": f"{iso_year}{iso_week:02d}",
        "documentnumber": number,
        "localdocumentnumber": number,
        "documenttransactionnumber": transaction,
        "documentdate": iso(when),
        "origintype": origin,
        "idorigin": idorigin,
        "originname": originname,
        "canceleddocument": EMPTY_DATE,
        "idcashier": 0,
        "suspendedreceipt": False,
    }
    if pos is not None:
        store = world.stores[pos["idstore"]]
        doc |= {
            "idpos": pos["idpos"],
            "poscode": pos["poscode"],
            "posname": pos["posname"],
            "idstore": store["idstore"],
            "storecode": store["storecode"],
            "storename": store["storename"],
            "cashmachineserialnumber": pos["serial"],
        }
    return doc


def finish(
    doc: dict[str, Any], rows: list[Any], per_rate: dict[Decimal, list[Decimal]], world: Any
) -> dict[str, Any]:
    """Attach rows and VAT, compute the totals."""
    doc["documentrows"] = rows
    doc["vatmovements"] = vat_movements(world, per_rate)
    doc["taxabletotal"] = sum((v[0] for v in per_rate.values()), Decimal(0))
    doc["vattotal"] = sum((v[1] for v in per_rate.values()), Decimal(0))
    doc["documenttotal"] = doc["taxabletotal"] + doc["vattotal"]
    doc["nodiscountstotal"] = doc["documenttotal"]
    doc["netdiscountstotal"] = doc["documenttotal"]
    doc["discountstotal"] = Decimal(0)
    doc["discountpercentagetotal"] = Decimal(0)
    doc.setdefault("payments", [])
    return doc


def generate_wservice_world(
    *, seed: int = 1, days: int = 28, orders_per_day: int = 120, end_date: date = date(2026, 11, 1)
) -> WServiceWorld:
    """The back office of `it_retail` with seed `seed` (same arguments, same world)."""
    base = generate_world(
        "it_retail", seed=seed, days=days, orders_per_day=orders_per_day, end_date=end_date
    )
    from posbridge.sandboxes.wservice_docs import build_documents

    world = _catalogue(base, random.Random(f"wservice:{seed}"))
    build_documents(world, base, random.Random(f"wservice-docs:{seed}"))
    return world


def _unit(name: str) -> int:
    if "al kg" in name:
        return 2
    if "etto" in name:
        return 3
    return 1


def _catalogue(base: World, rng: random.Random) -> WServiceWorld:
    rates = sorted({p.vat for p in base.products.values()}, reverse=True)
    vats = {i: Vat(i, f"{r}", f"IVA {r}%", r) for i, r in enumerate(rates, start=1)}
    by_rate = {v.percentage: v.id for v in vats.values()}
    departments: dict[int, Department] = {}
    for cat in base.categories.values():
        first = next(p for p in base.products.values() if p.category_id == cat.id)
        departments[cat.id] = Department(
            cat.id,
            cat.id,
            cat.name.upper()[:40],
            by_rate[first.vat],
            promotions=rng.random() < 0.5,
            reference=f"REP{cat.id:02d}",
        )
    brands = {1: "DA ROSA", 2: "GRANAROLO", 3: "BARILLA", 4: "MUTTI", 5: "LAVAZZA"}
    products: dict[int, WProduct] = {}
    start = base.as_of - timedelta(days=900)
    for p in base.products.values():
        dep = departments[p.category_id]
        own_vat = None if by_rate[p.vat] == dep.idvat else by_rate[p.vat]
        prices = [
            {"idprice": 1, "pricevalue": p.price, "pricename": "LISTINO BASE", "pricecode": "0001"}
        ]
        if rng.random() < 0.3:
            prices.append(
                {
                    "idprice": 2,
                    "pricevalue": q2(p.price * Decimal("0.95")),
                    "pricename": "LISTINO FEDELTA",
                    "pricecode": "0002",
                }
            )
        inserted = start + timedelta(days=rng.randrange(300), minutes=rng.randrange(600))
        products[p.id] = WProduct(
            id=p.id,
            code=f"{p.id:06d}",
            name=p.name.upper()[:40],
            iddepartment=dep.id,
            idvat=own_vat,
            netcost=q4(p.purchase_price),
            idum=_unit(p.name),
            idbrand=rng.randrange(1, len(brands) + 1),
            prices=prices,
            barcodes=[
                {
                    "idbarcodeproduct": p.id * 10 + 1,
                    "barcode": p.barcode,
                    "packquantity": Decimal(1),
                }
            ],
            insertdate=inserted,
            lastmodifydate=inserted + timedelta(days=rng.randrange(1, 400)),
            stock=p.stock,
            referencename=p.name[:20],
            extended=p.name,
            variableprice=p.openprice,
        )
    stores = {
        e.id: {
            "idstore": e.id,
            "storecode": str(e.id),
            "storename": f"STORE {e.id}",
            "name": e.name,
        }
        for e in base.establishments
    }
    pos = {
        d.id: {
            "idpos": d.id,
            "poscode": str(d.id),
            "posname": d.name.upper()[:20],
            "idstore": d.establishment_id,
            "serial": f"96MEY0{d.id:05d}",
        }
        for d in base.devices
    }
    fidelity = {
        c.id: {
            "idcustomerreceipt": c.id,
            "customercodereceipt": c.tag_id[:20],
            "idcategorycustomerreceipt": 2 if c.tag_family_id == 2 else 1,
            "categorycodecustomerreceipt": "2" if c.tag_family_id == 2 else "1",
            "categorycustomerreceipt": "CLIENTI GOLD" if c.tag_family_id == 2 else "CLIENTI",
        }
        for c in base.customers.values()
        if c.tag_id
    }
    prepaid = {
        g.id: Prepaid(
            g.id,
            f"PREPAID{g.id:04d}",
            f"CARTA PREPAGATA {g.id}",
            g.validfrom,
            g.validuntil,
            q2(g.value),
        )
        for g in base.gift_vouchers
    }
    return WServiceWorld(
        seed=base.seed,
        timezone="Europe/Rome",
        as_of=base.as_of,
        company={"idcompany": 1, "companycode": "01", "companyname": "ALIMENTARI DA ROSA SRL"},
        vats=vats,
        departments=departments,
        units={1: "PZ", 2: "KG", 3: "HG"},
        brands=brands,
        products=products,
        stores=stores,
        pos=pos,
        cashiers={u.id: u.username.upper() for u in base.users},
        payment_methods={t.id: t.name.upper() for t in base.payment_types},
        fidelity=fidelity,
        prepaid=prepaid,
    )


def fidelity_fields(
    world: WServiceWorld, customer_id: int | None, total: Decimal
) -> dict[str, Any]:
    """The fidelity head fields of a receipt: one point per whole euro spent."""
    card = world.fidelity.get(customer_id) if customer_id else None
    if card is None:
        return {"customertypereceipt": "", "idcustomerreceipt": 0, "points": 0}
    points = int(total) if total > 0 else 0
    return {
        "customertypereceipt": CustomerType.FIDELITY,
        **card,
        "points": points,
        "extrapoints": 0,
        "receiptpoints": points,
        "valuefid": Decimal(0),
        "extravaluefid": Decimal(0),
        "receiptvaluefid": Decimal(0),
    }
