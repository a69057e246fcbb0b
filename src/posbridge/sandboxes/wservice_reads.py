"""WService reads: departments, products, documents and prepaid cards as the examples spell them.

Field names follow the response examples where they differ from the field tables
(`netcostproduct`, `idproducttyplogy`/`producttyplogyname`, `tickets`); dates use
`wservice_world.iso` (product dates without offset, like the example).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from posbridge.sandboxes.faults import Faults, kinds_except, malform
from posbridge.sandboxes.wservice_world import (
    Department,
    Prepaid,
    WProduct,
    WServiceWorld,
    iso,
)

__all__ = [
    "MALFORMED_KINDS",
    "ApiError",
    "malformed_documents",
    "read",
    "render_department",
    "render_prepaid",
    "render_product",
]


class ApiError(Exception):
    """A refusal: HTTP status plus the message put in `Data` (docs/wservice-wire.md)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def render_department(world: WServiceWorld, d: Department) -> dict[str, Any]:
    vat = world.vats[d.idvat]
    return {
        "iddepartment": d.id,
        "departmentcode": d.code,
        "departmentname": d.name,
        "idvat": vat.id,
        "vatcode": vat.code,
        "vatname": vat.name,
        "vatpercentage": vat.percentage,
        "tickets": d.tickets,
        "discounts": d.discounts,
        "promotions": d.promotions,
        "points": d.points,
        "reference": d.reference,
    }


def render_product(world: WServiceWorld, p: WProduct) -> dict[str, Any]:
    dep = world.departments.get(p.iddepartment)
    vat = world.product_vat(p)
    return {
        "idproduct": p.id,
        "productcode": p.code,
        "productname": p.name,
        "referencename": p.referencename,
        "extendedproductname": p.extended,
        "iddepartment": p.iddepartment,
        "departmentcode": str(dep.code) if dep else "",
        "departmentname": dep.name if dep else "",
        "idvat": vat.id,
        "vatcode": vat.code,
        "vatname": vat.name,
        "vatpercentage": vat.percentage,
        "netcostproduct": p.netcost,
        "boxquantity": Decimal(1),
        "idum": p.idum,
        "umcode": world.units[p.idum],
        "idlabelum": p.idum,
        "labelumcode": world.units[p.idum],
        "idbrand": p.idbrand,
        "brandname": world.brands.get(p.idbrand, ""),
        "idproducttyplogy": 1,
        "producttyplogyname": "ALIMENTARI",
        "zeroprice": False,
        "variableprice": p.variableprice,
        "lots": False,
        "tickets": True,
        "discounts": True,
        "promotions": False,
        "points": True,
        "insertdate": p.insertdate.isoformat(timespec="seconds"),
        "lastmodifydate": p.lastmodifydate.isoformat(timespec="seconds"),
        "stock": p.stock,
        "prices": [dict(x) for x in p.prices],
        "barcodes": [dict(x) for x in p.barcodes],
    }


def render_prepaid(card: Prepaid) -> dict[str, Any]:
    return {
        "idprepaid": card.id,
        "prepaidcode": card.code,
        "prepaidname": card.name,
        "validfrom": iso(card.validfrom),
        "validto": iso(card.validto),
        "blacklistdate": iso(card.blacklist),
        "prepaidbalance": card.balance,
    }


def _id(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApiError(f"Parametro {name} non valido: {value!r}") from None


def read(world: WServiceWorld, resource: str, params: Mapping[str, Any]) -> list[Any]:
    """The records of `resource`, all or the one its id parameter names (empty if none)."""
    key = {
        "departments": "iddepartment",
        "products": "idproduct",
        "documents": "iddocument",
        "prepaid": "idprepaid",
    }[resource]
    wanted = params.get(key)
    only = None if wanted in (None, "") else _id(wanted, key)
    if resource == "departments":
        deps = world.departments
        return [render_department(world, deps[i]) for i in sorted(deps) if only in (None, i)]
    if resource == "products":
        prods = world.products
        return [render_product(world, prods[i]) for i in sorted(prods) if only in (None, i)]
    if resource == "prepaid":
        cards = world.prepaid
        return [render_prepaid(cards[i]) for i in sorted(cards) if only in (None, i)]
    if only is not None:
        doc = world.documents.get(only)
        return [doc] if doc is not None else []
    return [world.documents[i] for i in sorted(world.documents)]


#: what `malform` corrupts in a document: its first row's amount (else the total), its
#: date, its first row's VAT rate and quantity; `missing_field` drops `documenttotal`
#: (a missing `documentdate` falls back to `movementdate`). Documents name no currency
#: (amounts are EUR), so `currency_mismatch` cannot occur.
MALFORMED_KINDS = kinds_except("currency_mismatch")


def malformed_documents(faults: Faults, records: list[Any]) -> list[Any]:
    """Documents as read, with those named by `malformed_orders` corrupted."""
    bad, _dropped, kind = faults.record_faults()
    if not bad:
        return records
    return [
        malform(
            doc,
            kind,
            amount=(("documentrows", 0, "totalprice"), ("documenttotal",)),
            time=(("documentdate",),),
            vat=(("documentrows", 0, "vatpercentage"),),
            quantity=(("documentrows", 0, "qtymovement"),),
            required=(("documenttotal",),),
        )
        if doc.get("idmovement") in bad
        else doc
        for doc in records
    ]
