"""AvaPOS records ↔ the normalized model. Pure functions, no I/O.

Facturas become orders: consumo prices are net (4 decimals); a line's net is
`round2(cantidad × precio − descuento)`, its IVA `round2(net × rate)` with the cent
residual put on the largest taxed line so Σ line IVA equals the header `iva`. The IVA
rate is never hard-coded: it is read back from the invoice's own `impuestos` (exact
value ÷ taxed net), snapped to a known Ecuadorian rate. `servicio` (10%) is the service
charge, `propina` the tip; a negative cash payment is the change given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from posbridge.connectors.avapos.ident import classify
from posbridge.connectors.fieldmap import RULES, Field, map_fields
from posbridge.errors import MappingError
from posbridge.model import (
    Category,
    Customer,
    Device,
    Location,
    Order,
    OrderLine,
    Payment,
    Price,
    Product,
    Record,
    Report,
    Reservation,
    StockMovement,
    StockMovementLine,
    TaxTotal,
)
from posbridge.model.consistency import check_order
from posbridge.model.money import round_half_up
from posbridge.model.sales import PaymentMethod

TZ_NAME: Final = "America/Guayaquil"
TZ: Final = ZoneInfo(TZ_NAME)
CURRENCY: Final = "USD"
#: IVA rates Ecuador has used (percent); a computed rate is snapped to the nearest one.
EC_RATES: Final = tuple(Decimal(r) for r in ("0", "5", "8", "12", "13", "14", "15"))
_PAYMENTS: Final[dict[str, PaymentMethod]] = {
    "efectivo": "cash",
    "tarjeta": "card",
    "tarjetas": "card",
    "tarjeta de crédito": "credit_card",
    "tarjeta de débito": "debit_card",
    "transferencia": "bank_transfer",
    "cheque": "cheque",
    "credito": "customer_credit",
    "crédito": "customer_credit",
}
_STATUS: Final[dict[str, Any]] = {
    "confirmada": "confirmed",
    "requerida": "requested",
    "cancelada": "cancelled",
    "check-in": "seated",
    "checkin": "seated",
    "check-out": "completed",
    "checkout": "completed",
}

F = Field
FIELD_MAP: Final[dict[str, tuple[str, list[Field]]]] = {
    "orders": (
        "get facturas {desde, hasta}",
        [
            F("id", "source_id", "id", True),
            F("numerofactura", "number", "computed", True, "`EEE-CCC-NNNNNNNNN`"),
            F("fecha", "occurred_at", "computed", True, "`2016-07-15 13:15:13-05` → UTC"),
            F("establecimiento", "location_source_id", "text"),
            F("caja", "device_source_id", "computed", note="`<establecimiento>-<caja>`"),
            F("cliente[].cedula", "customer_source_id", "text"),
            F("total", "total_gross", "decimal", True),
            F("iva", "total_tax", "decimal", True, "IVA only; net = total − iva"),
            F("subtotal", "taxes[].net", "decimal", note="split taxed/untaxed by consumo flag"),
            F("servicio", "service_total", "decimal", note="10% service charge"),
            F("propina", "tip_total", "decimal"),
            F("descuento", "discount_total", "computed", note="header − Σ line descuento"),
            F("impuestos[].valor", "taxes[].rate", "computed", note="IVA % = valor ÷ taxed net"),
            F("consumos[].producto", "lines[].name", "text"),
            F("consumos[].cantidad", "lines[].quantity", "decimal"),
            F("consumos[].precio", "lines[].unit_price_gross", "computed", note="net → gross"),
            F("consumos[].descuento", "lines[].discount", "decimal"),
            F("consumos[].impuestos", "lines[].tax_rate", "computed", note="`i ` = taxed"),
            F("pagos[].formapago", "payments[].method", "computed"),
            F("pagos[].valor", "payments[].amount", "decimal", note="negative = change"),
        ],
    ),
    "products": (
        "get productos",
        [
            F("id", "source_id", "id", True),
            F("nombre", "name", "text", True),
            F("codigo", "sku", "text"),
            F("categoria", "category_source_id", "text", note="category name is its id"),
            F("precio", "prices[].amount", "decimal", note="net of tax (includes_tax=false)"),
            F("conimpuestos", "tax_rate", "computed", note="0 → 0%, 1 → the active IVA"),
            F("activo", "active", "flag_01"),
        ],
    ),
    "customers": (
        "get clientes",
        [
            F("cedula", "source_id", "text", True, "cédula, RUC or passport"),
            F("nombre", "name", "text"),
            F("telefono", "phone", "text"),
            F("direccion", "street", "text"),
            F("email", "email", "text"),
            F("cedula", "vat_number", "computed", note="RUC (13 digits)"),
            F("cedula", "national_id", "computed", note="cédula or passport"),
        ],
    ),
    "reservations": (
        "get reservas {checkout}.detalles",
        [
            F("ID", "source_id", "id", True),
            F("status", "status", "computed", note="Confirmada/Requerida/Cancelada"),
            F("check-in_date", "starts_at", "computed", note="`YYYY/MM/DD` local midnight"),
            F("check-out_date", "ends_at", "computed"),
            F("room_type", "room_type", "text"),
            F("adult_occupancy", "persons", "computed", note="adults + children"),
            F("pvp_price", "amount", "decimal"),
            F("currency", "currency", "text"),
        ],
    ),
    "purchases": (
        "get compras {desde, hasta} (INFERRED shape)",
        [
            F("id", "source_id", "computed", True, "`compra:<id>`"),
            F("numerofactura", "number", "text"),
            F("establecimiento", "location_source_id", "text"),
            F("detalles[].cantidad", "lines[].quantity", "decimal"),
            F("detalles[].costo", "lines[].unit_cost", "decimal"),
        ],
    ),
    "stock": (
        "get fisico (INFERRED shape)",
        [
            F("id", "source_id", "computed", True, "`fisico:<establecimiento>:<id>`"),
            F("cantidad", "lines[].quantity", "decimal"),
        ],
    ),
}
_PRODUCT_FLAT = [
    f for f in FIELD_MAP["products"][1] if f.model in ("source_id", "name", "sku", "active")
]
_CUSTOMER_FLAT = [f for f in FIELD_MAP["customers"][1] if f.rule == "text"]


def _money(v: Any) -> Decimal:
    if v is None or v == "":
        return Decimal(0)
    result: Decimal = RULES["decimal"](v)
    return result


def parse_fecha(v: Any) -> datetime:
    """`2016-07-15 13:15:13-05` (Postgres timestamptz text) → aware datetime."""
    if v is None or v == "":
        raise MappingError("missing required field 'fecha'")
    try:
        moment = datetime.fromisoformat(str(v).strip())
    except ValueError:
        raise MappingError(f"fecha {v!r} is not a timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def _slash_date(v: Any) -> date | None:
    text = str(v or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10].replace("/", "-"))
    except ValueError:
        raise MappingError(f"date {v!r} is not YYYY/MM/DD") from None


def snap_rate(tax: Decimal, base: Decimal) -> Decimal:
    """The IVA percent of `tax` on `base`, snapped to a known Ecuadorian rate.

    More than 0.6 points from every rate Ecuador has used is an unknown rate: the
    record is quarantined rather than stored with a rate no closure or report knows.
    """
    if not base or not tax:
        return Decimal(0)
    exact = tax * 100 / base
    best = min(EC_RATES, key=lambda r: abs(r - exact))
    if abs(best - exact) > Decimal("0.6"):
        known = ", ".join(str(r) for r in EC_RATES)
        raise MappingError(
            f"unknown IVA rate: {tax} on a taxed net of {base} is "
            f"{round_half_up(exact, 2)}%, not an Ecuadorian rate ({known})"
        )
    return best


def _lines(raw: Mapping[str, Any], rate: Decimal, iva: Decimal) -> list[OrderLine]:
    items = []
    for c in raw.get("consumos") or []:
        qty, price, disc = (
            _money(c.get("cantidad")),
            _money(c.get("precio")),
            _money(c.get("descuento")),
        )
        taxed = "i" in str(c.get("impuestos") or "").lower()
        net = round_half_up(qty * price - disc, 2)
        tax = round_half_up(net * rate / 100, 2) if taxed else Decimal(0)
        items.append([c, qty, price, disc, taxed, net, tax])
    taxed_items = [i for i in items if i[4]]
    if taxed_items:
        residual = iva - sum((i[6] for i in taxed_items), Decimal(0))
        max(taxed_items, key=lambda i: i[5])[6] += residual
    lines = []
    for n, (c, qty, price, disc, taxed, net, tax) in enumerate(items, 1):
        r = rate if taxed else Decimal(0)
        lines.append(
            OrderLine(
                line_no=n,
                name=RULES["text"](c.get("producto")),
                quantity=qty,
                unit_price_gross=round_half_up(price * (100 + r) / 100, 4),
                tax_rate=r,
                discount=disc,
                gross=net + tax,
                net=net,
                tax=tax,
            )
        )
    return lines


def payment_method(name: str) -> PaymentMethod:
    """Vendor `formapago` → normalized method."""
    low = name.strip().lower()
    if low in _PAYMENTS:
        return _PAYMENTS[low]
    return "card" if low.startswith("tarjeta") else "other"


def to_order(raw: Mapping[str, Any]) -> Order:
    """A factura → Order (IVA per line, servicio, propina, change as negative cash)."""
    sid = RULES["id"](raw.get("id"))
    if sid is None:
        raise MappingError("factura without id")
    est, caja = str(raw.get("establecimiento") or ""), str(raw.get("caja") or "")
    occurred = parse_fecha(raw.get("fecha"))
    total, iva, subtotal = (
        _money(raw.get("total")),
        _money(raw.get("iva")),
        _money(raw.get("subtotal")),
    )
    consumos = raw.get("consumos") or []
    for n, c in enumerate(consumos, 1):
        if _money(c.get("cantidad")) < 0:
            # "la cantidad de items facturados": a factura sells; the API has no returns.
            raise MappingError(
                f"consumo {n} has cantidad {c.get('cantidad')} on a factura: "
                "a factura's quantities are items sold, never negative"
            )
    taxed_net = sum(
        (
            round_half_up(
                _money(c.get("cantidad")) * _money(c.get("precio")) - _money(c.get("descuento")), 2
            )
            for c in consumos
            if "i" in str(c.get("impuestos") or "").lower()
        ),
        Decimal(0),
    )
    if not consumos:
        taxed_net = subtotal if iva else Decimal(0)
    exact = next(
        (
            _money(t.get("valor"))
            for t in raw.get("impuestos") or []
            if str(t.get("nombre", "")).lower() == "iva"
        ),
        iva,
    )
    rate = snap_rate(exact, taxed_net)
    lines = _lines(raw, rate, iva)
    taxes = []
    if taxed_net:
        taxes.append(TaxTotal(rate=rate, net=taxed_net, tax=iva, gross=taxed_net + iva))
    if subtotal - taxed_net:
        free = subtotal - taxed_net
        taxes.append(TaxTotal(rate=Decimal(0), net=free, tax=Decimal(0), gross=free))
    payments = []
    for p in raw.get("pagos") or []:
        name = str(p.get("formapago") or "")
        amount = _money(p.get("valor"))
        method = payment_method(name)
        payments.append(
            Payment(
                method=method,
                vendor_method=name,
                amount=amount,
                currency=CURRENCY,
                is_change=amount < 0 and method == "cash",
            )
        )
    clients = raw.get("cliente") or []
    cedula = (
        RULES["text"](clients[0].get("cedula"))
        if clients and isinstance(clients[0], dict)
        else None
    )
    line_disc = sum((line.discount for line in lines), Decimal(0))
    order = Order(
        source_id=sid,
        number=f"{est}-{caja}-{raw.get('numerofactura')}",
        location_source_id=est or None,
        device_source_id=f"{est}-{caja}" if est and caja else None,
        customer_source_id=cedula,
        occurred_at=occurred.astimezone(ZoneInfo("UTC")),
        source_timezone=TZ_NAME,
        business_date=occurred.astimezone(TZ).date(),
        currency=CURRENCY,
        lines=lines,
        payments=payments,
        taxes=taxes,
        total_gross=total,
        total_net=total - iva,
        total_tax=iva,
        discount_total=_money(raw.get("descuento")) - line_disc,
        service_total=_money(raw.get("servicio")),
        tip_total=_money(raw.get("propina")),
    )
    return check_order(order)  # a factura carries no currency (USD by law in Ecuador)


def places_of_order(order: Record) -> list[Record]:
    """Establishment and cash box an invoice names (AvaPOS has no list of either)."""
    assert isinstance(order, Order)
    out: list[Record] = []
    if order.location_source_id:
        out.append(
            Location(
                source_id=order.location_source_id,
                name=f"Establecimiento {order.location_source_id}",
                timezone=TZ_NAME,
                currency=CURRENCY,
                country="EC",
            )
        )
    if order.device_source_id:
        out.append(
            Device(
                source_id=order.device_source_id,
                name=f"Caja {order.device_source_id}",
                location_source_id=order.location_source_id,
            )
        )
    return out


def to_product(raw: Mapping[str, Any]) -> Product:
    """A producto: price net of tax; `conimpuestos` 0 means exempt (0%)."""
    kw = map_fields(_PRODUCT_FLAT, raw)
    category = RULES["text"](raw.get("categoria"))
    taxed = str(raw.get("conimpuestos", "1")).strip() != "0"
    return Product(
        **kw,
        category_source_id=category,
        prices=[Price(amount=_money(raw.get("precio")), currency=CURRENCY, includes_tax=False)],
        tax_rate=None if taxed else Decimal(0),
    )


def category_of_product(product: Record) -> list[Record]:
    """AvaPOS categories exist only as product `categoria` names."""
    assert isinstance(product, Product)
    if not product.category_source_id:
        return []
    return [Category(source_id=product.category_source_id, name=product.category_source_id)]


def to_customer(raw: Mapping[str, Any]) -> Customer:
    """A cliente; the identification is the id (RUC → vat_number, else national_id)."""
    kw = map_fields(_CUSTOMER_FLAT, raw)
    ident = kw["source_id"]
    kind = classify(ident)
    return Customer(
        **kw,
        vat_number=ident if kind == "ruc" else None,
        national_id=ident if kind in ("cedula", "passport") else None,
        country="EC",
    )


def to_reservation(raw: Mapping[str, Any]) -> Reservation:
    """A reservas `detalles` row → a room Reservation (dates at local midnight)."""
    sid = RULES["id"](raw.get("ID"))
    if sid is None:
        raise MappingError("reserva without ID")
    start, end = _slash_date(raw.get("check-in_date")), _slash_date(raw.get("check-out_date"))
    status = _STATUS.get(str(raw.get("status") or "").strip().lower(), "requested")
    persons = int(raw.get("adult_occupancy") or 0) + int(raw.get("children_occupancy") or 0)
    return Reservation(
        source_id=sid,
        kind="room",
        persons=persons,
        starts_at=datetime.combine(start, time(), TZ) if start else None,
        ends_at=datetime.combine(end, time(), TZ) if end else None,
        status=status,
        room_type=RULES["text"](raw.get("room_type")),
        amount=_money(raw.get("pvp_price")),
        currency=RULES["text"](raw.get("currency")) or CURRENCY,
    )


_HOTEL_METRICS = (
    "room_revenue",
    "occupied_rooms",
    "room_availability",
    "net_room_inventory",
    "room_inventory",
    "room_occupancy",
    "room_adr",
    "room_revpar",
)


def to_hotel_report(raw: Mapping[str, Any]) -> Report:
    """A reservas `totales` row → Report(kind=hotel_occupancy) for one night and room type."""
    day = _slash_date(raw.get("date"))
    room = RULES["text"](raw.get("physical_room"))
    if day is None or room is None:
        raise MappingError("totales row without date or physical_room")
    metrics = {k: _money(raw.get(k)) for k in _HOTEL_METRICS if raw.get(k) not in (None, "")}
    return Report(
        source_id=f"hotel:{day.isoformat()}:{room}",
        kind="hotel_occupancy",
        business_date=day,
        dimension=room,
        currency=RULES["text"](raw.get("currency")) or CURRENCY,
        metrics=metrics,
    )


def to_purchase(raw: Mapping[str, Any]) -> StockMovement:
    """A compra (INFERRED shape) → StockMovement(kind=purchase)."""
    sid = RULES["id"](raw.get("id"))
    if sid is None:
        raise MappingError("compra without id")
    return StockMovement(
        source_id=f"compra:{sid}",
        kind="purchase",
        number=RULES["text"](raw.get("numerofactura")),
        location_source_id=RULES["text"](raw.get("establecimiento")),
        occurred_at=parse_fecha(raw.get("fecha")).astimezone(ZoneInfo("UTC")),
        currency=CURRENCY,
        lines=[
            StockMovementLine(
                product_source_id=RULES["id"](d.get("id")),
                name=RULES["text"](d.get("producto")),
                quantity=_money(d.get("cantidad")),
                unit_cost=_money(d.get("costo")),
            )
            for d in raw.get("detalles") or []
        ],
    )


def to_stock(raw: Mapping[str, Any]) -> StockMovement:
    """A fisico row (INFERRED shape) → StockMovement(kind=count) per establishment × product."""
    pid, est = RULES["id"](raw.get("id")), str(raw.get("establecimiento") or "")
    if pid is None:
        raise MappingError("fisico row without id")
    return StockMovement(
        source_id=f"fisico:{est}:{pid}",
        kind="count",
        location_source_id=est or None,
        lines=[
            StockMovementLine(
                product_source_id=pid,
                name=RULES["text"](raw.get("producto")),
                quantity=_money(raw.get("cantidad")),
            )
        ],
    )
