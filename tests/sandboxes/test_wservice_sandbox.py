"""The WService sandbox over loopback: every endpoint form, sessions, code tables, writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from posbridge.connectors.wservice.codes import (
    DEFAULT_EXCLUDED,
    EMPTY_DATE,
    RESOURCES,
    CustomerType,
    DocumentType,
    InOut,
    InsertMethod,
    OriginType,
    ProductType,
    ReceiptType,
    RowType,
)
from posbridge.connectors.wservice.wire import decode_record
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.wservice import SESSION_MINUTES, create_sandbox, route
from posbridge.sandboxes.wservice_writes import ean13


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return create_sandbox(seed=3, days=2, orders_per_day=6)


@pytest.fixture(scope="module")
def http(box: Sandbox) -> Iterator[httpx.Client]:
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as client:
        yield client


def _login(box: Sandbox, http: httpx.Client) -> str:
    creds = box.credentials
    answer = http.get("/api/login", auth=(creds["user"], creds["password"])).json()
    assert answer["SuccessStatus"] is True
    return str(answer["SessionCode"])


def _json(response: httpx.Response) -> dict[str, Any]:
    return decode_record(response.content)


# -- every endpoint form -----------------------------------------------------------------

READ_FORMS = ("get_path", "get_path_id", "post_get_path", "post_get_path_id", "post_get_body")
DELETE_FORMS = ("delete_path_id", "post_del_path_id", "post_del_body")
WRITE_FORMS = ("post_set_body",)
ALL_FORMS = READ_FORMS + DELETE_FORMS + WRITE_FORMS


def _applicable(resource: str, form: str) -> bool:
    _key, setter, deletable = RESOURCES[resource]
    if form in DELETE_FORMS:
        return deletable
    if form in WRITE_FORMS:
        return setter is not None
    return True


CASES = [(r, f) for r in RESOURCES for f in ALL_FORMS if _applicable(r, f)]
#: resource → a payload the set form accepts
WRITES: dict[str, dict[str, Any]] = {
    "departments": {"departmentcode": 77, "departmentname": "NUOVO", "vatpercentage": 22},
    "products": {"productname": "PRODOTTO FORMA", "productcode": "F-1", "departmentcode": "1"},
    "documents": {
        "documenttype": "CAR",
        "documentrows": [{"idproduct": 1, "qtymovement": 2, "netprice": 1}],
    },
    "prepaid": {"prepaidcode": "FORM1", "prepaidbalance": 10},
}


def _first_id(box: Sandbox, resource: str) -> int:
    world = box.state.world
    table = {
        "departments": world.departments,
        "products": world.products,
        "documents": world.documents,
        "prepaid": world.prepaid,
    }[resource]
    return int(max(table))


def _deletable_id(box: Sandbox, resource: str) -> int:
    world = box.state.world
    if resource == "departments":
        used = {p.iddepartment for p in world.products.values()}
        free = [d for d in world.departments if d not in used]
        if not free:
            world.departments[999] = type(world.departments[1])(999, 999, "VUOTO", 1)
            return 999
        return free[0]
    return int(max(world.products))


def _call(box: Sandbox, http: httpx.Client, resource: str, form: str) -> httpx.Response:
    code = _login(box, http)
    key, setter, _ = RESOURCES[resource]
    if form in READ_FORMS:
        rid = _first_id(box, resource)
        return {
            "get_path": lambda: http.get(f"/api/{resource}/{code}"),
            "get_path_id": lambda: http.get(f"/api/{resource}/{code}", params={key: rid}),
            "post_get_path": lambda: http.post(f"/api/get{resource}/{code}"),
            "post_get_path_id": lambda: http.post(f"/api/get{resource}/{code}", params={key: rid}),
            "post_get_body": lambda: http.post(
                f"/api/get{resource}", json={"SessionCode": code, key: str(rid)}
            ),
        }[form]()
    if form in DELETE_FORMS:
        rid = _deletable_id(box, resource)
        return {
            "delete_path_id": lambda: http.delete(f"/api/{resource}/{code}", params={key: rid}),
            "post_del_path_id": lambda: http.post(f"/api/del{resource}/{code}", params={key: rid}),
            "post_del_body": lambda: http.post(
                f"/api/del{resource}", json={"SessionCode": code, key: str(rid)}
            ),
        }[form]()
    return http.post(f"/api/{setter}", json={"SessionCode": code, **WRITES[resource]})


@pytest.mark.parametrize(("resource", "form"), CASES)
def test_every_endpoint_form(box: Sandbox, http: httpx.Client, resource: str, form: str) -> None:
    """Each documented form of each resource answers the documented envelope."""
    response = _call(box, http, resource, form)
    assert response.status_code == 200, response.text
    body = _json(response)
    assert body["SuccessStatus"] is True
    if form in READ_FORMS:
        assert body["ResponseRequest"] == resource
        records = body[resource]
        assert records
        if form.endswith("_id") or form == "post_get_body":
            assert len(records) == 1
    elif form in WRITE_FORMS:
        assert body["ResponseRequest"] == RESOURCES[resource][1]
    else:
        assert RESOURCES[resource][0] in body


def test_every_resource_form_has_a_case() -> None:
    """Fails when a resource gains a form (in `codes.RESOURCES`) without a test case."""
    for resource, (_key, setter, deletable) in RESOURCES.items():
        forms = {f for r, f in CASES if r == resource}
        assert set(READ_FORMS) <= forms
        assert (set(DELETE_FORMS) <= forms) == deletable
        assert ("post_set_body" in forms) == (setter is not None)
        for form in forms:
            method = (
                "GET"
                if form.startswith("get")
                else "DELETE"
                if form.startswith("delete")
                else "POST"
            )
            name = {
                "get": resource,
                "delete": resource,
                "post_get": f"get{resource}",
                "post_del": f"del{resource}",
                "post_set": setter,
            }[
                next(
                    p
                    for p in ("post_get", "post_del", "post_set", "get", "delete")
                    if form.startswith(p)
                )
            ]
            assert route(method, str(name)) is not None, (method, name)


def test_undocumented_forms_are_refused(box: Sandbox, http: httpx.Client) -> None:
    """Deleting documents or prepaid cards is not documented: 404 with the error envelope."""
    code = _login(box, http)
    for response in (
        http.delete(f"/api/documents/{code}", params={"iddocument": 1}),
        http.post("/api/delprepaid", json={"SessionCode": code, "idprepaid": 1}),
        http.put(f"/api/products/{code}"),
    ):
        assert response.status_code in (404, 405)
    body = _json(http.post("/api/deldocuments", json={"SessionCode": code}))
    assert body == {"ResponseRequest": "deldocuments", "SuccessStatus": False, "Data": body["Data"]}


# -- login and sessions ------------------------------------------------------------------


def test_login_forms_and_envelope(box: Sandbox, http: httpx.Client) -> None:
    """Basic GET and body POST both log in; the example's fields and the 1899 empty date."""
    creds = box.credentials
    posted = _json(
        http.post("/api/login", json={"User": creds["user"], "Password": creds["password"]})
    )
    assert set(posted) == {
        "ResponseRequest",
        "SuccessStatus",
        "SessionCode",
        "User",
        "Data",
        "LastLogin",
    }
    assert posted["ResponseRequest"] == "login"
    assert posted["User"] == creds["user"]
    assert len(posted["SessionCode"]) == 18
    wrong = http.get("/api/login", auth=(creds["user"], "nope"))
    assert wrong.status_code == 401
    assert _json(wrong)["SuccessStatus"] is False


def test_session_expires_thirty_minutes_after_the_last_call() -> None:
    """Calls keep a session alive; 30 idle minutes end it (the clock is advanced, no sleep)."""
    box = create_sandbox(seed=3, days=1, orders_per_day=2)
    clock = box.state.clock
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as http:
        code = _login(box, http)
        for _ in range(3):
            clock.advance((SESSION_MINUTES - 1) * 60)
            assert http.get(f"/api/departments/{code}").status_code == 200
        clock.advance(SESSION_MINUTES * 60 + 1)
        expired = http.get(f"/api/departments/{code}")
        assert expired.status_code == 401
        assert "scaduta" in _json(expired)["Data"]


def test_a_new_login_of_the_same_user_ends_the_old_session(
    box: Sandbox, http: httpx.Client
) -> None:
    """One session per user: the first SessionCode dies when the second is issued."""
    first = _login(box, http)
    assert http.get(f"/api/departments/{first}").status_code == 200
    second = _login(box, http)
    assert http.get(f"/api/departments/{first}").status_code == 401
    assert http.get(f"/api/departments/{second}").status_code == 200


# -- code tables and the world -----------------------------------------------------------


def test_code_tables_are_modelled_and_used() -> None:
    """Tabelle 1–6 are complete enums; the world uses every document type and its codes."""
    sizes = [len(t) for t in (DocumentType, OriginType, ReceiptType, InsertMethod, RowType)]
    assert sizes == [20, 13, 6, 12, 9]
    assert len(ProductType) == 5  # + JSON null, "non definito"
    assert {str(t) for t in DEFAULT_EXCLUDED} == {"VEA", "BIL", "SCA", "COM", "CAR"}
    assert {c.value for c in CustomerType} == {"CLI", "FID"}
    assert {i.value for i in InOut} == {"I", "U"}
    world = create_sandbox(seed=3, days=1, orders_per_day=4).state.world
    types = {str(d["documenttype"]) for d in world.documents.values()}
    assert types == {t.value for t in DocumentType}
    rows = {str(r["rowtype"]) for d in world.documents.values() for r in d["documentrows"]}
    assert {"P", "D", "C"} <= rows
    for doc in world.documents.values():
        assert doc["canceleddocument"] == EMPTY_DATE or doc["documenttype"] == "VEA"


def test_document_amounts_are_exact(box: Sandbox, http: httpx.Client) -> None:
    """Documents decode with Decimal amounts; VEN totals equal Σ rows and Σ payments."""
    code = _login(box, http)
    world = box.state.world
    ven = next(i for i, d in world.documents.items() if d["documenttype"] == "VEN")
    doc = _json(http.get(f"/api/documents/{code}", params={"iddocument": ven}))["documents"][0]
    assert isinstance(doc["documenttotal"], Decimal | int)
    rows = sum((Decimal(r["totalprice"]) for r in doc["documentrows"]), Decimal(0))
    assert (
        rows
        == doc["documenttotal"]
        == sum((Decimal(p["totalpayment"]) for p in doc["payments"]), Decimal(0))
    )
    assert doc["taxabletotal"] + doc["vattotal"] == doc["documenttotal"]
    assert doc["movementdate"].endswith(("+01:00", "+02:00"))


# -- writes: lookup and default rules ---------------------------------------------------


@pytest.fixture
def fresh() -> Iterator[tuple[Sandbox, Callable[..., dict[str, Any]]]]:
    box = create_sandbox(seed=5, days=1, orders_per_day=3)
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as http:
        code = _login(box, http)

        def post(name: str, **body: Any) -> dict[str, Any]:
            return _json(http.post(f"/api/{name}", json={"SessionCode": code, **body}))

        yield box, post


def test_product_lookup_order_and_defaults(fresh: tuple[Sandbox, Any]) -> None:
    """Matched by id, then code, then EAN, then name; VAT inherited; EAN generated if empty."""
    box, post = fresh
    world = box.state.world
    some = world.products[min(world.products)]
    by_code = post("setproducts", productcode=some.code, productname="RINOMINATO")
    assert by_code["idproduct"] == some.id
    assert some.name == "RINOMINATO"
    ean = some.barcodes[0]["barcode"]
    by_ean = post("setproducts", productname="ANCORA", barcodes=[{"barcode": ean}])
    assert by_ean["idproduct"] == some.id
    by_name = post("setproducts", productname="ANCORA", referencename="WEB")
    assert by_name["idproduct"] == some.id
    new = post(
        "setproducts",
        productname="NUOVO ARTICOLO",
        productcode="N-1",
        barcodes=[{"barcode": "", "packquantity": 1}],
        prices=[{"pricevalue": 3.5, "pricename": "LISTINO BASE"}],
    )
    assert new["idproduct"] not in (some.id,)
    assert new["iddepartment"] == world.default_department
    dep_vat = world.vats[world.departments[world.default_department].idvat].percentage
    assert new["vatpercentage"] == dep_vat  # inherited
    generated = new["barcodes"][0]["barcode"]
    assert len(generated) == 13
    assert ean13(generated[:12]) == generated
    assert new["prices"][0]["pricevalue"] == Decimal("3.5")
    assert new["prices"][0]["idprice"] == 1
    created = post(
        "setproducts",
        productname="CON REPARTO",
        productcode="N-2",
        departmentcode="88",
        vatpercentage=7,
    )
    assert created["departmentcode"] == "88"
    assert created["vatpercentage"] == 7
    assert any(v.percentage == 7 for v in world.vats.values())


def test_department_upsert_and_delete_rules(fresh: tuple[Sandbox, Any]) -> None:
    """setdepartments upserts by code (ticket/tickets both read); a used department stays."""
    _box, post = fresh
    made = post(
        "setdepartments",
        departmentcode=50,
        departmentname="NUOVO",
        vatcode="22",
        vatpercentage=22,
        ticket=False,
    )
    again = post("setdepartments", departmentcode=50, departmentname="NUOVO 2")
    assert made["iddepartment"] == again["iddepartment"]
    assert again["tickets"] is False
    in_use = post("deldepartments", iddepartment=1)
    assert in_use["SuccessStatus"] is False
    gone = post("deldepartments", iddepartment=made["iddepartment"])
    assert gone["SuccessStatus"] is True
    missing = post("delproducts", idproduct=999_999)
    assert missing["SuccessStatus"] is False


def test_documents_autocomplete_and_move_stock(fresh: tuple[Sandbox, Any]) -> None:
    """movementcodename fills type/inout/qtycode; CAR loads, SCA unloads, VEN sells."""
    box, post = fresh
    world = box.state.world
    product = world.products[min(world.products)]
    ean, before = product.barcodes[0]["barcode"], product.stock
    load = post(
        "setdocument",
        movementcodename="FATFOR",
        documenttransactionnumber="12343",
        documentrows=[{"barcode": ean, "qtymovement": 5, "netprice": 6}],
    )
    doc = load["documents"][0]
    assert (doc["documenttype"], doc["inout"], doc["cussup"]) == ("CAR", "I", "F")
    assert doc["documentrows"][0]["qtycode"] == "CARICO"
    assert product.stock == before + 5
    post(
        "setdocument",
        documenttype="SCA",
        discardreason="PRODOTTO SCADUTO",
        documentrows=[{"barcode": ean, "qtymovement": 2}],
    )
    assert product.stock == before + 3
    sale = post(
        "setdocument",
        movementcodename="VENDITA",
        documentrows=[{"idproduct": product.id, "qtymovement": 1}],
    )
    sold = sale["documents"][0]
    assert sold["documenttype"] == "VEN"
    assert sold["payments"][0]["totalpayment"] == sold["documenttotal"]
    assert product.stock == before + 2
    bad = post("setdocument", documenttype="XXX", documentrows=[{"idproduct": 1}])
    assert bad["SuccessStatus"] is False
    assert "Tabella 1" in bad["Data"]


# -- the document webhook ----------------------------------------------------------------


def test_webhook_needs_the_success_key_and_is_configured_by_ini() -> None:
    """Configured through `/_sandbox/webhook` with an ini text: answers without the success
    key do not move WebhookDocLastIDMov; once the key comes back, the pusher catches up."""
    import time

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    box = create_sandbox(seed=3, days=1, orders_per_day=3)
    seen: list[int] = []
    answer = {"text": "errore"}

    async def hook(request: Request) -> PlainTextResponse:
        seen.append(int(decode_record(await request.body())["idmovement"]))
        return PlainTextResponse(answer["text"])

    def wait(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.01)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with SandboxServer(receiver) as hook_server, SandboxServer(box.app) as server:
        ini = (
            f"[midware]\nWebhookDocUrl={hook_server.url}/hook\nWebhookDocSuccessKey=GRAZIE\n"
            "WebhookDocLastIDMov=3\nDocTypeExcluded=\n"
        )
        with httpx.Client(base_url=server.url) as http:
            status = http.post("/_sandbox/webhook?interval=0.02", content=ini).json()
            assert status["running"] is True
            assert status["last_id"] == 3
            wait(lambda: len(seen) >= 3)
            assert set(seen) == {4}  # the same document again and again
            assert http.get("/_sandbox/webhook").json()["last_id"] == 3
            answer["text"] = "OK GRAZIE"
            top = max(box.state.world.documents)
            wait(lambda: http.get("/_sandbox/webhook").json()["last_id"] == top)
        box.state.stop_webhook()
        assert box.state.webhook is not None
        assert not box.state.webhook.running
    assert sorted(set(seen)) == list(range(4, top + 1))
