"""The AvaPOS world: an Ecuadorian restaurant with a small hotel, as AvaPOS keeps it.

Deterministic (one `random.Random(f"avapos:{seed}")`, no wall clock): establishments and
cash boxes, a catalogue with prices **net of tax** (4 decimals, like the vendor), clients
with valid cédulas/RUCs, invoices (`EEE-CCC-NNNNNNNNN`) with IVA at the rate of their
date, the 10% service charge, tips, line discounts and cash change as a negative
payment, hotel rooms and reservations, purchases and physical stock. Money is `Decimal`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from posbridge.connectors.avapos.ident import (
    CONSUMIDOR_FINAL,
    cedula_check_digit,
    ruc_private_check_digit,
)

__all__ = [
    "IVA_PERIODS",
    "SERVICE_RATE",
    "AvaWorld",
    "Caja",
    "Cliente",
    "Compra",
    "Consumo",
    "Factura",
    "Pago",
    "Producto",
    "Reserva",
    "RoomType",
    "generate_avapos_world",
    "iva_rate",
]

TZ = ZoneInfo("America/Guayaquil")
CENT = Decimal("0.01")
FOUR = Decimal("0.0001")
SERVICE_RATE = Decimal(10)
#: (first day, IVA percent): the standard rate of Ecuador over time.
IVA_PERIODS: tuple[tuple[date, Decimal], ...] = (
    (date(2000, 1, 1), Decimal(12)),
    (date(2016, 6, 1), Decimal(14)),
    (date(2017, 6, 1), Decimal(12)),
    (date(2024, 4, 1), Decimal(15)),
)


def iva_rate(day: date) -> Decimal:
    """The standard IVA percent in force on `day`."""
    rate = IVA_PERIODS[0][1]
    for start, r in IVA_PERIODS:
        if day >= start:
            rate = r
    return rate


def money(v: Decimal) -> Decimal:
    """Half-up to cents."""
    return v.quantize(CENT, ROUND_HALF_UP)


@dataclass(slots=True)
class Caja:
    establecimiento: str
    caja: str
    name: str


@dataclass(slots=True)
class Producto:
    """A product; `precio` is net of tax (4 decimals), `conimpuestos` 1 = taxed."""

    id: int
    nombre: str
    codigo: str
    precio: Decimal
    categoria: str
    color: str = ""
    matprima: int = 0
    productofinal: int = 1
    activo: int = 1
    conimpuestos: int = 1


@dataclass(slots=True)
class Cliente:
    nombre: str
    cedula: str
    telefono: str = ""
    direccion: str = ""
    email: str = ""


@dataclass(slots=True, frozen=True)
class Consumo:
    producto: str
    product_id: int
    cantidad: Decimal
    precio: Decimal  # net unit price, 4 decimals
    descuento: Decimal  # line discount amount (net)
    taxed: bool

    @property
    def neto(self) -> Decimal:
        """Line net after its discount, in cents."""
        return money(self.cantidad * self.precio - self.descuento)


@dataclass(slots=True, frozen=True)
class Pago:
    formapago: str
    valor: Decimal


@dataclass(slots=True)
class Factura:
    """An invoice: subtotal = Σ line net; total = subtotal + iva + servicio + propina."""

    id: int
    fecha: datetime  # aware, America/Guayaquil
    establecimiento: str
    caja: str
    numerofactura: str  # 9-digit sequence
    cliente: Cliente | None
    consumos: list[Consumo]
    iva_rate: Decimal
    subtotal: Decimal
    iva: Decimal
    servicio: Decimal
    propina: Decimal
    descuento: Decimal
    total: Decimal
    pagos: list[Pago]
    abono: Decimal = Decimal(0)

    @property
    def number(self) -> str:
        return f"{self.establecimiento}-{self.caja}-{self.numerofactura}"


@dataclass(slots=True, frozen=True)
class RoomType:
    name: str
    inventory: int
    blocked: int
    rate: Decimal  # rack rate per night, net


@dataclass(slots=True, frozen=True)
class Reserva:
    """A stay: `rate` net per night; net_price = rate × nights."""

    id: int
    channel: str
    status: str  # Confirmada | Requerida | Cancelada
    booking_date: date
    cancel_date: date | None
    checkin: date
    checkout: date
    room_type: str
    rate: Decimal
    adults: int
    children: int
    nationality: str
    iva_rate: Decimal
    commission_rate: Decimal

    @property
    def nights(self) -> int:
        return (self.checkout - self.checkin).days

    @property
    def net_price(self) -> Decimal:
        return self.rate * self.nights

    @property
    def commission(self) -> Decimal:
        return money(self.net_price * self.commission_rate / 100)

    @property
    def tax(self) -> Decimal:
        return money(self.net_price * self.iva_rate / 100)


@dataclass(slots=True, frozen=True)
class CompraLinea:
    product_id: int
    producto: str
    cantidad: Decimal
    costo: Decimal


@dataclass(slots=True, frozen=True)
class Compra:
    id: int
    fecha: datetime
    establecimiento: str
    proveedor: str
    ruc: str
    numerofactura: str
    lineas: list[CompraLinea]
    iva_rate: Decimal

    @property
    def subtotal(self) -> Decimal:
        return sum((money(x.cantidad * x.costo) for x in self.lineas), Decimal(0))

    @property
    def iva(self) -> Decimal:
        return money(self.subtotal * self.iva_rate / 100)


@dataclass(slots=True)
class AvaWorld:
    """Everything the AvaPOS sandbox serves; writes mutate it."""

    timezone: str
    currency: str
    as_of: datetime  # naive local
    establecimientos: dict[str, str]
    cajas: list[Caja]
    productos: dict[int, Producto]
    clientes: dict[str, Cliente]  # by cedula
    facturas: list[Factura]
    room_types: list[RoomType]
    reservas: list[Reserva]
    compras: list[Compra]
    fisico: dict[tuple[str, int], Decimal]  # (establecimiento, product id) → quantity
    asientos: list[dict[str, object]] = field(default_factory=list)
    next_product_id: int = 1
    next_factura_id: int = 1


_MENU: tuple[tuple[str, str, str, int], ...] = (
    # (categoria, nombre, gross price at 15% IVA, conimpuestos)
    ("Entradas", "Patacones con queso", "4.60", 1),
    ("Entradas", "Empanadas de verde", "3.45", 1),
    ("Entradas", "Bolón mixto", "4.60", 1),
    ("Entradas", "Humitas", "2.88", 1),
    ("Platos fuertes", "Encebollado de albacora", "8.05", 1),
    ("Platos fuertes", "Ceviche de camarón", "12.65", 1),
    ("Platos fuertes", "Seco de pollo", "9.20", 1),
    ("Platos fuertes", "Churrasco", "11.50", 1),
    ("Platos fuertes", "Bandera costeña", "13.80", 1),
    ("Platos fuertes", "Fritada con mote", "10.35", 1),
    ("Platos fuertes", "Encocado de pescado", "13.80", 1),
    ("Platos fuertes", "Llapingachos", "8.05", 1),
    ("Bebidas", "Jugo de naranjilla", "2.88", 1),
    ("Bebidas", "Batido de guanábana", "4.03", 1),
    ("Bebidas", "Coca-Cola 500ml", "1.73", 1),
    ("Bebidas", "Agua Güitig", "1.44", 1),
    ("Bebidas", "Café pasado", "2.01", 1),
    ("Licores", "Cerveza Pilsener 600ml", "4.03", 1),
    ("Licores", "Cerveza Club Premium", "4.37", 1),
    ("Licores", "Canelazo", "5.18", 1),
    ("Licores", "Ron San Miguel", "12.00", 1),
    ("Postres", "Helado de paila", "3.45", 1),
    ("Postres", "Tres leches", "4.31", 1),
    ("Hotel", "Desayuno americano", "8.00", 1),
    ("Hotel", "Lavandería", "6.00", 0),
    ("Hotel", "Tour Malecón 2000", "15.00", 0),
)
_RAW: tuple[tuple[str, str], ...] = (
    ("Arroz (kg)", "1.35"),
    ("Camarón (kg)", "9.80"),
    ("Plátano verde (u)", "0.25"),
    ("Pollo (kg)", "4.10"),
    ("Albacora (kg)", "7.60"),
)
_FIRST = (
    "José",
    "María",
    "Luis",
    "Carmen",
    "Carlos",
    "Gabriela",
    "Jorge",
    "Andrea",
    "Fernando",
    "Daniela",
    "Xavier",
    "Paola",
    "Andrés",
    "Verónica",
)
_LAST = (
    "Zambrano",
    "Mendoza",
    "Cedeño",
    "Vera",
    "Macías",
    "Moreira",
    "Álava",
    "Intriago",
    "Bravo",
    "Alcívar",
    "Pincay",
    "Villacís",
    "Jaramillo",
    "Cevallos",
)
_COMPANIES = (
    "Importadora Costa Azul S.A.",
    "Constructora Guayas Cía. Ltda.",
    "Consultores del Pacífico S.A.",
    "Eventos Samborondón S.A.",
)
_SUPPLIERS = ("Distribuidora El Camarón S.A.", "Agrícola Los Ríos Cía. Ltda.")
_STREETS = ("Av. Víctor Emilio Estrada", "Av. 9 de Octubre", "Calle Las Monjas", "Av. Orellana")
_CHANNELS = (
    ("Rack", "Off Line", Decimal(0)),
    ("Booking.com", "On Line", Decimal(15)),
    ("Expedia", "On Line", Decimal(18)),
    ("Teléfono", "Off Line", Decimal(0)),
)
_NATIONS = ("Ecuador", "Colombia", "Perú", "Estados Unidos", "Alemania", "")


def make_cedula(rng: random.Random) -> str:
    """A random valid cédula (Guayas or another province)."""
    first9 = (
        f"{rng.choice((9, 9, 9, 13, 17, 1)):02d}{rng.randint(0, 5)}{rng.randint(0, 999999):06d}"
    )
    return first9 + str(cedula_check_digit(first9))


def make_ruc_sociedad(rng: random.Random) -> str:
    """A random valid private-company RUC (third digit 9)."""
    while True:
        first9 = f"099{rng.randint(0, 999999):06d}"
        check = ruc_private_check_digit(first9)
        if check is not None:
            return f"{first9}{check}001"


def generate_avapos_world(
    *, seed: int = 1, days: int = 28, orders_per_day: int = 120, end_date: date = date(2026, 11, 1)
) -> AvaWorld:
    """The world of the `days` business days before `end_date` (deterministic)."""
    rng = random.Random(f"avapos:{seed}")
    start = end_date - timedelta(days=days)
    as_of = datetime.combine(end_date, time(4, 30))
    ests = {"001": "La Costeña Restaurante", "002": "La Costeña Hotel Boutique"}
    cajas = [
        Caja("001", "001", "Caja salón"),
        Caja("001", "002", "Caja terraza"),
        Caja("002", "001", "Recepción"),
    ]
    productos: dict[int, Producto] = {}
    pid = 2
    for cat, name, gross, taxed in _MENU:
        net = (
            (Decimal(gross) / Decimal("1.15")).quantize(FOUR, ROUND_HALF_UP)
            if taxed
            else Decimal(gross)
        )
        code = str(pid) if rng.random() < 0.7 else f"786{rng.randint(10**9, 10**10 - 1)}"
        color = rng.choice(("", "rgb(113, 60, 25)", "rgb(20, 120, 200)"))
        productos[pid] = Producto(pid, name, code, net, cat, color, conimpuestos=taxed)
        pid += 1
    for name, cost in _RAW:
        productos[pid] = Producto(
            pid, name, str(pid), Decimal(cost), "Materia prima", matprima=1, productofinal=0
        )
        pid += 1
    clientes: dict[str, Cliente] = {
        CONSUMIDOR_FINAL: Cliente(
            "Consumidor Final",
            CONSUMIDOR_FINAL,
            "0987654321",
            "sin direccion",
            "info@practisis.com",
        )
    }
    for i in range(24):
        if i < len(_COMPANIES):
            ced, name = make_ruc_sociedad(rng), _COMPANIES[i]
        elif i % 7 == 0:
            ced, name = f"P{rng.randint(1000000, 9999999)}", f"{rng.choice(_FIRST)} Smith"
        else:
            ced = make_cedula(rng)
            if i % 5 == 0:
                ced += "001"  # natural-person RUC
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {rng.choice(_LAST)}"
        if ced in clientes:
            continue
        email = f"{name.split()[0].lower()}.{i}@gmail.com" if rng.random() < 0.8 else ""
        phone = f"09{rng.randint(10000000, 99999999)}"
        clientes[ced] = Cliente(name, ced, phone, f"{rng.choice(_STREETS)} {i + 1}", email)
    world = AvaWorld(
        "America/Guayaquil",
        "USD",
        as_of,
        ests,
        cajas,
        productos,
        clientes,
        [],
        [],
        [],
        [],
        {},
        next_product_id=pid,
    )
    _facturas(world, rng, start, days, orders_per_day)
    _hotel(world, rng, start, end_date)
    _compras_fisico(world, rng, start, days)
    return world


def _facturas(world: AvaWorld, rng: random.Random, start: date, days: int, per_day: int) -> None:
    sellable = [p for p in world.productos.values() if p.productofinal]
    others = [c for c in world.clientes.values() if c.cedula != CONSUMIDOR_FINAL]
    seq = {(c.establecimiento, c.caja): rng.randint(1, 4000) for c in world.cajas}
    fid = 1000 + rng.randint(0, 500)
    for d in range(days):
        day = start + timedelta(days=d)
        rate = iva_rate(day)
        moments = sorted(rng.randint(7 * 3600, 23 * 3600) for _ in range(per_day))
        for secs in moments:
            caja = rng.choices(world.cajas, weights=(6, 3, 2))[0]
            key = (caja.establecimiento, caja.caja)
            seq[key] += 1
            lines = []
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
                p = rng.choice(sellable)
                qty = Decimal(rng.choice((1, 1, 1, 2, 3)))
                disc = Decimal(0)
                if rng.random() < 0.06:
                    disc = money(qty * p.precio / 10)
                lines.append(Consumo(p.nombre, p.id, qty, p.precio, disc, bool(p.conimpuestos)))
            fecha = datetime.combine(day, time()).replace(tzinfo=TZ) + timedelta(seconds=secs)
            cliente = (
                rng.choice(others) if rng.random() < 0.25 else world.clientes[CONSUMIDOR_FINAL]
            )
            world.facturas.append(
                build_factura(rng, fid, fecha, key, seq[key], cliente, lines, rate)
            )
            fid += 1
    world.next_factura_id = fid


def build_factura(
    rng: random.Random | None,
    fid: int,
    fecha: datetime,
    key: tuple[str, str],
    seq: int,
    cliente: Cliente | None,
    lines: list[Consumo],
    rate: Decimal,
    *,
    service: bool | None = None,
    propina: Decimal | None = None,
    pagos: list[Pago] | None = None,
) -> Factura:
    """An invoice from its lines; `rng` draws service, tip and payments when not given."""
    subtotal = sum((c.neto for c in lines), Decimal(0))
    taxable = sum((c.neto for c in lines if c.taxed), Decimal(0))
    iva = money(taxable * rate / 100)
    if service is None:
        service = rng is not None and key[0] == "001" and rng.random() < 0.85
    servicio = money(subtotal * SERVICE_RATE / 100) if service else Decimal(0)
    if propina is None:
        propina = Decimal(rng.choice((1, 2, 3, 5))) if rng and rng.random() < 0.15 else Decimal(0)
    total = subtotal + iva + servicio + propina
    if pagos is None:
        pagos = _pagos(rng, total)
    descuento = sum((c.descuento for c in lines), Decimal(0))
    return Factura(
        fid,
        fecha,
        key[0],
        key[1],
        f"{seq:09d}",
        cliente,
        lines,
        rate,
        subtotal,
        iva,
        servicio,
        propina,
        descuento,
        total,
        pagos,
    )


def _pagos(rng: random.Random | None, total: Decimal) -> list[Pago]:
    kind = rng.random() if rng else 0.9
    if kind < 0.45:
        tendered = next(Decimal(b) for b in (5, 10, 20, 50, 100, 10**6) if b >= total)
        if tendered == total or rng is None or rng.random() < 0.3:
            return [Pago("Efectivo", total)]
        return [Pago("Efectivo", tendered), Pago("Efectivo", total - tendered)]
    if kind < 0.85:
        return [Pago("Tarjetas", total)]
    if kind < 0.93:
        return [Pago("Transferencia", total)]
    half = money(total / 2)
    return [Pago("Efectivo", half), Pago("Tarjetas", total - half)]


def _hotel(world: AvaWorld, rng: random.Random, start: date, end: date) -> None:
    world.room_types.extend(
        (
            RoomType("Simple", 6, 0, Decimal("45.00")),
            RoomType("Doble", 8, 1, Decimal("68.00")),
            RoomType("Suite", 2, 0, Decimal("120.00")),
        )
    )
    occupied: dict[tuple[str, date], int] = {}
    rid = 1900 + rng.randint(0, 50)
    day = start - timedelta(days=7)
    while day < end + timedelta(days=21):
        for _ in range(rng.randint(1, 4)):
            rt = rng.choice(world.room_types)
            nights = rng.choice((1, 1, 2, 2, 3, 4, 7))
            stay = [day + timedelta(days=n) for n in range(nights)]
            free = rt.inventory - rt.blocked
            cancelled = rng.random() < 0.08
            if not cancelled and any(occupied.get((rt.name, s), 0) >= free for s in stay):
                continue
            if not cancelled:
                for s in stay:
                    occupied[(rt.name, s)] = occupied.get((rt.name, s), 0) + 1
            channel, _ctype, commission = rng.choice(_CHANNELS)
            booked = day - timedelta(days=rng.randint(0, 40))
            rate = (
                rt.rate
                if channel == "Rack"
                else money(rt.rate * Decimal(rng.choice(("0.9", "1", "1.1"))))
            )
            status = "Cancelada" if cancelled else rng.choice(("Confirmada",) * 5 + ("Requerida",))
            world.reservas.append(
                Reserva(
                    rid,
                    channel,
                    status,
                    booked,
                    booked + timedelta(days=1) if cancelled else None,
                    day,
                    day + timedelta(days=nights),
                    rt.name,
                    rate,
                    rng.randint(1, 2),
                    rng.choice((0, 0, 1, 2)),
                    rng.choice(_NATIONS),
                    iva_rate(day),
                    commission,
                )
            )
            rid += 1
        day += timedelta(days=1)


def _compras_fisico(world: AvaWorld, rng: random.Random, start: date, days: int) -> None:
    raw = [p for p in world.productos.values() if p.matprima]
    suppliers = [(name, make_ruc_sociedad(rng)) for name in _SUPPLIERS]
    cid = 300 + rng.randint(0, 50)
    for d in range(0, days, 3):
        day = start + timedelta(days=d)
        name, ruc = rng.choice(suppliers)
        lines = [
            CompraLinea(p.id, p.nombre, Decimal(rng.randint(5, 40)), p.precio)
            for p in rng.sample(raw, rng.randint(1, len(raw)))
        ]
        fecha = datetime.combine(day, time(9, rng.randint(0, 59))).replace(tzinfo=TZ)
        number = f"001-001-{rng.randint(1, 99999):09d}"
        world.compras.append(Compra(cid, fecha, "001", name, ruc, number, lines, iva_rate(day)))
        cid += 1
    for est in world.establecimientos:
        for p in world.productos.values():
            if p.matprima or p.categoria in ("Bebidas", "Licores"):
                world.fisico[(est, p.id)] = Decimal(rng.randint(0, 120))
