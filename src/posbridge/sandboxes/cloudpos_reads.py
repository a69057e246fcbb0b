"""CloudPOS sandbox: record rendering and every `get-*` function.

Orders dominate the traffic, so each order is encoded to JSON once (`OrderIndex`) and
a page is a bytes join over a bisect-selected ticket range; only records named by the
`malformed_orders`/`drop_orders` fault knobs take the slow path.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from posbridge.sandboxes.cloudpos_wire import (
    Fail,
    Fields,
    fmt_date,
    fmt_dt,
    fmt_money,
    fmt_qty,
    fmt_rate,
    ok,
    ok_list,
)
from posbridge.sandboxes.faults import kinds_except, malform
from posbridge.sandboxes.profiles import PAYMENT_KEYS
from posbridge.sandboxes.world import ClockEntry, Customer, Document, Order, Product, Subproduct

if TYPE_CHECKING:
    from posbridge.sandboxes.cloudpos import CloudPOSState

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any])
_PAY_COLUMNS = tuple(f"{key}payment" for key in PAYMENT_KEYS)
_NO_PAYMENTS = dict.fromkeys(_PAY_COLUMNS, "0.00")
# where `malform` corrupts an order: first line's price (else the total), time, first VAT,
# first line's quantity. Tickets carry no currency, so `currency_mismatch` cannot occur.
MALFORMED_KINDS = kinds_except("currency_mismatch")
_AMOUNT_PATHS = (("orderdetail", 0, "productprice"), ("totalprice",))
_TIME_PATHS = (("ordertime",),)
_VAT_PATHS = (("orderdetail", 0, "producttax"),)
_QUANTITY_PATHS = (("orderdetail", 0, "quantity"),)

# --- records (field names and order as in the vendor document) -------------------------


def product_record(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "categorylink": p.category_id,
        "price": fmt_money(p.price),
        "purchaseprice": fmt_money(p.purchase_price),
        "quantity": fmt_qty(p.stock),
        "popup": int(p.popup),
        "menupopup": int(p.menupopup),
        "openprice": int(p.openprice),
        "modtime": p.modtime,
    }


def subproduct_record(s: Subproduct) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "price": fmt_money(s.price),
        "quantity": fmt_qty(s.stock),
        "productlink": list(s.product_ids),
        "modtime": s.modtime,
    }


def customer_record(c: Customer) -> dict[str, Any]:
    # `fistname` is the vendor's spelling (doc §get-customers); kept on purpose.
    return {
        "id": c.id,
        "name": c.name,
        "fistname": c.firstname,
        "companyname": c.companyname,
        "street_number": c.street,
        "phone": c.phone,
        "zipcode": c.zipcode,
        "town": c.town,
        "vatnumber": c.vatnumber,
        "email": c.email,
        "tagid": c.tag_id,
        "tagtype": c.tag_type,
        "tagfamid": c.tag_family_id,
        "modtime": c.modtime,
    }


def order_record(o: Order) -> dict[str, Any]:
    detail = []
    for line in o.lines:
        row: dict[str, Any] = {
            "quantity": fmt_qty(line.quantity),
            "productid": line.product_id,
            "productprice": fmt_money(line.price),
            "producttax": fmt_rate(line.vat),
        }
        for n, sub in enumerate(line.subs, 1):
            row[f"subproduct{n}id"] = sub.subproduct_id
            row[f"subproduct{n}price"] = fmt_money(sub.price)
            row[f"subproduct{n}tax"] = fmt_rate(sub.vat)
        detail.append(row)
    payments = dict(_NO_PAYMENTS)
    for key, amount in o.payments.items():
        payments[f"{key}payment"] = fmt_money(amount)
    return {
        "dbid": o.dbid,
        "id": o.ticket,
        "customerid": o.customer_id or 0,
        "establishmentid": o.establishment_id,
        "kassaid": o.device_id,
        "totalprice": fmt_money(o.total),
        "user": o.user_id,
        "ordertime": fmt_dt(o.ordertime),
        "clockin": None,
        "clockout": None,
        "orderdetail": detail,
        **payments,
    }


def clock_record(c: ClockEntry) -> dict[str, Any]:
    return {
        "dbid": c.dbid,
        "id": c.id,
        "customerid": 0,
        "establishmentid": c.establishment_id,
        "kassaid": c.device_id,
        "totalprice": "0.00",
        "user": c.user_id,
        "ordertime": fmt_dt(c.clockin),
        "clockin": fmt_dt(c.clockin),
        "clockout": fmt_dt(c.clockout) if c.clockout else None,
        "orderdetail": [],
        **_NO_PAYMENTS,
    }


def document_record(d: Document) -> dict[str, Any]:
    return {
        "id": d.id,
        "customerid": d.customer_id or 0,
        "totalprice": fmt_money(d.total),
        "date": fmt_date(d.date),
        "expirationdate": fmt_date(d.expirationdate),
        "number": d.number,
        "doctype": d.doctype,
        "note": d.note,
        "invoicedetail": [
            {
                "quantity": fmt_qty(li.quantity),
                "productname": li.name,
                "productprice": fmt_money(li.price),
                "producttax": fmt_rate(li.vat),
            }
            for li in d.lines
        ],
        "docfromvatticket": int(d.docfromvatticket),
    }


class OrderIndex:
    """Sales tickets pre-encoded once, with a ticket index and a per-date slice index."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = list(orders)
        self.tickets = [o.ticket for o in self.orders]
        self.blobs = [_encode(order_record(o)) for o in self.orders]
        self.dates: dict[date, tuple[int, int]] = {}
        for i, o in enumerate(self.orders):  # tickets ascend with time: a date is one slice
            lo = self.dates.get(o.ordertime.date(), (i, i))[0]
            self.dates[o.ordertime.date()] = (lo, i + 1)

    def select(self, start: int | None, end: int | None, day: date | None) -> range:
        lo, hi = self.dates.get(day, (0, 0)) if day is not None else (0, len(self.tickets))
        if start is not None:
            lo = max(lo, bisect_left(self.tickets, start))
        if end is not None:
            hi = min(hi, bisect_right(self.tickets, end))
        return range(lo, max(lo, hi))


def _page(blobs: Iterable[bytes]) -> bytes:
    return b'{"success":1,"data":[' + b",".join(blobs) + b"]}"


def _listing(records: list[dict[str, Any]], what: str) -> bytes:
    if not records:
        raise Fail(2000, f"No {what} found")
    return ok_list(records)


def _in_range(items: Iterable[T], key: Callable[[T], int], f: Fields) -> list[T]:
    start, end = f.integer("start"), f.integer("end")
    return [
        x for x in items if (start is None or key(x) >= start) and (end is None or key(x) <= end)
    ]


def _wanted(f: Fields, key: str) -> int | None:
    """An id filter: None when absent, -1 (matches nothing) when given but not an id."""
    if f.text(key) is None:
        return None
    value = f.integer(key)
    return -1 if value is None else value


def _date_filter(f: Fields) -> tuple[bool, date | None]:
    """(filter given, parsed date); a given but unparseable date matches nothing."""
    return f.text("date") is not None, f.day("date")


# --- get-* functions ----------------------------------------------------------------------


def get_categories(s: CloudPOSState, f: Fields) -> bytes:
    return _listing(
        [{"id": c.id, "name": c.name} for c in s.world.categories.values()], "categories"
    )


def get_products(s: CloudPOSState, f: Fields) -> bytes:
    pid, cat = _wanted(f, "id"), _wanted(f, "categorylink")
    rows = [
        product_record(p)
        for p in s.world.products.values()
        if pid in (None, p.id) and cat in (None, p.category_id)
    ]
    return _listing(rows, "products")


def get_subproducts(s: CloudPOSState, f: Fields) -> bytes:
    sid, link = _wanted(f, "id"), _wanted(f, "productlink")
    rows = [
        subproduct_record(x)
        for x in s.world.subproducts.values()
        if sid in (None, x.id) and (link is None or link in x.product_ids)
    ]
    return _listing(rows, "subproducts")


def get_customers(s: CloudPOSState, f: Fields) -> bytes:
    return _listing([customer_record(c) for c in s.world.customers.values()], "customers")


def get_users(s: CloudPOSState, f: Fields) -> bytes:
    return _listing(
        [
            {"id": u.id, "username": u.username, "admin": int(u.admin), "secnr": u.secnr}
            for u in s.world.users
        ],
        "users",
    )


def get_tables(s: CloudPOSState, f: Fields) -> bytes:
    return _listing(
        [{"id": t.id, "table": t.number, "status": t.status} for t in s.world.tables], "tables"
    )


def get_payment(s: CloudPOSState, f: Fields) -> bytes:
    return _listing([{"id": p.id, "payment": p.name} for p in s.world.payment_types], "payment")


def get_printers(s: CloudPOSState, f: Fields) -> bytes:
    return _listing([{"id": p.id, "printername": p.name} for p in s.world.printers], "printers")


def get_establishments(s: CloudPOSState, f: Fields) -> bytes:
    # The document lists no error for this function: an empty list is still a success.
    return ok_list([{"id": e.id, "name": e.name} for e in s.world.establishments])


def get_orders(s: CloudPOSState, f: Fields) -> bytes:
    dated, day = _date_filter(f)
    if dated and day is None:
        raise Fail(2000, "No orders found")
    if f.has("clockinclockout"):
        rows = [
            clock_record(c)
            for c in _in_range(s.world.clock_entries, lambda c: c.id, f)
            if day is None or c.clockin.date() == day
        ]
        return _listing(rows, "orders")
    index = s.orders
    picked: Sequence[int] = index.select(f.integer("start"), f.integer("end"), day)
    faults = s.faults
    paged = faults.repeat_previous or faults.reverse_pages or faults.change_between_pages
    if paged:
        served = faults.page_keys("get-orders", [index.tickets[i] for i in picked])
        picked = [bisect_left(index.tickets, t) for t in served]
    malformed, dropped, kind = faults.record_faults()
    if not malformed and not dropped:
        blobs = [index.blobs[i] for i in picked]
    else:
        blobs = []
        for i in picked:
            ticket = index.tickets[i]
            if ticket in dropped:
                continue
            if ticket in malformed:
                bad = malform(
                    _decode.decode(index.blobs[i]),
                    kind,
                    amount=_AMOUNT_PATHS,
                    time=_TIME_PATHS,
                    vat=_VAT_PATHS,
                    quantity=_QUANTITY_PATHS,
                )
                blobs.append(_encode(bad))
            else:
                blobs.append(index.blobs[i])
    if not blobs:
        raise Fail(2000, "No orders found")
    if paged and faults.take("change_between_pages"):
        _change_payment(s, max(picked))
    return _page(blobs)


def _change_payment(s: CloudPOSState, i: int) -> None:
    """The till moves order `i`'s payment to another method right after it was served."""
    order = s.orders.orders[i]
    old = next(iter(order.payments), None)
    method = next(k for k in PAYMENT_KEYS if k != old)
    changed = replace(order, payments={method: order.total})
    s.world.orders[i] = s.orders.orders[i] = changed
    s.orders.blobs[i] = _encode(order_record(changed))


def get_invoices(s: CloudPOSState, f: Fields) -> bytes:
    dated, day = _date_filter(f)
    rows = [
        document_record(d)
        for d in _in_range(s.world.documents, lambda d: d.id, f)
        if not dated or d.date == day
    ]
    return _listing(rows, "invoices")


def get_confirmedweborder(s: CloudPOSState, f: Fields) -> bytes:
    if f.text("weborderid") is None:
        raise Fail(2002, "weborderid can not be empty")
    order = s.world.weborders.get(f.integer("weborderid") or -1)
    if order is None:
        raise Fail(2003, "weborderid does not exist")
    if order.confirmed_at is None:
        raise Fail(2001, "weborder not confirmed")
    return ok(webordertime=fmt_dt(order.confirmed_at))


def signed(doctype: int) -> Callable[[CloudPOSState, Fields], bytes]:
    """get-invoicesigned / get-offersigned / get-creditnotesigned for one doctype."""

    def get_signed(s: CloudPOSState, f: Fields) -> bytes:
        number = f.text("documentnr")
        if number is None:
            raise Fail(2001, "Document nr can not be empty")
        same = [d for d in s.world.documents if d.number == number]
        for d in same:
            if d.doctype == doctype:
                return ok(vatticket=d.vatticket)
        if same:  # INFERRED: the number is taken by another document type
            raise Fail(2002, "Document nr already in use")
        raise Fail(2000, "")  # the document gives 2000 without a text here

    return get_signed


def _availability(s: CloudPOSState, day: date) -> dict[str, int]:
    """Free seats per hour slot on `day` (none for past days)."""
    if day < s.clock.local().date():
        return {}
    free = dict(s.world.reservation_slots)
    for r in s.world.reservations:
        if r.date == day and r.hour in free:
            free[r.hour] -= r.persons
    return free


def get_reservationpersons(s: CloudPOSState, f: Fields) -> bytes:
    day = f.day("date")
    if day is None:
        raise Fail(2001, "Date can not be empty")
    most = max(_availability(s, day).values(), default=0)
    persons = list(range(1, min(most, s.world.reservation_max_persons) + 1))
    if not persons:
        raise Fail(2000, "")  # the document gives 2000 without a text here
    return ok(persons=persons)


def get_reservationhours(s: CloudPOSState, f: Fields) -> bytes:
    day = f.day("date")
    if day is None:
        raise Fail(2001, "Date can not be empty")
    persons = f.integer("persons")
    if persons is None or persons < 1:
        raise Fail(2002, "Persons can not be empty")
    free = _availability(s, day)
    return ok(hours=[hour for hour, seats in sorted(free.items()) if seats >= persons])


def get_giftvoucher(s: CloudPOSState, f: Fields) -> bytes:
    rows = [
        {
            "id": v.id,
            "barcode": v.barcode,
            "value": fmt_money(v.value),
            "validfrom": fmt_date(v.validfrom),
            "validuntil": fmt_date(v.validuntil),
            "modtime": v.modtime,
        }
        for v in s.world.gift_vouchers
    ]
    return _listing(rows, "vouchers")


def get_coupon(s: CloudPOSState, f: Fields) -> bytes:
    rows = [
        {
            "id": c.id,
            "barcode": c.barcode,
            "value": fmt_money(c.value),
            "valuetype": c.valuetype,
            "validfrom": fmt_date(c.validfrom),
            "validuntil": fmt_date(c.validuntil),
            "used": int(c.used),
        }
        for c in _in_range(s.world.coupons, lambda c: c.id, f)
    ]
    return _listing(rows, "coupons")


def get_customercredits(s: CloudPOSState, f: Fields) -> bytes:
    customers = s.world.customers
    wanted = _wanted(f, "customerid")
    rows: list[dict[str, Any]] = []
    if wanted is not None:  # detail: every top-up/spend of one customer
        for c in s.world.customer_credits:
            if c.customer_id == wanted:
                tag = customers.get(c.customer_id)
                rows.append(
                    {
                        "customerid": c.customer_id,
                        "value": fmt_money(c.value),
                        "tagid": tag.tag_id if tag else "",
                        "tagtype": tag.tag_type if tag else "",
                        "id": c.id,
                        "productid": c.product_id or 0,
                        "categoryid": c.category_id or 0,
                    }
                )
        return _listing(rows, "customercredits")
    totals: dict[int, Decimal] = {}
    for c in s.world.customer_credits:
        totals[c.customer_id] = totals.get(c.customer_id, Decimal(0)) + c.value
    for cid in sorted(totals):
        tag = customers.get(cid)
        rows.append(
            {
                "customerid": cid,
                "value": fmt_money(totals[cid]),
                "tagid": tag.tag_id if tag else "",
                "tagtype": tag.tag_type if tag else "",
            }
        )
    return _listing(rows, "customercredits")


def get_zreports(s: CloudPOSState, f: Fields) -> bytes:
    rows = [
        {
            "id": z.id,
            "startdate": fmt_dt(z.startdate),
            "enddate": fmt_dt(z.enddate),
            "startticket": z.startticket,
            "endticket": z.endticket,
            "ticketcount": z.ticketcount,
            "totalexclvat": fmt_money(z.total_excl),
            "totalinclvat": fmt_money(z.total_incl),
        }
        for z in _in_range(s.world.zreports, lambda z: z.id, f)
    ]
    return _listing(rows, "Z reports")


def get_xreport(s: CloudPOSState, f: Fields) -> bytes:
    x = s.world.xreport
    if x.ticketcount == 0:
        raise Fail(2000, "No X report data found")
    return ok(
        data={
            "id": x.id,
            "startdate": fmt_dt(x.startdate),
            "startticket": x.startticket,
            "totalexclvat": fmt_money(x.total_excl),
            "totalinclvat": fmt_money(x.total_incl),
        }
    )
