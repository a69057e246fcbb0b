"""iCash records on the wire: the world's objects as the client API's JSON dicts.

Decimals are fixed-scale strings (DECIMAL(15,5) → "7.30000", DECIMAL(10,2) → "7.30",
sale item prices DECIMAL(14,6)), integers JSON numbers, dates local wall time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from posbridge.sandboxes.icash_world import (
    BankAccount,
    CashRegister,
    Contragent,
    Document,
    ICashWorld,
    Operation,
    SaleItem,
    q5,
)

__all__ = [
    "bank_account",
    "cash_register",
    "contragent",
    "dec",
    "document",
    "dt",
    "operation",
    "sale_item",
]

_HUNDRED = Decimal(100)


def dec(value: Decimal, places: int) -> str:
    """A fixed-scale decimal string, half up."""
    return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def dt(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def day(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def cash_register(r: CashRegister) -> dict[str, Any]:
    return {"id": r.id, "value": r.name, "type": r.type, "storeID": r.store_id}


def contragent(c: Contragent) -> dict[str, Any]:
    return {
        "ContragentID": c.id,
        "ContragentName": c.name,
        "ContragentType": c.type,
        "ContragentCountryCode": c.country,
        "ContragentCityName": c.city,
        "ContragentAddress": c.address,
        "ContragentTaxNum": c.tax_num,
        "ContragentVatRegistered": c.vat_registered,
        "ContragentMOL": c.mol,
        "ContragentPhone": c.phone,
        "ContragentEmail": c.email,
        "ContragentBarcode": c.barcode,
        "ContragentActive": c.active,
        "ContragentAllowPartPays": 0,
        "ContragentCreateDate": dt(c.create_date),
    }


def sale_item(world: ICashWorld, s: SaleItem, store_id: int | None) -> dict[str, Any]:
    price = s.price_in(store_id) if store_id else s.price
    rate = world.tax_rate(s.tax_group_id)
    return {
        "SaleItemID": s.id,
        "SaleItemInventoryID": s.inventory_id,
        "SaleItemBarcode": s.barcode,
        "SaleItemName": s.name,
        "SaleItemCashRegisterName": s.cash_register_name,
        "SaleItemType": s.type,
        "SaleItemPrimaryMeasureUnitID": s.measure_unit_id,
        "SaleItemTaxGroupID": s.tax_group_id,
        "SaleItemSellPrice": dec(price, 6),
        "SaleItemSellPriceWithoutVat": dec(price * _HUNDRED / (_HUNDRED + rate), 6),
        "SaleItemForbidSale": s.forbid_sale,
        "SaleItemForbidDiscount": s.forbid_discount,
        "SaleItemSaleItemGroupID": s.group_id,
        "SaleItemComment": s.comment,
        "SaleItemStatus": s.status,
        "StoreID": store_id,
    }


def operation(world: ICashWorld, op: Operation) -> dict[str, Any]:
    """3.14's structure "operation", key for key (the example's order)."""
    total, vat = op.total, op.vat
    data: dict[str, Any] = {
        "OperationID": op.id,
        "OperationType": op.type,
        "OperationCashRegisterID": op.cash_register_id,
        "OperationStoreID": op.store_id,
        "OperationNum": op.num,
        "OperationDate": day(op.op_date),
        "OperationStatus": op.status,
        "OperationContragentID": op.contragent_id,
        "OperationComment": op.comment,
        "OperationPrice": dec(total, 5),
        "OperationCurrencyCode": world.currency,
        "OperationPriceWithoutVat": dec(total - vat, 5),
        "OperationTotalVat": dec(vat, 5),
        "OperationPayedSum": dec(op.paid, 5),
        "OperationFiskBonUUID": op.fisk_uuid,
        "OperationCreateUserID": op.create_user,
        "OperationCreateDate": dt(op.created),
        "OperationCompleteUserID": op.complete_user,
        "OperationCompleteDate": dt(op.completed),
        "OperationPosCompleteDate": dt(op.completed),
        "OperationTotalDiscount": dec(op.discount, 5),
        "OperationImportType": op.import_type,
        "OperationImportRefID": op.import_ref_id,
        "OperationImportSource": op.import_source,
        "OperationElectronicReceipt": op.electronic_receipt,
        "OperationSaleItems": [
            {
                "OperationSaleItemID": x.id,
                "OperationSaleItemOperationID": op.id,
                "OperationSaleItemSaleItemID": x.sale_item_id,
                "OperationSaleItemStatus": x.status,
                "OperationSaleItemPMUQuantity": dec(x.qty, 5),
                "OperationSaleItemPrice": dec(x.price, 5),
                "OperationSaleItemCurrencyCode": world.currency,
                "OperationSaleItemPriceWithoutVat": dec(
                    q5(x.price * _HUNDRED / (_HUNDRED + x.rate)), 5
                ),
                "OperationSaleItemDiscount": dec(x.discount, 5),
                "OperationSaleItemAverageBuyPrice": dec(x.list_price * Decimal("0.6"), 5),
                "MeasureUnitName": x.unit,
            }
            for x in op.lines
        ],
        "OperationPayments": [
            {
                "PaymentID": p.id,
                "PaymentOperationID": op.id,
                "PaymentSum": dec(p.amount, 2),
                "PaymentPayTypeID": p.pay_type_id,
                "PaymentCurrencyCode": world.currency,
                "PaymentCashRegisterID": p.cash_register_id,
                "PaymentCreateUserID": p.user_id,
                "PaymentCreateDate": dt(p.created),
            }
            for p in op.payments
        ],
    }
    if op.storno is not None:
        s = op.storno
        data |= {
            "stornoType": str(s.type),
            "FiskBonRcpNum": str(s.rcp_num),
            "FiskDeviceNum": str(s.device_num),
            "FiskBonDate": s.bon_date,
            "FiskBonUUID": s.uuid,
        }
    data["SellOperationID"] = op.sell_operation_id
    data["OperationOperationCustomStateName"] = ""
    if op.electronic_receipt == "YES" and op.completed is not None:
        data["OperationElectronicDataQrCode"] = op.qr
        data["OperationElectronicDataReceipt"] = op.receipt_text
    return data


def document(world: ICashWorld, d: Document) -> dict[str, Any]:
    """3.22's document: DECIMAL(15,2) totals, the firm and contragent snapshot."""
    # by id, not position: a fault may have deleted an earlier contragent
    c = next(x for x in world.contragents if x.id == d.contragent_id)
    total, vat = d.total, d.vat
    return {
        "DocumentID": d.id,
        "DocumentType": d.type,
        "DocumentSubType": d.sub_type,
        "DocumentNum": d.num,
        "DocumentDate": day(d.date),
        "DocumentStatus": d.status,
        "DocumentOperationType": d.operation_type,
        "DocumentOperationID": d.operation_id,
        "DocumentStoreID": d.store_id,
        "DocumentContragentID": d.contragent_id,
        "DocumentPayTypeID": d.pay_type_id,
        "DocumentBankAccountID": d.bank_account_id,
        "DocumentCurrencyCode": world.currency,
        "DocumentDiscount": "0.00",
        "DocumentPriceBase": dec(total - vat, 2),
        "DocumentTotalVat": dec(vat, 2),
        "DocumentTotalPrice": dec(total, 2),
        "DocumentTotalPriceTxt": f"{total:.2f} {world.currency}",
        "DocumentCreateDate": dt(d.created),
        "ImportSource": d.import_source,
        "ImportRefID": d.import_ref_id,
        "ContragentName": c.name,
        "ContragentTaxNum": c.tax_num,
        "ContragentAddress": c.address,
        "ContragentCityName": c.city,
        "DocumentSaleItems": [
            {
                "SaleItemID": x.sale_item_id,
                "SaleItemName": x.name,
                "Qty": dec(x.qty, 5),
                "Price": dec(x.price, 5),
                "VatRate": dec(x.rate, 2),
                "TotalPrice": dec(x.amounts[0], 2),
                "TotalVat": dec(x.amounts[1], 2),
            }
            for x in d.lines
        ],
    }


def bank_account(b: BankAccount) -> dict[str, Any]:
    return {
        "BankAccountID": b.id,
        "BankAccountBankName": b.bank,
        "BankAccountIBAN": b.iban,
        "BankAccountBIC": b.bic,
        "BankAccountCurrencyCode": b.currency,
        "BankAccountCreateDate": dt(b.created),
        "BankAccountActive": b.active,
    }
