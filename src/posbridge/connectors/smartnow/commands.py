"""SmartNow writes: machine assortment (products, flavours, extras), locations, machines,
vouchers (create up to 5000 atomically, validate, redeem).

Payload money is in euros (Decimal strings) and sent as integer cents. Input is checked
before anything is sent (`UsageError`). Lost answers: creates are unique by a natural key
(`plu` per machine, machine `hostname`, location name), so a retry refused as "already
exists" is reconciled by looking the object up; a bulk voucher create is sent once with
the outbox reference in `text4` and looked up by it when the answer is lost; a redeem is
idempotent per `order.id` on the vendor side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from posbridge.connectors.base import Capability, Command, CommandResult
from posbridge.connectors.smartnow.routes import BY_NAME, path
from posbridge.connectors.smartnow.wire import decode_record
from posbridge.errors import NetworkError, UsageError, VendorValidationError

if TYPE_CHECKING:
    from posbridge.connectors.smartnow import SmartNow

__all__ = ["CAPABILITIES", "execute_command", "preview_command"]

CAPABILITIES: tuple[Capability, ...] = (
    Capability("create_product", "product", "add a product (plu, name, price) to a machine"),
    Capability("update_product", "product", "change a machine product"),
    Capability("create_flavour", "modifier", "add a flavour (free option) to a machine"),
    Capability("update_flavour", "modifier", "change a machine flavour"),
    Capability("create_extra", "modifier", "add an extra (paid option) to a machine"),
    Capability("update_extra", "modifier", "change a machine extra"),
    Capability("create_location", "location", "create a location"),
    Capability("update_location", "location", "change a location"),
    Capability("create_machine", "device", "create a machine (optionally copying `source`)"),
    Capability("update_machine", "device", "change a machine"),
    Capability("create_vouchers", "voucher", "create 1..5000 vouchers of a campaign atomically"),
    Capability("validate_voucher", "voucher", "check a voucher code for a device"),
    Capability("redeem_voucher", "voucher", "redeem a voucher code for an order"),
)
_ITEM = {
    "create_product": "product",
    "update_product": "product",
    "create_flavour": "productflavour",
    "update_flavour": "productflavour",
    "create_extra": "productextra",
    "update_extra": "productextra",
}


def _cents(value: Any, name: str) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise UsageError(f"{name} {value!r} is not an amount") from None
    cents = amount * 100
    if amount < 0 or cents != cents.to_integral_value():
        raise UsageError(f"{name} {value!r} must be a non-negative amount with at most 2 decimals")
    return int(cents)


def _int(p: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    value = p.get(key)
    if value is None:
        if required:
            raise UsageError(f"{key} is required")
        return None
    try:
        return int(str(value))
    except ValueError:
        raise UsageError(f"{key} {value!r} is not an integer") from None


def _text(p: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = p.get(key)
    if value in (None, "") and required:
        raise UsageError(f"{key} is required")
    return None if value is None else str(value)


def _pick(
    p: Mapping[str, Any], keys: tuple[str, ...], money: tuple[str, ...] = ()
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        if key in p and key not in ("source_id", "machine"):
            out[key] = _cents(p[key], key) if key in money else p[key]
    return out


def build(command: Command) -> tuple[str, dict[str, Any], dict[str, Any], Any]:
    """(route name, path params, query, JSON body) of a command; raises UsageError."""
    p, name = command.payload, command.name
    if name in _ITEM:
        model = _ITEM[name]
        machine = _int(p, "machine")
        fields = ("name", "reportName", "price", "plu") + (
            ("barcode",) if model == "product" else ()
        )
        body = _pick(p, fields, money=("price",))
        if name.startswith("create"):
            for key in ("name", "plu", "price"):
                if key not in body:
                    raise UsageError(f"{key} is required")
            body["plu"] = _int(p, "plu")
            return f"{model}.create", {"machine": machine}, {}, body
        body.pop("plu", None) if model != "product" else None
        return f"{model}.update", {"machine": machine, "id": _int(p, "source_id")}, {}, body
    if name in ("create_location", "update_location"):
        body = _pick(
            p,
            ("name", "address", "postcode", "city", "country", "latitude", "longitude", "placeId"),
        )
        if name == "create_location":
            for key in ("name", "address", "postcode", "city", "country"):
                _text(p, key)
            return "location.create", {}, {}, body
        return "location.update", {"id": _int(p, "source_id")}, {}, body
    if name in ("create_machine", "update_machine"):
        keys = (
            "name",
            "location",
            "machineModel",
            "machineType",
            "manufacturer",
            "currency",
            "debtor",
            "tag",
            "virtualPrices",
            "active",
            "machineGroups",
        )
        if name == "create_machine":
            body = _pick(p, ("hostname", *keys))
            _text(p, "hostname")
            query = {"source": _int(p, "source")} if p.get("source") is not None else {}
            if not query:
                for key in (
                    "name",
                    "location",
                    "machineModel",
                    "machineType",
                    "manufacturer",
                    "currency",
                ):
                    if p.get(key) is None:
                        raise UsageError(f"{key} is required")
            return "machine.create", {}, query, body
        return "machine.update", {"id": _int(p, "source_id")}, {}, _pick(p, keys)
    if name == "create_vouchers":
        count = _int(p, "count", required=False) or 1
        if not 1 <= count <= 5000:
            raise UsageError("count must be between 1 and 5000")
        if p.get("type") not in ("discount", "gift"):
            raise UsageError("type must be discount or gift")
        body = {
            "campaign": _int(p, "campaign"),
            "type": p["type"],
            "value": _cents(p.get("value"), "value"),
            "count": count,
            **_pick(
                p,
                (
                    "code",
                    "prefix",
                    "redemptionLimit",
                    "resetFrequency",
                    "expiresOn",
                    "validationRules",
                    "text1",
                    "text2",
                    "text3",
                    "text4",
                    "style",
                ),
            ),
        }
        if command.reference and "text4" not in body:
            body["text4"] = f"ref:{command.reference}"
        return "voucher.create", {}, {}, body
    if name in ("validate_voucher", "redeem_voucher"):
        code, device = _text(p, "code"), _text(p, "device_id")
        body = {"deviceId": device}
        if p.get("demand") is not None:
            body["demand"] = {"amount": _cents(p["demand"], "demand")}
        if name == "validate_voucher":
            if p.get("lock_duration") is not None:
                body["lockDuration"] = _int(p, "lock_duration")
            return "voucher.validate", {"code": code}, {}, body
        order = p.get("order")
        if not isinstance(order, Mapping) or not order.get("id"):
            raise UsageError("order with id and amount is required")
        body["order"] = {
            "id": str(order["id"]),
            "amount": _cents(order.get("amount"), "order.amount"),
            "items": [
                {
                    "productId": str(i.get("product_id")),
                    "quantity": int(i.get("quantity", 1)),
                    "price": _cents(i.get("price", 0), "price"),
                }
                for i in order.get("items", [])
            ],
        }
        return "voucher.redeem", {"code": code}, {}, body
    raise UsageError(
        f"smartnow has no command {name!r}; known: {', '.join(c.name for c in CAPABILITIES)}"
    )


def preview_command(command: Command) -> dict[str, Any]:
    """The request `execute` would send (dry run)."""
    route, params, query, body = build(command)
    return {
        "method": BY_NAME[route].method,
        "path": path(route, **params),
        "query": query,
        "json": body,
    }


def _lookup(
    conn: SmartNow, route: str, params: Mapping[str, Any], match: Callable[[dict[str, Any]], bool]
) -> str | None:
    model = route.split(".")[0]
    if model in ("product", "productflavour", "productextra"):
        rows = conn.raw_list(f"{model}.list", machine=params["machine"])
    else:
        rows = conn.raw_list(f"{model}.list")
    found = next((decode_record(r) for r in rows if match(decode_record(r))), None)
    return None if found is None else str(found["id"])


def _natural(route: str, body: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    if route.endswith(".create") and "plu" in body:
        return lambda r: r.get("plu") == body["plu"]
    if route == "machine.create":
        return lambda r: r.get("hostname") == body.get("hostname")
    if route == "location.create":
        return lambda r: r.get("name") == body.get("name")
    return None


def execute_command(conn: SmartNow, command: Command) -> CommandResult:
    """Validate, send and decode one command."""
    route, params, query, body = build(command)
    if route == "voucher.create":
        try:
            answer = conn.call(route, params=list(query.items()), json=body, write=True, once=True)
        except NetworkError:
            ref = body.get("text4")
            found = (
                conn.raw_list("voucher.list", [("where[text4]", ref), ("limit", 1)]) if ref else []
            )
            if not found:
                raise
            return CommandResult(
                source_id=None, response={"reconciled": True, "count": body["count"]}
            )
        sid = answer.get("id") if isinstance(answer, dict) else None
        return CommandResult(
            source_id=None if sid is None else str(sid), response=answer or {"count": body["count"]}
        )
    write = route not in ("voucher.validate",)
    try:
        answer = conn.call(route, params=list(query.items()), json=body, write=write, **params)
    except VendorValidationError as exc:
        match = _natural(route, body)
        if match is None or "already exists" not in (exc.vendor_message or ""):
            raise
        sid = _lookup(conn, route, params, match)
        if sid is None:
            raise
        return CommandResult(source_id=sid, response={"reconciled": True})
    answer = answer if isinstance(answer, dict) else {}
    sid = answer.get("id") or params.get("id")
    if sid is None and route.endswith(".create"):
        match = _natural(route, body)  # flavours/extras answer {message}: find the new id
        sid = _lookup(conn, route, params, match) if match else None
    if route.startswith("voucher.") and "voucherId" in answer:
        sid = answer["voucherId"]
    return CommandResult(source_id=None if sid is None else str(sid), response=answer)
