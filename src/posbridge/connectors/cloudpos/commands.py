"""CloudPOS writes: every post-* and update-* of the v1 document, plus its lookups.

Payloads use normalized names (`tax_rate` in percent, `category_source_id`, ...); the
builders translate them into the vendor's fields and formats (VAT as a multiplier for
web orders, `fistname` for customers, arrays as a JSON string field). Input that the
vendor would silently truncate or reject is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from posbridge.connectors.base import Capability, Command, CommandResult
from posbridge.connectors.cloudpos.mapping import BE_RATES
from posbridge.connectors.cloudpos.wire import form_fields
from posbridge.errors import UsageError, VendorValidationError
from posbridge.model.money import normalize_rate

if TYPE_CHECKING:
    from posbridge.connectors.cloudpos import CloudPOS

__all__ = ["CAPABILITIES", "execute_command", "preview_command"]

Builder = Callable[[Mapping[str, Any], str | None], dict[str, Any]]


def _req(p: Mapping[str, Any], key: str) -> Any:
    value = p.get(key)
    if value is None or value == "":
        raise UsageError(f"field {key!r} is required")
    return value


def _money(value: Any, key: str) -> str:
    if isinstance(value, float):
        raise UsageError(f"{key}: pass money as a decimal string, not a float")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise UsageError(f"{key}: {value!r} is not a number") from None
    if amount != amount.quantize(Decimal("0.01")):
        raise UsageError(f"{key}: {value} has more than 2 decimals; CloudPOS stores cents")
    return f"{amount:.2f}"


def _rate(value: Any, key: str) -> Decimal:
    try:
        rate = normalize_rate(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        raise UsageError(f"{key}: {value!r} is not a VAT rate") from None
    if rate not in BE_RATES:
        raise UsageError(f"{key}: {rate}% is not a Belgian VAT rate (0, 6, 12, 21)")
    return rate


def _multiplier(rate: Decimal) -> str:
    return f"{1 + rate / 100:.2f}"


def _opt(p: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    return {vendor: p[ours] for ours, vendor in mapping.items() if p.get(ours) not in (None, "")}


def _category(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    return {"name": _req(p, "name")}


def _catalog_item(p: Mapping[str, Any], create: bool, product: bool) -> dict[str, Any]:
    out = _opt(
        p,
        {
            "name": "name",
            "stock_quantity": "quantity",
            "barcode": "barcode",
            "category_source_id": "categorylink",
        },
    )
    if not product:
        out.pop("categorylink", None)
        out.pop("barcode", None)
    if create:
        _req(p, "name")
        _req(p, "price")
        _req(p, "tax_rate")
        if product:
            _req(p, "category_source_id")
    if p.get("price") is not None:
        out["price"] = _money(p["price"], "price")
    if p.get("tax_rate") is not None:
        out["tax"] = str(_rate(p["tax_rate"], "tax_rate"))
    if p.get("table_tax_rate") is not None:
        out["taxtable"] = str(_rate(p["table_tax_rate"], "table_tax_rate"))
    return out


_CUSTOMER = {
    "last_name": "name",
    "first_name": "fistname",
    "company_name": "companyname",
    "street": "street_number",
    "phone": "phone",
    "zipcode": "zipcode",
    "town": "town",
    "vat_number": "vatnumber",
    "email": "email",
    "tag_id": "tagid",
    "tag_family_id": "tagfamid",
}


def _customer(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    out = _opt(p, _CUSTOMER)
    if not any(k in out for k in ("name", "fistname", "companyname")):
        raise UsageError("a customer needs last_name, first_name or company_name")
    if "companyname" in out and ("name" in out or "fistname" in out):
        raise UsageError("CloudPOS takes either company_name or first/last name, not both")
    if p.get("tag_type"):
        out["tagtype"] = {"barcode": "1", "rfid": "2"}.get(str(p["tag_type"]), str(p["tag_type"]))
    return out


def _weborder(p: Mapping[str, Any], ref: str | None) -> dict[str, Any]:
    delivery = {"pickup": 0, "delivery": 1, "dine_in": 2}.get(str(p.get("delivery", "pickup")))
    if delivery is None:
        raise UsageError("delivery must be pickup, delivery or dine_in")
    lines = p.get("lines") or []
    if not lines:
        raise UsageError("a web order needs at least one line")
    detail = []
    for n, line in enumerate(lines, 1):
        mods = line.get("modifiers") or []
        if len(mods) > 10:
            raise UsageError(
                f"line {n}: CloudPOS takes at most 10 modifiers per line, got {len(mods)}"
            )
        row: dict[str, Any] = {
            "productid": _req(line, "product_source_id"),
            "productprice": _money(_req(line, "unit_price_gross"), f"line {n} unit_price_gross"),
            "productvat": _multiplier(_rate(_req(line, "tax_rate"), f"line {n} tax_rate")),
        }
        for i, mod in enumerate(mods, 1):
            row[f"sub{i}id"] = _req(mod, "modifier_source_id")
            row[f"sub{i}price"] = _money(_req(mod, "unit_price_gross"), f"line {n} modifier {i}")
            row[f"sub{i}vat"] = _multiplier(_rate(_req(mod, "tax_rate"), f"line {n} modifier {i}"))
        if line.get("note"):
            row["extrainfo"] = line["note"]
        detail.append(row)
    remark = " ".join(x for x in (p.get("remark"), f"[ref:{ref}]" if ref else None) if x)
    out: dict[str, Any] = {
        "customerid": _req(p, "customer_source_id"),
        "delivery": delivery,
        "weborderdetail": detail,
        "remark": remark or None,
        "onlinepaid": 1 if p.get("online_paid") else None,
        "autoconfirmation": 1 if p.get("auto_confirm") else None,
    }
    if p.get("discount") is not None:
        out["discountamount"] = _money(p["discount"], "discount")
    if p.get("planned_at"):
        out["plannedorder"] = 1
        out["plannedorderdatetime"] = str(p["planned_at"])
    return out


def _document(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    lines = []
    for n, line in enumerate(p.get("lines") or [], 1):
        lines.append(
            {
                "quantity": str(_req(line, "quantity")),
                "name": _req(line, "name"),
                "vatpercent": str(_rate(_req(line, "tax_rate"), f"line {n} tax_rate")),
                "priceincvat": _money(_req(line, "unit_price_gross"), f"line {n} price"),
            }
        )
    if not lines:
        raise UsageError("a document needs at least one line")
    return {
        "documentnr": _req(p, "number"),
        "customerid": p.get("customer_source_id"),
        "productlines": lines,
    }


def _payment(p: Mapping[str, Any]) -> str:
    pay = {"cash": "1", "transfer": "2"}.get(str(p.get("payment", "")))
    if pay is None:
        raise UsageError("payment must be cash or transfer")
    return pay


def _gift_voucher(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    return {
        "barcode": _req(p, "code"),
        "value": _money(_req(p, "value"), "value"),
        "validfrom": str(_req(p, "valid_from")),
        "validuntil": str(_req(p, "valid_until")),
        "paymenttype": _payment(p),
    }


def _coupon(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    kind = {"amount": "1", "percent": "2"}.get(str(p.get("value_type", "amount")))
    if kind is None:
        raise UsageError("value_type must be amount or percent")
    return {
        "barcode": _req(p, "code"),
        "value": _money(_req(p, "value"), "value"),
        "valuetype": kind,
        "validfrom": str(_req(p, "valid_from")),
        "validuntil": str(_req(p, "valid_until")),
    }


def _credit(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    out = {
        "customerid": _req(p, "customer_source_id"),
        "value": _money(_req(p, "value"), "value"),
        "paymenttype": _payment(p),
    }
    out |= _opt(p, {"product_source_id": "productid", "category_source_id": "categoryid"})
    return out


def _reservation(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    out = {
        "date": str(_req(p, "date")),
        "persons": str(_req(p, "persons")),
        "hour": _req(p, "hour"),
    }
    out |= _opt(p, {"name": "name", "phone": "phone"})
    out["confirmed"] = "1" if p.get("confirmed", True) else "0"
    return out


def _eol(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
    detail = [
        {
            "productid": _req(x, "product_source_id"),
            "price": _money(_req(x, "price"), "price"),
            "quantity": str(_req(x, "quantity")),
        }
        for x in p.get("lines") or []
    ]
    if not detail:
        raise UsageError("an Exact Online order needs at least one line")
    return {
        "ordernumber": _req(p, "number"),
        "date": str(_req(p, "date")),
        "customerid": _req(p, "customer_source_id"),
        "paymenttype": _payment(p),
        "detail": detail,
    }


def _with_id(build: Builder) -> Builder:
    def wrapped(p: Mapping[str, Any], ref: str | None) -> dict[str, Any]:
        return {"id": _req(p, "source_id"), **build(p, ref)}

    return wrapped


def _lookup(keys: Mapping[str, str]) -> Builder:
    def build(p: Mapping[str, Any], _ref: str | None) -> dict[str, Any]:
        return {vendor: str(_req(p, ours)) for ours, vendor in keys.items()}

    return build


@dataclass(frozen=True, slots=True)
class _Spec:
    function: str
    model: str
    build: Builder
    result_id: str | None
    description: str


_SPECS: dict[str, _Spec] = {
    "create_category": _Spec("post-category", "category", _category, "id", "create a category"),
    "update_category": _Spec(
        "update-category", "category", _with_id(_category), None, "rename a category"
    ),
    "create_product": _Spec(
        "post-product",
        "product",
        lambda p, r: _catalog_item(p, True, True),
        "id",
        "create a product",
    ),
    "update_product": _Spec(
        "update-product",
        "product",
        _with_id(lambda p, r: _catalog_item(p, False, True)),
        None,
        "update a product",
    ),
    "create_modifier": _Spec(
        "post-subproduct",
        "modifier",
        lambda p, r: _catalog_item(p, True, False),
        "id",
        "create a subproduct",
    ),
    "update_modifier": _Spec(
        "update-subproduct",
        "modifier",
        _with_id(lambda p, r: _catalog_item(p, False, False)),
        None,
        "update a subproduct",
    ),
    "create_customer": _Spec("post-customer", "customer", _customer, "id", "create a customer"),
    "update_customer": _Spec(
        "update-customer", "customer", _with_id(_customer), None, "update a customer"
    ),
    "create_web_order": _Spec(
        "post-weborder", "order", _weborder, "weborderid", "place a web order"
    ),
    "web_order_confirmation": _Spec(
        "get-confirmedweborder",
        "order",
        _lookup({"weborder_id": "weborderid"}),
        None,
        "pick-up/delivery time of a confirmed web order",
    ),
    "create_invoice": _Spec(
        "post-invoice", "invoice", _document, None, "create an invoice (idempotent by number)"
    ),
    "create_quote": _Spec("post-offer", "invoice", _document, None, "create a quote (offerte)"),
    "create_credit_note": _Spec(
        "post-creditnote", "invoice", _document, None, "create a credit note"
    ),
    "signed_invoice": _Spec(
        "get-invoicesigned",
        "invoice",
        _lookup({"number": "documentnr"}),
        None,
        "VAT ticket of an FDM-signed invoice",
    ),
    "signed_quote": _Spec(
        "get-offersigned",
        "invoice",
        _lookup({"number": "documentnr"}),
        None,
        "VAT ticket of an FDM-signed quote",
    ),
    "signed_credit_note": _Spec(
        "get-creditnotesigned",
        "invoice",
        _lookup({"number": "documentnr"}),
        None,
        "VAT ticket of an FDM-signed credit note",
    ),
    "reservation_persons": _Spec(
        "get-reservationpersons",
        "reservation",
        _lookup({"date": "date"}),
        None,
        "party sizes bookable on a date",
    ),
    "reservation_hours": _Spec(
        "get-reservationhours",
        "reservation",
        _lookup({"date": "date", "persons": "persons"}),
        None,
        "free hours for a party",
    ),
    "create_reservation": _Spec(
        "post-reservationentry", "reservation", _reservation, None, "book a table"
    ),
    "create_gift_voucher": _Spec(
        "post-giftvoucher", "voucher", _gift_voucher, None, "sell a gift voucher"
    ),
    "create_coupon": _Spec("post-coupon", "voucher", _coupon, None, "issue a coupon"),
    "create_customer_credit": _Spec(
        "post-customercredit", "voucher", _credit, "id", "top up a customer's credit"
    ),
    "create_eol_order": _Spec(
        "post-eolorder", "order", _eol, None, "book an order to Exact Online"
    ),
}

CAPABILITIES: tuple[Capability, ...] = tuple(
    Capability(name, spec.model, f"{spec.description} (`{spec.function}`)")
    for name, spec in _SPECS.items()
)
#: writes whose "already in use" answer on a replay means our earlier attempt landed.
_IDEMPOTENT_BY_NUMBER = {"create_invoice", "create_quote", "create_credit_note"}


def preview_command(command: Command) -> dict[str, Any]:
    """The exact request a command would send (credentials aside), for dry runs."""
    spec = _SPECS.get(command.name)
    if spec is None:
        raise UsageError(f"cloudpos has no command {command.name!r}; known: {', '.join(_SPECS)}")
    fields = form_fields(spec.build(command.payload, command.reference))
    return {
        "method": "POST",
        "function": spec.function,
        "query": f"?{spec.function}",
        "form": fields,
    }


def execute_command(connector: CloudPOS, command: Command) -> CommandResult:
    """Validate, send and decode one command."""
    spec = _SPECS.get(command.name)
    if spec is None:
        raise UsageError(f"cloudpos has no command {command.name!r}; known: {', '.join(_SPECS)}")
    fields = form_fields(spec.build(command.payload, command.reference))
    is_write = spec.function.startswith(("post-", "update-"))
    try:
        response = connector.call_fields(spec.function, fields, write=is_write)
    except VendorValidationError as exc:
        if command.name in _IDEMPOTENT_BY_NUMBER and exc.vendor_code == 2002 and command.reference:
            # The number is ours and unique per document: a replay after a lost response
            # finds it in use, which means the first attempt was stored.
            return CommandResult(
                source_id=None,
                response={"reconciled": True, "number": command.payload.get("number")},
            )
        raise
    source_id = response.get(spec.result_id) if spec.result_id else None
    return CommandResult(source_id=None if source_id is None else str(source_id), response=response)
