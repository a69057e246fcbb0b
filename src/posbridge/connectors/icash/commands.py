"""iCash writes: contragents, sale items (with per-store prices), sales and returns.

A sale or return goes through the documented flow (`new-operation` →
`add-operation-sale-item`… → `set-operation-discount` → `add-operation-payment`… →
`print-operation`) with `ImportSource = "posbridge"` and `ImportRefID` = the command
reference. None of these steps is idempotent on the vendor side, so no step is blindly
retried: after a lost answer the connector reads the operation back (found by its
`ImportRefID`, lines and payments counted) and continues from where it really is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from posbridge.connectors.base import Capability, Command, CommandResult
from posbridge.errors import TransientError, UsageError, VendorError

if TYPE_CHECKING:
    from posbridge.connectors.icash import ICash

__all__ = ["CAPABILITIES", "IMPORT_SOURCE", "execute_command"]

IMPORT_SOURCE = "posbridge"
T = TypeVar("T")

CAPABILITIES = (
    Capability("create_customer", "customer", "add-contragent (CLIENT or SUPPLIER)"),
    Capability("upsert_product", "product", "add-sale-item, then edit-sale-item-by-store"),
    Capability("create_order", "order", "a whole sale or return through the operation flow"),
    Capability("get_operation", "order", "get-operation (3.14)"),
    Capability("add_cash_amount", "device", "add-cash-register-amount (3.25)"),
    Capability("bank_accounts", "bank_account", "get-bank-accounts (3.28)"),
)


def _req(p: Mapping[str, Any], key: str) -> Any:
    if p.get(key) in (None, ""):
        raise UsageError(f"field {key!r} is required")
    return p[key]


def _dec(value: Any, key: str, places: int) -> str:
    if isinstance(value, float):
        raise UsageError(f"{key}: pass amounts as decimal strings, not floats")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise UsageError(f"{key}: {value!r} is not a number") from None
    if d != d.quantize(Decimal(1).scaleb(-places)):
        raise UsageError(f"{key}: {value} has more than {places} decimals")
    return f"{d:.{places}f}"


def _once(conn: ICash, send: Callable[[], T], reconcile: Callable[[], T | None]) -> T:
    """Send a non-idempotent write one attempt at a time; after a transient failure,
    ask the vendor whether it happened (`reconcile`) before sending it again."""
    for _ in range(4):
        try:
            return send()
        except TransientError:
            found = reconcile()
            if found is not None:
                return found
    raise VendorError("icash: the write did not go through after 4 attempts")


def execute_command(conn: ICash, command: Command) -> CommandResult:
    handlers: dict[str, Callable[[ICash, Command], CommandResult]] = {
        "create_customer": _create_customer,
        "upsert_product": _upsert_product,
        "create_order": _create_order,
        "get_operation": _get_operation,
        "add_cash_amount": _add_cash_amount,
        "bank_accounts": _bank_accounts,
    }
    handler = handlers.get(command.name)
    if handler is None:
        raise UsageError(f"icash has no command {command.name!r}; known: {sorted(handlers)}")
    return handler(conn, command)


def _create_customer(conn: ICash, command: Command) -> CommandResult:
    p = command.payload
    kind = str(p.get("type", "CLIENT")).upper()
    if kind not in ("CLIENT", "SUPPLIER"):
        raise UsageError("type must be CLIENT or SUPPLIER")
    name = str(_req(p, "name"))[:100]
    fields = {
        "ContragentName": name,
        "ContragentType": kind,
        "ContragentCountryCode": p.get("country", conn.country),
        "ContragentCityName": p.get("town"),
        "ContragentTaxNum": p.get("vat_number"),
        "ContragentVatRegistered": "1" if p.get("vat_number") else "0",
        "ContragentAddress": p.get("street"),
        "ContragentPhone": p.get("phone"),
        "ContragentEmail": p.get("email"),
    }

    def find() -> dict[str, Any] | None:
        page = conn.fetch_list(
            "get-contragents",
            {
                "ContragentName": name,
                "ContragentType": kind,
                "sort": "ContragentID",
                "order": "DESC",
            },
        )
        same = [r for r in page.records if r.get("ContragentName") == name]
        return {"ContragentID": same[0]["ContragentID"]} if same else None

    data = _once(conn, lambda: conn.call("add-contragent", fields, write=True, once=True), find)
    return CommandResult(source_id=str(data["ContragentID"]), response=dict(data))


def _upsert_product(conn: ICash, command: Command) -> CommandResult:
    p = command.payload
    inventory = str(_req(p, "sku"))
    fields: dict[str, Any] = {
        "SaleItemInventoryID": inventory,
        "SaleItemName": p.get("name"),
        "SaleItemCashRegisterName": p.get("register_name") or p.get("name"),
        "SaleItemBarcode": p.get("barcode"),
        "SaleItemType": p.get("type"),
        "SaleItemPrimaryMeasureUnitID": p.get("measure_unit_id"),
        "SaleItemTaxGroupID": p.get("tax_group_id"),
    }
    if p.get("price") is not None:
        fields["SaleItemSellPrice"] = _dec(p["price"], "price", 6)
    existing = conn.fetch_list("get-sale-items", {"InventoryID": inventory}).records
    if existing:
        fields["EditSaleItemID"] = existing[0]["SaleItemID"]
    elif not p.get("name"):
        raise UsageError("field 'name' is required for a new sale item")

    def find() -> dict[str, Any] | None:
        rows = conn.fetch_list("get-sale-items", {"InventoryID": inventory}).records
        return {"SaleItemID": rows[0]["SaleItemID"]} if rows and not existing else None

    data = _once(conn, lambda: conn.call("add-sale-item", fields, write=True, once=True), find)
    for store, price in dict(p.get("store_prices") or {}).items():
        conn.call(
            "edit-sale-item-by-store",
            {
                "SaleItemInventoryID": inventory,
                "StoreID": store,
                "SaleItemSellPrice": _dec(price, f"store_prices.{store}", 6),
            },
            write=True,
        )
    return CommandResult(source_id=str(data["SaleItemID"]), response=dict(data))


def reference_id(reference: str) -> str:
    """The ImportRefID (≤ 30 chars) of a command reference."""
    return (
        reference if len(reference) <= 30 else hashlib.sha256(reference.encode()).hexdigest()[:30]
    )


def _find_operation(conn: ICash, ref: str) -> dict[str, Any] | None:
    page = conn.fetch_list(
        "operations-list",
        {
            "ImportSource": IMPORT_SOURCE,
            "ImportRefID": ref,
            "OperationStatus": "TEMP,NORMAL,EDITED,FOR_DOWNLOAD,DOWNLOADED,POS_OPEN",
            "OperationType": "Sell,ReturnClient",
            "count": 10,
        },
    )
    return page.records[0] if page.records else None


def _create_order(conn: ICash, command: Command) -> CommandResult:
    """A complete sale or return; with the same reference, at most one operation."""
    p = command.payload
    if not command.reference:
        raise UsageError("create_order needs a reference (it becomes ImportRefID)")
    ref = reference_id(command.reference)
    kind = str(p.get("kind", "sale"))
    if kind not in ("sale", "return"):
        raise UsageError("kind must be 'sale' or 'return'")
    lines = list(_req(p, "lines"))
    payments = list(p.get("payments") or [])
    line_fields = [
        {
            "SaleItemID": _req(x, "product_id"),
            "Qty": _dec(_req(x, "quantity"), "quantity", 5),
            "SaleItemSinglePrice": _dec(x["unit_price"], "unit_price", 5)
            if x.get("unit_price") is not None
            else None,
            "SaleItemDiscount": _dec(x["discount_percent"], "discount_percent", 2)
            if x.get("discount_percent") is not None
            else None,
        }
        for x in lines
    ]
    pay_fields = [
        {"PayTypeID": _req(x, "pay_type_id"), "PaymentSum": _dec(_req(x, "amount"), "amount", 2)}
        for x in payments
    ]
    head: dict[str, Any] = {
        "ImportSource": IMPORT_SOURCE,
        "ImportRefID": ref,
        "OperationType": "Sell" if kind == "sale" else "ReturnClient",
        "OperationElectronicReceipt": "YES" if p.get("electronic_receipt", True) else "NO",
        "CashRegisterID": _req(p, "cash_register_id"),
        "StoreID": p.get("store_id"),
        "ContragentID": p.get("customer_id"),
        "Comment": p.get("note"),
    }
    if kind == "return":
        head |= _storno(conn, p)
    op = _find_operation(conn, ref)
    if op is None:
        created = _once(
            conn,
            lambda: conn.call("new-operation", head, write=True, once=True),
            lambda: _find_operation(conn, ref),
        )
        op_id = int(created["OperationID"])
        op = conn.call("get-operation", {"OperationID": op_id})
    op_id = int(op["OperationID"])
    if op.get("OperationStatus") != "TEMP":  # already printed: the retry is done
        return CommandResult(source_id=str(op_id), response=dict(op))

    def state() -> dict[str, Any]:
        data: dict[str, Any] = conn.call("get-operation", {"OperationID": op_id})
        return data

    def live(o: Mapping[str, Any]) -> int:
        return sum(
            1
            for x in o.get("OperationSaleItems") or []
            if x.get("OperationSaleItemStatus") == "NORMAL"
        )

    def step(operation: str, fields: dict[str, Any], done: Callable[[], bool]) -> None:
        def send() -> Any:
            return conn.call(operation, fields, write=True, once=True)

        def reconcile() -> Any:
            return True if done() else None

        _once(conn, send, reconcile)

    def lines_over(n: int) -> Callable[[], bool]:
        return lambda: live(state()) > n

    def payments_over(n: int) -> Callable[[], bool]:
        return lambda: len(state().get("OperationPayments") or []) > n

    for i in range(live(op), len(line_fields)):
        step("add-operation-sale-item", {"OperationID": op_id, **line_fields[i]}, lines_over(i))
    if p.get("discount_percent") is not None:
        conn.call(
            "set-operation-discount",
            {"OperationID": op_id, "Discount": _dec(p["discount_percent"], "discount_percent", 2)},
            write=True,
        )
    for i in range(len(op.get("OperationPayments") or []), len(pay_fields)):
        step("add-operation-payment", {"OperationID": op_id, **pay_fields[i]}, payments_over(i))
    rest_type = p.get("pay_type_id") or (payments[-1]["pay_type_id"] if payments else 1)
    step(
        "print-operation",
        {"OperationID": op_id, "PayTypeID": rest_type},
        lambda: state().get("OperationStatus") != "TEMP",
    )
    final = state()
    return CommandResult(source_id=str(op_id), response=dict(final))


def _storno(conn: ICash, p: Mapping[str, Any]) -> dict[str, Any]:
    """The fiscal reference of the sale a return refers to (given, or read from the sale)."""
    ref = dict(p.get("refund_of") or {})
    sale_id = p.get("refund_of_source_id")
    if sale_id and not ref:
        sale = conn.call("get-operation", {"OperationID": sale_id})
        text = str(sale.get("OperationElectronicDataReceipt") or "")
        from posbridge.connectors.icash.mapping import _receipt_number

        number = _receipt_number(text)
        device = text.rsplit("\x1aT\tN Y ", 1)[-1].split()[1] if "\x1aT\tN Y " in text else None
        done = str(sale.get("OperationCompleteDate") or "")
        if not number or not device or not done:
            raise UsageError(f"operation {sale_id} has no fiscal receipt to return against")
        ref = {
            "uuid": sale["OperationFiskBonUUID"],
            "receipt_number": number,
            "device_number": device,
            "date": f"{done[8:10]}-{done[5:7]}-{done[2:4]} {done[11:16]}",
        }
    return {
        "StornoType": str(p.get("storno_type", 1)),
        "FiskBonRcpNum": _req(ref, "receipt_number"),
        "FiskDeviceNum": _req(ref, "device_number"),
        "FiskBonDate": _req(ref, "date"),
        "FiskBonUUID": _req(ref, "uuid"),
    }


def _get_operation(conn: ICash, command: Command) -> CommandResult:
    op_id = _req(command.payload, "operation_id")
    data = conn.call("get-operation", {"OperationID": op_id})
    return CommandResult(source_id=str(op_id), response=dict(data))


def _add_cash_amount(conn: ICash, command: Command) -> CommandResult:
    p = command.payload
    kinds = {"credit": 1, "balance": 2, "debit": 3}
    kind = kinds.get(str(p.get("kind", "credit")).lower())
    if kind is None:
        raise UsageError("kind must be credit, balance or debit")
    data = conn.call(
        "add-cash-register-amount",
        {
            "CashRegisterID": _req(p, "cash_register_id"),
            "ServiceIssuedSumType": kind,
            "ServiceIssuedSumSum": _dec(_req(p, "amount"), "amount", 2),
        },
        write=True,
    )
    return CommandResult(source_id=str(data), response={"id": data})


def _bank_accounts(conn: ICash, command: Command) -> CommandResult:
    data = conn.call("get-bank-accounts")
    return CommandResult(response={"accounts": data})
