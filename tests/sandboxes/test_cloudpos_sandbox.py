"""The CloudPOS v1 sandbox over real loopback HTTP: reads, writes, errors, limits, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from posbridge.sandboxes import SANDBOXES, Sandbox
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.cloudpos import FUNCTIONS, MODULES, CloudPOSState, create_sandbox
from posbridge.sandboxes.faults import Faults
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.world import generate_world


@dataclass
class Api:
    """A thin CloudPOS v1 caller: builds `?licname=&token=&<function>` URLs."""

    box: Sandbox
    server: SandboxServer
    http: httpx.Client

    @property
    def state(self) -> CloudPOSState:
        state: CloudPOSState = self.box.state
        return state

    def call(
        self,
        function: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        licname: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        creds = {
            "licname": self.box.credentials["licname"] if licname is None else licname,
            "token": self.box.credentials["token"] if token is None else token,
        }
        query = f"{urlencode(creds)}&{function}"
        if params:
            query += "&" + urlencode(params)
        return self.http.request(method, f"{self.box.base_path}?{query}", **kwargs)

    def ok(self, function: str, **kwargs: Any) -> dict[str, Any]:
        """Call and insist on a documented success."""
        response = self.call(function, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body.get("success") == 1, body
        return body

    def data(self, function: str, **kwargs: Any) -> Any:
        return self.ok(function, **kwargs)["data"]

    def error(self, function: str, **kwargs: Any) -> tuple[int, str]:
        """Call and return the documented (errorcode, message)."""
        response = self.call(function, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] == 0, body
        return body["errorcode"], body["message"]


@pytest.fixture(scope="module")
def served() -> Iterator[Api]:
    """A small CloudPOS world (4 days × ~40 tickets) on loopback with a frozen clock."""
    world = generate_world(seed=7, days=4, orders_per_day=40)
    box = create_sandbox(seed=7, world=world, clock=Clock(frozen=world.as_of))
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield Api(box, server, http)


@pytest.fixture
def api(served: Api) -> Api:
    """The module's sandbox, back to its generated world, limits and clock."""
    state = served.state
    state.reset()
    state.clock.set(state.world.as_of)
    state.daily_limit = 500
    state.licensed_modules = frozenset(MODULES)
    return served


# Tables below are aligned rows; the formatter would put every element on a line.
# fmt: off
PAYMENT_COLUMNS = {f"{m}payment" for m in ("cash", "bancontact", "voucher", "transfer", "visa",
                                           "chargecard", "luncheoncard", "americanexpress",
                                           "mastercard")}
ORDER_FIELDS = {"dbid", "id", "customerid", "establishmentid", "kassaid", "totalprice", "user",
                "ordertime", "clockin", "clockout", "orderdetail"} | PAYMENT_COLUMNS
CUSTOMER_FIELDS = {"id", "name", "fistname", "companyname", "street_number", "phone", "zipcode",
                   "town", "vatnumber", "email", "tagid", "tagtype", "tagfamid", "modtime"}
# fmt: on


def _doc(state: CloudPOSState, doctype: int) -> str:
    return next(d.number for d in state.world.documents if d.doctype == doctype)


def _confirmed_weborder(state: CloudPOSState) -> int:
    return next(w.id for w in state.world.weborders.values() if w.confirmed_at)


# fmt: off
# (function, params taken from the world, expected record keys)
LIST_READS: list[tuple[str, Callable[[CloudPOSState], dict[str, Any]], set[str]]] = [
    ("get-categories", lambda s: {}, {"id", "name"}),
    ("get-products", lambda s: {}, {"id", "name", "categorylink", "price", "purchaseprice",
                                    "quantity", "popup", "menupopup", "openprice", "modtime"}),
    ("get-subproducts", lambda s: {}, {"id", "name", "price", "quantity", "productlink",
                                       "modtime"}),
    ("get-customers", lambda s: {}, CUSTOMER_FIELDS),
    ("get-users", lambda s: {}, {"id", "username", "admin", "secnr"}),
    ("get-tables", lambda s: {}, {"id", "table", "status"}),
    ("get-payment", lambda s: {}, {"id", "payment"}),
    ("get-printers", lambda s: {}, {"id", "printername"}),
    ("get-orders", lambda s: {}, ORDER_FIELDS),
    ("get-orders&clockinclockout", lambda s: {}, ORDER_FIELDS),
    ("get-invoices", lambda s: {}, {"id", "customerid", "totalprice", "date", "expirationdate",
                                    "number", "doctype", "note", "invoicedetail",
                                    "docfromvatticket"}),
    ("get-giftvoucher", lambda s: {}, {"id", "barcode", "value", "validfrom", "validuntil",
                                       "modtime"}),
    ("get-coupon", lambda s: {}, {"id", "barcode", "value", "valuetype", "validfrom",
                                  "validuntil", "used"}),
    ("get-customercredits", lambda s: {}, {"customerid", "value", "tagid", "tagtype"}),
    ("get-customercredits", lambda s: {"customerid": s.world.customer_credits[0].customer_id},
     {"customerid", "value", "tagid", "tagtype", "id", "productid", "categoryid"}),
    ("get-zreports", lambda s: {}, {"id", "startdate", "enddate", "startticket", "endticket",
                                    "ticketcount", "totalexclvat", "totalinclvat"}),
    ("get-establishments", lambda s: {}, {"id", "name"}),
]

TOP_READS: list[tuple[str, Callable[[CloudPOSState], dict[str, Any]], str]] = [
    ("get-confirmedweborder", lambda s: {"weborderid": _confirmed_weborder(s)}, "webordertime"),
    ("get-invoicesigned", lambda s: {"documentnr": _doc(s, 1)}, "vatticket"),
    ("get-offersigned", lambda s: {"documentnr": _doc(s, 2)}, "vatticket"),
    ("get-creditnotesigned", lambda s: {"documentnr": _doc(s, 3)}, "vatticket"),
    ("get-reservationpersons", lambda s: {"date": "2026-11-03"}, "persons"),
    ("get-reservationhours", lambda s: {"date": "2026-11-03", "persons": 2}, "hours"),
]
# fmt: on


@pytest.mark.parametrize(
    ("function", "params", "keys"),
    LIST_READS,
    ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(LIST_READS)],
)
def test_list_functions_return_documented_fields(
    api: Api, function: str, params: Callable[[CloudPOSState], dict[str, Any]], keys: set[str]
) -> None:
    """Each list function answers `{"success":1,"data":[...]}` with the documented fields."""
    records = api.data(function, params=params(api.state))
    assert records
    for record in records:
        assert set(record) == keys


@pytest.mark.parametrize(("function", "params", "key"), TOP_READS)
def test_lookup_functions_return_documented_field(
    api: Api, function: str, params: Callable[[CloudPOSState], dict[str, Any]], key: str
) -> None:
    """Look-up functions put their documented field at top level beside `"success": 1`."""
    body = api.ok(function, params=params(api.state))
    assert set(body) == {"success", key}
    assert body[key]


def test_xreport_is_one_object(api: Api) -> None:
    """get-xreport answers a single object covering the open period."""
    x = api.data("get-xreport")
    assert set(x) == {"id", "startdate", "startticket", "totalexclvat", "totalinclvat"}
    assert x["id"] == api.state.world.xreport.id


def test_every_function_is_served(api: Api) -> None:
    """All functions of the v1 document are registered (39 flags)."""
    documented = {
        "get-categories",
        "get-products",
        "get-subproducts",
        "get-customers",
        "get-users",
        "get-tables",
        "get-payment",
        "get-printers",
        "get-orders",
        "get-invoices",
        "get-confirmedweborder",
        "get-invoicesigned",
        "get-offersigned",
        "get-creditnotesigned",
        "get-reservationpersons",
        "get-reservationhours",
        "get-giftvoucher",
        "get-coupon",
        "get-customercredits",
        "get-zreports",
        "get-xreport",
        "get-establishments",
        "post-category",
        "post-product",
        "post-subproduct",
        "post-customer",
        "post-weborder",
        "post-invoice",
        "post-offer",
        "post-creditnote",
        "post-reservationentry",
        "post-giftvoucher",
        "post-coupon",
        "post-customercredit",
        "post-eolorder",
        "update-category",
        "update-product",
        "update-subproduct",
        "update-customer",
    }
    assert set(FUNCTIONS) == documented


def test_orders_follow_the_wire_formats(api: Api) -> None:
    """Money 2-dp strings, quantity/VAT strings, consecutive subproduct columns, Σpay == total."""
    orders = api.data("get-orders")
    assert len(orders) == len(api.state.world.orders)
    for o in orders:
        assert isinstance(o["id"], int)
        assert isinstance(o["dbid"], int)
        datetime.strptime(o["ordertime"], "%Y-%m-%d %H:%M:%S")
        assert o["clockin"] is None
        total = Decimal(o["totalprice"])
        assert o["totalprice"] == f"{total:.2f}"
        assert sum(Decimal(o[c]) for c in PAYMENT_COLUMNS) == total
        gross = Decimal(0)
        for line in o["orderdetail"]:
            assert isinstance(line["quantity"], str)
            assert line["producttax"] in {"21", "12", "6", "0"}
            n = sum(1 for k in line if k.endswith("id") and k.startswith("subproduct"))
            expected = {"quantity", "productid", "productprice", "producttax"}
            expected |= {
                f"subproduct{i}{s}" for i in range(1, n + 1) for s in ("id", "price", "tax")
            }
            assert set(line) == expected
            unit = Decimal(line["productprice"])
            unit += sum((Decimal(line[f"subproduct{i}price"]) for i in range(1, n + 1)), Decimal(0))
            gross += Decimal(line["quantity"]) * unit
        assert gross == total


def test_zreport_totals_match_orders_on_the_wire(api: Api) -> None:
    """A client recomputing Z totals from get-orders with the contract's rule gets them exactly."""
    by_id = {o["id"]: o for o in api.data("get-orders")}
    for z in api.data("get-zreports"):
        tickets = [by_id[t] for t in range(z["startticket"], z["endticket"] + 1)]
        assert len(tickets) == z["ticketcount"]
        incl = sum((Decimal(o["totalprice"]) for o in tickets), Decimal(0))
        excl = Decimal(0)
        for o in tickets:
            for line in o["orderdetail"]:
                q = Decimal(line["quantity"])
                parts = [(q * Decimal(line["productprice"]), Decimal(line["producttax"]))]
                i = 1
                while f"subproduct{i}id" in line:
                    parts.append(
                        (
                            q * Decimal(line[f"subproduct{i}price"]),
                            Decimal(line[f"subproduct{i}tax"]),
                        )
                    )
                    i += 1
                for g, r in parts:
                    excl += g - (g * r / (100 + r)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert (z["totalinclvat"], z["totalexclvat"]) == (f"{incl:.2f}", f"{excl:.2f}")


def test_order_filters(api: Api) -> None:
    """start/end select ticket ids inclusively; date selects the local date of ordertime."""
    world = api.state.world
    first = world.orders[0].ticket
    page = api.data("get-orders", params={"start": first + 5, "end": first + 9})
    assert [o["id"] for o in page] == list(range(first + 5, first + 10))
    assert [o["id"] for o in api.data("get-orders", params={"start": world.orders[-1].ticket})] == [
        world.orders[-1].ticket
    ]
    day = world.orders[10].ordertime.date()
    dated = api.data("get-orders", params={"date": day.isoformat()})
    assert {o["ordertime"][:10] for o in dated} == {day.isoformat()}
    assert len(dated) == sum(1 for o in world.orders if o.ordertime.date() == day)
    clocks = api.data("get-orders&clockinclockout")
    assert len(clocks) == len(world.clock_entries)
    assert all(c["orderdetail"] == [] and c["totalprice"] == "0.00" for c in clocks)


def test_catalog_filters(api: Api) -> None:
    """get-products filters on id and categorylink; get-subproducts on id and productlink."""
    world = api.state.world
    product = next(p for p in world.products.values() if p.popup)
    assert [p["id"] for p in api.data("get-products", params={"id": product.id})] == [product.id]
    in_cat = api.data("get-products", params={"categorylink": product.category_id})
    assert {p["categorylink"] for p in in_cat} == {product.category_id}
    linked = api.data("get-subproducts", params={"productlink": product.id})
    assert linked
    assert all(product.id in s["productlink"] for s in linked)
    one = api.data("get-subproducts", params={"id": linked[0]["id"]})
    assert [s["id"] for s in one] == [linked[0]["id"]]


def _clear(*attrs: str) -> Callable[[CloudPOSState], None]:
    def setup(state: CloudPOSState) -> None:
        for attr in attrs:
            getattr(state.world, attr).clear()

    return setup


def _unconfirmed(state: CloudPOSState) -> None:
    state.world.weborders[1].confirmed_at = None


def _nothing(state: CloudPOSState) -> None:
    return None


def _take_z(state: CloudPOSState) -> None:
    state.take_z_report()


def _renumber(number: str, doctype: int) -> Callable[[CloudPOSState], None]:
    """Give the first document `number` as a document of `doctype`."""

    def setup(state: CloudPOSState) -> None:
        state.world.documents[0].number = number
        state.world.documents[0].doctype = doctype

    return setup


# fmt: off
GOOD_LINE = {"productid": 1, "productprice": "3.00", "productvat": "1.21"}
DOC_LINES = json.dumps([{"quantity": "1", "name": "Zaalhuur", "vatpercent": "21",
                         "priceincvat": "250.00"}])
VOUCHER = {"barcode": "123", "value": "25", "validfrom": "2026-11-01", "validuntil": "2027-11-01"}
CREDIT = {"customerid": 1, "value": "10", "paymenttype": 1}
EOL = {"ordernumber": "EO-1", "date": "2026-11-01", "customerid": 1, "paymenttype": 1}


def _without(fields: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != key}


def _voucher_errors(function: str, kind: str) -> list[tuple[str, dict[str, Any], int, str]]:
    """The eight shared gift voucher / coupon checks; `kind` is the 1-or-2 field checked."""
    full = {**VOUCHER, kind: 1}
    return [
        (function, _without(full, "barcode"), 2001, "Barcode can not be empty"),
        (function, {**full, "barcode": "12a"}, 2002, "Barcode must be a number"),
        (function, _without(full, "value"), 2003, "Value can not be empty"),
        (function, {**full, "value": "ten"}, 2004, "Value must be number"),
        (function, _without(full, "validfrom"), 2005, "Validfrom can not be empty"),
        (function, _without(full, "validuntil"), 2006, "Validuntil can not be empty"),
        (function, _without(full, kind), 2007, "Paymenttype can not be empty"),
        (function, {**full, kind: 3}, 2008, "Paymenttype can only be 1 or 2"),
    ]


WEBORDER = {"customerid": 1, "delivery": 0, "weborderdetail": json.dumps([GOOD_LINE])}
BAD_SUB = json.dumps([{**GOOD_LINE, "sub1id": 99999}])
LINE_1 = json.dumps([{"productid": 99999, "price": "1", "quantity": "1"}])
NO_VALUE = {"customerid": 1, "paymenttype": 1}
NAMES = "companyname and firstname, name can not together"
SIGNED = {"get-invoicesigned": 1, "get-offersigned": 2, "get-creditnotesigned": 3}
POSTS = {"post-invoice": 1, "post-offer": 2, "post-creditnote": 3}

# (function, fields, errorcode, exact message, setup)
ERRORS: list[tuple[str, dict[str, Any], int, str, Callable[[CloudPOSState], None]]] = [
    ("get-categories", {}, 2000, "No categories found", _clear("categories")),
    ("get-products", {"id": 999999}, 2000, "No products found", _nothing),
    ("get-subproducts", {"productlink": 999999}, 2000, "No subproducts found", _nothing),
    ("get-customers", {}, 2000, "No customers found", _clear("customers")),
    ("get-users", {}, 2000, "No users found", _clear("users")),
    ("get-tables", {}, 2000, "No tables found", _clear("tables")),
    ("get-payment", {}, 2000, "No payment found", _clear("payment_types")),
    ("get-printers", {}, 2000, "No printers found", _clear("printers")),
    ("get-orders", {"start": 1, "end": 2}, 2000, "No orders found", _nothing),
    ("get-orders", {"date": "2001-01-01"}, 2000, "No orders found", _nothing),
    ("get-invoices", {"date": "2001-01-01"}, 2000, "No invoices found", _nothing),
    ("get-confirmedweborder", {"weborderid": 1}, 2001, "weborder not confirmed", _unconfirmed),
    ("get-confirmedweborder", {}, 2002, "weborderid can not be empty", _nothing),
    ("get-confirmedweborder", {"weborderid": 99999}, 2003, "weborderid does not exist", _nothing),
    *[(fn, {"documentnr": "nope"}, 2000, "", _nothing) for fn in SIGNED],
    *[(fn, {}, 2001, "Document nr can not be empty", _nothing) for fn in SIGNED],
    # 2002 on a get: the number belongs to another document type (docs/cloudpos-wire.md gap)
    *[(fn, {"documentnr": "X-1"}, 2002, "Document nr already in use",
       _renumber("X-1", doctype % 3 + 1)) for fn, doctype in SIGNED.items()],
    ("get-reservationpersons", {"date": "2026-10-01"}, 2000, "", _nothing),
    ("get-reservationpersons", {}, 2001, "Date can not be empty", _nothing),
    ("get-reservationhours", {"persons": 2}, 2001, "Date can not be empty", _nothing),
    ("get-reservationhours", {"date": "2026-11-03"}, 2002, "Persons can not be empty", _nothing),
    ("get-giftvoucher", {}, 2000, "No vouchers found", _clear("gift_vouchers")),
    ("get-coupon", {"start": 999999}, 2000, "No coupons found", _nothing),
    ("get-customercredits", {"customerid": 999999}, 2000, "No customercredits found", _nothing),
    ("get-zreports", {"start": 1, "end": 2}, 2000, "No Z reports found", _nothing),
    ("get-xreport", {}, 2000, "No X report data found", _take_z),
    ("post-category", {}, 2001, "name can not be empty", _nothing),
    ("post-product", {"price": 1, "tax": 21, "categorylink": 1}, 2001, "name can not be empty",
     _nothing),
    ("post-product", {"name": "X", "tax": 21, "categorylink": 1}, 2002, "price can not be empty",
     _nothing),
    ("post-product", {"name": "X", "price": 1, "categorylink": 1}, 2003, "tax can not be empty",
     _nothing),
    ("post-product", {"name": "X", "price": 1, "tax": 21}, 2004, "categorylink can not be empty",
     _nothing),
    ("post-subproduct", {"price": 1, "tax": 21}, 2001, "name can not be empty", _nothing),
    ("post-subproduct", {"name": "X", "tax": 21}, 2002, "price can not be empty", _nothing),
    ("post-subproduct", {"name": "X", "price": 1}, 2003, "tax can not be empty", _nothing),
    ("post-customer", {"phone": "1"}, 2001, "name, firstname or companyname can not be empty",
     _nothing),
    ("post-customer", {"companyname": "NV", "fistname": "Jan"}, 2002, NAMES, _nothing),
    ("post-weborder", {"delivery": 0}, 2001, "customerid can not be empty", _nothing),
    ("post-weborder", {"customerid": 1}, 2002, "delivery can not be empty", _nothing),
    ("post-weborder", {**WEBORDER, "customerid": 99999}, 2003,
     "the customerid id does not exist, the order is not stored", _nothing),
    ("post-weborder", {**WEBORDER, "weborderdetail": BAD_SUB}, 2004,
     "an id in this weborder does not exist, the order is not stored", _nothing),
    *[(fn, {"productlines": DOC_LINES}, 2001, "Document nr can not be empty", _nothing)
      for fn in POSTS],
    *[(fn, {"documentnr": "D-1", "productlines": DOC_LINES}, 2002, "Document nr already in use",
       _renumber("D-1", doctype)) for fn, doctype in POSTS.items()],
    *[(fn, {"documentnr": "D-2", "productlines": lines}, 2003, "Productlines array error",
       _nothing) for fn in POSTS for lines in ('[{"quantity": 1}]', "not json", "")],
    ("post-reservationentry", {"persons": 2, "hour": "19:00"}, 2001, "Date can not be empty",
     _nothing),
    ("post-reservationentry", {"date": "2026-11-05", "hour": "19:00"}, 2002,
     "Persons can not be empty", _nothing),
    ("post-reservationentry", {"date": "2026-11-05", "persons": 2}, 2003,
     "Hour can not be empty", _nothing),
    ("post-reservationentry", {"date": "2026-11-05", "persons": 2, "hour": "19"}, 2004,
     "Hour is to short", _nothing),
    *[(*case, _nothing) for case in _voucher_errors("post-giftvoucher", "paymenttype")],
    *[(*case, _nothing) for case in _voucher_errors("post-coupon", "valuetype")],
    ("post-customercredit", {}, 2001, "Customerid can not be empty", _nothing),
    ("post-customercredit", {**CREDIT, "customerid": 99999}, 2002, "Customerid does not exist",
     _nothing),
    ("post-customercredit", NO_VALUE, 2003, "Value can not be empty", _nothing),
    ("post-customercredit", {**CREDIT, "value": "x"}, 2004, "Value must be a number", _nothing),
    ("post-customercredit", _without(CREDIT, "paymenttype"), 2005,
     "Paymenttype can not be empty", _nothing),
    ("post-customercredit", {**CREDIT, "paymenttype": 3}, 2006, "Paymenttype error", _nothing),
    ("post-customercredit", {**CREDIT, "productid": 1, "categoryid": 1}, 2007,
     "Productid and categoryid can not together", _nothing),
    ("post-customercredit", {**CREDIT, "productid": 99999}, 2008,
     "Productid or Categoryid not exists", _nothing),
    ("post-eolorder", _without(EOL, "ordernumber"), 2001, "Ordernumber can not be empty",
     _nothing),
    ("post-eolorder", _without(EOL, "date"), 2002, "Date can not be empty", _nothing),
    ("post-eolorder", _without(EOL, "customerid"), 2003, "Customerid can not be empty", _nothing),
    ("post-eolorder", _without(EOL, "paymenttype"), 2004, "Paymenttype can not be empty",
     _nothing),
    ("post-eolorder", {**EOL, "paymenttype": 5}, 2005, "Paymenttype can only be 1 or 2",
     _nothing),
    ("post-eolorder", EOL, 2006, "Detail can not be empty", _nothing),
    ("post-eolorder", {**EOL, "detail": LINE_1}, 2007,
     "One of the productid's in the detail not exists", _nothing),
    ("post-eolorder", {**EOL, "detail": '[{"productid": 1}]'}, 2008, "Error in detail", _nothing),
    ("update-category", {"name": "X"}, 2001, "id can not be empty", _nothing),
    ("update-product", {"name": "X"}, 2001, "id can not be empty", _nothing),
    ("update-subproduct", {"name": "X"}, 2001, "id can not be empty", _nothing),
    ("update-customer", {"name": "X"}, 2001, "id can not be empty", _nothing),
    ("update-customer", {"id": 1, "name": "X", "companyname": "NV"}, 2002, NAMES, _nothing),
]
# fmt: on


@pytest.mark.parametrize(
    ("function", "fields", "code", "message", "setup"),
    ERRORS,
    ids=[f"{e[0]}-{e[2]}" for e in ERRORS],
)
def test_documented_errors(
    api: Api,
    function: str,
    fields: dict[str, Any],
    code: int,
    message: str,
    setup: Callable[[CloudPOSState], None],
) -> None:
    """Every documented error code answers with the document's exact text (typos included)."""
    setup(api.state)
    method = "POST" if function.startswith(("post-", "update-")) else "GET"
    kwargs: dict[str, Any] = {"data": fields} if method == "POST" else {"params": fields}
    assert api.error(function, method=method, **kwargs) == (code, message)


# --- auth, lock-out, quota, licences ----------------------------------------------------


def test_empty_credentials_are_1001_and_not_bad_logins(api: Api) -> None:
    """Empty name or token answers 1001 and never counts towards the IP lock."""
    for _ in range(6):
        assert api.error("get-categories", token="") == (1001, "Token and name can not be empty")
    assert api.error("get-categories", licname="") == (1001, "Token and name can not be empty")
    api.ok("get-categories")


def test_five_bad_logins_block_the_ip_for_thirty_minutes(api: Api) -> None:
    """5 × 1002 block the IP: 1004 with the unblock time even for good credentials, then free."""
    for _ in range(5):
        assert api.error("get-categories", token="wrong") == (1002, "Token or name not valid")
    until = "2026-11-01 04:00:00"  # clock 03:30 + 30 min
    message = f"5 bad logins reached, your ip adress is blocked till '{until}'"
    assert api.error("get-categories") == (1004, message)
    used = api.state.quota_used
    assert api.error("get-orders") == (1004, message)
    assert api.state.quota_used == used  # blocked requests are not counted
    api.state.clock.advance(29 * 60)
    assert api.error("get-categories")[0] == 1004
    api.state.clock.advance(60)
    api.ok("get-categories")


def test_bad_logins_older_than_thirty_minutes_do_not_count(api: Api) -> None:
    """The 5 strikes must fall within 30 minutes of each other to lock the IP."""
    for _ in range(4):
        api.error("get-categories", token="wrong")
    api.state.clock.advance(31 * 60)
    assert api.error("get-categories", licname="nobody")[0] == 1002
    api.ok("get-categories")


def test_quota_answers_1003_with_next_local_midnight_and_resets(api: Api) -> None:
    """With a limit of 3 the 4th call gets 1003 naming next midnight; after midnight it works."""
    api.state.daily_limit = 3
    api.ok("get-categories")
    api.error("get-products", params={"id": 999999})  # a 2000 answer counts too
    api.ok("get-payment")
    code, message = api.error("get-categories")
    assert (code, message) == (
        1003,
        "Limit of '3' requests per day reached, next request possible '2026-11-02 00:00:00'",
    )
    api.state.clock.set(datetime(2026, 11, 1, 23, 59, 59))
    assert api.error("get-categories")[0] == 1003
    api.state.clock.advance(2)
    api.ok("get-categories")
    assert api.state.quota_used == 1


def test_reset_quota_endpoint_restores_the_allowance(api: Api) -> None:
    """POST /_sandbox/reset-quota zeroes today's count; admin calls are never counted."""
    api.state.daily_limit = 1
    api.ok("get-categories")
    assert api.error("get-categories")[0] == 1003
    state = api.http.post("/_sandbox/reset-quota").json()
    assert state["quota"]["used"] == 0
    api.http.get("/_sandbox/state")
    api.ok("get-categories")


def test_unlicensed_module_answers_1005(api: Api) -> None:
    """A module switched off answers 1005; clock-in rows belong to the staff module."""
    api.state.licensed_modules = frozenset({"catalog", "sales"})
    api.ok("get-categories")
    first = api.state.world.orders[0].ticket
    api.ok("get-orders", params={"start": first, "end": first})
    for function in ("get-orders&clockinclockout", "get-users", "get-zreports", "post-eolorder"):
        assert api.error(function) == (1005, "No license for this module")


@pytest.mark.parametrize("function", ["", "get-nothing", "get-orders&get-products"])
def test_missing_unknown_or_several_functions_are_404(api: Api, function: str) -> None:
    """No, an unknown or several function flags answer HTTP 404 with errorcode 0."""
    response = api.call(function)
    assert response.status_code == 404
    assert response.json() == {"success": 0, "errorcode": 0, "message": "Unknown function"}


def test_date_header_follows_the_sandbox_clock(api: Api) -> None:
    """Every response, error or not, carries Date from the sandbox clock."""
    api.state.clock.set(datetime(2026, 11, 1, 12, 0))
    assert api.call("get-categories").headers["date"] == "Sun, 01 Nov 2026 11:00:00 GMT"
    assert api.call("x", token="").headers["date"] == "Sun, 01 Nov 2026 11:00:00 GMT"
    assert api.http.get("/_sandbox/state").headers["date"] == "Sun, 01 Nov 2026 11:00:00 GMT"


# --- writes are visible in reads ------------------------------------------------------------


def test_category_writes(api: Api) -> None:
    """post-category creates the next id and update-category renames it."""
    new = api.ok("post-category", method="POST", data={"name": "Streekbieren"})["id"]
    assert new == max(api.state.world.categories)
    assert new > 1
    api.ok("update-category", method="POST", data={"id": new, "name": "Abdijbieren"})
    names = {c["id"]: c["name"] for c in api.data("get-categories")}
    assert names[new] == "Abdijbieren"


def test_product_writes_bump_modtime(api: Api) -> None:
    """post-product/update-product change get-products, stamping modtime with the clock."""
    body = api.ok(
        "post-product",
        method="POST",
        data={
            "name": "Tripel d'Anvers",
            "categorylink": 2,
            "price": "5.4",
            "tax": "21",
            "quantity": "24",
            "barcode": "5412345678900",
        },
    )
    assert body["modtime"] == api.state.clock.unix()
    [row] = api.data("get-products", params={"id": body["id"]})
    assert (row["name"], row["price"], row["quantity"], row["categorylink"]) == (
        "Tripel d'Anvers",
        "5.40",
        "24",
        2,
    )
    api.state.clock.advance(60)
    updated = api.ok("update-product", method="POST", data={"id": body["id"], "price": "5.90"})
    [row] = api.data("get-products", params={"id": body["id"]})
    assert row["price"] == "5.90"
    assert row["modtime"] == updated["modtime"] == body["modtime"] + 60
    assert api.state.world.products[body["id"]].vat == Decimal(21)


def test_subproduct_writes(api: Api) -> None:
    """post-subproduct creates an unlinked option; update-subproduct changes it."""
    body = api.ok(
        "post-subproduct", method="POST", data={"name": "Truffelmayo", "price": "1.50", "tax": "12"}
    )
    api.ok("update-subproduct", method="POST", data={"id": body["id"], "name": "Truffelmayonaise"})
    [row] = api.data("get-subproducts", params={"id": body["id"]})
    assert (row["name"], row["price"], row["productlink"]) == ("Truffelmayonaise", "1.50", [])


def test_customer_writes_use_fistname(api: Api) -> None:
    """Customers are written and read with the vendor's `fistname` spelling."""
    body = api.ok(
        "post-customer",
        method="POST",
        data={
            "name": "Peeters",
            "fistname": "Jan",
            "tagid": "2000000000017",
            "tagtype": "2",
            "email": "jan@example.be",
        },
    )
    api.ok("update-customer", method="POST", data={"id": body["id"], "town": "Gent"})
    row = next(c for c in api.data("get-customers") if c["id"] == body["id"])
    assert (row["name"], row["fistname"], row["tagtype"], row["town"]) == (
        "Peeters",
        "Jan",
        "rfid",
        "Gent",
    )
    company = api.ok("post-customer", method="POST", data={"companyname": "Brouwerij NV"})
    assert company["id"] == body["id"] + 1


def test_weborder_autoconfirmation_and_planned_time(api: Api) -> None:
    """Auto-confirmed web orders are ready 20 min after ordering, or at the planned time."""
    detail = json.dumps([{**GOOD_LINE, "sub1id": 1, "sub1price": "0.00", "sub1vat": "1.12"}])
    now = api.ok(
        "post-weborder",
        method="POST",
        data={"customerid": 2, "delivery": 0, "autoconfirmation": 1, "weborderdetail": detail},
    )["weborderid"]
    planned = api.ok(
        "post-weborder",
        method="POST",
        data={
            "customerid": 2,
            "delivery": 1,
            "autoconfirmation": 1,
            "plannedorder": 1,
            "plannedorderdatetime": "2026-11-01 19:00:00",
            "weborderdetail": detail,
        },
    )["weborderid"]
    waiting = api.ok(
        "post-weborder",
        method="POST",
        data={"customerid": 2, "delivery": 2, "weborderdetail": detail},
    )["weborderid"]
    ok = api.ok("get-confirmedweborder", params={"weborderid": now})
    assert ok["webordertime"] == "2026-11-01 03:50:00"
    ok = api.ok("get-confirmedweborder", params={"weborderid": planned})
    assert ok["webordertime"] == "2026-11-01 19:00:00"
    assert api.error("get-confirmedweborder", params={"weborderid": waiting})[0] == 2001
    api.state.confirm_weborder(waiting)
    assert api.ok("get-confirmedweborder", params={"weborderid": waiting})["webordertime"]
    line = api.state.world.weborders[now].lines[0]
    assert (line.vat, line.subs[0].vat) == (Decimal(21), Decimal(12))


def test_document_writes_and_signing(api: Api) -> None:
    """post-invoice adds the next document id; get-invoicesigned then returns its vatticket."""
    last = max(d.id for d in api.state.world.documents)
    api.ok(
        "post-invoice",
        method="POST",
        data={"documentnr": "2026/9001", "customerid": 5, "productlines": DOC_LINES},
    )
    [doc] = api.data("get-invoices", params={"start": last + 1})
    assert (doc["id"], doc["number"], doc["doctype"], doc["totalprice"], doc["date"]) == (
        last + 1,
        "2026/9001",
        1,
        "250.00",
        "2026-11-01",
    )
    ticket = api.ok("get-invoicesigned", params={"documentnr": "2026/9001"})["vatticket"]
    assert ticket == api.state.world.documents[-1].vatticket
    assert api.error("get-offersigned", params={"documentnr": "2026/9001"})[0] == 2002
    api.ok("post-offer", method="POST", data={"documentnr": "2026/9001", "productlines": DOC_LINES})


def test_reservation_entry_reduces_availability(api: Api) -> None:
    """Booked persons come off the slot's seats in get-reservationhours."""
    day = {"date": "2026-11-20"}
    assert "12:00" in api.ok("get-reservationhours", params={**day, "persons": 5})["hours"]
    api.ok(
        "post-reservationentry",
        method="POST",
        data={**day, "persons": 20, "hour": "12:00", "name": "Maes"},
    )
    assert "12:00" not in api.ok("get-reservationhours", params={**day, "persons": 5})["hours"]
    assert "12:00" in api.ok("get-reservationhours", params={**day, "persons": 4})["hours"]
    assert api.ok("get-reservationpersons", params=day)["persons"] == list(range(1, 13))


def test_voucher_and_coupon_writes(api: Api) -> None:
    """post-giftvoucher and post-coupon show up in get-giftvoucher and get-coupon."""
    body = api.ok("post-giftvoucher", method="POST", data={**VOUCHER, "paymenttype": 2})
    assert body["modtime"] == api.state.clock.unix()
    assert api.data("get-giftvoucher")[-1]["barcode"] == "123"
    api.ok("post-coupon", method="POST", data={**VOUCHER, "barcode": "777", "valuetype": 2})
    coupon = api.data("get-coupon")[-1]
    assert (coupon["barcode"], coupon["valuetype"], coupon["used"]) == ("777", 2, 0)


def test_customer_credit_writes(api: Api) -> None:
    """post-customercredit adds a detail entry and changes the customer's balance."""
    cid = api.state.world.customer_credits[0].customer_id
    before = Decimal(
        next(r["value"] for r in api.data("get-customercredits") if r["customerid"] == cid)
    )
    new = api.ok(
        "post-customercredit",
        method="POST",
        data={"customerid": cid, "value": "12.50", "paymenttype": 1, "categoryid": 1},
    )["id"]
    detail = api.data("get-customercredits", params={"customerid": cid})
    assert detail[-1]["id"] == new
    assert detail[-1]["categoryid"] == 1
    after = next(r["value"] for r in api.data("get-customercredits") if r["customerid"] == cid)
    assert Decimal(after) == before + Decimal("12.50")


def test_eol_order_is_stored(api: Api) -> None:
    """post-eolorder books the order through (no read function exists for it)."""
    detail = json.dumps([{"productid": 1, "price": "3.00", "quantity": "2"}])
    api.ok("post-eolorder", method="POST", data={**EOL, "detail": detail})
    [stored] = api.state.world.eol_orders
    assert stored.ordernumber == "EO-1"
    assert stored.lines[0].quantity == Decimal(2)


# --- request encodings --------------------------------------------------------------------

# fmt: off
DETAIL = [{"productid": 1, "productprice": "3.00", "productvat": "1.21", "sub1id": 2,
           "sub1price": "0.50", "sub1vat": "1.12", "extrainfo": "zonder ijs"}]
PHP_DETAIL = {f"weborderdetail[0][{k}]": str(v) for k, v in DETAIL[0].items()}
ENCODINGS: dict[str, dict[str, Any]] = {
    "form+json-string": {"data": {"customerid": "3", "delivery": "1",
                                  "weborderdetail": json.dumps(DETAIL)}},
    "form+php-arrays": {"data": {"customerid": "3", "delivery": "1", **PHP_DETAIL}},
    "json-body": {"json": {"customerid": 3, "delivery": 1, "weborderdetail": DETAIL}},
    "multipart": {"files": {"customerid": (None, "3"), "delivery": (None, "1"),
                            "weborderdetail": (None, json.dumps(DETAIL))}},
    "query+form": {"params": {"customerid": 3}, "data": {"delivery": "1", **PHP_DETAIL}},
}
# fmt: on


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_post_encodings_store_the_same_weborder(api: Api, encoding: str) -> None:
    """Form, multipart, JSON body, JSON-string and PHP-style arrays all reach the function."""
    wid = api.ok("post-weborder", method="POST", **ENCODINGS[encoding])["weborderid"]
    order = api.state.world.weborders[wid]
    assert (order.customer_id, order.delivery) == (3, 1)
    [line] = order.lines
    assert (line.product_id, line.price, line.vat, line.extrainfo) == (
        1,
        Decimal("3.00"),
        Decimal(21),
        "zonder ijs",
    )
    assert [(s.subproduct_id, s.price, s.vat) for s in line.subs] == [
        (2, Decimal("0.50"), Decimal(12))
    ]


def test_php_style_productlines_for_documents(api: Api) -> None:
    """post-invoice accepts productlines as PHP `productlines[0][name]` fields."""
    fields = {
        "documentnr": "PHP-1",
        "productlines[0][quantity]": "2",
        "productlines[0][name]": "Walking dinner",
        "productlines[0][vatpercent]": "12",
        "productlines[0][priceincvat]": "45.00",
    }
    api.ok("post-invoice", method="POST", data=fields)
    assert api.state.world.documents[-1].total == Decimal("90.00")


# --- faults ---------------------------------------------------------------------------------


def test_fail_next_answers_5xx_then_recovers(api: Api) -> None:
    """fail_next fires N times with a JSON 500 or an HTML 502/503 page, then stops."""
    api.state.faults.update(fail_next=2, fail_status=500)
    first = api.call("get-categories")
    assert first.status_code == 500
    assert first.json() == {"error": "Internal Server Error"}
    api.state.faults.update(fail_status=503)
    second = api.call("get-categories")
    assert second.status_code == 503
    assert second.headers["content-type"].startswith("text/html")
    api.ok("get-categories")
    assert api.state.quota_used == 1  # answered before the app: not counted


def test_rate_limit_next_sends_429_with_retry_after(api: Api) -> None:
    """rate_limit_next answers HTTP 429 carrying the configured Retry-After."""
    api.state.faults.update(rate_limit_next=1, retry_after=7)
    response = api.call("get-orders")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    api.ok("get-categories")


def test_truncate_next_cuts_the_body_in_half(api: Api) -> None:
    """truncate_next keeps status and a consistent Content-Length but halves the JSON."""
    full = api.call("get-categories").content
    api.state.faults.update(truncate_next=1)
    response = api.call("get-categories")
    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_html_next_serves_an_error_page_with_200(api: Api) -> None:
    """html_next answers HTTP 200 with an HTML page instead of JSON."""
    api.state.faults.update(html_next=1)
    response = api.call("get-categories")
    assert response.status_code == 200
    assert response.text.startswith("<!DOCTYPE html>")


def test_reset_next_drops_the_connection_after_the_write(api: Api) -> None:
    """reset_next cuts the connection mid-response, yet the write it carried is applied."""
    api.state.faults.update(reset_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.call("post-category", method="POST", data={"name": "Half geschreven"})
    assert "Half geschreven" in {c["name"] for c in api.data("get-categories")}


def test_latency_delays_vendor_requests(api: Api) -> None:
    """latency_ms holds each vendor answer back at least that long."""
    api.state.faults.update(latency_ms=150)
    started = time.perf_counter()
    api.ok("get-categories")
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("bad_amount", lambda o: o["orderdetail"][0]["productprice"] == "abc"),
        ("missing_field", lambda o: "ordertime" not in o),
        ("impossible_date", lambda o: o["ordertime"] == "2026-02-30 25:61:00"),
        ("unknown_vat", lambda o: o["orderdetail"][0]["producttax"] == "37"),
    ],
)
def test_malformed_orders_are_corrupted_by_kind(
    api: Api, kind: str, check: Callable[[dict[str, Any]], bool]
) -> None:
    """Tickets in malformed_orders come out corrupted the chosen way; others stay intact."""
    first = api.state.world.orders[0].ticket
    clean = api.data("get-orders", params={"start": first, "end": first + 2})
    api.state.faults.update(malformed_orders=[first + 1], malformed_kind=kind)
    page = api.data("get-orders", params={"start": first, "end": first + 2})
    assert check(page[1])
    assert not check(clean[1])
    assert (page[0], page[2]) == (clean[0], clean[2])


def test_dropped_orders_vanish_from_lists_but_not_from_reports(api: Api) -> None:
    """drop_orders hides tickets from get-orders while Z reports still count them."""
    z = api.data("get-zreports")[0]
    api.state.faults.update(drop_orders=[z["startticket"]])
    ids = [o["id"] for o in api.data("get-orders")]
    assert z["startticket"] not in ids
    assert len(ids) == len(api.state.world.orders) - 1
    assert api.data("get-zreports")[0] == z


def test_faults_are_set_over_http_and_spare_admin_endpoints(api: Api) -> None:
    """POST /_sandbox/faults arms knobs; /_sandbox/* requests neither trigger nor consume them."""
    armed = api.http.post("/_sandbox/faults", json={"fail_next": 1, "fail_status": 502}).json()
    assert armed["fail_next"] == 1
    assert armed["fail_status"] == 502
    assert api.http.get("/_sandbox/state").status_code == 200
    assert api.state.faults.fail_next == 1
    assert api.call("get-categories").status_code == 502
    bad = api.http.post("/_sandbox/faults", json={"explode": 1})
    assert bad.status_code == 400
    assert "unknown fault knob" in bad.json()["error"]
    assert api.http.post("/_sandbox/faults", json={"reset": True}).json()["fail_next"] == 0


def test_fault_knobs_are_validated() -> None:
    """Faults.update refuses unknown knobs and bad values without changing anything."""
    faults = Faults()
    with pytest.raises(ValueError, match="non-negative"):
        faults.update(fail_next=-1)
    with pytest.raises(ValueError, match="fail_status"):
        faults.update(fail_next=1, fail_status=404)
    with pytest.raises(ValueError, match="malformed_kind"):
        faults.update(malformed_kind="sideways")
    assert faults.fail_next == 0
    faults.update(drop_orders=(3, 4))
    assert faults.snapshot()["drop_orders"] == [3, 4]
    assert faults.take("fail_next") is False


# --- admin endpoints, clock, runner, registry ---------------------------------------------


def test_admin_state_and_clock_endpoints(api: Api) -> None:
    """/_sandbox/state reports quota and locks; /_sandbox/clock sets and advances time."""
    api.ok("get-categories")
    api.error("get-categories", token="wrong")
    state = api.http.get("/_sandbox/state").json()
    assert state["quota"] == {"day": "2026-11-01", "used": 1, "limit": 500}
    assert state["bad_logins"] == {"127.0.0.1": 1}
    assert state["requests"]["by_function"] == {"get-categories": 1}
    moved = api.http.post("/_sandbox/clock", json={"set": "2026-11-05T10:00:00"}).json()
    assert moved["now"] == "2026-11-05T10:00:00+01:00"
    moved = api.http.post("/_sandbox/clock", json={"advance_seconds": 90}).json()
    assert moved["now"] == "2026-11-05T10:01:30+01:00"
    assert api.http.post("/_sandbox/clock", json={"set": "soon"}).status_code == 400


def test_request_log_records_outcomes(api: Api) -> None:
    """The state's request log keeps each vendor call's function and error code."""
    api.ok("get-categories")
    api.error("get-products", params={"id": 999999})
    log = list(api.state.request_log)
    assert [(e.function, e.errorcode) for e in log] == [
        ("get-categories", 0),
        ("get-products", 2000),
    ]


def test_clock_frozen_and_running() -> None:
    """A frozen clock moves only when told; a running one keeps its offset from real time."""
    frozen = Clock(frozen=datetime(2026, 3, 29, 1, 30))
    assert frozen.now().isoformat() == "2026-03-29T01:30:00+01:00"
    assert frozen.advance(3600).isoformat() == "2026-03-29T03:30:00+02:00"  # DST jump
    frozen.set(datetime(2026, 1, 1))
    assert frozen.local() == datetime(2026, 1, 1)
    assert frozen.frozen
    running = Clock.starting_at(datetime(2030, 1, 1, 12, 0))
    assert not running.frozen
    assert timedelta(0) <= running.local() - datetime(2030, 1, 1, 12, 0) < timedelta(seconds=5)
    running.advance(3600)
    assert running.local() >= datetime(2030, 1, 1, 13, 0)


def test_runner_serves_on_loopback_and_stops() -> None:
    """SandboxServer picks a free loopback port, serves, and releases it on stop."""

    async def hello(_: Any) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/", hello)])
    with SandboxServer(app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert httpx.get(server.url + "/").text == "hi"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/", timeout=1)


def test_registry_builds_a_sandbox_with_seeded_credentials() -> None:
    """SANDBOXES["cloudpos"] yields a Sandbox whose credentials depend only on the seed."""
    a = SANDBOXES["cloudpos"](seed=5, days=1, orders_per_day=5, daily_limit=10)
    b = SANDBOXES["cloudpos"](seed=5, days=1, orders_per_day=5)
    c = SANDBOXES["cloudpos"](seed=6, days=1, orders_per_day=5)
    assert isinstance(a, Sandbox)
    assert a.vendor == "cloudpos"
    assert a.base_path == "/api/"
    assert a.credentials == b.credentials != c.credentials
    assert set(a.credentials) == {"licname", "token"}
    assert a.state.daily_limit == 10
    with pytest.raises(ValueError, match="unknown CloudPOS modules"):
        SANDBOXES["cloudpos"](days=1, orders_per_day=5, licensed_modules=["pizza"])
