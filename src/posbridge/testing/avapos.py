"""The AvaPOS oracle: an AvaPOS sandbox world against what the store holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC
from decimal import Decimal
from typing import Any

from posbridge.model import Customer, Order, Product, Report, Reservation, StockMovement
from posbridge.store.repo import Store
from posbridge.testing.keys import duplicate_keys

__all__ = ["world_differences"]

_STATUS = {"Confirmada": "confirmed", "Requerida": "requested", "Cancelada": "cancelled"}


def _by_id(records: Iterable[Any]) -> dict[str, Any]:
    return {r.record.source_id: r.record for r in records}


def world_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[Any] = ()
) -> list[str]:
    """Every difference between an AvaPOS sandbox world and the store (empty = equal).

    `skip` names factura ids expected to be missing (quarantined on purpose by a test).
    """
    diffs: list[str] = duplicate_keys(store, connection_id)
    diffs += _orders(store, connection_id, world, {str(s) for s in skip})
    diffs += _catalog(store, connection_id, world)
    diffs += _hotel_and_stock(store, connection_id, world)
    return diffs


def _order_problems(s: Order, f: Any) -> list[str]:
    problems = []
    taxable = sum((c.neto for c in f.consumos if c.taxed), Decimal(0))
    want = {
        "number": f.number,
        "total": f.total,
        "net": f.total - f.iva,
        "tax": f.iva,
        "service": f.servicio,
        "tip": f.propina,
        "time": f.fecha.astimezone(UTC),
        "customer": f.cliente.cedula if f.cliente else None,
        "lines": [(c.producto, c.cantidad, c.neto, c.descuento) for c in f.consumos],
        "iva": (f.iva_rate, taxable, f.iva) if taxable else None,
    }
    iva = next((t for t in s.taxes if t.rate), None)
    got = {
        "number": s.number,
        "total": s.total_gross,
        "net": s.total_net,
        "tax": s.total_tax,
        "service": s.service_total,
        "tip": s.tip_total,
        "time": s.occurred_at,
        "customer": s.customer_source_id,
        "lines": [(x.name, x.quantity, x.net, x.discount) for x in s.lines],
        "iva": (iva.rate, iva.net, iva.tax) if iva else None,
    }
    problems += [f"{k} {got[k]} != {want[k]}" for k in want if got[k] != want[k]]
    if sum((x.tax for x in s.lines), Decimal(0)) != f.iva:
        problems.append("line IVA does not add up to the header iva")
    got_pay = Counter((p.vendor_method, p.amount, p.is_change) for p in s.payments)
    want_pay = Counter(
        (p.formapago, p.valor, p.valor < 0 and p.formapago == "Efectivo") for p in f.pagos
    )
    if got_pay != want_pay:
        problems.append(f"payments {dict(got_pay)} != {dict(want_pay)}")
    gross = sum((x.gross for x in s.lines), Decimal(0))
    if gross - s.discount_total + s.service_total + s.tip_total + s.rounding != s.total_gross:
        problems.append("lines + service + tip != total")
    return problems


def _orders(store: Store, cid: str, world: Any, skip: set[str]) -> list[str]:
    diffs: list[str] = []
    stored = _by_id(store.records("order", cid))
    expected = {str(f.id): f for f in world.facturas if str(f.id) not in skip}
    diffs += [f"factura {sid} missing" for sid in expected.keys() - stored.keys()]
    diffs += [f"order {sid} not in the world" for sid in stored.keys() - expected.keys()]
    for sid in expected.keys() & stored.keys():
        s = stored[sid]
        assert isinstance(s, Order)
        problems = _order_problems(s, expected[sid])
        if problems:
            diffs.append(f"factura {sid} ({expected[sid].number}): " + "; ".join(problems))
    places = {f.establecimiento for f in world.facturas}
    cajas = {f"{f.establecimiento}-{f.caja}" for f in world.facturas}
    got_places = {r.record.source_id for r in store.records("location", cid)}
    got_cajas = {r.record.source_id for r in store.records("device", cid)}
    if got_places != places:
        diffs.append(f"locations {sorted(got_places)} != {sorted(places)}")
    if got_cajas != cajas:
        diffs.append(f"devices {sorted(got_cajas)} != {sorted(cajas)}")
    return diffs


def _catalog(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    products = _by_id(store.records("product", cid))
    for pid, wp in world.productos.items():
        sp = products.pop(str(pid), None)
        if not isinstance(sp, Product):
            diffs.append(f"producto {pid} missing")
        elif (sp.name, sp.sku, sp.prices[0].amount, sp.category_source_id, sp.active) != (
            wp.nombre,
            wp.codigo,
            wp.precio,
            wp.categoria,
            bool(wp.activo),
        ):
            diffs.append(f"producto {pid} differs")
    diffs += [f"product {p} not in the world" for p in products]
    categories = {r.record.source_id for r in store.records("category", cid)}
    if categories != {p.categoria for p in world.productos.values()}:
        diffs.append("categories differ from the productos' categoria names")
    customers = _by_id(store.records("customer", cid))
    for ced, wc in world.clientes.items():
        sc = customers.pop(ced, None)
        if not isinstance(sc, Customer):
            diffs.append(f"cliente {ced} missing")
        elif (sc.name, sc.email, sc.phone) != (wc.nombre, wc.email or None, wc.telefono or None):
            diffs.append(f"cliente {ced} differs")
    diffs += [f"customer {c} not in the world" for c in customers]
    return diffs


def _hotel_reports(store: Store, cid: str, world: Any) -> list[str]:
    """Nightly occupancy/ADR/RevPAR rows equal the sandbox's own totals, to the cent."""
    from posbridge.sandboxes.avapos_reads import daily_totals

    diffs: list[str] = []
    stored = _by_id(store.records("report", cid))
    for row in daily_totals(world.reservas, world.room_types):
        sid = f"hotel:{row['date'][:10]}:{row['physical_room']}"
        got = stored.pop(sid, None)
        want = {
            k: Decimal(v) for k, v in row.items() if k not in ("date", "physical_room", "currency")
        }
        if not isinstance(got, Report) or got.metrics != want:
            diffs.append(f"hotel report {sid} missing or different")
    diffs += [f"report {sid} not in the world" for sid in stored]
    return diffs


def _hotel_and_stock(store: Store, cid: str, world: Any) -> list[str]:
    diffs: list[str] = []
    stays = _by_id(store.records("reservation", cid))
    for r in world.reservas:
        s = stays.pop(str(r.id), None)
        want = (_STATUS[r.status], r.room_type, r.net_price + r.tax, r.adults + r.children)
        if not isinstance(s, Reservation):
            diffs.append(f"reserva {r.id} missing")
        elif (s.status, s.room_type, s.amount, s.persons) != want:
            diffs.append(f"reserva {r.id} differs")
    diffs += [f"reservation {sid} not in the world" for sid in stays]
    diffs += _hotel_reports(store, cid, world)
    moves = _by_id(store.records("stock_movement", cid))
    for c in world.compras:
        s = moves.pop(f"compra:{c.id}", None)
        if not isinstance(s, StockMovement) or [
            (x.product_source_id, x.quantity, x.unit_cost) for x in s.lines
        ] != [(str(x.product_id), x.cantidad, x.costo) for x in c.lineas]:
            diffs.append(f"compra {c.id} missing or different")
    for (est, pid), qty in world.fisico.items():
        s = moves.pop(f"fisico:{est}:{pid}", None)
        if not isinstance(s, StockMovement) or s.lines[0].quantity != qty:
            diffs.append(f"fisico {est}/{pid} missing or different")
    diffs += [f"stock movement {sid} not in the world" for sid in moves]
    return diffs
