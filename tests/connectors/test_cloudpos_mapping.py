"""CloudPOS mapping: pure functions from the vendor's documented records to the model."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from posbridge.connectors.cloudpos import mapping as m
from posbridge.connectors.cloudpos.fields import FIELD_MAP
from posbridge.errors import MappingError

ORDER: dict[str, Any] = {
    "dbid": 9001,
    "id": 17,
    "customerid": 0,
    "establishmentid": 1,
    "kassaid": 2,
    "user": 3,
    "totalprice": "23.90",
    "ordertime": "2026-07-01 01:30:00",
    "clockin": None,
    "clockout": None,
    "orderdetail": [
        {"quantity": "2", "productid": 11, "productprice": "4.50", "producttax": "21"},
        {
            "quantity": "1",
            "productid": 12,
            "productprice": "12.00",
            "producttax": "12",
            "subproduct1id": 5,
            "subproduct1price": "1.50",
            "subproduct1tax": "6",
            "subproduct2id": 6,
            "subproduct2price": "1.40",
            "subproduct2tax": "1.21",
        },
    ],
    "cashpayment": "10.00",
    "bancontactpayment": "13.90",
    "voucherpayment": "0.00",
    "transferpayment": "0.00",
    "visapayment": "0.00",
    "chargecardpayment": "0.00",
    "luncheoncardpayment": "0.00",
    "americanexpresspayment": "0.00",
    "mastercardpayment": "0.00",
}


def test_order_lines_modifiers_payments_and_vat() -> None:
    """A ticket maps to lines with modifiers, two payments and a per-rate VAT breakdown."""
    order = m.to_order(ORDER)
    assert order.source_id == "9001"
    assert order.number == "17"
    assert order.customer_source_id is None
    assert order.device_source_id == "kassa:2"
    # 01:30 local in summer is 23:30 UTC the day before; the business day is June 30.
    assert order.occurred_at == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert order.business_date == date(2026, 6, 30)
    assert [line.gross for line in order.lines] == [Decimal("9.00"), Decimal("14.90")]
    mods = order.lines[1].modifiers
    assert [(x.modifier_source_id, x.tax_rate) for x in mods] == [
        ("5", Decimal(6)),
        ("6", Decimal(21)),
    ]
    assert [(p.vendor_method, p.amount) for p in order.payments] == [
        ("cash", Decimal("10.00")),
        ("bancontact", Decimal("13.90")),
    ]
    assert sum(p.amount for p in order.payments) == order.total_gross
    assert {t.rate for t in order.taxes} == {Decimal(21), Decimal(12), Decimal(6)}
    assert sum(t.gross for t in order.taxes) == order.total_gross
    assert order.total_net + order.total_tax == order.total_gross
    assert order.rounding == 0


def test_vat_is_rounded_per_component() -> None:
    """VAT of each line component is half-up to the cent: 9.00 at 21% is 1.56."""
    assert m.split_vat(Decimal("9.00"), Decimal(21)) == (Decimal("7.44"), Decimal("1.56"))


def test_return_is_negative() -> None:
    """A ticket with negative quantities and total is a return."""
    raw = copy.deepcopy(ORDER)
    raw["totalprice"] = "-9.00"
    raw["orderdetail"] = [ORDER["orderdetail"][0] | {"quantity": "-2"}]
    raw["cashpayment"], raw["bancontactpayment"] = "-9.00", "0.00"
    order = m.to_order(raw)
    assert order.kind == "return"
    assert order.lines[0].gross == Decimal("-9.00")
    assert order.taxes[0].tax == Decimal("-1.56")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("ordertime"), "datetime"),
        (lambda r: r.update(ordertime="2026-02-30 10:00:00"), "impossible"),
        (lambda r: r["orderdetail"][0].update(productprice="abc"), "not a number"),
        (lambda r: r["orderdetail"][0].update(producttax="19"), "unknown VAT rate"),
        (lambda r: r.pop("dbid"), "dbid"),
        (lambda r: r.update(totalprice=1.5), "float"),
    ],
)
def test_bad_orders_raise_mapping_errors(mutate: Any, message: str) -> None:
    """Malformed records raise MappingError with a reason (they get quarantined)."""
    raw = copy.deepcopy(ORDER)
    mutate(raw)
    with pytest.raises(MappingError, match=message):
        m.to_order(raw)


def test_declared_order_fields_are_all_read() -> None:
    """Every flat field the field map declares for orders changes the result when it changes."""
    base = m.to_order(ORDER)
    for f in FIELD_MAP["orders"][1]:
        if f.vendor == "-" or "[]" in f.vendor:
            continue
        raw = copy.deepcopy(ORDER)
        value = raw[f.vendor]
        raw[f.vendor] = (
            "2026-07-02 10:00:00"
            if f.vendor == "ordertime"
            else ("1.00" if isinstance(value, str) and "." in value else 99)
        )
        try:
            changed = m.to_order(raw) != base
        except MappingError:
            changed = True
        assert changed, f"{f.vendor} is declared but not read"


def test_catalog_and_people() -> None:
    """Products, subproducts, customers (fistname), users and vouchers map with their quirks."""
    product = m.to_product(
        {
            "id": 1,
            "name": "Duvel",
            "categorylink": 2,
            "price": "4.80",
            "purchaseprice": "1.10",
            "quantity": "24",
            "popup": 1,
            "menupopup": 0,
            "openprice": 0,
            "modtime": 1761955200,
        }
    )
    assert product.prices[0].amount == Decimal("4.80")
    assert product.modifier_groups == ["popup"]
    assert product.source_updated_at == datetime(2025, 11, 1, tzinfo=UTC)
    mod = m.to_modifier(
        {
            "id": 5,
            "name": "Mayonaise",
            "price": "0.80",
            "quantity": "0",
            "productlink": [1, 2],
            "modtime": 0,
        }
    )
    assert mod.product_source_ids == ["1", "2"]
    customer = m.to_customer(
        {
            "id": 3,
            "name": "Peeters",
            "fistname": "An",
            "companyname": "",
            "tagid": "0412",
            "tagtype": "barcode",
            "tagfamid": 0,
        }
    )
    assert customer.name == "An Peeters"
    assert customer.loyalty_tags[0].tag_id == "0412"
    user = m.to_employee({"id": 1, "username": "jan", "admin": 1, "secnr": "85073003328"})
    assert user.is_admin
    assert user.national_id == "85073003328"
    coupon = m.to_coupon(
        {
            "id": 2,
            "barcode": "123",
            "value": "10",
            "valuetype": 2,
            "validfrom": "2026-01-01",
            "validuntil": "2026-12-31",
            "used": 1,
        }
    )
    assert coupon.value_type == "percent"
    assert coupon.redeemed
    assert coupon.source_id == "coupon:2"
    z = m.to_z_report(
        {
            "id": 4,
            "startdate": "2026-11-01 04:00:00",
            "enddate": "2026-11-02 03:59:59",
            "startticket": 100,
            "endticket": 180,
            "ticketcount": 81,
            "totalexclvat": "1000.00",
            "totalinclvat": "1190.00",
        }
    )
    assert z.total_tax == Decimal("190.00")
    assert z.business_date == date(2026, 11, 1)
    invoice = m.to_invoice(
        {
            "id": 1,
            "customerid": 3,
            "totalprice": "121.00",
            "date": "2026-11-01",
            "expirationdate": "2026-12-01",
            "number": "F2026-1",
            "doctype": 3,
            "note": "",
            "docfromvatticket": 0,
            "invoicedetail": [
                {
                    "quantity": "1",
                    "productname": "Zaal",
                    "productprice": "121.00",
                    "producttax": "21",
                }
            ],
        }
    )
    assert invoice.kind == "credit_note"
    assert invoice.total_net == Decimal("100.00")
