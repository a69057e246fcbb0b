"""iCash mapping of the document's own 3.14 example (quotes straightened, comma restored)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from posbridge.connectors.icash.mapping import to_invoice, to_order, to_product
from posbridge.connectors.icash.wire import decode_record

_RECEIPT = "\x1aD\t0000543 16-07-2019 12:17\r\x1aT\tN B УНП: DY406477-0001-0000611 \r\x1aE\r"
_EXAMPLE = {
    "OperationID": 56078, "OperationType": "ReturnClient", "OperationCashRegisterID": 1,
    "OperationStoreID": 1, "OperationNum": 190, "OperationDate": "2019-03-20",
    "OperationStatus": "NORMAL", "OperationContragentID": None, "OperationComment": "",
    "OperationPrice": "7.30000", "OperationCurrencyCode": "BGN",
    "OperationPriceWithoutVat": "6.08000", "OperationTotalVat": "1.22000",
    "OperationPayedSum": "7.30000", "OperationFiskBonUUID": "DY406477-0001-0000440",
    "OperationCreateUserID": 1, "OperationCreateDate": "2019-03-20 10:44:19",
    "OperationCompleteUserID": 1, "OperationCompleteDate": "2019-03-20 10:45:18",
    "OperationPosCompleteDate": "2019-03-20 10:45:17", "OperationTotalDiscount": "0.00000",
    "OperationImportType": "API", "OperationImportRefID": "388",
    "OperationImportSource": "API TEST", "OperationElectronicReceipt": "YES",
    "OperationSaleItems": [{
        "OperationSaleItemID": 86660, "OperationSaleItemOperationID": 56078,
        "OperationSaleItemSaleItemID": 37891, "OperationSaleItemStatus": "NORMAL",
        "OperationSaleItemPMUQuantity": "1.00000", "OperationSaleItemPrice": "7.30000",
        "OperationSaleItemCurrencyCode": "BGN", "OperationSaleItemPriceWithoutVat": "6.08333",
        "OperationSaleItemDiscount": "0.00000", "OperationSaleItemAverageBuyPrice": "0.00000",
        "MeasureUnitName": "кг",
    }],
    "OperationPayments": [{
        "PaymentID": 34, "PaymentOperationID": 56078, "PaymentSum": "7.30",
        "PaymentPayTypeID": 1, "PaymentCurrencyCode": "BGN", "PaymentCashRegisterID": 1,
        "PaymentCreateUserID": 1, "PaymentCreateDate": "2019-03-20 10:45:14",
    }],
    "stornoType": "0", "FiskBonRcpNum": "292", "FiskDeviceNum": "36542249",
    "FiskBonDate": "20-03-19 10:44", "FiskBonUUID": "DY406477-0001-0000439",
    "SellOperationID": None, "OperationOperationCustomStateName": "",
    "OperationElectronicDataQrCode": "", "OperationElectronicDataReceipt": _RECEIPT,
}  # fmt: skip


def test_document_example_maps_to_a_negative_return() -> None:
    """The 3.14 example (a return of 7.30 BGN at 20 %) becomes a return of −7.30 with VAT −1.22."""
    order = to_order(decode_record(json.dumps(_EXAMPLE).encode()))
    assert order.kind == "return"
    assert order.total_gross == Decimal("-7.30000")
    assert order.total_tax == Decimal("-1.22000")
    assert order.total_net == Decimal("-6.08000")
    (line,) = order.lines
    assert (line.quantity, line.unit_price_gross, line.tax_rate) == (
        Decimal("-1.00000"),
        Decimal("7.30000"),
        Decimal(20),
    )
    assert (line.gross, line.net, line.tax) == (
        Decimal("-7.30"),
        Decimal("-6.08"),
        Decimal("-1.22"),
    )
    assert order.payments[0].amount == Decimal("-7.30")
    assert order.payments[0].method == "cash"
    assert order.occurred_at == datetime(2019, 3, 20, 8, 45, 18, tzinfo=UTC)
    assert order.refund_of_source_id is None
    assert order.note is not None
    assert "DY406477-0001-0000439" in order.note
    assert order.fiscal is not None
    assert order.fiscal.receipt_number == "543"
    assert order.fiscal.uuid == "DY406477-0001-0000440"


def test_product_and_credit_note() -> None:
    """A sale item takes its tax group's rate and per-store price; a CREDIT document is a credit note."""
    item = {"SaleItemID": 7, "SaleItemName": "Хляб", "SaleItemInventoryID": "1007",
            "SaleItemTaxGroupID": 2, "SaleItemSellPrice": "1.890000", "SaleItemStatus": "Normal",
            "SaleItemPrimaryMeasureUnitID": 1, "SaleItemBarcode": ""}  # fmt: skip
    raw = {"item": item, "stores": [{"StoreID": 2, "item": item | {"SaleItemSellPrice": "1.990000"},
                                     "qty": {"Qty": "12.50000"}}]}  # fmt: skip
    product = to_product(raw, rates={"2": Decimal(9)}, units={"1": "бр."})
    assert product.tax_rate == Decimal(9)
    assert product.stock_quantity == Decimal("12.50000")
    assert [(p.location_source_id, p.amount) for p in product.prices] == [
        (None, Decimal("1.890000")),
        ("2", Decimal("1.990000")),
    ]
    note = to_invoice({"DocumentID": 3, "DocumentType": "INVOICE", "DocumentSubType": "CREDIT",
                       "DocumentTotalPrice": "12.00", "DocumentPriceBase": "10.00",
                       "DocumentTotalVat": "2.00", "DocumentDate": "2026-10-02"})  # fmt: skip
    assert note.kind == "credit_note"
    assert note.total_net + note.total_tax == note.total_gross
