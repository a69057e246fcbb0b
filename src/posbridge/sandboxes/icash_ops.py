"""The iCash client API operations (3.02–3.28) over an `ICashWorld`.

Each handler takes the sandbox state and the form fields and returns the envelope's
`data`, or raises `Fail(message)` (answered `{"status": 0, "error_message": message}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes import icash_render as r
from posbridge.sandboxes.faults import malform
from posbridge.sandboxes.icash_gen import add_line, finalize
from posbridge.sandboxes.icash_world import (
    CashMovement,
    Contragent,
    Operation,
    OpPayment,
    SaleItem,
    Storno,
    q2,
)

if TYPE_CHECKING:
    from posbridge.sandboxes.icash import ICashState

__all__ = ["OPERATIONS", "Fail", "Form"]

_UUID = re.compile(r"^[a-zA-Z0-9]{8}-[a-zA-Z0-9]{4}-\d{7}$")


class Fail(Exception):
    """A documented failure: the message goes into `error_message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Form(dict[str, str]):
    """The request's form fields with typed accessors that fail like the vendor."""

    def text(self, key: str, default: str = "") -> str:
        return self.get(key, default).strip()

    def required(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise Fail(f"{key} is mandatory")
        return value

    def num(self, key: str, *, required: bool = False) -> int | None:
        value = self.required(key) if required else self.text(key)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise Fail(f"Wrong value for {key}") from None

    def need_int(self, key: str) -> int:
        value = self.num(key, required=True)
        assert value is not None
        return value

    def dec(self, key: str, *, required: bool = False) -> Decimal | None:
        value = self.required(key) if required else self.text(key)
        if not value:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise Fail(f"Wrong value for {key}") from None


Handler = Callable[["ICashState", Form], Any]


def _listing(state: ICashState, f: Form, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sort, order, offset and count (≤ 100, default 10) over rendered rows."""
    sort = f.text("sort")
    if sort and rows and sort in rows[0]:
        rows.sort(
            key=lambda x: (
                x[sort] is None,
                str(x[sort]) if not isinstance(x[sort], int) else f"{x[sort]:020d}",
            )
        )
    if f.text("order").upper() == "DESC":
        rows.reverse()
    offset = f.num("offset") or 0
    count = f.num("count")
    count = 10 if count is None else count
    if count < 1 or count > 100:
        raise Fail("Wrong value for count")
    return {"TotalRecords": len(rows), "Data": rows[offset : offset + count]}


def _match(value: Any, wanted: str) -> bool:
    return str(value if value is not None else "") == wanted


def _filtered(
    rows: Iterable[dict[str, Any]], f: Form, keys: dict[str, str]
) -> list[dict[str, Any]]:
    out = list(rows)
    for param, field in keys.items():
        wanted = f.text(param)
        if wanted:
            out = [x for x in out if _match(x.get(field), wanted)]
    return out


def get_cash_registers(state: ICashState, f: Form) -> Any:
    return [r.cash_register(x) for x in state.world.registers]


def get_stores(state: ICashState, f: Form) -> Any:
    return [
        {"StoreID": s.id, "StoreName": s.name, "StoreCity": s.town, "StoreAddress": s.address}
        for s in state.world.stores
    ]


def get_tax_groups(state: ICashState, f: Form) -> Any:
    return [{"id": g.id, "value": g.name, "rate": r.dec(g.rate, 2)} for g in state.world.tax_groups]


def get_pay_types(state: ICashState, f: Form) -> Any:
    return [{"id": p.id, "value": p.name} for p in state.world.pay_types]


def get_measure_units(state: ICashState, f: Form) -> Any:
    return [{"id": u.id, "value": u.name} for u in state.world.measure_units]


def add_contragent(state: ICashState, f: Form) -> Any:
    w = state.world
    kind = f.text("ContragentType", "CLIENT").upper()
    if kind not in ("CLIENT", "SUPPLIER"):
        raise Fail("Wrong value for ContragentType")
    c = Contragent(
        id=w.next_id("contragent"),
        name=f.required("ContragentName")[:100],
        type=kind,
        country=f.text("ContragentCountryCode", w.country),
        city=f.text("ContragentCityName"),
        tax_num=f.text("ContragentTaxNum"),
        vat_registered=1 if f.text("ContragentVatRegistered") == "1" else 0,
        address=f.text("ContragentAddress"),
        phone=f.text("ContragentPhone"),
        email=f.text("ContragentEmail"),
        mol=f.text("ContragentMOL"),
        barcode=f.text("ContragentBarcode"),
        create_date=state.now(),
    )
    w.contragents.append(c)
    return {"ContragentID": c.id}


def get_contragents(state: ICashState, f: Form) -> Any:
    rows = [r.contragent(c) for c in state.world.contragents]
    rows = _filtered(
        rows,
        f,
        {
            "ContragentID": "ContragentID",
            "ContragentType": "ContragentType",
            "ContragentBarcode": "ContragentBarcode",
            "ContragentTaxNum": "ContragentTaxNum",
            "ContragentActive": "ContragentActive",
        },
    )
    name = f.text("ContragentName").lower()
    if name:
        rows = [x for x in rows if name in str(x["ContragentName"]).lower()]
    out = _listing(state, f, rows)
    served = [int(x["ContragentID"]) for x in out["Data"]]
    more = (f.num("offset") or 0) + len(served) < out["TotalRecords"]
    gone = state.faults.deleted_between_pages(served, more)
    if gone is not None:
        state.world.contragents = [c for c in state.world.contragents if c.id != gone]
    return out


def _item(state: ICashState, f: Form) -> SaleItem:
    w = state.world
    by_id, inv = f.num("SaleItemID"), f.text("SaleItemInventoryID")
    for s in w.sale_items:
        if (by_id is not None and s.id == by_id) or (inv and s.inventory_id == inv):
            return s
    raise Fail(
        "Wrong value for SaleItemID" if by_id is not None else "Wrong value for SaleItemInventoryID"
    )


def _store(state: ICashState, f: Form, key: str = "StoreID") -> int:
    store_id = f.need_int(key)
    if all(s.id != store_id for s in state.world.stores):
        raise Fail(f"Wrong value for {key}")
    return store_id


def add_sale_item(state: ICashState, f: Form) -> Any:
    w = state.world
    edit = f.num("EditSaleItemID")
    rates = {g.id: g.rate for g in w.tax_groups}
    if edit is not None:
        item = next((s for s in w.sale_items if s.id == edit), None)
        if item is None:
            raise Fail("Wrong value for EditSaleItemID")
    else:
        item = SaleItem(
            id=w.next_id("sale_item"),
            inventory_id=f.required("SaleItemInventoryID"),
            barcode="",
            name=f.required("SaleItemName"),
            type="PRODUCT",
            measure_unit_id=1,
            tax_group_id=1,
            price=Decimal(0),
            store_prices={},
            stock={s.id: Decimal(0) for s in w.stores},
        )
    for key, attr in (
        ("SaleItemBarcode", "barcode"),
        ("SaleItemName", "name"),
        ("SaleItemCashRegisterName", "cash_register_name"),
        ("SaleItemComment", "comment"),
        ("SaleItemInventoryID", "inventory_id"),
    ):
        if f.text(key):
            setattr(item, attr, f.text(key)[:100])
    kind = f.text("SaleItemType").upper()
    if kind:
        if kind not in ("PRODUCT", "SERVICE"):
            raise Fail("Wrong value for SaleItemType")
        item.type = kind
    unit = f.num("SaleItemPrimaryMeasureUnitID")
    if unit is not None:
        if all(u.id != unit for u in w.measure_units):
            raise Fail("Wrong value for SaleItemPrimaryMeasureUnitID")
        item.measure_unit_id = unit
    group = f.num("SaleItemTaxGroupID")
    if group is not None:
        if group not in rates:
            raise Fail("Wrong value for SaleItemTaxGroupID")
        item.tax_group_id = group
    rate = rates[item.tax_group_id]
    net, gross = f.dec("SaleItemSellPriceWithoutVat"), f.dec("SaleItemSellPrice")
    if net is not None:  # the price without VAT has priority (3.10)
        item.price = (net * (100 + rate) / 100).quantize(Decimal("0.000001"))
    elif gross is not None:
        item.price = gross.quantize(Decimal("0.000001"))
    for key, attr in (
        ("SaleItemForbidSale", "forbid_sale"),
        ("SaleItemForbidDiscount", "forbid_discount"),
    ):
        if f.text(key) in ("0", "1"):
            setattr(item, attr, int(f.text(key)))
    if edit is None:
        if any(s.inventory_id == item.inventory_id for s in w.sale_items):
            raise Fail("SaleItemInventoryID already exists")
        w.sale_items.append(item)
    return {"SaleItemID": item.id}


def edit_sale_item_by_store(state: ICashState, f: Form) -> Any:
    inv = f.required("SaleItemInventoryID")
    item = next((s for s in state.world.sale_items if s.inventory_id == inv), None)
    if item is None:
        raise Fail("Wrong value for SaleItemInventoryID")
    store_id = _store(state, f)
    price = f.dec("SaleItemSellPrice")
    if price is not None:
        item.store_prices[store_id] = price.quantize(Decimal("0.000001"))
    if f.text("SaleItemForbidSale") in ("0", "1"):
        item.forbid_sale = int(f.text("SaleItemForbidSale"))
    return "OK"


def get_sale_items(state: ICashState, f: Form) -> Any:
    store_id = _store(state, f) if f.text("StoreID") else None
    rows = [r.sale_item(state.world, s, store_id) for s in state.world.sale_items]
    rows = _filtered(
        rows,
        f,
        {
            "SaleItemID": "SaleItemID",
            "InventoryID": "SaleItemInventoryID",
            "Barcode": "SaleItemBarcode",
            "Type": "SaleItemType",
            "CashRegisterName": "SaleItemCashRegisterName",
            "Status": "SaleItemStatus",
        },
    )
    name = f.text("Name").lower()
    if name:
        rows = [x for x in rows if name in str(x["SaleItemName"]).lower()]
    return _listing(state, f, rows)


def get_sale_item_qty(state: ICashState, f: Form) -> Any:
    inv = f.required("SaleItemInventoryID")
    item = next((s for s in state.world.sale_items if s.inventory_id == inv), None)
    if item is None:
        raise Fail("Wrong value for SaleItemInventoryID")
    store_id = _store(state, f)
    return {
        "SaleItemInventoryID": inv,
        "StoreID": store_id,
        "Qty": r.dec(item.stock.get(store_id, Decimal(0)), 5),
    }


def _operation(state: ICashState, f: Form, *, temp: bool = False) -> Operation:
    op_id = f.num("OperationID", required=True)
    op = state.operations.get(op_id or 0)
    if op is None or (temp and op.status != "TEMP"):
        raise Fail("Wrong value for OperationID")
    return op


def new_operation(state: ICashState, f: Form) -> Any:
    w = state.world
    source = f.required("ImportSource")[:30]
    kind = f.text("OperationType", "Sell")
    if kind not in ("Sell", "ReturnClient", "Delivery"):
        raise Fail("Wrong value for OperationType")
    reg_id = f.need_int("CashRegisterID")
    reg = next((x for x in w.registers if x.id == reg_id), None)
    if reg is None:
        raise Fail("Wrong value for CashRegisterID")
    store_id = _store(state, f) if f.text("StoreID") else reg.store_id
    contragent = f.num("ContragentID")
    if contragent is not None and all(c.id != contragent for c in w.contragents):
        raise Fail("Wrong value for ContragentID")
    op = Operation(
        id=w.next_id("operation"),
        type=kind,
        cash_register_id=reg.id,
        store_id=store_id,
        num=w.next_id(f"num:{store_id}"),
        status="TEMP",
        contragent_id=contragent,
        comment=f.text("Comment")[:255],
        create_user=state.session_user(f),
        created=state.now(),
        import_type="API",
        import_source=source,
        import_ref_id=f.text("ImportRefID")[:30],
        electronic_receipt="YES" if f.text("OperationElectronicReceipt") == "YES" else "NO",
    )
    if kind == "ReturnClient":
        storno = f.text("StornoType")
        if storno not in ("0", "1", "2"):
            raise Fail("Wrong value for StornoType")
        uuid = f.required("FiskBonUUID")
        if not _UUID.match(uuid):
            raise Fail("Wrong value for FiskBonUUID")
        device = f.need_int("FiskDeviceNum")
        if device < 10_000_000:
            raise Fail("Wrong value for FiskDeviceNum")
        bon_date = f.required("FiskBonDate")
        try:
            datetime.strptime(bon_date, "%d-%m-%y %H:%M")
        except ValueError:
            raise Fail("Wrong value for FiskBonDate") from None
        op.storno = Storno(int(storno), f.need_int("FiskBonRcpNum"), device, bon_date, uuid)
        sale = next((o for o in w.operations if o.fisk_uuid == uuid and o.type == "Sell"), None)
        op.sell_operation_id = sale.id if sale else None
    w.operations.append(op)
    state.operations[op.id] = op
    return {"OperationID": op.id, "OperationFiskBonUUID": op.fisk_uuid}


def get_operation(state: ICashState, f: Form) -> Any:
    return r.operation(state.world, _operation(state, f))


def add_operation_sale_item(state: ICashState, f: Form) -> Any:
    op = _operation(state, f, temp=True)
    item = _item(state, f)
    qty = f.dec("Qty", required=True)
    assert qty is not None
    if qty <= 0:
        raise Fail("Wrong value for Qty")
    discount = f.dec("SaleItemDiscount") or Decimal(0)
    if not Decimal(0) <= discount < 100:
        raise Fail("Wrong value for SaleItemDiscount")
    price = f.dec("SaleItemSinglePrice")
    line = add_line(state.world, op, item, qty, discount, price)
    return {"OperationSaleItemID": line.id}


def del_operation_sale_item(state: ICashState, f: Form) -> Any:
    line_id = f.num("OperationSaleItemID", required=True)
    for op in state.world.operations:
        if op.status != "TEMP":
            continue
        for line in op.lines:
            if line.id == line_id and line.status == "NORMAL":
                line.status = "DELETED"
                return {"OperationSaleItemID": line.id}
    raise Fail("Wrong value for OperationSaleItemID")


def set_operation_discount(state: ICashState, f: Form) -> Any:
    op = _operation(state, f, temp=True)
    discount = f.dec("Discount", required=True)
    assert discount is not None
    if not Decimal(0) <= discount <= Decimal("99.99"):
        raise Fail("Wrong value for Discount")
    op.discount = discount
    for line in op.lines:  # the operation discount is carried into every unit price
        factor = (1 - line.discount / 100) * (1 - discount / 100)
        line.price = (line.list_price * factor).quantize(Decimal("0.00001"))
    return "OK"


def add_operation_payment(state: ICashState, f: Form) -> Any:
    op = _operation(state, f, temp=True)
    pay_type = f.need_int("PayTypeID")
    if all(p.id != pay_type for p in state.world.pay_types):
        raise Fail("Wrong value for PayTypeID")
    amount = f.dec("PaymentSum", required=True)
    assert amount is not None
    if amount <= 0:
        raise Fail("Wrong value for PaymentSum")
    pay = OpPayment(
        state.world.next_id("payment"),
        pay_type,
        q2(amount),
        op.cash_register_id,
        state.session_user(f),
        state.now(),
    )
    op.payments.append(pay)
    return {"result": "OK", "PaymentID": str(pay.id)}


def print_operation(state: ICashState, f: Form) -> Any:
    op = _operation(state, f, temp=True)
    if not op.live_lines():
        raise Fail("Operation has no items")
    rest = op.total - op.paid
    if rest > 0:  # what is not paid yet is paid with PayTypeID (3.18)
        pay_type = f.need_int("PayTypeID")
        if all(p.id != pay_type for p in state.world.pay_types):
            raise Fail("Wrong value for PayTypeID")
        op.payments.append(
            OpPayment(
                state.world.next_id("payment"),
                pay_type,
                rest,
                op.cash_register_id,
                state.session_user(f),
                state.now(),
            )
        )
    elif rest < 0:
        raise Fail("Wrong value for PaymentSum")
    finalize(state.world, op, state.now(), state.session_user(f))
    return op.id


_OP_FILTERS = {
    "OperationID": "OperationID",
    "OperationStoreID": "OperationStoreID",
    "OperationContragentID": "OperationContragentID",
    "ImportSource": "OperationImportSource",
    "ImportRefID": "OperationImportRefID",
    "OperationCreateUserID": "OperationCreateUserID",
    "OperationCompleteUserID": "OperationCompleteUserID",
}


def _sets(f: Form, key: str, default: str) -> set[str]:
    return {x.strip() for x in f.text(key, default).split(",") if x.strip()}


def _range(
    rows: list[dict[str, Any]], f: Form, param: str, field: str, n: int
) -> list[dict[str, Any]]:
    lo, hi = f.text(param + "From"), f.text(param + "To")
    if lo:
        rows = [x for x in rows if x[field] is not None and str(x[field])[:n] >= lo[:n]]
    if hi:
        rows = [x for x in rows if x[field] is not None and str(x[field])[:n] <= hi[:n]]
    return rows


def operations_list(state: ICashState, f: Form) -> Any:
    types = _sets(f, "OperationType", "Sell,ReturnClient")
    statuses = _sets(f, "OperationStatus", "NORMAL")
    ops = [o for o in state.world.operations if o.type in types and o.status in statuses]
    rows = _filtered((r.operation(state.world, o) for o in ops), f, _OP_FILTERS)
    rows = _range(rows, f, "OperationDate", "OperationDate", 10)
    rows = _range(rows, f, "OperationCreateDate", "OperationCreateDate", 19)
    rows = _range(rows, f, "OperationCompleteDate", "OperationCompleteDate", 19)
    answer = _listing(state, f, rows)
    bad, _dropped, kind = state.faults.record_faults()
    if bad:
        answer["Data"] = [
            malform(
                x,
                kind,
                amount=(("OperationSaleItems", 0, "OperationSaleItemPrice"), ("OperationPrice",)),
                time=(("OperationCompleteDate",),),
                vat=(("OperationSaleItems", 0, "OperationSaleItemPriceWithoutVat"),),
                quantity=(("OperationSaleItems", 0, "OperationSaleItemPMUQuantity"),),
                currency=(("OperationCurrencyCode",),),
                required=(("OperationPrice",),),
            )
            if x["OperationID"] in bad
            else x
            for x in answer["Data"]
        ]
    return answer


_DOC_FILTERS = {
    "DocumentID": "DocumentID",
    "DocumentStoreID": "DocumentStoreID",
    "DocumentNum": "DocumentNum",
    "DocumentStatus": "DocumentStatus",
    "DocumentOperationType": "DocumentOperationType",
    "DocumentOperationID": "DocumentOperationID",
    "DocumentContragentID": "DocumentContragentID",
    "DocumentPayTypeID": "DocumentPayTypeID",
    "DocumentBankAccountID": "DocumentBankAccountID",
    "ImportSource": "ImportSource",
    "ImportRefID": "ImportRefID",
}


def documents_list(state: ICashState, f: Form) -> Any:
    types = _sets(f, "DocumentType", "INVOICE,PROFORMA")
    subs = _sets(f, "DocumentSubType", "NORMAL,CREDIT,DEBIT,ADVANCE")
    docs = [d for d in state.world.documents if d.type in types and d.sub_type in subs]
    rows = _filtered((r.document(state.world, d) for d in docs), f, _DOC_FILTERS)
    rows = _range(rows, f, "DocumentDate", "DocumentDate", 10)
    return _listing(state, f, rows)


def get_document(state: ICashState, f: Form) -> Any:
    doc_id = f.num("DocumentID", required=True)
    doc = next((d for d in state.world.documents if d.id == doc_id), None)
    if doc is None:
        raise Fail("Wrong value for DocumentID")
    return r.document(state.world, doc)


def add_cash_register_amount(state: ICashState, f: Form) -> Any:
    reg_id = f.need_int("CashRegisterID")
    if all(x.id != reg_id for x in state.world.registers):
        raise Fail("Wrong value for CashRegisterID")
    kind = f.need_int("ServiceIssuedSumType")
    amount = f.dec("ServiceIssuedSumSum", required=True)
    assert amount is not None
    move = CashMovement(state.world.next_id("movement"), reg_id, kind, q2(amount), state.now())
    state.world.cash_movements.append(move)
    return move.id


def get_bank_accounts(state: ICashState, f: Form) -> Any:
    return [r.bank_account(b) for b in state.world.bank_accounts]


#: operation slug → handler (3.01 `login` is handled by the state itself)
OPERATIONS: dict[str, Handler] = {
    "get-cash-registers": get_cash_registers,
    "get-stores": get_stores,
    "get-tax-groups": get_tax_groups,
    "get-pay-types": get_pay_types,
    "get-measure-units": get_measure_units,
    "add-contragent": add_contragent,
    "get-contragents": get_contragents,
    "add-sale-item": add_sale_item,
    "edit-sale-item-by-store": edit_sale_item_by_store,
    "get-sale-items": get_sale_items,
    "new-operation": new_operation,
    "get-operation": get_operation,
    "add-operation-sale-item": add_operation_sale_item,
    "del-operation-sale-item": del_operation_sale_item,
    "set-operation-discount": set_operation_discount,
    "print-operation": print_operation,
    "add-operation-payment": add_operation_payment,
    "operations-list": operations_list,
    "documents-list": documents_list,
    "get-document": get_document,
    "get-sale-item-qty": get_sale_item_qty,
    "add-cash-register-amount": add_cash_register_amount,
    "get-bank-accounts": get_bank_accounts,
}
