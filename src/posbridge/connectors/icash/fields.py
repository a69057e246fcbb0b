"""iCash's field map: which vendor field feeds which model field (docs/connectors.md).

Declarations only; `mapping.py` applies them (docs/icash-wire.md has the amount rules).
"""

from __future__ import annotations

from typing import Final

from posbridge.connectors.fieldmap import Field

__all__ = ["FIELD_MAP"]

F = Field
FIELD_MAP: Final[dict[str, tuple[str, list[Field]]]] = {
    "orders": (
        "operations-list (3.20, full 3.14 records)",
        [
            F("OperationID", "source_id", "id", True),
            F("OperationNum", "number", "text"),
            F("OperationType", "kind", "computed", True, "Sell → sale, ReturnClient → return"),
            F("OperationStoreID", "location_source_id", "id"),
            F("OperationCashRegisterID", "device_source_id", "id"),
            F("OperationCompleteUserID", "employee_source_id", "id"),
            F("OperationContragentID", "customer_source_id", "id"),
            F("OperationCompleteDate", "occurred_at", "local_datetime", True),
            F("OperationCurrencyCode", "currency", "text", True),
            F("OperationPrice", "total_gross", "decimal", True, "negated on returns"),
            F("OperationTotalVat", "total_tax", "decimal", True, "negated on returns"),
            F("OperationSaleItems[].OperationSaleItemPMUQuantity", "lines[].quantity", "decimal"),
            F("OperationSaleItems[].OperationSaleItemPrice", "lines[].unit_price_gross", "decimal"),
            F(
                "OperationSaleItems[].OperationSaleItemPriceWithoutVat",
                "lines[].tax_rate",
                "computed",
                note="rate implied by the two prices, snapped to the country's rates",
            ),
            F("OperationSaleItems[].OperationSaleItemDiscount", "lines[].discount", "computed"),
            F("OperationPayments[].PaymentSum", "payments[].amount", "decimal"),
            F("OperationPayments[].PaymentPayTypeID", "payments[].vendor_method", "id"),
            F("SellOperationID", "refund_of_source_id", "id"),
            F("OperationFiskBonUUID", "fiscal.uuid", "text"),
            F("OperationElectronicDataReceipt", "fiscal.text", "text", note="receipt no. parsed"),
            F("OperationElectronicDataQrCode", "fiscal.qr", "text"),
            F(
                "stornoType, FiskBonRcpNum, FiskDeviceNum, FiskBonDate, FiskBonUUID",
                "note",
                "computed",
                note="the sale a return refers to",
            ),
        ],
    ),
    "locations": (
        "get-stores (not documented, see icash-wire.md)",
        [
            F("StoreID", "source_id", "id", True),
            F("StoreName", "name", "text", True),
            F("StoreAddress", "street", "text"),
            F("StoreCity", "town", "text"),
        ],
    ),
    "devices": (
        "get-cash-registers (3.02)",
        [
            F("id", "source_id", "id", True),
            F("value", "name", "text", True),
            F("type", "model", "text", note="VIRTUAL / HARDWARE"),
            F("storeID", "location_source_id", "id"),
        ],
    ),
    "payment_types": (
        "get-pay-types (3.06)",
        [
            F("id", "source_id", "id", True),
            F("value", "name", "text", True),
            F("value", "method", "computed", note="by name, else 1 cash / 2 card / 3 cheque"),
        ],
    ),
    "customers": (
        "get-contragents (3.09)",
        [
            F("ContragentID", "source_id", "computed", True, "SUPPLIER → `supplier:<id>`"),
            F("ContragentName", "name", "text"),
            F("ContragentTaxNum", "vat_number", "text"),
            F("ContragentEmail", "email", "text"),
            F("ContragentPhone", "phone", "text"),
            F("ContragentAddress", "street", "text"),
            F("ContragentCityName", "town", "text"),
            F("ContragentCountryCode", "country", "text"),
        ],
    ),
    "products": (
        "get-sale-items (3.12, plain and per StoreID) + get-sale-item-qty (3.23)",
        [
            F("item.SaleItemID", "source_id", "id", True),
            F("item.SaleItemName", "name", "text", True),
            F("item.SaleItemInventoryID", "sku", "text"),
            F("item.SaleItemBarcode", "barcodes", "computed"),
            F("item.SaleItemSellPrice", "prices[]", "decimal", note="default price"),
            F("stores[].item.SaleItemSellPrice", "prices[]", "decimal", note="per store"),
            F("item.SaleItemTaxGroupID", "tax_rate", "computed", note="via get-tax-groups"),
            F("stores[].qty.Qty", "stock_quantity", "computed", note="sum over stores"),
        ],
    ),
    "invoices": (
        "documents-list (3.21, full 3.22 records)",
        [
            F("DocumentID", "source_id", "id", True),
            F(
                "DocumentType, DocumentSubType",
                "kind",
                "computed",
                True,
                "PROFORMA → proforma, CREDIT → credit_note, DEBIT → debit_note",
            ),
            F("DocumentNum", "number", "text"),
            F("DocumentDate", "issued_on", "date"),
            F("DocumentContragentID", "customer_source_id", "id"),
            F("DocumentOperationID", "order_source_id", "id"),
            F("DocumentTotalPrice", "total_gross", "decimal", True),
            F("DocumentPriceBase", "total_net", "decimal", True),
            F("DocumentTotalVat", "total_tax", "decimal", True),
        ],
    ),
}
