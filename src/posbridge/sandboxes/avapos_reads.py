"""AvaPOS sandbox: the `get` answers, rendered exactly as docs/avapos-wire.md describes.

Every number is a string; prices are net of tax; `fecha` is Postgres timestamptz text
(`2016-07-15 13:15:13-05`). Compras and fisico shapes are INFERRED (docs/avapos-wire.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from posbridge.sandboxes.avapos_world import (
    AvaWorld,
    Compra,
    Factura,
    Producto,
    Reserva,
    RoomType,
    money,
)
from posbridge.sandboxes.faults import Faults, kinds_except, malform

__all__ = [
    "MALFORMED_KINDS",
    "ApiError",
    "daily_totals",
    "get_clientes",
    "get_compras",
    "get_facturas",
    "get_fisico",
    "get_productos",
    "get_reservas",
    "malformed_facturas",
    "num",
    "parse_day",
]


class ApiError(Exception):
    """A plain-text error answer (the vendor returns these instead of JSON)."""


# where `malform` corrupts a factura: the first consumo's price (else the total), the
# time, the IVA amount the rate is read back from, the first consumo's quantity. A
# factura names no currency (Ecuador uses USD), so `currency_mismatch` cannot occur.
MALFORMED_KINDS = kinds_except("currency_mismatch")
_AMOUNT_PATHS = (("consumos", 0, "precio"), ("total",))
_TIME_PATHS = (("fecha",),)
_VAT_PATHS = (("impuestos", 0, "valor"),)
_QUANTITY_PATHS = (("consumos", 0, "cantidad"),)


def num(value: Decimal) -> str:
    """A Decimal as the vendor's string: no exponent, no trailing zeros (`15`, `0.8772`)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def cents(value: Decimal) -> str:
    """A header amount as the vendor prints it: two decimals."""
    return f"{money(value):.2f}"


def parse_day(value: Any) -> date:
    """`YYYY-MM-DD` (vendor document) or `dd/mm/yyyy` (third-party adapter): both accepted."""
    text = str(value or "").strip()
    try:
        if "/" in text:
            d, m, y = text.split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ApiError("Error: fecha no válida") from None


def _window(data: Mapping[str, Any]) -> tuple[date, date]:
    if "desde" not in data or "hasta" not in data:
        raise ApiError("Error: faltan las fechas desde y hasta")
    return parse_day(data["desde"]), parse_day(data["hasta"])


def fecha_text(moment: datetime) -> str:
    """`2016-07-15 13:15:13-05`: Postgres timestamptz output with an hour-only offset."""
    offset = moment.utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return f"{moment:%Y-%m-%d %H:%M:%S}{hours:+03d}"


def render_producto(p: Producto) -> dict[str, str]:
    return {
        "id": str(p.id),
        "nombre": p.nombre,
        "codigo": p.codigo,
        "precio": num(p.precio),
        "color": p.color,
        "matprima": str(p.matprima),
        "productofinal": str(p.productofinal),
        "categoria": p.categoria,
        "activo": str(p.activo),
        "conimpuestos": str(p.conimpuestos),
    }


def render_factura(f: Factura) -> dict[str, Any]:
    taxable = sum((c.neto for c in f.consumos if c.taxed), Decimal(0))
    impuestos = []
    if f.iva:
        impuestos.append({"id": "1", "nombre": "IVA", "valor": num(taxable * f.iva_rate / 100)})
    if f.servicio:
        impuestos.append({"id": "2", "nombre": "Servicio", "valor": num(f.servicio)})
    return {
        "id": str(f.id),
        "total": cents(f.total),
        "subtotal": cents(f.subtotal),
        "fecha": fecha_text(f.fecha),
        "establecimiento": f.establecimiento,
        "caja": f.caja,
        "numerofactura": f.numerofactura,
        "iva": cents(f.iva),
        "servicio": cents(f.servicio),
        "propina": cents(f.propina),
        "abono": cents(f.abono),
        "descuento": cents(f.descuento),
        "cliente": [{"nombre": f.cliente.nombre, "cedula": f.cliente.cedula}]
        if f.cliente
        else [{}],
        "impuestos": impuestos,
        "consumos": [
            {
                "producto": c.producto,
                "cantidad": num(c.cantidad),
                "precio": num(c.precio),
                "descuento": num(c.descuento),
                "impuestos": "i " if c.taxed else "",
            }
            for c in f.consumos
        ],
        "pagos": [{"formapago": p.formapago, "valor": num(p.valor)} for p in f.pagos],
    }


def get_facturas(world: AvaWorld, data: Mapping[str, Any]) -> dict[str, Any]:
    desde, hasta = _window(data)
    rows = [f for f in world.facturas if desde <= f.fecha.date() <= hasta]
    return {"Facturas": [render_factura(f) for f in sorted(rows, key=lambda f: f.id)]}


def malformed_facturas(answer: dict[str, Any], faults: Faults) -> dict[str, Any]:
    """`get facturas` with the facturas named by `malformed_orders` corrupted."""
    bad, _dropped, kind = faults.record_faults()
    if not bad:
        return answer
    rows = [
        malform(
            row,
            kind,
            amount=_AMOUNT_PATHS,
            time=_TIME_PATHS,
            vat=_VAT_PATHS,
            quantity=_QUANTITY_PATHS,
        )
        if int(row["id"]) in bad
        else row
        for row in answer["Facturas"]
    ]
    return {**answer, "Facturas": rows}


def get_productos(world: AvaWorld, _data: Mapping[str, Any]) -> dict[str, Any]:
    return {"Productos": [render_producto(p) for p in world.productos.values()]}


def get_clientes(world: AvaWorld, _data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Clientes": [
            {
                "nombre": c.nombre,
                "cedula": c.cedula,
                "telefono": c.telefono,
                "direccion": c.direccion,
                "email": c.email,
            }
            for c in world.clientes.values()
        ]
    }


def _slash(d: date | None) -> str:
    return "" if d is None else f"{d:%Y/%m/%d}"


def render_reserva(r: Reserva) -> dict[str, str]:
    channel_type = "On Line" if r.commission_rate else "Off Line"
    gross = r.net_price + r.tax
    return {
        "ID": str(r.id),
        "channel": r.channel,
        "channel_type": channel_type,
        "status": r.status,
        "booking_date": _slash(r.booking_date),
        "cancel_date": _slash(r.cancel_date),
        "check-in_date": _slash(r.checkin),
        "check-out_date": _slash(r.checkout),
        "net_price": cents(r.net_price),
        "commissioned_price": cents(r.net_price + r.commission) if r.commission else "0.00",
        "gross_price": cents(gross),
        "pvp_price": cents(gross),
        "currency": "USD",
        "adult_occupancy": str(r.adults),
        "children_occupancy": str(r.children),
        "physical_room": r.room_type,
        "room_type": r.room_type,
        "rate_plan": "Rack" if r.channel == "Rack" else f"{r.channel} BAR",
        "guest_segment": "",
        "guest_nacionality": r.nationality,
        "meal_plan": "",
        "meal_price": "",
        "cancel": "",
        "cancel_revenue": "0.00",
        "group": "false",
    }


def daily_totals(
    reservas: Iterable[Reserva], room_types: Iterable[RoomType]
) -> list[dict[str, str]]:
    """Per night and room type: revenue (net nightly rate), occupancy %, ADR and RevPAR.

    Cancelled stays count nowhere. occupancy = occupied / net inventory × 100; ADR =
    revenue / occupied; RevPAR = revenue / net inventory; net inventory = rooms − blocked;
    availability = net inventory − occupied. Rounded half-up to cents. Only nights with at
    least one occupied room are listed.
    """
    types = {t.name: t for t in room_types}
    acc: dict[tuple[date, str], tuple[int, Decimal]] = {}
    for r in reservas:
        if r.status == "Cancelada":
            continue
        for n in range(r.nights):
            key = (r.checkin + timedelta(days=n), r.room_type)
            occ, rev = acc.get(key, (0, Decimal(0)))
            acc[key] = (occ + 1, rev + r.rate)
    out = []
    for (day, name), (occ, rev) in sorted(acc.items()):
        t = types[name]
        net_inv = t.inventory - t.blocked
        q = Decimal("0.01")
        out.append(
            {
                "date": f"{day:%Y-%m-%d} 00:00:00",
                "physical_room": name,
                "room_revenue": cents(rev),
                "occupied_rooms": str(occ),
                "room_availability": str(net_inv - occ),
                "net_room_inventory": str(net_inv),
                "room_inventory": str(t.inventory),
                "room_occupancy": f"{(Decimal(occ) * 100 / net_inv).quantize(q, ROUND_HALF_UP)}",
                "room_adr": f"{(rev / occ).quantize(q, ROUND_HALF_UP)}",
                "room_revpar": f"{(rev / net_inv).quantize(q, ROUND_HALF_UP)}",
                "currency": "USD",
            }
        )
    return out


def get_reservas(world: AvaWorld, data: Mapping[str, Any]) -> dict[str, Any]:
    if "checkout" not in data:
        raise ApiError("Error: falta la fecha de checkout")
    limit = parse_day(data["checkout"])
    rows = [r for r in world.reservas if r.checkout <= limit]
    return {
        "totales": daily_totals(rows, world.room_types),
        "detalles": [render_reserva(r) for r in sorted(rows, key=lambda r: -r.id)],
    }


def render_compra(c: Compra) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "fecha": fecha_text(c.fecha),
        "establecimiento": c.establecimiento,
        "proveedor": c.proveedor,
        "ruc": c.ruc,
        "numerofactura": c.numerofactura,
        "subtotal": cents(c.subtotal),
        "iva": cents(c.iva),
        "total": cents(c.subtotal + c.iva),
        "detalles": [
            {
                "id": str(x.product_id),
                "producto": x.producto,
                "cantidad": num(x.cantidad),
                "costo": num(x.costo),
            }
            for x in c.lineas
        ],
    }


def get_compras(world: AvaWorld, data: Mapping[str, Any]) -> dict[str, Any]:
    desde, hasta = _window(data)
    rows = [c for c in world.compras if desde <= c.fecha.date() <= hasta]
    return {"Compras": [render_compra(c) for c in rows]}


def get_fisico(world: AvaWorld, data: Mapping[str, Any]) -> dict[str, Any]:
    est = str(data.get("establecimiento") or "")
    rows = []
    for (e, pid), qty in sorted(world.fisico.items()):
        if est and e != est:
            continue
        p = world.productos[pid]
        rows.append(
            {
                "id": str(pid),
                "producto": p.nombre,
                "codigo": p.codigo,
                "establecimiento": e,
                "cantidad": num(qty),
            }
        )
    return {"Fisico": rows}
