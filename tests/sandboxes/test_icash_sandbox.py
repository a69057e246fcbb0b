"""The iCash sandbox answers like the client API document: envelope, errors, 3.14, lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.icash import create_sandbox, sign
from posbridge.sandboxes.runner import SandboxServer

#: the keys of 3.14's structure "operation" for a return with an electronic receipt
_OPERATION_KEYS = [
    "OperationID", "OperationType", "OperationCashRegisterID", "OperationStoreID",
    "OperationNum", "OperationDate", "OperationStatus", "OperationContragentID",
    "OperationComment", "OperationPrice", "OperationCurrencyCode", "OperationPriceWithoutVat",
    "OperationTotalVat", "OperationPayedSum", "OperationFiskBonUUID", "OperationCreateUserID",
    "OperationCreateDate", "OperationCompleteUserID", "OperationCompleteDate",
    "OperationPosCompleteDate", "OperationTotalDiscount", "OperationImportType",
    "OperationImportRefID", "OperationImportSource", "OperationElectronicReceipt",
    "OperationSaleItems", "OperationPayments", "stornoType", "FiskBonRcpNum", "FiskDeviceNum",
    "FiskBonDate", "FiskBonUUID", "SellOperationID", "OperationOperationCustomStateName",
    "OperationElectronicDataQrCode", "OperationElectronicDataReceipt",
]  # fmt: skip
_LINE_KEYS = [
    "OperationSaleItemID", "OperationSaleItemOperationID", "OperationSaleItemSaleItemID",
    "OperationSaleItemStatus", "OperationSaleItemPMUQuantity", "OperationSaleItemPrice",
    "OperationSaleItemCurrencyCode", "OperationSaleItemPriceWithoutVat",
    "OperationSaleItemDiscount", "OperationSaleItemAverageBuyPrice", "MeasureUnitName",
]  # fmt: skip
_PAYMENT_KEYS = [
    "PaymentID", "PaymentOperationID", "PaymentSum", "PaymentPayTypeID", "PaymentCurrencyCode",
    "PaymentCashRegisterID", "PaymentCreateUserID", "PaymentCreateDate",
]  # fmt: skip


class Client:
    """A minimal signed iCash client over loopback."""

    def __init__(self, box: Sandbox, http: httpx.Client) -> None:
        self.box, self.http, self.nonce, self.ses = box, http, 1000, ""

    def post(self, op: str, *, ses: bool = True, **fields: Any) -> dict[str, Any]:
        c = self.box.credentials
        self.nonce += 1
        data = {
            "api_key": c["api_key"],
            "nonce": str(self.nonce),
            "signature": sign(c["secret_key"], self.nonce, c["warehouse_id"], c["api_key"]),
            "WareHouseID": c["warehouse_id"],
            "UserID": c["user_id"],
            **({"ses": self.ses} if ses and self.ses else {}),
            **{k: str(v) for k, v in fields.items()},
        }
        answer: dict[str, Any] = self.http.post(f"/clientapi/v1/{op}", data=data).json()
        return answer

    def login(self) -> None:
        self.ses = self.post("login", ses=False)["data"]["session_id"]


@pytest.fixture
def api() -> Iterator[Client]:
    """A logged-in client of a small sandbox."""
    box = create_sandbox(seed=6, days=2, orders_per_day=60)
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as http:
        client = Client(box, http)
        client.login()
        yield client


def test_bad_signature_and_unknown_key_are_authentication_errors(api: Client) -> None:
    """A wrong signature or api_key gets status 0 "Authentication Error" with the nonce echoed."""
    answer = api.http.post(
        "/clientapi/v1/get-pay-types",
        data={
            "api_key": api.box.credentials["api_key"],
            "nonce": "99999999999",
            "signature": "0" * 64,
        },
    ).json()
    assert answer == {"nonce": "99999999999", "status": 0, "error_message": "Authentication Error"}


def test_missing_and_expired_session(api: Client) -> None:
    """Without `ses` the answer is "Missing value for ses"; after 30 idle minutes "Session expired"."""
    assert api.post("get-pay-types", ses=False)["error_message"] == "Missing value for ses"
    assert api.post("get-pay-types")["status"] == 1
    api.box.state.clock.advance(31 * 60)
    assert api.post("get-pay-types")["error_message"] == "Session expired"


def test_lookups_have_the_documented_shapes(api: Client) -> None:
    """Cash registers, pay types, measure units and bank accounts answer as 3.02/3.06/3.07/3.28."""
    regs = api.post("get-cash-registers")["data"]
    assert {r["type"] for r in regs} == {"HARDWARE", "VIRTUAL"}
    assert set(regs[0]) == {"id", "value", "type", "storeID"}
    assert api.post("get-pay-types")["data"][0] == {"id": 1, "value": "В брой"}
    assert set(api.post("get-measure-units")["data"][0]) == {"id", "value"}
    account = api.post("get-bank-accounts")["data"][0]
    assert account["BankAccountCurrencyCode"] == "BGN"
    assert account["BankAccountActive"] == 1


def test_read_operation_is_3_14_exactly(api: Client) -> None:
    """get-operation of a return has 3.14's keys in order, fixed-scale decimals and the storno ref."""
    world = api.box.state.world
    ret = next(
        o for o in world.operations if o.type == "ReturnClient" and o.electronic_receipt == "YES"
    )
    answer = api.post("get-operation", OperationID=ret.id)
    assert answer["nonce"] == str(api.nonce)
    op = answer["data"]
    assert list(op) == _OPERATION_KEYS
    assert list(op["OperationSaleItems"][0]) == _LINE_KEYS
    assert list(op["OperationPayments"][0]) == _PAYMENT_KEYS
    assert re.fullmatch(r"\d+\.\d{5}", op["OperationPrice"])
    assert re.fullmatch(r"\d+\.\d{5}", op["OperationSaleItems"][0]["OperationSaleItemPMUQuantity"])
    assert re.fullmatch(r"\d+\.\d{2}", op["OperationPayments"][0]["PaymentSum"])
    assert re.fullmatch(r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-\d{7}", op["FiskBonUUID"])
    assert op["SellOperationID"] == ret.sell_operation_id
    assert op["OperationElectronicDataReceipt"].startswith("\x1aD\t")
    wrong = api.post("get-operation", OperationID=1)
    assert wrong == {
        "nonce": str(api.nonce),
        "status": 0,
        "error_message": "Wrong value for OperationID",
    }


def test_operations_list_filters_and_pages(api: Client) -> None:
    """operations-list pages by offset/count (≤ 100), sorts, and filters by type and completion time."""
    world = api.box.state.world
    done = [o for o in world.operations if o.status == "NORMAL"]
    first = api.post("operations-list", count=100, sort="OperationID")["data"]
    assert first["TotalRecords"] == len(done)
    assert len(first["Data"]) == 100
    rest = api.post("operations-list", count=100, offset=100, sort="OperationID")["data"]["Data"]
    ids = [o["OperationID"] for o in first["Data"] + rest]
    assert ids == sorted(o.id for o in done)
    returns = api.post("operations-list", OperationType="ReturnClient", count=100)["data"]
    assert returns["TotalRecords"] == sum(o.type == "ReturnClient" for o in done)
    late = sorted(o.completed for o in done if o.completed)[-5]
    since = api.post(
        "operations-list", OperationCompleteDateFrom=f"{late:%Y-%m-%d %H:%M:%S}", count=100
    )["data"]
    assert since["TotalRecords"] == 5
    assert api.post("operations-list", count=101)["error_message"] == "Wrong value for count"


def test_documents_and_sale_items(api: Client) -> None:
    """documents-list filters by type and sub-type; get-sale-items gives each store's price."""
    credit = api.post("documents-list", DocumentSubType="CREDIT", count=100)["data"]
    assert all(d["DocumentSubType"] == "CREDIT" for d in credit["Data"])
    proformas = api.post("documents-list", DocumentType="PROFORMA", count=100)["data"]["Data"]
    assert proformas
    doc = api.post("get-document", DocumentID=proformas[0]["DocumentID"])["data"]
    assert re.fullmatch(r"\d+\.\d{2}", doc["DocumentTotalPrice"])
    world = api.box.state.world
    item = next(i for i in world.sale_items if i.store_prices)
    store_id = next(iter(item.store_prices))
    row = api.post("get-sale-items", StoreID=store_id, SaleItemID=item.id)["data"]["Data"][0]
    assert row["SaleItemSellPrice"] == f"{item.store_prices[store_id]:.6f}"
    qty = api.post("get-sale-item-qty", SaleItemInventoryID=item.inventory_id, StoreID=store_id)
    assert qty["data"]["Qty"] == f"{item.stock[store_id]:.5f}"


def test_sale_flow_with_removed_line_and_operation_discount(api: Client) -> None:
    """new → 2 lines → remove one → 10 % discount → payment → print: prices, totals and receipt follow."""
    item = api.box.state.world.sale_items[0]
    new = api.post("new-operation", ImportSource="test", ImportRefID="r1", CashRegisterID=1,
                   OperationElectronicReceipt="YES")["data"]  # fmt: skip
    op_id = new["OperationID"]
    keep = api.post("add-operation-sale-item", OperationID=op_id, SaleItemID=item.id, Qty="3")
    drop = api.post("add-operation-sale-item", OperationID=op_id, SaleItemID=item.id, Qty="1")
    gone = drop["data"]["OperationSaleItemID"]
    assert api.post("del-operation-sale-item", OperationSaleItemID=gone)["data"] == {
        "OperationSaleItemID": gone
    }
    again = api.post("del-operation-sale-item", OperationSaleItemID=gone)
    assert again["error_message"] == "Wrong value for OperationSaleItemID"
    assert api.post("set-operation-discount", OperationID=op_id, Discount="10")["data"] == "OK"
    paid = api.post("add-operation-payment", OperationID=op_id, PayTypeID=2, PaymentSum="1.00")
    assert paid["data"]["result"] == "OK"
    assert isinstance(paid["data"]["PaymentID"], str)
    assert api.post("print-operation", OperationID=op_id, PayTypeID=1)["data"] == op_id
    op = api.post("get-operation", OperationID=op_id)["data"]
    unit = (item.price * Decimal("0.9")).quantize(Decimal("0.00001"))
    lines = {x["OperationSaleItemID"]: x for x in op["OperationSaleItems"]}
    assert lines[keep["data"]["OperationSaleItemID"]]["OperationSaleItemPrice"] == f"{unit:.5f}"
    assert lines[gone]["OperationSaleItemStatus"] == "DELETED"
    total = (3 * unit).quantize(Decimal("0.01"))
    assert op["OperationPrice"] == f"{total:.5f}"
    assert op["OperationPayedSum"] == f"{total:.5f}"
    assert op["OperationTotalDiscount"] == "10.00000"
    assert op["OperationStatus"] == "NORMAL"
    assert re.fullmatch(r"[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-\d{7}", op["OperationFiskBonUUID"])
    late = api.post("add-operation-sale-item", OperationID=op_id, SaleItemID=item.id, Qty="1")
    assert late["error_message"] == "Wrong value for OperationID"


def test_return_needs_a_valid_fiscal_reference(api: Client) -> None:
    """A ReturnClient with a malformed UNP, device number or storno type is refused; a valid one links its sale."""
    sale = next(o for o in api.box.state.world.operations if o.type == "Sell")
    ref = {
        "ImportSource": "test", "OperationType": "ReturnClient", "CashRegisterID": 1,
        "StornoType": "1", "FiskBonRcpNum": str(sale.receipt_num),
        "FiskDeviceNum": str(api.box.state.world.register(sale.cash_register_id).device_num),
        "FiskBonDate": f"{sale.completed:%d-%m-%y %H:%M}", "FiskBonUUID": sale.fisk_uuid,
    }  # fmt: skip
    for key, bad in (("FiskBonUUID", "X-1"), ("FiskDeviceNum", "123"), ("StornoType", "3")):
        answer = api.post("new-operation", **(ref | {key: bad}))
        assert answer["error_message"] == f"Wrong value for {key}"
    op_id = api.post("new-operation", **ref)["data"]["OperationID"]
    op = api.post("get-operation", OperationID=op_id)["data"]
    assert op["SellOperationID"] == sale.id
    assert op["FiskBonUUID"] == sale.fisk_uuid
    assert op["stornoType"] == "1"
