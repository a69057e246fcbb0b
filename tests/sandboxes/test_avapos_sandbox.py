"""The AvaPOS sandbox over loopback: the document's shapes, errors, writes and hotel KPIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.avapos import create_sandbox
from posbridge.sandboxes.avapos_reads import daily_totals
from posbridge.sandboxes.avapos_world import Reserva, RoomType, generate_avapos_world
from posbridge.sandboxes.runner import SandboxServer


@dataclass
class Api:
    """A running sandbox and a client that calls `api.php` with the right key."""

    box: Sandbox
    client: httpx.Client
    url: str

    def call(self, action: str, typedata: str, data: Any = None, *, post: bool = False) -> str:
        params = {
            "key": self.box.credentials["key"],
            "action": action,
            "typedata": typedata,
            "data": json.dumps(data) if data is not None else "",
        }
        if post:
            return self.client.post(self.url, data=params).text
        return self.client.get(self.url, params=params).text

    def get(self, typedata: str, data: Any = None) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.call("get", typedata, data))
        return answer


@pytest.fixture
def api() -> Iterator[Api]:
    """A small AvaPOS world served on loopback."""
    box = create_sandbox(seed=5, days=5, orders_per_day=20)
    with SandboxServer(box.app) as server, httpx.Client() as client:
        yield Api(box, client, server.url + box.base_path)


def _strings_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_strings_only(v) for v in value.values())
    if isinstance(value, list):
        return all(_strings_only(v) for v in value)
    return isinstance(value, str)


def test_facturas_by_window_in_both_date_formats(api: Api) -> None:
    """desde/hasta as YYYY-MM-DD and dd/mm/yyyy return the same invoices, all values strings."""
    iso = api.get("facturas", {"desde": "2026-10-28", "hasta": "2026-10-29"})
    dmy = api.get("facturas", {"desde": "28/10/2026", "hasta": "29/10/2026"})
    assert iso == dmy
    assert len(iso["Facturas"]) == 40
    assert _strings_only(iso)
    first = iso["Facturas"][0]
    assert set(first) == {
        "id", "total", "subtotal", "fecha", "establecimiento", "caja", "numerofactura", "iva",
        "servicio", "propina", "abono", "descuento", "cliente", "impuestos", "consumos", "pagos",
    }  # fmt: skip
    assert first["fecha"].endswith("-05")
    assert len(first["numerofactura"]) == 9


def test_lists_are_keyed_as_documented(api: Api) -> None:
    """Productos, Clientes, totales/detalles, Compras and Fisico keys; Consumidor Final listed."""
    productos = api.get("productos")["Productos"]
    assert set(productos[0]) == {
        "id", "nombre", "codigo", "precio", "color", "matprima", "productofinal", "categoria",
        "activo", "conimpuestos",
    }  # fmt: skip
    clientes = api.get("clientes")["Clientes"]
    assert clientes[0] == {
        "nombre": "Consumidor Final",
        "cedula": "9999999999999",
        "telefono": "0987654321",
        "direccion": "sin direccion",
        "email": "info@practisis.com",
    }
    reservas = api.get("reservas", {"checkout": "2026-12-31"})
    assert set(reservas) == {"totales", "detalles"}
    assert reservas["detalles"][0]["check-in_date"].count("/") == 2
    assert "Compras" in api.get("compras", {"desde": "2026-10-01", "hasta": "2026-11-01"})
    assert api.get("fisico")["Fisico"]


def test_errors_are_plain_text(api: Api) -> None:
    """Bad key, action, typedata, data and dates answer the documented plain-text errors."""
    bad_key = api.client.get(api.url, params={"key": "nope", "action": "get", "typedata": "x"})
    assert bad_key.text == "Error: APIKEY no válida"
    assert api.call("delete", "productos") == "Error: acción no permitida"
    assert api.call("get", "mesas") == "Error: typedata no permitido"
    assert api.call("create", "reservas", {}) == "Error: typedata no permitido"
    raw = {"key": api.box.credentials["key"], "action": "get", "typedata": "facturas"}
    assert api.client.get(api.url, params={**raw, "data": "{no"}).text.startswith("Error: el")
    assert api.call("get", "facturas") == "Error: faltan las fechas desde y hasta"
    assert api.call("get", "facturas", {"desde": "31/02/2026", "hasta": "x"}).startswith("Error")


def test_create_and_set_productos(api: Api) -> None:
    """create: unique nombre, category on the fly, code = id; set: uniqueness of nombre/codigo."""
    pid = api.call("create", "productos", {"nombre": "Producto API 1", "categoria": "PALETAS",
                                           "precio": "3.50", "codigo": "", "conimpuestos": "0"},
                   post=True)  # fmt: skip
    assert pid.isdigit()
    made = next(p for p in api.get("productos")["Productos"] if p["id"] == pid)
    assert (made["codigo"], made["categoria"], made["precio"]) == (pid, "PALETAS", "3.5")
    again = api.call("create", "productos", {"nombre": "Producto API 1", "categoria": "X"})
    assert again == "Error: ya existe un producto con ese nombre"
    assert api.call("create", "productos", {"nombre": "Sin categoría"}).startswith("Error: faltan")
    other = next(p for p in api.get("productos")["Productos"] if p["id"] != pid)
    clash = {"id": pid, "nombre": other["nombre"], "categoria": "PALETAS"}
    assert api.call("set", "productos", clash) == "Error: ya existe un producto con ese nombre"
    code = {"id": pid, "nombre": "Paleta", "categoria": "PALETAS", "codigo": other["codigo"]}
    assert api.call("set", "productos", code) == "Error: ya existe un producto con ese código"
    ok = {"id": pid, "nombre": "Paleta de mora", "categoria": "HELADOS", "precio": "2.6087"}
    assert api.call("set", "productos", ok) == pid
    made = next(p for p in api.get("productos")["Productos"] if p["id"] == pid)
    assert (made["nombre"], made["categoria"], made["precio"]) == (
        "Paleta de mora",
        "HELADOS",
        "2.6087",
    )


def test_create_and_set_clientes_validate_the_identification(api: Api) -> None:
    """Invalid cédulas are refused with the documented error; duplicates too; set updates."""
    bad = {"nombre": "Cliente API 3", "identificacion": "1710034066"}
    assert api.call("create", "clientes", bad) == "Error: identificación no válida"
    good = {"nombre": "Cliente API 3", "identificacion": "1710034065", "email": "c3@api.ec"}
    assert api.call("create", "clientes", good) == "1710034065"
    assert api.call("create", "clientes", good).startswith("Error: ya existe")
    assert api.call("create", "clientes", {"nombre": "Banco", "identificacion": "1790011674001"})
    upd = {"nombre": "Cliente API Tres", "identificacion": "1710034065", "telefono": "3333333"}
    assert api.call("set", "clientes", upd) == "1710034065"
    row = next(c for c in api.get("clientes")["Clientes"] if c["cedula"] == "1710034065")
    assert (row["nombre"], row["telefono"], row["email"]) == (
        "Cliente API Tres",
        "3333333",
        "c3@api.ec",
    )
    missing = {"nombre": "X", "identificacion": "0926687856"}
    assert api.call("set", "clientes", missing) == "Error: cliente no encontrado"


def test_create_asiento_keeps_debe_minus_haber(api: Api) -> None:
    """An asiento answers its id and stores debe − haber per line."""
    data = {"fecha": "2017-01-03", "referencia": "Asiento de API test", "cuentas": [
        {"nombre": "1.1.1.6", "debe": "1.00", "haber": "0.00", "centrocosto": "", "descripcion": "d"},
        {"nombre": "2.1.1.1.1042", "debe": "0.20", "haber": "1.20", "centrocosto": "", "descripcion": "d"},
    ]}  # fmt: skip
    assert api.call("create", "asientos", data) == "1"
    diarios = api.box.state.world.asientos[0]["diarios"]
    assert [d["valor"] for d in diarios] == [Decimal("1.00"), Decimal("-1.00")]
    assert api.call("create", "asientos", {"cuentas": []}).startswith("Error")


def _factura(number: str = "001-001-000000104") -> dict[str, Any]:
    return {
        "cliente": {"cedula": "1710034065", "nombre": "Customer Name", "telefono": "022596955",
                    "direccion": "", "email": "customer.89@hotmail.com"},
        "factura": {"numerofact": number, "fecha": "2026-10-31", "total": "13.50",
                    "subtotal_iva": "10.00", "subtotal_sin_iva": "0",
                    "impuestos": [{"nombre": "iva", "valor": "1.50", "porcentaje": "15"},
                                  {"nombre": "servicio", "valor": "1.00", "porcentaje": "10"}],
                    "descuento": "0.00", "propina": "1.00"},
        "productos": [{"nombre": "Pollo Asado", "codigo": "55677", "precio_unitario": "10.00",
                       "unidad": "unidad", "cantidad": "1", "precio_sim_imp": "10.00",
                       "impuestos": "iva,servicio", "precio_total": "12.50", "descuento": "0.00"}],
        "pagos": [{"forma": "efectivo", "valor": "20.00"}, {"forma": "efectivo", "valor": "-6.50"}],
    }  # fmt: skip


def test_create_factura_checks_totals_and_reads_back(api: Api) -> None:
    """A consistent invoice is created (id), read back with its taxes; duplicates/bad totals refused."""
    fid = api.call("create", "facturas", _factura(), post=True)
    assert fid.isdigit()
    back = api.get("facturas", {"desde": "2026-10-31", "hasta": "2026-10-31"})["Facturas"]
    row = next(f for f in back if f["id"] == fid)
    assert (row["establecimiento"], row["caja"], row["numerofactura"]) == (
        "001",
        "001",
        "000000104",
    )
    assert (row["total"], row["iva"], row["servicio"], row["propina"]) == (
        "13.50",
        "1.50",
        "1.00",
        "1.00",
    )
    assert [p["valor"] for p in row["pagos"]] == ["20", "-6.5"]
    assert api.call("create", "facturas", _factura()) == "Error: la factura ya existe"
    wrong = _factura("001-001-000000105")
    wrong["factura"]["total"] = "13.49"
    assert api.call("create", "facturas", wrong) == "Error: total no cuadra"
    bad_id = _factura("001-001-000000106")
    bad_id["cliente"]["cedula"] = "1234567890"
    assert api.call("create", "facturas", bad_id) == "Error: identificación no válida"


def _r(
    rid: int, room: str, rate: str, checkin: date, checkout: date, status: str = "Confirmada"
) -> Reserva:
    return Reserva(rid, "Rack", status, checkin, None, checkin, checkout, room, Decimal(rate), 2, 0,
                   "Ecuador", Decimal(15), Decimal(0))  # fmt: skip


def test_hotel_kpis_match_a_hand_computation() -> None:
    """Occupancy, ADR and RevPAR per night and room type equal the numbers worked out by hand."""
    rooms = [RoomType("Doble", 8, 1, Decimal("68.00")), RoomType("Suite", 2, 0, Decimal("120"))]
    d1, d2, d3 = date(2026, 10, 10), date(2026, 10, 11), date(2026, 10, 12)
    stays = [
        _r(1, "Doble", "68.00", d1, d3),  # two nights
        _r(2, "Doble", "61.20", d1, d2),
        _r(3, "Doble", "99.00", d1, d2, "Cancelada"),  # counts nowhere
        _r(4, "Suite", "120.00", d2, d3),
    ]
    rows = {(r["date"][:10], r["physical_room"]): r for r in daily_totals(stays, rooms)}
    assert set(rows) == {("2026-10-10", "Doble"), ("2026-10-11", "Doble"), ("2026-10-11", "Suite")}
    night1 = rows[("2026-10-10", "Doble")]
    # 2 of 7 sellable rooms (8 − 1 blocked); revenue 68.00 + 61.20 = 129.20
    assert night1["room_revenue"] == "129.20"
    assert night1["occupied_rooms"] == "2"
    assert night1["net_room_inventory"] == "7"
    assert night1["room_inventory"] == "8"
    assert night1["room_availability"] == "5"
    assert night1["room_occupancy"] == "28.57"  # 2 / 7 = 28.571 %
    assert night1["room_adr"] == "64.60"  # 129.20 / 2
    assert night1["room_revpar"] == "18.46"  # 129.20 / 7 = 18.457
    suite = rows[("2026-10-11", "Suite")]
    assert (suite["room_occupancy"], suite["room_adr"], suite["room_revpar"]) == (
        "50.00",
        "120.00",
        "60.00",
    )


def test_world_totals_agree_with_the_detail_list(api: Api) -> None:
    """Every totales row of the served world recomputes from the detalles it covers."""
    answer = api.get("reservas", {"checkout": "2026-11-10"})
    inventory = {t.name: t.inventory - t.blocked for t in api.box.state.world.room_types}
    acc: dict[tuple[str, str], list[Decimal]] = {}
    for d in answer["detalles"]:
        if d["status"] == "Cancelada":
            continue
        checkin = date.fromisoformat(d["check-in_date"].replace("/", "-"))
        checkout = date.fromisoformat(d["check-out_date"].replace("/", "-"))
        nights = (checkout - checkin).days
        assert date.fromisoformat("2026-11-10") >= checkout
        for n in range(nights):
            day = date.fromordinal(checkin.toordinal() + n).isoformat()
            acc.setdefault((day, d["physical_room"]), []).append(Decimal(d["net_price"]) / nights)
    q = Decimal("0.01")
    assert len(answer["totales"]) == len(acc)
    for row in answer["totales"]:
        nightly = acc[(row["date"][:10], row["physical_room"])]
        revenue, inv = sum(nightly, Decimal(0)), inventory[row["physical_room"]]
        assert Decimal(row["room_revenue"]) == revenue.quantize(q, ROUND_HALF_UP)
        assert int(row["occupied_rooms"]) == len(nightly) <= inv
        assert Decimal(row["room_adr"]) == (revenue / len(nightly)).quantize(q, ROUND_HALF_UP)
        assert Decimal(row["room_revpar"]) == (revenue / inv).quantize(q, ROUND_HALF_UP)


def test_iva_follows_the_rate_of_the_period() -> None:
    """Invoices carry 14% in mid-2016, 12% from June 2017 and 15% from April 2024."""
    w2016 = generate_avapos_world(days=3, orders_per_day=5, end_date=date(2016, 7, 15))
    assert {f.iva_rate for f in w2016.facturas} == {Decimal(14)}
    w2017 = generate_avapos_world(days=6, orders_per_day=5, end_date=date(2017, 6, 4))
    assert {f.iva_rate for f in w2017.facturas} == {Decimal(12), Decimal(14)}
    w2024 = generate_avapos_world(days=6, orders_per_day=5, end_date=date(2024, 4, 4))
    assert {f.iva_rate for f in w2024.facturas} == {Decimal(12), Decimal(15)}
    for f in w2017.facturas:
        taxed = sum((c.neto for c in f.consumos if c.taxed), Decimal(0))
        assert f.iva == (taxed * f.iva_rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert f.total == f.subtotal + f.iva + f.servicio + f.propina
        assert sum((p.valor for p in f.pagos), Decimal(0)) == f.total


def test_world_is_deterministic() -> None:
    """The same seed gives the same world; another seed another one."""
    a = generate_avapos_world(seed=7, days=3, orders_per_day=10)
    b = generate_avapos_world(seed=7, days=3, orders_per_day=10)
    c = generate_avapos_world(seed=8, days=3, orders_per_day=10)
    assert a.facturas == b.facturas
    assert a.reservas == b.reservas
    assert a.facturas != c.facturas
