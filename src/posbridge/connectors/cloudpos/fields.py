"""CloudPOS v1's field map: which vendor field feeds which model field, by which rule.

Declarations only (rendered into docs/connectors.md); `mapping.py` applies them.
"""

from __future__ import annotations

from typing import Final

from posbridge.connectors.fieldmap import Field
from posbridge.model.sales import PaymentMethod

__all__ = ["FIELD_MAP", "PAYMENT_COLUMNS"]

#: the nine payment columns of get-orders → (normalized method, vendor name, card brand)
PAYMENT_COLUMNS: Final[tuple[tuple[str, PaymentMethod, str, str | None], ...]] = (
    ("cashpayment", "cash", "cash", None),
    ("bancontactpayment", "debit_card", "bancontact", "Bancontact"),
    ("voucherpayment", "voucher", "voucher", None),
    ("transferpayment", "bank_transfer", "transfer", None),
    ("visapayment", "credit_card", "visa", "Visa"),
    ("chargecardpayment", "stored_value", "chargecard", None),
    ("luncheoncardpayment", "meal_voucher", "luncheoncard", None),
    ("americanexpresspayment", "credit_card", "americanexpress", "American Express"),
    ("mastercardpayment", "credit_card", "mastercard", "Mastercard"),
)
F = Field
FIELD_MAP: Final[dict[str, tuple[str, list[Field]]]] = {
    "locations": (
        "get-establishments",
        [
            F("id", "source_id", "id", True),
            F("name", "name", "text", True),
            F("-", "timezone", "const", note="Europe/Brussels"),
        ],
    ),
    "devices": (
        "get-printers + get-orders.kassaid",
        [
            F("id", "source_id", "computed", True, "`printer:<id>`; kassas: `kassa:<kassaid>`"),
            F("printername", "name", "text", True),
            F("-", "kind", "const", note="`printer`; kassas seen in orders: `register`"),
        ],
    ),
    "employees": (
        "get-users",
        [
            F("id", "source_id", "id", True),
            F("username", "name", "text", True),
            F("username", "username", "text"),
            F("admin", "is_admin", "flag_01"),
            F(
                "secnr",
                "national_id",
                "text",
                note="national register number (GKS mode); masked by the API",
            ),
        ],
    ),
    "tables": (
        "get-tables",
        [
            F("id", "source_id", "id", True),
            F("table", "name", "text", True),
            F("status", "status", "computed", note="0 free, 1 occupied, 2 awaiting payment"),
        ],
    ),
    "payment_types": (
        "get-payment",
        [
            F("id", "source_id", "id", True),
            F("payment", "name", "text", True),
            F("payment", "method", "computed", note="by name: cash, bancontact, visa, ..."),
        ],
    ),
    "categories": (
        "get-categories",
        [
            F("id", "source_id", "id", True),
            F("name", "name", "text", True),
        ],
    ),
    "products": (
        "get-products",
        [
            F("id", "source_id", "id", True),
            F("name", "name", "text", True),
            F("categorylink", "category_source_id", "id"),
            F("price", "prices[].amount", "decimal", note="incl. VAT, EUR, price list `default`"),
            F("purchaseprice", "cost_price", "decimal?"),
            F("quantity", "stock_quantity", "decimal?"),
            F("popup", "modifier_groups", "computed", note="1 → `popup`"),
            F("menupopup", "modifier_groups", "computed", note="1 → `menu`"),
            F("openprice", "is_open_price", "flag_01"),
            F("modtime", "source_updated_at", "unix_time"),
        ],
    ),
    "modifiers": (
        "get-subproducts",
        [
            F("id", "source_id", "id", True),
            F("name", "name", "text", True),
            F("price", "price", "decimal?", note="incl. VAT, per unit of the line"),
            F("quantity", "stock_quantity", "decimal?"),
            F("productlink", "product_source_ids", "computed", note="array of product ids"),
            F("modtime", "source_updated_at", "unix_time"),
        ],
    ),
    "customers": (
        "get-customers",
        [
            F("id", "source_id", "id", True),
            F("name", "last_name", "text"),
            F("fistname", "first_name", "text", note="the vendor spells it `fistname`"),
            F("companyname", "company_name", "text"),
            F("street_number", "street", "text"),
            F("phone", "phone", "text"),
            F("zipcode", "zipcode", "text"),
            F("town", "town", "text"),
            F("vatnumber", "vat_number", "text"),
            F("email", "email", "text"),
            F("tagid", "loyalty_tags[].tag_id", "text"),
            F("tagtype", "loyalty_tags[].tag_type", "text"),
            F("tagfamid", "loyalty_tags[].family_id", "text"),
            F("-", "name", "computed", note="company name, else `fistname name`"),
            F("modtime", "source_updated_at", "unix_time"),
        ],
    ),
    "orders": (
        "get-orders",
        [
            F("dbid", "source_id", "id", True, "unique database id"),
            F("id", "number", "text", True, "ticket number (Z-report ranges use it)"),
            F("customerid", "customer_source_id", "id"),
            F("establishmentid", "location_source_id", "id"),
            F("kassaid", "device_source_id", "computed", note="`kassa:<kassaid>`"),
            F("user", "employee_source_id", "id"),
            F("totalprice", "total_gross", "decimal", True, "incl. VAT"),
            F("ordertime", "occurred_at", "local_datetime", True, "Europe/Brussels"),
            F("orderdetail[].quantity", "lines[].quantity", "decimal", True),
            F("orderdetail[].productid", "lines[].product_source_id", "id"),
            F("orderdetail[].productprice", "lines[].unit_price_gross", "decimal", True),
            F("orderdetail[].producttax", "lines[].tax_rate", "vat_percent", True),
            F(
                "orderdetail[].subproductNid",
                "lines[].modifiers[].modifier_source_id",
                "id",
                note="N = 1..10",
            ),
            F("orderdetail[].subproductNprice", "lines[].modifiers[].unit_price_gross", "decimal"),
            F("orderdetail[].subproductNtax", "lines[].modifiers[].tax_rate", "vat_percent"),
            *[
                F(col, "payments[]", "payment_column", note=f"`{method}` ({name})")
                for col, method, name, _ in PAYMENT_COLUMNS
            ],
            F("-", "taxes", "computed", note="per rate; VAT per line component, half-up to cents"),
            F("-", "kind", "computed", note="`return` when totalprice < 0"),
            F(
                "-",
                "rounding",
                "computed",
                note="totalprice − Σ line gross (explicit, never hidden)",
            ),
        ],
    ),
    "shifts": (
        "get-orders&clockinclockout",
        [
            F("id", "source_id", "computed", True, "`clock:<id>`"),
            F("user", "employee_source_id", "id"),
            F("clockin", "opened_at", "local_datetime"),
            F("clockout", "closed_at", "local_datetime"),
            F("-", "kind", "const", note="`timeclock`"),
        ],
    ),
    "z_reports": (
        "get-zreports",
        [
            F("id", "number", "text", True),
            F("startdate", "opened_at", "local_datetime"),
            F("enddate", "closed_at", "local_datetime"),
            F("startticket", "first_ticket", "text"),
            F("endticket", "last_ticket", "text"),
            F("ticketcount", "ticket_count", "int"),
            F("totalexclvat", "total_net", "decimal"),
            F("totalinclvat", "total_gross", "decimal"),
            F("-", "source_id", "computed", note="`z:<id>`"),
        ],
    ),
    "x_report": (
        "get-xreport",
        [
            F("id", "number", "text", note="next Z number"),
            F("startdate", "opened_at", "local_datetime"),
            F("startticket", "first_ticket", "text"),
            F("totalexclvat", "total_net", "decimal"),
            F("totalinclvat", "total_gross", "decimal"),
            F("-", "source_id", "const", note="`x:current`"),
        ],
    ),
    "invoices": (
        "get-invoices",
        [
            F("id", "source_id", "id", True),
            F("customerid", "customer_source_id", "id"),
            F("totalprice", "total_gross", "decimal", True),
            F("date", "issued_on", "date"),
            F("expirationdate", "due_on", "date"),
            F("number", "number", "text"),
            F("doctype", "kind", "computed", True, "1 invoice, 2 quote (offerte), 3 credit note"),
            F("note", "note", "text"),
            F("docfromvatticket", "from_receipt", "flag_01"),
            F("invoicedetail[].quantity", "lines[].quantity", "decimal", True),
            F("invoicedetail[].productname", "lines[].name", "text"),
            F("invoicedetail[].productprice", "lines[].unit_price_gross", "decimal", True),
            F("invoicedetail[].producttax", "lines[].tax_rate", "vat_percent", True),
        ],
    ),
    "gift_vouchers": (
        "get-giftvoucher",
        [
            F("id", "source_id", "computed", True, "`giftvoucher:<id>`"),
            F("barcode", "code", "text"),
            F("value", "value", "decimal", True),
            F("validfrom", "valid_from", "date"),
            F("validuntil", "valid_until", "date"),
            F("modtime", "source_updated_at", "unix_time"),
        ],
    ),
    "coupons": (
        "get-coupon",
        [
            F("id", "source_id", "computed", True, "`coupon:<id>`"),
            F("barcode", "code", "text"),
            F("value", "value", "decimal", True),
            F("valuetype", "value_type", "computed", note="1 amount, 2 percent"),
            F("validfrom", "valid_from", "date"),
            F("validuntil", "valid_until", "date"),
            F("used", "redeemed", "flag_01"),
        ],
    ),
    "customer_credits": (
        "get-customercredits",
        [
            F("customerid", "source_id", "computed", True, "`credit:<customerid>`"),
            F("customerid", "customer_source_id", "id", True),
            F("value", "value", "decimal", True),
            F("value", "balance", "decimal"),
            F("tagid", "code", "text"),
        ],
    ),
}
