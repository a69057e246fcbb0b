"""AvaPOS sandbox: `create` and `set` (productos, clientes, asientos, facturas).

Successes answer the bare id (the identification for clientes) as plain text; failures a
plain-text `Error: …` string. Rules and texts are in docs/avapos-wire.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posbridge.connectors.avapos.ident import is_valid_identification
from posbridge.sandboxes.avapos_reads import ApiError, parse_day
from posbridge.sandboxes.avapos_world import (
    AvaWorld,
    Cliente,
    Consumo,
    Pago,
    Producto,
    build_factura,
    iva_rate,
    money,
)

__all__ = [
    "create_asiento",
    "create_cliente",
    "create_factura",
    "create_producto",
    "set_cliente",
    "set_producto",
]

INVALID_ID = "Error: identificación no válida"
_NUMBER = re.compile(r"(\d{3})-(\d{3})-(\d{9})")


def _text(data: Mapping[str, Any], key: str) -> str:
    return str(data.get(key) or "").strip()


def _required(data: Mapping[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not _text(data, k)]
    if missing:
        raise ApiError("Error: faltan campos obligatorios (" + ", ".join(missing) + ")")


def _dec(value: Any, name: str) -> Decimal:
    try:
        d = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ApiError(f"Error: {name} no es un número") from None
    if not d.is_finite():
        raise ApiError(f"Error: {name} no es un número")
    return d


def _flag(value: Any, default: int) -> int:
    text = str(value if value is not None else "").strip()
    return default if text == "" else (1 if text == "1" else 0)


def create_producto(world: AvaWorld, data: Mapping[str, Any], _now: datetime) -> str:
    _required(data, "nombre", "categoria")
    nombre = _text(data, "nombre")
    if any(p.nombre.lower() == nombre.lower() for p in world.productos.values()):
        raise ApiError("Error: ya existe un producto con ese nombre")
    codigo = _text(data, "codigo")
    if codigo and any(p.codigo == codigo for p in world.productos.values()):
        raise ApiError("Error: ya existe un producto con ese código")
    pid = world.next_product_id
    world.next_product_id += 1
    world.productos[pid] = Producto(
        pid,
        nombre,
        codigo or str(pid),
        _dec(data.get("precio"), "precio"),
        _text(data, "categoria"),
        _text(data, "color"),
        conimpuestos=_flag(data.get("conimpuestos"), 1),
    )
    return str(pid)


def set_producto(world: AvaWorld, data: Mapping[str, Any], _now: datetime) -> str:
    _required(data, "id", "nombre", "categoria")
    try:
        product = world.productos[int(_text(data, "id"))]
    except (KeyError, ValueError):
        raise ApiError("Error: producto no encontrado") from None
    nombre = _text(data, "nombre")
    others = [p for p in world.productos.values() if p.id != product.id]
    if any(p.nombre.lower() == nombre.lower() for p in others):
        raise ApiError("Error: ya existe un producto con ese nombre")
    codigo = _text(data, "codigo")
    if codigo and any(p.codigo == codigo for p in others):
        raise ApiError("Error: ya existe un producto con ese código")
    product.nombre, product.categoria = nombre, _text(data, "categoria")
    if codigo:
        product.codigo = codigo
    if _text(data, "precio"):
        product.precio = _dec(data["precio"], "precio")
    if _text(data, "conimpuestos"):
        product.conimpuestos = _flag(data["conimpuestos"], product.conimpuestos)
    if "color" in data:
        product.color = _text(data, "color")
    return str(product.id)


def create_cliente(world: AvaWorld, data: Mapping[str, Any], _now: datetime) -> str:
    _required(data, "nombre", "identificacion")
    ident = _text(data, "identificacion")
    if not is_valid_identification(ident):
        raise ApiError(INVALID_ID)
    if ident in world.clientes:
        raise ApiError("Error: ya existe un cliente con esa identificación")
    world.clientes[ident] = Cliente(
        _text(data, "nombre"),
        ident,
        _text(data, "telefono"),
        _text(data, "direccion"),
        _text(data, "email"),
    )
    return ident


def set_cliente(world: AvaWorld, data: Mapping[str, Any], _now: datetime) -> str:
    _required(data, "nombre", "identificacion")
    ident = _text(data, "identificacion")
    client = world.clientes.get(ident)
    if client is None:
        raise ApiError("Error: cliente no encontrado")
    client.nombre = _text(data, "nombre")
    for key in ("telefono", "direccion", "email"):
        if key in data:
            setattr(client, key, _text(data, key))
    return ident


def create_asiento(world: AvaWorld, data: Mapping[str, Any], now: datetime) -> str:
    cuentas = data.get("cuentas")
    if not isinstance(cuentas, list) or not cuentas:
        raise ApiError("Error: faltan las cuentas del asiento")
    diarios = []
    for c in cuentas:
        if not isinstance(c, dict) or not _text(c, "nombre") or "debe" not in c or "haber" not in c:
            raise ApiError("Error: cuenta incompleta (nombre, debe, haber)")
        valor = _dec(c["debe"], "debe") - _dec(c["haber"], "haber")
        diarios.append(
            {
                "cuenta": _text(c, "nombre"),
                "valor": valor,
                "centrocosto": _text(c, "centrocosto"),
                "descripcion": _text(c, "descripcion"),
            }
        )
    fecha = parse_day(data["fecha"]) if _text(data, "fecha") else now.date()
    aid = len(world.asientos) + 1
    world.asientos.append(
        {
            "id": aid,
            "fecha": fecha,
            "referencia": _text(data, "referencia"),
            "documento": _text(data, "documento"),
            "observacion": _text(data, "observacion"),
            "diarios": diarios,
        }
    )
    return str(aid)


def create_factura(world: AvaWorld, data: Mapping[str, Any], now: datetime) -> str:
    cli, fac = data.get("cliente"), data.get("factura")
    prods, pagos = data.get("productos"), data.get("pagos")
    if not (isinstance(cli, dict) and isinstance(fac, dict)):
        raise ApiError("Error: faltan los objetos cliente y factura")
    if not (isinstance(prods, list) and prods and isinstance(pagos, list)):
        raise ApiError("Error: faltan los productos o los pagos")
    _required(cli, "cedula", "nombre")
    ident = _text(cli, "cedula")
    if not is_valid_identification(ident):
        raise ApiError(INVALID_ID)
    _required(fac, "numerofact", "fecha", "total", "subtotal_iva", "subtotal_sin_iva")
    match = _NUMBER.fullmatch(_text(fac, "numerofact"))
    if not match:
        raise ApiError("Error: numerofact debe tener el formato 001-001-000000001")
    est, caja, seq = match.groups()
    if any(
        (f.establecimiento, f.caja, f.numerofactura) == (est, caja, seq) for f in world.facturas
    ):
        raise ApiError("Error: la factura ya existe")
    day = parse_day(fac["fecha"])
    taxes = {
        _text(t, "nombre").lower(): t for t in fac.get("impuestos") or [] if isinstance(t, dict)
    }
    rate = _dec(taxes["iva"].get("porcentaje"), "porcentaje") if "iva" in taxes else iva_rate(day)
    lines = []
    for n, p in enumerate(prods, 1):
        if not isinstance(p, dict):
            raise ApiError("Error: producto no válido")
        _required(p, "nombre", "cantidad", "precio_unitario")
        line = Consumo(
            _text(p, "nombre"),
            next(
                (
                    x.id
                    for x in world.productos.values()
                    if x.codigo == _text(p, "codigo") or x.nombre == _text(p, "nombre")
                ),
                0,
            ),
            _dec(p["cantidad"], "cantidad"),
            _dec(p["precio_unitario"], "precio_unitario"),
            _dec(p.get("descuento"), "descuento"),
            "iva" in _text(p, "impuestos").lower(),
        )
        stated = p.get("precio_sin_imp", p.get("precio_sim_imp"))
        if stated is not None and _dec(stated, "precio_sin_imp") != line.neto:
            raise ApiError(f"Error: precio_sin_imp del producto {n} no cuadra")
        lines.append(line)
    served = "servicio" in taxes
    tip = money(_dec(fac.get("propina"), "propina"))
    payments = [
        Pago(_text(x, "forma") or "efectivo", _dec(x.get("valor"), "valor"))
        for x in pagos
        if isinstance(x, dict)
    ]
    client = world.clientes.setdefault(
        ident,
        Cliente(
            _text(cli, "nombre"),
            ident,
            _text(cli, "telefono"),
            _text(cli, "direccion"),
            _text(cli, "email"),
        ),
    )
    moment = datetime.combine(day, now.timetz().replace(microsecond=0)).replace(tzinfo=now.tzinfo)
    f = build_factura(
        None,
        world.next_factura_id,
        moment,
        (est, caja),
        int(seq),
        client,
        lines,
        rate,
        service=served,
        propina=tip,
        pagos=payments,
    )
    checks = [
        (f.subtotal - sum((c.neto for c in lines if not c.taxed), Decimal(0)), "subtotal_iva"),
        (sum((c.neto for c in lines if not c.taxed), Decimal(0)), "subtotal_sin_iva"),
        (f.total, "total"),
    ]
    for expected, key in checks:
        if _dec(fac[key], key) != expected:
            raise ApiError(f"Error: {key} no cuadra")
    for name, amount in (("iva", f.iva), ("servicio", f.servicio)):
        if name in taxes and _dec(taxes[name].get("valor"), name) != amount:
            raise ApiError(f"Error: el valor de {name} no cuadra")
    if sum((x.valor for x in payments), Decimal(0)) != f.total:
        raise ApiError("Error: los pagos no cuadran con el total")
    world.next_factura_id += 1
    world.facturas.append(f)
    return str(f.id)
