"""AvaPOS writes: create/set productos and clientes, create asientos and facturas.

Payloads use normalized names; the builders produce the vendor's JSON `data` string.
Everything the vendor would refuse (invalid cédula/RUC, unbalanced journal entry,
invoice totals that do not add up) is refused first with a `UsageError`. Invoices are
idempotent by number: a replay that the vendor answers "la factura ya existe" is
resolved to the existing invoice's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from posbridge.connectors.avapos.ident import is_valid_identification
from posbridge.connectors.avapos.wire import WriteError
from posbridge.connectors.base import Capability, Command, CommandResult
from posbridge.errors import UsageError
from posbridge.model.money import round_half_up

if TYPE_CHECKING:
    from posbridge.connectors.avapos import AvaPOS

__all__ = ["CAPABILITIES", "build_invoice", "execute_command"]

SERVICE_RATE = Decimal(10)

CAPABILITIES = (
    Capability("create_product", "product", "create productos (unique nombre; category created)"),
    Capability("update_product", "product", "set productos by id (unique nombre and codigo)"),
    Capability("create_customer", "customer", "create clientes (valid cédula/RUC/passport)"),
    Capability("update_customer", "customer", "set clientes by identification"),
    Capability("create_journal_entry", "journal_entry", "create asientos (debe − haber per line)"),
    Capability("create_invoice", "order", "create facturas; idempotent by invoice number"),
)


def _req(p: Mapping[str, Any], key: str) -> Any:
    value = p.get(key)
    if value is None or value == "":
        raise UsageError(f"field {key!r} is required")
    return value


def _dec(value: Any, key: str) -> Decimal:
    if isinstance(value, float):
        raise UsageError(f"{key}: pass money as a decimal string, not a float")
    try:
        d = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise UsageError(f"{key}: {value!r} is not a number") from None
    if not d.is_finite():
        raise UsageError(f"{key}: {value!r} is not a number")
    return d


def _s(d: Decimal) -> str:
    return f"{d:f}"


def _ident(value: Any) -> str:
    ident = str(value or "").strip()
    if not is_valid_identification(ident):
        raise UsageError(f"{ident!r} is not a valid Ecuadorian cédula, RUC or passport")
    return ident


def _product(p: Mapping[str, Any], update: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"nombre": str(_req(p, "name")), "categoria": str(_req(p, "category"))}
    if update:
        out = {"id": str(_req(p, "source_id")), **out}
    if p.get("price") not in (None, ""):
        out["precio"] = _s(_dec(p["price"], "price"))
    if p.get("sku") not in (None, ""):
        out["codigo"] = str(p["sku"])
    if p.get("taxed") is not None:
        out["conimpuestos"] = "1" if p["taxed"] else "0"
    if p.get("color") is not None:
        out["color"] = str(p["color"])
    return out


def _customer(p: Mapping[str, Any], update: bool) -> dict[str, Any]:
    ident = p.get("source_id") if update else None
    ident = ident or p.get("identification") or p.get("vat_number") or p.get("national_id")
    out = {"nombre": str(_req(p, "name")), "identificacion": _ident(ident)}
    for ours, theirs in (("street", "direccion"), ("email", "email"), ("phone", "telefono")):
        if p.get(ours) is not None:
            out[theirs] = str(p[ours])
    return out


def _journal(p: Mapping[str, Any]) -> dict[str, Any]:
    lines = p.get("lines") or []
    if not lines:
        raise UsageError("a journal entry needs at least one line")
    cuentas, balance = [], Decimal(0)
    for n, line in enumerate(lines, 1):
        debit, credit = (
            _dec(line.get("debit"), f"line {n} debit"),
            _dec(line.get("credit"), f"line {n} credit"),
        )
        if debit < 0 or credit < 0 or (debit and credit) or not (debit or credit):
            raise UsageError(f"line {n}: exactly one of debit or credit must be positive")
        balance += debit - credit
        cuentas.append(
            {
                "nombre": str(_req(line, "account")),
                "debe": f"{debit:.2f}",
                "haber": f"{credit:.2f}",
                "centrocosto": str(line.get("cost_center") or ""),
                "descripcion": str(line.get("description") or p.get("description") or ""),
            }
        )
    if balance:
        raise UsageError(f"journal entry is not balanced: debit − credit = {balance}")
    out: dict[str, Any] = {"cuentas": cuentas}
    for ours, theirs in (
        ("entry_date", "fecha"),
        ("description", "referencia"),
        ("number", "documento"),
        ("note", "observacion"),
    ):
        if p.get(ours):
            out[theirs] = str(p[ours])
    return out


def build_invoice(p: Mapping[str, Any]) -> dict[str, Any]:
    """The create-facturas JSON of a normalized invoice, with every total computed."""
    number = str(_req(p, "number"))
    rate = _dec(_req(p, "tax_rate"), "tax_rate")
    customer = p.get("customer") or {}
    ident = _ident(customer.get("identification") or "9999999999999")
    productos, taxed_sum, free_sum = [], Decimal(0), Decimal(0)
    for n, line in enumerate(p.get("lines") or [], 1):
        qty = _dec(_req(line, "quantity"), f"line {n} quantity")
        unit = _dec(_req(line, "unit_price"), f"line {n} unit_price")
        disc = _dec(line.get("discount"), f"line {n} discount")
        taxed = bool(line.get("taxed", True))
        net = round_half_up(qty * unit - disc, 2)
        line_tax = round_half_up(net * rate / 100, 2) if taxed else Decimal(0)
        if taxed:
            taxed_sum += net
        else:
            free_sum += net
        names = ["iva"] if taxed else []
        if p.get("service"):
            names.append("servicio")
        productos.append(
            {
                "nombre": str(_req(line, "name")),
                "codigo": str(line.get("sku") or ""),
                "precio_unitario": _s(unit),
                "unidad": str(line.get("unit") or "unidad"),
                "cantidad": _s(qty),
                "precio_sin_imp": f"{net:.2f}",
                "impuestos": ",".join(names),
                "precio_total": f"{net + line_tax:.2f}",
                "descuento": f"{disc:.2f}",
            }
        )
    if not productos:
        raise UsageError("an invoice needs at least one line")
    iva = round_half_up(taxed_sum * rate / 100, 2)
    servicio = (
        round_half_up((taxed_sum + free_sum) * SERVICE_RATE / 100, 2)
        if p.get("service")
        else Decimal(0)
    )
    tip = _dec(p.get("tip"), "tip")
    total = taxed_sum + free_sum + iva + servicio + tip
    impuestos = []
    if taxed_sum:
        impuestos.append({"nombre": "iva", "valor": f"{iva:.2f}", "porcentaje": _s(rate)})
    if servicio:
        impuestos.append({"nombre": "servicio", "valor": f"{servicio:.2f}", "porcentaje": "10"})
    pagos = []
    for n, pay in enumerate(p.get("payments") or [], 1):
        pagos.append(
            {
                "forma": str(pay.get("method") or "efectivo"),
                "valor": f"{_dec(_req(pay, 'amount'), f'payment {n}'):.2f}",
                "nombretarjeta": str(pay.get("card_brand") or ""),
                "lote": "",
                "numerocheque": "",
                "banco": "",
            }
        )
    paid = sum((Decimal(x["valor"]) for x in pagos), Decimal(0))
    if paid != total:
        raise UsageError(
            f"payments {paid} != invoice total {total} (give change as a negative payment)"
        )
    return {
        "cliente": {
            "cedula": ident,
            "nombre": str(customer.get("name") or "Consumidor Final"),
            "telefono": str(customer.get("phone") or ""),
            "direccion": str(customer.get("street") or ""),
            "email": str(customer.get("email") or ""),
        },
        "factura": {
            "numerofact": number,
            "fecha": str(_req(p, "date")),
            "total": f"{total:.2f}",
            "subtotal_iva": f"{taxed_sum:.2f}",
            "subtotal_sin_iva": f"{free_sum:.2f}",
            "impuestos": impuestos,
            "descuento": "0.00",
            "propina": f"{tip:.2f}",
        },
        "productos": productos,
        "pagos": pagos,
    }


def _create_invoice(conn: AvaPOS, p: Mapping[str, Any]) -> CommandResult:
    data = build_invoice(p)
    try:
        return CommandResult(source_id=conn.write("create", "facturas", data))
    except WriteError as exc:
        if "ya existe" not in (exc.vendor_message or ""):
            raise
        day = data["factura"]["fecha"]
        for raw in conn.list_records("facturas", "Facturas", {"desde": day, "hasta": day}):
            number = f"{raw.get('establecimiento')}-{raw.get('caja')}-{raw.get('numerofactura')}"
            if number == data["factura"]["numerofact"]:
                return CommandResult(source_id=str(raw["id"]), response={"replayed": True})
        raise


Simple = Callable[[Mapping[str, Any]], dict[str, Any]]
_SIMPLE: dict[str, tuple[str, str, Simple]] = {
    "create_product": ("create", "productos", lambda p: _product(p, False)),
    "update_product": ("set", "productos", lambda p: _product(p, True)),
    "create_customer": ("create", "clientes", lambda p: _customer(p, False)),
    "update_customer": ("set", "clientes", lambda p: _customer(p, True)),
    "create_journal_entry": ("create", "asientos", _journal),
}


def execute_command(conn: AvaPOS, command: Command) -> CommandResult:
    """Validate, send and return the vendor's id for the written object."""
    if command.name == "create_invoice":
        return _create_invoice(conn, command.payload)
    if command.name not in _SIMPLE:
        raise UsageError(f"avapos has no write command {command.name!r}")
    action, typedata, build = _SIMPLE[command.name]
    return CommandResult(source_id=conn.write(action, typedata, build(command.payload)))
