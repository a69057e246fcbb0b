"""CloudPOS sandbox: every `post-*` and `update-*` function.

Validation runs in the order of the document's error list; the error texts are the
document's, typos included. Writes change the world, so later reads show them, and
stamp `modtime` with the sandbox clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.cloudpos_wire import ArrayError, Fail, Fields, ok
from posbridge.sandboxes.world import (
    Category,
    Coupon,
    Customer,
    CustomerCredit,
    Document,
    DocumentLine,
    EolOrder,
    EolOrderLine,
    GiftVoucher,
    Product,
    Reservation,
    SubLine,
    Subproduct,
    WebOrder,
    WebOrderLine,
    money,
)

if TYPE_CHECKING:
    from posbridge.sandboxes.cloudpos import CloudPOSState

Handler = Callable[["CloudPOSState", Fields], bytes]
_CUSTOMER_TEXT = {
    "name": "name",
    "fistname": "firstname",
    "companyname": "companyname",
    "street_number": "street",
    "phone": "phone",
    "zipcode": "zipcode",
    "town": "town",
    "vatnumber": "vatnumber",
    "email": "email",
    "tagid": "tag_id",
}
_TAG_TYPES = {"1": "barcode", "2": "rfid", "barcode": "barcode", "rfid": "rfid"}
_EXPIRY_DAYS = {1: 30, 2: 14, 3: 0}


def _next_id(ids: Mapping[int, Any] | list[int]) -> int:
    return max(ids, default=0) + 1


def _percent(value: Decimal | None, default: Decimal) -> Decimal:
    """A web-order VAT multiplier (1.21) as a percent; values ≥ 2 are taken as percents."""
    if value is None:
        return default
    return value if value >= 2 else (value - 1) * 100


# --- catalog ------------------------------------------------------------------------------


def post_category(s: CloudPOSState, f: Fields) -> bytes:
    name = f.text("name")
    if name is None:
        raise Fail(2001, "name can not be empty")
    cid = _next_id(s.world.categories)
    s.world.categories[cid] = Category(cid, name)
    return ok(id=cid)


def _priced(f: Fields) -> tuple[str, Decimal, Decimal]:
    name, price, tax = f.text("name"), f.number("price"), f.number("tax")
    if name is None:
        raise Fail(2001, "name can not be empty")
    if price is None:
        raise Fail(2002, "price can not be empty")
    if tax is None:
        raise Fail(2003, "tax can not be empty")
    return name, money(price), tax


def post_product(s: CloudPOSState, f: Fields) -> bytes:
    name, price, tax = _priced(f)
    category = f.integer("categorylink")
    if category is None:
        raise Fail(2004, "categorylink can not be empty")
    pid, now = _next_id(s.world.products), s.clock.unix()
    s.world.products[pid] = Product(
        pid,
        name,
        category,
        price,
        Decimal("0.00"),
        f.number("quantity") or Decimal(0),
        tax,
        f.text("barcode") or "",
        now,
        table_vat=f.number("taxtable"),
    )
    return ok(id=pid, modtime=now)


def post_subproduct(s: CloudPOSState, f: Fields) -> bytes:
    name, price, tax = _priced(f)
    sid, now = _next_id(s.world.subproducts), s.clock.unix()
    s.world.subproducts[sid] = Subproduct(
        sid,
        name,
        price,
        tax,
        f.number("quantity") or Decimal(0),
        [],
        now,
        table_vat=f.number("taxtable"),
    )
    return ok(id=sid, modtime=now)


def _update(item: Product | Subproduct, f: Fields, texts: dict[str, str]) -> None:
    """Apply the given fields; numbers that do not parse are ignored (no error exists)."""
    for wire, attr in texts.items():
        value: Any = f.integer(wire) if attr == "category_id" else f.text(wire)
        if value is not None:
            setattr(item, attr, value)
    numbers = {"price": "price", "quantity": "stock", "tax": "vat", "taxtable": "table_vat"}
    for wire, attr in numbers.items():
        number = f.number(wire)
        if number is not None:
            setattr(item, attr, money(number) if attr == "price" else number)


def update_category(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("id") is None:
        raise Fail(2001, "id can not be empty")
    category = s.world.categories.get(f.integer("id") or -1)
    name = f.text("name")
    if category is not None and name is not None:
        category.name = name
    return ok()


def update_product(s: CloudPOSState, f: Fields) -> bytes:
    """Unknown ids answer success too: the document has no error for them (PHP UPDATE)."""
    if f.text("id") is None:
        raise Fail(2001, "id can not be empty")
    now = s.clock.unix()
    product = s.world.products.get(f.integer("id") or -1)
    if product is not None:
        _update(product, f, {"name": "name", "categorylink": "category_id", "barcode": "barcode"})
        product.modtime = now
    return ok(modtime=now)


def update_subproduct(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("id") is None:
        raise Fail(2001, "id can not be empty")
    now = s.clock.unix()
    sub = s.world.subproducts.get(f.integer("id") or -1)
    if sub is not None:
        _update(sub, f, {"name": "name"})
        sub.modtime = now
    return ok(modtime=now)


# --- customers ----------------------------------------------------------------------------


def _check_names(f: Fields) -> None:
    if f.text("companyname") and (f.text("name") or f.text("fistname")):
        raise Fail(2002, "companyname and firstname, name can not together")


def _apply_customer(c: Customer, f: Fields, now: int) -> None:
    for wire, attr in _CUSTOMER_TEXT.items():
        value = f.text(wire)
        if value is not None:
            setattr(c, attr, value)
    tag_type = _TAG_TYPES.get(f.text("tagtype") or "")
    c.tag_type = tag_type or c.tag_type
    family = f.integer("tagfamid")
    c.tag_family_id = c.tag_family_id if family is None else family
    c.modtime = now


def post_customer(s: CloudPOSState, f: Fields) -> bytes:
    # The field is spelled `fistname` (doc §post-customer); `firstname` is not read.
    if not any(f.text(k) for k in ("name", "fistname", "companyname")):
        raise Fail(2001, "name, firstname or companyname can not be empty")
    _check_names(f)
    cid, now = _next_id(s.world.customers), s.clock.unix()
    customer = Customer(cid, "", "", "", "", "", "", "", "", "", "", "", 0, now)
    _apply_customer(customer, f, now)
    s.world.customers[cid] = customer
    return ok(id=cid, modtime=now)


def update_customer(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("id") is None:
        raise Fail(2001, "id can not be empty")
    _check_names(f)
    now = s.clock.unix()
    customer = s.world.customers.get(f.integer("id") or -1)
    if customer is not None:
        _apply_customer(customer, f, now)
    return ok(modtime=now)


def post_customercredit(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("customerid") is None:
        raise Fail(2001, "Customerid can not be empty")
    if (f.integer("customerid") or -1) not in s.world.customers:
        raise Fail(2002, "Customerid does not exist")
    if f.text("value") is None:
        raise Fail(2003, "Value can not be empty")
    value = f.number("value")
    if value is None:
        raise Fail(2004, "Value must be a number")
    if f.text("paymenttype") is None:
        raise Fail(2005, "Paymenttype can not be empty")
    if f.text("paymenttype") not in ("1", "2"):
        raise Fail(2006, "Paymenttype error")
    product, category = f.integer("productid") or None, f.integer("categoryid") or None
    if (f.text("productid") or "0") != "0" and (f.text("categoryid") or "0") != "0":
        raise Fail(2007, "Productid and categoryid can not together")
    given = (f.text("productid") or "0") != "0" or (f.text("categoryid") or "0") != "0"
    if given and product not in s.world.products and category not in s.world.categories:
        raise Fail(2008, "Productid or Categoryid not exists")
    credits = s.world.customer_credits
    credit_id = _next_id([c.id for c in credits])
    credits.append(
        CustomerCredit(
            credit_id,
            f.integer("customerid") or 0,
            money(value),
            product,
            category,
            int(f.text("paymenttype") or 1),
        )
    )
    return ok(id=credit_id)


# --- sales documents and web orders -------------------------------------------------------


def post_weborder(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("customerid") is None:
        raise Fail(2001, "customerid can not be empty")
    if f.text("delivery") is None:  # 0 (pick-up) is a value, not empty
        raise Fail(2002, "delivery can not be empty")
    customer = s.world.customers.get(f.integer("customerid") or -1)
    if customer is None:
        raise Fail(2003, "the customerid id does not exist, the order is not stored")
    missing = Fail(2004, "an id in this weborder does not exist, the order is not stored")
    try:
        detail = f.array("weborderdetail")
    except ArrayError:
        raise missing from None
    if not detail:  # INFERRED: no lines means no product id that exists
        raise missing
    lines = []
    for row in detail:
        if not isinstance(row, dict):
            raise missing
        r = Fields(row)
        product = s.world.products.get(r.integer("productid") or -1)
        if product is None:
            raise missing
        subs = []
        for n in range(1, 11):
            if r.text(f"sub{n}id") is None:
                continue
            sub = s.world.subproducts.get(r.integer(f"sub{n}id") or -1)
            if sub is None:
                raise missing
            price = r.number(f"sub{n}price")
            subs.append(
                SubLine(
                    sub.id,
                    money(price) if price is not None else sub.price,
                    _percent(r.number(f"sub{n}vat"), sub.vat),
                )
            )
        price = r.number("productprice")
        lines.append(
            WebOrderLine(
                product.id,
                money(price) if price is not None else product.price,
                _percent(r.number("productvat"), product.vat),
                tuple(subs),
                r.text("extrainfo") or "",
            )
        )
    created = s.clock.local().replace(microsecond=0)
    planned = f.moment("plannedorderdatetime") if f.text("plannedorder") == "1" else None
    auto = f.text("autoconfirmation") == "1"
    wid = _next_id(s.world.weborders)
    s.world.weborders[wid] = WebOrder(
        wid,
        customer.id,
        f.integer("delivery") or 0,
        f.text("onlinepaid") == "1",
        money(f.number("discountamount") or Decimal(0)),
        auto,
        planned,
        f.text("remark") or "",
        lines,
        created,
        (planned or created + timedelta(minutes=20)) if auto else None,
    )
    return ok(weborderid=wid)


def post_document(doctype: int) -> Handler:
    """post-invoice (1), post-offer (2), post-creditnote (3)."""

    def post(s: CloudPOSState, f: Fields) -> bytes:
        number = f.text("documentnr")
        if number is None:
            raise Fail(2001, "Document nr can not be empty")
        if any(d.number == number and d.doctype == doctype for d in s.world.documents):
            raise Fail(2002, "Document nr already in use")
        bad = Fail(2003, "Productlines array error")
        try:
            rows = f.array("productlines")
        except ArrayError:
            raise bad from None
        if not rows:
            raise bad
        lines = []
        for row in rows:
            r = Fields(row) if isinstance(row, dict) else Fields({})
            qty, name = r.number("quantity"), r.text("name")
            vat, price = r.number("vatpercent"), r.number("priceincvat")
            if qty is None or name is None or vat is None or price is None:
                raise bad
            lines.append(DocumentLine(qty, name, money(price), vat))
        today = s.clock.local().date()
        world = s.world
        world.documents.append(
            Document(
                _next_id([d.id for d in world.documents]),
                doctype,
                number,
                f.integer("customerid") or None,
                today,
                today + timedelta(days=_EXPIRY_DAYS[doctype]),
                f.text("note") or "",
                lines,
                sum((money(x.quantity * x.price) for x in lines), Decimal(0)),
                False,
                f"NS{world.next_vatticket:08d}",
            )
        )
        world.next_vatticket += 1
        return ok()

    return post


def post_eolorder(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("ordernumber") is None:
        raise Fail(2001, "Ordernumber can not be empty")
    if f.text("date") is None:
        raise Fail(2002, "Date can not be empty")
    if f.text("customerid") is None:
        raise Fail(2003, "Customerid can not be empty")
    if f.text("paymenttype") is None:
        raise Fail(2004, "Paymenttype can not be empty")
    if f.text("paymenttype") not in ("1", "2"):
        raise Fail(2005, "Paymenttype can only be 1 or 2")
    bad = Fail(2008, "Error in detail")
    try:
        rows = f.array("detail")
    except ArrayError:
        raise bad from None
    if not rows:
        raise Fail(2006, "Detail can not be empty")
    lines = []
    for row in rows:  # shape first (2008), then ids (2007): ids need a readable detail
        r = Fields(row) if isinstance(row, dict) else Fields({})
        pid, price, qty = r.integer("productid"), r.number("price"), r.number("quantity")
        if pid is None or price is None or qty is None:
            raise bad
        lines.append(EolOrderLine(pid, money(price), qty))
    if any(line.product_id not in s.world.products for line in lines):
        raise Fail(2007, "One of the productid's in the detail not exists")
    s.world.eol_orders.append(
        EolOrder(
            f.text("ordernumber") or "",
            f.text("date") or "",
            f.text("customerid") or "",
            int(f.text("paymenttype") or 1),
            tuple(lines),
        )
    )
    return ok()


# --- reservations and vouchers ------------------------------------------------------------


def post_reservationentry(s: CloudPOSState, f: Fields) -> bytes:
    day = f.day("date")
    if day is None:
        raise Fail(2001, "Date can not be empty")
    persons = f.integer("persons")
    if persons is None or persons < 1:
        raise Fail(2002, "Persons can not be empty")
    hour = f.text("hour")
    if hour is None:
        raise Fail(2003, "Hour can not be empty")
    hour = hour[:5] if len(hour) == 8 and hour[5] == ":" else hour  # "18:00:00" → "18:00"
    if hour not in s.world.reservation_slots:  # INFERRED: "to short" = not an HH:MM slot
        raise Fail(2004, "Hour is to short")
    res = s.world.reservations
    res.append(
        Reservation(
            _next_id([r.id for r in res]),
            day,
            hour,
            persons,
            f.text("name") or "",
            f.text("phone") or "",
            f.text("confirmed") != "0",
        )
    )
    return ok()


def _voucher_fields(f: Fields) -> tuple[str, Decimal, Any, Any]:
    barcode = f.text("barcode")
    if barcode is None:
        raise Fail(2001, "Barcode can not be empty")
    if not barcode.isdigit():
        raise Fail(2002, "Barcode must be a number")
    if f.text("value") is None:
        raise Fail(2003, "Value can not be empty")
    value = f.number("value")
    if value is None:
        raise Fail(2004, "Value must be number")
    valid_from, valid_until = f.day("validfrom"), f.day("validuntil")
    if valid_from is None:
        raise Fail(2005, "Validfrom can not be empty")
    if valid_until is None:
        raise Fail(2006, "Validuntil can not be empty")
    return barcode, money(value), valid_from, valid_until


def _one_or_two(f: Fields, key: str) -> int:
    text = f.text(key)
    if text is None:
        raise Fail(2007, "Paymenttype can not be empty")
    if text not in ("1", "2"):
        raise Fail(2008, "Paymenttype can only be 1 or 2")
    return int(text)


def post_giftvoucher(s: CloudPOSState, f: Fields) -> bytes:
    barcode, value, valid_from, valid_until = _voucher_fields(f)
    paymenttype = _one_or_two(f, "paymenttype")
    vouchers, now = s.world.gift_vouchers, s.clock.unix()
    vouchers.append(
        GiftVoucher(
            _next_id([v.id for v in vouchers]),
            barcode,
            value,
            valid_from,
            valid_until,
            paymenttype,
            now,
        )
    )
    return ok(modtime=now)


def post_coupon(s: CloudPOSState, f: Fields) -> bytes:
    barcode, value, valid_from, valid_until = _voucher_fields(f)
    # INFERRED: the document's 2007/2008 "Paymenttype" texts guard `valuetype` (1 or 2),
    # the coupon's only required 1-or-2 field; coupons have no payment type.
    valuetype = _one_or_two(f, "valuetype")
    coupons = s.world.coupons
    coupons.append(
        Coupon(
            _next_id([c.id for c in coupons]),
            barcode,
            value,
            valuetype,
            valid_from,
            valid_until,
            False,
        )
    )
    return ok()
