"""SmartNow sandbox over loopback HTTP: every operation of the routing table, auth, errors.

`CASES` holds at least one request per route (`test_every_route_has_a_case` fails when a
route is added without one); each case runs against a fresh sandbox of a small world.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from posbridge.connectors.smartnow.routes import BY_NAME, ROUTES, path
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow import create_sandbox

Check = Callable[[Any], bool]


@dataclass
class Api:
    """A logged-in client of a running sandbox."""

    box: Sandbox
    http: httpx.Client
    token: str

    def call(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        query: Any = None,
        body: Any = None,
        auth: bool = True,
    ) -> httpx.Response:
        route = BY_NAME[name]
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        return self.http.request(
            route.method, path(name, **(params or {})), params=query, json=body, headers=headers
        )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Sandbox, httpx.Client]]:
    box = create_sandbox(seed=5, days=2, orders_per_day=6)
    with SandboxServer(box.app) as srv, httpx.Client(base_url=srv.url) as client:
        yield box, client


@pytest.fixture
def api(server: tuple[Sandbox, httpx.Client]) -> Api:
    """A fresh world (no writes, no tokens) and a logged-in client."""
    box, client = server
    box.state.reset()
    token = client.post("/auth/login", json=box.credentials).json()["access_token"]
    return Api(box, client, token)


def _tx(api: Api) -> dict[str, Any]:
    return next(iter(api.box.state.world.tables["revenuetransaction"].values()))


def _voucher(api: Api) -> dict[str, Any]:
    return next(iter(api.box.state.world.tables["voucher"].values()))


PERIOD = {
    "period1": {
        "referenceDate": "2026-10-31T12:00:00+01:00",
        "startDate": {"year": 0, "month": 10, "day": 1, "hour": 0, "minute": 0, "second": 0},
        "endDate": {"year": 0, "month": 0, "day": 0, "hour": 23, "minute": 59, "second": 59},
    },
    "period2": {"startDate": "2025-10-01 00:00:00", "endDate": "2025-10-31 23:59:59"},
}
MACHINE = {
    "name": "Automaat D1",
    "hostname": "sn-new-1",
    "location": 1,
    "machineModel": 1,
    "machineType": 1,
    "manufacturer": 1,
    "currency": 1,
    "active": True,
}
LOCATION = {
    "name": "Schiphol Plaza",
    "address": "Evert v/d Beekstraat 1",
    "postcode": "1118 CL",
    "city": "Schiphol",
    "country": "NL",
}
VOUCHER = {"campaign": 1, "type": "discount", "value": 150}
Params = dict[str, Any] | Callable[[Api], dict[str, Any]]

#: route → [(path params, query, body, status, check of the JSON/text answer)]
CASES: dict[str, list[tuple[Params, Any, Any, int, Check | None]]] = {
    "auth.login": [({}, None, {"username": "x"}, 400, None)],
    "auth.refresh": [({}, None, {"refresh_token": "nope"}, 401, lambda j: "message" in j)],
    "auth.password": [({}, None, {"token": "bad", "password": "longenough"}, 401, None)],
    "auth.reset": [({}, None, {"username": "nobody", "email": "x@y"}, 200, None)],
    "auth.confirm": [({}, None, {"token": "bad"}, 400, None)],
    "user.me": [
        ({}, None, None, 200, lambda j: j["userGroup"]["id"] == 1 and j["language"]["id"] == 1)
    ],
    "user.create": [
        (
            {},
            None,
            {"username": "sem", "email": "sem@x.nl", "userGroup": 2, "language": 1},
            201,
            lambda j: j["id"] > 0,
        ),
        ({}, None, {"username": "sem"}, 400, None),
    ],
    "user.get": [
        ({"id": 1}, None, None, 200, lambda j: j["emailConfirmed"] == 1),
        ({"id": 999}, None, None, 404, None),
    ],
    "user.update": [
        ({"id": 2}, None, {"language": 2}, 200, lambda j: "message" in j),
        ({"id": 2}, None, {"language": "en"}, 400, None),
    ],
    "usergroup.create": [({}, None, {"name": "Vullers", "parent": 1}, 201, None)],
    "usergroup.update": [({"id": 2}, None, {"name": "Monteurs"}, 200, None)],
    "usergroup.children": [
        ({"parentid": 1}, None, None, 200, lambda j: [g["id"] for g in j] == [2])
    ],
    "usergroup.populate": [
        ({"parentid": 1, "alias": "users"}, None, None, 200, lambda j: len(j) >= 1),
        ({"parentid": 1, "alias": "nope"}, None, None, 400, None),
    ],
    "machine.config": [
        ({"hostname": "sn-00080"}, None, {"config": '{"a":1}'}, 200, None),
        ({"hostname": "nope"}, None, {"config": "x"}, 404, None),
    ],
    "machine.configuration": [
        (
            {},
            None,
            {"filter": {"type": "location", "ids": [1]}, "configuration": {"apn": {"apn": "x"}}},
            200,
            None,
        ),
        ({}, None, {"filter": {"type": "planet", "ids": [1]}, "configuration": {}}, 400, None),
    ],
    "machine.by_location": [({}, None, None, 200, lambda j: all("machines" in loc for loc in j))],
    "machine.list": [({}, None, None, 200, lambda j: j[0]["active"] in (0, 1))],
    "alertobserver.by_status": [
        ({"status": "ok"}, None, None, 200, lambda j: len(j) == 1),
        ({"status": "ok"}, {"widget": 999}, None, 404, None),
    ],
    "machine.by_status": [
        ({"status": "online"}, None, None, 200, None),
        ({"status": "sleepy"}, None, None, 400, None),
    ],
    "machine.alertobservers": [({"id": 80}, None, None, 200, lambda j: len(j) == 1)],
    "machine.create": [
        ({}, None, MACHINE, 201, lambda j: j["id"] > 84),
        ({}, {"source": 80}, {"name": "Kopie", "hostname": "sn-copy"}, 201, None),
        ({}, None, {**MACHINE, "hostname": "sn-00080"}, 400, None),
    ],
    "machine.get": [({"id": 80}, None, None, 200, lambda j: j["hostname"] == "sn-00080")],
    "machine.update": [
        ({"id": 80}, None, {"active": False}, 200, None),
        ({"id": 80}, None, {"active": "nee"}, 400, None),
    ],
    "machine.populate": [
        ({"parentid": 80, "alias": "location"}, None, None, 200, lambda j: j["id"] == 1)
    ],
    "machine.command": [
        ({"hostname": "sn-00080", "command": "reboot"}, None, {"params": [1]}, 200, None),
        ({"hostname": "sn-00080", "command": "explode"}, None, {}, 400, None),
    ],
    "command.bulk": [
        (
            {"command": "sync"},
            None,
            {"filter": {"type": "machine", "ids": [80, 81]}, "params": [{}]},
            200,
            None,
        )
    ],
    "machinemodel.create": [
        ({}, None, {"name": "X", "manufacturer": 1, "errorProfile": 1}, 201, None),
        ({}, None, {"name": "X", "manufacturer": 99, "errorProfile": 1}, 400, None),
    ],
    "machinemodel.get": [({"id": 1}, None, None, 200, None)],
    "machinemodel.update": [({"id": 1}, None, {"name": "Kikko Max 2"}, 200, None)],
    "machinemodel.populate": [
        ({"parentid": 1, "alias": "manufacturer"}, None, None, 200, lambda j: j["name"] == "Necta")
    ],
    "machinetype.create": [({}, None, {"name": "Vers"}, 201, None)],
    "machinetype.update": [({"id": 1}, None, {"name": "Koffie"}, 200, None)],
    "manufacturer.create": [({}, None, {"name": "Bianchi", "machineTypes": [1]}, 201, None)],
    "manufacturer.update": [({"id": 1}, None, {"name": "Evoca"}, 200, None)],
    "machinegroup.create": [({}, None, {"name": "Nieuw", "machines": [80]}, 201, None)],
    "machinegroup.update": [({"id": 1}, None, {"machines": [80]}, 200, None)],
    "machineconfig.by_hostname": [
        ({"hostname": "sn-00080"}, None, None, 200, lambda j: "id" not in j)
    ],
    "machineconfig.find": [({}, {"hostname": "sn-00081"}, None, 200, lambda j: j["id"] == 81)],
    "machineconfig.update": [
        ({"machine": 80}, None, {"ssid": "new"}, 200, None),
        ({"machine": 80}, None, {"colour": "red"}, 400, None),
    ],
    "machineconfigtemplate.get": [
        ({"id": 1}, None, None, 200, lambda j: j["apn"] == "internet.kpn")
    ],
    "location.list": [({}, None, None, 200, lambda j: j[0]["timeZone"] == "Europe/Amsterdam")],
    "location.create": [({}, None, LOCATION, 201, None), ({}, None, {"name": "x"}, 400, None)],
    "location.get": [({"id": 1}, None, None, 200, None), ({"id": "abc"}, None, None, 404, None)],
    "location.update": [({"id": 1}, None, {"city": "Utrecht C."}, 200, None)],
    "locationgroup.create": [({}, None, {"name": "Ziekenhuizen", "locations": [2]}, 201, None)],
    "locationgroup.update": [({"id": 1}, None, {"name": "Alles"}, 200, None)],
    "shift.close": [
        ({}, None, {"location": 1}, 200, lambda j: j["closed"] is not None),
        ({}, None, {}, 400, None),
    ],
    "shift.list": [
        ({}, {"where[closed][!=]": "null", "limit": 2}, None, 200, lambda j: len(j) == 2)
    ],
    "shift.get": [({"id": 1}, None, None, 200, lambda j: j["firstTransaction"] > 0)],
    "openinghours.set": [
        (
            {"resource": "location", "id": 1},
            None,
            [{"day": 1, "startTime": "09:15:00", "endTime": "10:00:00"}],
            200,
            None,
        ),
        ({"resource": "location", "id": 1}, None, [{"day": 1, "startTime": "9"}], 400, None),
        ({"resource": "planet", "id": 1}, None, [], 400, None),
    ],
    "revenuetransaction.summary": [
        (
            {},
            {"startDate": "2026-10-01", "endDate": "2026-11-01", "locations[]": [1, 2]},
            None,
            200,
            lambda j: "EUR" in j,
        ),
        ({}, {"endDate": "2026-11-01"}, None, 400, None),
    ],
    "revenuetransaction.bestselling": [
        (
            {},
            {"startDate": "2026-10-01", "endDate": "2026-11-01", "amount": 2},
            None,
            200,
            lambda j: len(j) == 2,
        )
    ],
    "revenuetransaction.overview": [
        (
            {},
            {"machines[]": 80},
            None,
            200,
            lambda j: set(j["EUR"][0]) == {"day", "week", "month", "year"},
        )
    ],
    "revenuetransaction.heatmap": [
        ({}, None, None, 200, lambda j: all(1 <= c["day"] <= 7 for c in j))
    ],
    "revenuetransaction.list": [
        ({}, {"limit": 1}, None, 200, lambda j: isinstance(j[0]["price"], int))
    ],
    "revenuetransaction.get": [
        (
            lambda a: {"id": _tx(a)["id"]},
            None,
            None,
            200,
            lambda j: j["occurredAt"][-6:] in ("+01:00", "+02:00"),
        )
    ],
    "revenuetransaction.populate": [
        (
            lambda a: {"parentid": _tx(a)["id"], "alias": "paymenttransactions"},
            None,
            None,
            200,
            lambda j: len(j) >= 1,
        )
    ],
    "paymenttransaction.list": [
        (
            {},
            {"where[method][in][]": ["cash", "card"]},
            None,
            200,
            lambda j: {p["method"] for p in j} <= {"cash", "card"},
        )
    ],
    "paymenttransaction.get": [
        (
            lambda a: {"id": next(iter(a.box.state.world.tables["paymenttransaction"]))},
            None,
            None,
            200,
            lambda j: j["exclude"] == 0,
        )
    ],
    "log.active": [
        ({}, {"machine": 80}, None, 200, lambda j: all(x["state"] == "active" for x in j)),
        ({}, None, None, 400, None),
    ],
    "log.summary": [
        ({}, {"limit": 2}, None, 200, lambda j: len(j) <= 2),
        ({}, {"limit": 31}, None, 400, None),
    ],
    "log.list": [
        (
            {},
            {"where[code][startsWith]": "CM_"},
            None,
            200,
            lambda j: all(x["code"].startswith("CM_") for x in j),
        )
    ],
    "log.get": [
        (
            lambda a: {"id": next(iter(a.box.state.world.tables["log"]))},
            None,
            None,
            200,
            lambda j: isinstance(j["extraData"], str),
        )
    ],
    "report.issues": [({}, None, PERIOD, 200, lambda j: "period1" in j and "period2" in j)],
    "report.alarms": [
        ({}, None, {"machines": [80], **PERIOD}, 200, lambda j: "duration" not in str(j))
    ],
    "report.products": [
        ({}, None, PERIOD, 200, lambda j: j["period1"]["startDate"] == "2026-10-01 00:00:00")
    ],
    "report.paymenttypes": [
        ({}, None, PERIOD, 200, lambda j: j["period1"]["data"][0]["currency"] == "EUR")
    ],
    "report.revenue": [
        ({}, None, PERIOD, 200, lambda j: "shift" in j["period1"]["data"][0]),
        ({}, None, {}, 400, None),
    ],
    "report.shifts": [
        ({}, None, {"locations": [1], **PERIOD}, 200, lambda j: j["period1"]["data"])
    ],
    "report.export": [
        (
            {},
            {
                "period1[startDate]": "2026-10-01 00:00:00",
                "period1[endDate]": "2026-11-01 00:00:00",
                "period1[referenceDate]": "2026-10-31 12:00:00",
                "timezone": "Europe/Amsterdam",
                "locations[]": [1, 2],
            },
            None,
            200,
            lambda t: t.startswith("id,occurredAt"),
        ),
        (
            {},
            {
                "period1[startDate]": "2020-01-01 00:00:00",
                "period1[endDate]": "2020-01-07 23:59:59",
            },
            None,
            400,
            None,
        ),
    ],
    "report.create": [
        (
            {},
            None,
            {
                "name": "Q4",
                "period1": {
                    "startDate": "2026-10-01 00:00:00",
                    "endDate": "2026-12-31 23:59:59",
                    "type": "fixed date",
                },
            },
            201,
            None,
        )
    ],
    "report.update": [({"id": 1}, None, {"manufactures": [1]}, 200, None)],
    "report.populate": [
        ({"parentid": 1, "alias": "user"}, None, None, 200, lambda j: j["id"] == 1)
    ],
    "report.add": [
        ({"parentid": 1, "alias": "machines", "id": 80}, None, None, 200, lambda j: j["id"] == 1)
    ],
    "report.remove": [({"parentid": 1, "alias": "machines", "id": 80}, None, None, 404, None)],
    "userreport.update": [({"id": 1}, None, {"name": "Maandomzet"}, 200, None)],
    "userreport.add_chart": [
        ({"id": 1}, None, {"type": "payment_types", "view": "pie"}, 201, None),
        ({"id": 1}, None, {"type": "pizza"}, 400, None),
    ],
    "userreport.charts": [({"id": 1}, None, None, 200, lambda j: j[0]["createAt"])],
    "userreport.duplicate": [({"id": 1}, None, {"name": "Kopie"}, 200, None)],
    "chart.get": [({"id": 1}, None, None, 200, lambda j: j["report"] == 1)],
    "chart.update": [({"id": 1}, None, {"view": "bars"}, 200, None)],
    "chart.field": [
        ({"id": 1, "field": "criteria"}, None, None, 200, lambda j: "criteria" in j),
        ({"id": 1, "field": "colour"}, None, None, 400, None),
    ],
    "charttemplate.list": [({}, None, None, 200, lambda j: len(j) == 1)],
    "charttemplate.get": [({"id": 1}, None, None, 200, None)],
    "alertobserver.list": [({}, None, None, 200, None)],
    "alertobserver.create": [
        (
            {},
            None,
            {
                "name": "Kas leeg",
                "type": "transaction",
                "observer": "non_occurrence",
                "timer": 4,
                "timerType": 2,
                "alertGroup": 1,
                "paymentMethod": "cash",
            },
            201,
            None,
        ),
        (
            {},
            None,
            {
                "name": "x",
                "type": "weather",
                "observer": "occurrence",
                "timer": 1,
                "timerType": 1,
                "alertGroup": 1,
            },
            400,
            None,
        ),
    ],
    "alertobserver.get": [({"id": 1}, None, None, 200, lambda j: j["openingHours"] == 1)],
    "alertobserver.update": [({"id": 1}, None, {"timerType": 3}, 200, None)],
    "alertgroup.update": [
        ({"id": 1}, None, {"name": "Storing"}, 200, lambda j: j["name"] == "Storing")
    ],
    "alertrecipient.create": [
        (
            {},
            None,
            {"name": "Jan", "email": "jan@x.nl", "language": 1, "alertGroup": 1, "active": True},
            201,
            None,
        )
    ],
    "alertrecipient.get": [({"id": 1}, None, None, 200, lambda j: j["active"] == 1)],
    "alertrecipient.update": [({"id": 1}, None, {"active": False}, 200, None)],
    "productflavour.create": [
        ({"machine": 80}, None, {"name": "Vanille", "price": 0, "plu": 950}, 201, None),
        ({"machine": 80}, None, {"name": "Dup", "price": 0, "plu": 901}, 400, None),
    ],
    "productflavour.list": [
        ({"machine": 80}, None, None, 200, lambda j: isinstance(j[0]["price"], str))
    ],
    "productflavour.update": [
        (
            lambda a: {
                "machine": 80,
                "id": next(
                    r["id"]
                    for r in a.box.state.world.tables["productflavour"].values()
                    if r["machine"] == 80
                ),
            },
            None,
            {"price": 10},
            200,
            None,
        )
    ],
    "productextra.create": [
        ({"machine": 80}, None, {"name": "Slagroom", "price": 30, "plu": 960}, 201, None)
    ],
    "productextra.list": [({"machine": 80}, None, None, 200, None)],
    "productextra.update": [({"machine": 81, "id": 1}, None, {"price": 10}, 404, None)],
    "product.create": [
        ({"machine": 80}, None, {"name": "Tosti", "plu": 500, "price": 395}, 201, None),
        ({"machine": 80}, None, {"name": "Tosti", "plu": 501, "price": 3.95}, 400, None),
    ],
    "product.list": [
        ({"machine": 80}, None, None, 200, lambda j: all(p["machine"] == 80 for p in j))
    ],
    "product.update": [({"machine": 80, "id": 1}, None, {"price": 270}, 200, None)],
    "assortment.preview": [
        (
            {"machine": 80},
            None,
            {"flavourPLU": 901},
            200,
            lambda j: set(j) == {"baseProducts", "productFlavours", "extraProducts"},
        )
    ],
    "assortment.convert": [
        ({"machine": 80}, None, {"flavourPLU": 901, "extraProductPLU": 903}, 200, None)
    ],
    "assortment.override": [
        ({"machine": 80}, None, [{"plu": 1, "name": "Cola", "price": 250}], 200, None),
        ({"machine": 80}, None, [], 400, None),
    ],
    "assortment.copy": [({"machine": 80, "machineGroup": 1}, None, None, 200, None)],
    "errorprofile.create": [
        ({}, None, {"name": "P", "machineType": 1, "manufacturer": 1}, 201, None)
    ],
    "errorprofile.update": [({"id": 1}, None, {"name": "P2"}, 200, None)],
    "erroridentity.create": [({}, None, {"machineType": 1, "error": "ED020"}, 201, None)],
    "erroridentity.update": [({"id": 1}, None, {"error": "CM_OFFLINE"}, 200, None)],
    "errorcode.create": [
        ({}, None, {"errorIdentity": 1, "errorProfile": 1, "code": "X"}, 201, None)
    ],
    "errorcode.update": [({"id": 1}, None, {"code": "Y"}, 200, None)],
    "transactionprofile.paymenttypes": [
        (
            {},
            None,
            None,
            200,
            lambda j: {p["type"] for p in j} == {"cash", "card", "code", "virtual", "token"},
        )
    ],
    "transactionprofile.create": [
        ({}, None, {"reportRule": "first_block", "paymentTypesMap": {}}, 201, None),
        ({}, None, {"reportRule": "last_letter"}, 400, None),
    ],
    "transactionprofile.update": [({"id": 1}, None, {"reportRule": "first_block"}, 200, None)],
    "widget.create": [({"dashboard": 1}, None, {"name": "Storingen", "widgetType": 2}, 201, None)],
    "widget.settings": [({"id": 1}, None, {"settings": '{"x":1}'}, 200, None)],
    "widget.update": [({"id": 1}, None, {"name": "Omzet"}, 200, lambda j: j["name"] == "Omzet")],
    "voucher.export": [
        ({}, {"columns[]": ["code", "value"]}, None, 200, lambda t: t.startswith("code,value"))
    ],
    "export.resource": [
        (
            {"resource": "log"},
            {"columns[]": ["id", "code"], "where[machine]": 80},
            None,
            200,
            lambda t: t.startswith("id,code"),
        ),
        ({"resource": "log"}, {"columns[]": ["id"]}, None, 400, None),
        ({"resource": "planet"}, {"columns[]": ["id"], "where[machine]": 80}, None, 400, None),
    ],
    "image.create": [({}, None, {"thumbnail": "t", "original": "o"}, 201, None)],
    "image.update": [({"id": 1}, None, {"thumbnail": "t2"}, 200, None)],
    "language.create": [
        ({}, None, {"name": "Deutsch", "language": "de", "locale": "de_DE"}, 201, None)
    ],
    "language.update": [({"id": 2}, None, {"locale": "en_US"}, 200, None)],
    "translation.create": [
        ({}, None, {"key": "ED014", "language": 2, "value": "Coin mech"}, 201, None)
    ],
    "translation.update": [({"id": 1}, None, {"value": "Offline"}, 200, None)],
    "campaign.create": [
        ({}, None, {"name": "Winter", "totalVouchers": 10, "voucherValue": 100}, 201, None),
        (
            {},
            None,
            {"name": "Winter", "totalVouchers": 10, "voucherValue": 100, "type": "free"},
            400,
            None,
        ),
    ],
    "campaign.get": [({"id": 1}, None, None, 200, lambda j: j["valueType"] == "cents")],
    "campaign.update": [({"id": 1}, None, {"redemptionLimit": 2}, 200, None)],
    "campaign.list": [
        ({}, {"sort": "id DESC"}, None, 200, lambda j: [c["id"] for c in j] == [2, 1])
    ],
    "campaign.validationrule": [
        ({"id": 1}, None, [{"field": "location", "value": "1"}], 200, None),
        ({"id": 1}, None, [{"field": "location"}], 400, None),
    ],
    "campaign.vouchers": [
        ({"id": 2}, None, None, 200, lambda j: all(v["campaign"] == 2 for v in j))
    ],
    "integration.list": [({}, None, None, 200, lambda j: j[0]["type"] == "httptransactions")],
    "integration.create": [({}, None, {"type": "httptransactions", "url": "https://x"}, 201, None)],
    "integration.get": [({"id": 1}, None, None, 200, None)],
    "integration.update": [({"id": 1}, None, {"state": "failed"}, 200, None)],
    "integration.status": [({"id": 1}, None, None, 200, lambda j: j["state"] == "idle")],
    "integration.transactions": [
        ({"id": 1}, {"limit": 3}, None, 200, lambda j: len(j) == 3 and "timezone" in j[0])
    ],
    "voucher.validate": [
        (
            lambda a: {"code": _voucher(a)["code"]},
            None,
            {"deviceId": "sn-00080"},
            200,
            lambda j: j["valid"] is True and j["discount"]["amountOff"] == 180,
        ),
        ({"code": "NOPE"}, None, {"deviceId": "x"}, 404, None),
        ({"code": "NOPE"}, None, {}, 400, None),
    ],
    "voucher.redeem": [
        (
            lambda a: {"code": _voucher(a)["code"]},
            None,
            {"deviceId": "sn-00080", "order": {"id": "o1", "amount": 220, "items": []}},
            200,
            lambda j: j["redeemed"] is True,
        )
    ],
    "voucher.create": [
        ({}, None, {**VOUCHER, "count": 3}, 201, None),
        ({}, None, VOUCHER, 201, lambda j: j["value"] == 150 and isinstance(j["id"], str)),
        ({}, None, {**VOUCHER, "count": 5001}, 400, None),
    ],
    "voucher.list": [
        ({}, {"where[campaign]": 2, "limit": 2, "skip": 1}, None, 200, lambda j: len(j) == 2)
    ],
    "voucher.patch": [
        (lambda a: {"id": _voucher(a)["id"]}, None, {"campaign": 1, "value": 200}, 200, None),
        (lambda a: {"id": _voucher(a)["id"]}, None, {"value": 200}, 400, None),
    ],
    "voucher.replace": [
        (
            lambda a: {"id": _voucher(a)["id"]},
            None,
            {"campaign": 1, "type": "gift", "value": 500, "validationRules": []},
            200,
            None,
        )
    ],
    "voucher.get": [
        (lambda a: {"id": _voucher(a)["id"]}, None, None, 200, lambda j: j["valueType"] == "cents"),
        ({"id": "nope"}, None, None, 404, None),
    ],
    "voucher.log": [(lambda a: {"id": _voucher(a)["id"]}, None, None, 200, lambda j: j == [])],
}


def test_every_route_has_a_case() -> None:
    """Coverage is provable: a route added to the table without a case fails here."""
    assert sorted(r.name for r in ROUTES if r.name not in CASES) == []
    assert sorted(set(CASES) - set(BY_NAME)) == []


@pytest.mark.parametrize(
    ("name", "index"), [(n, i) for n, cs in CASES.items() for i in range(len(cs))]
)
def test_route(api: Api, name: str, index: int) -> None:
    """Each documented operation answers as documented (status, shape, 400/404 bodies)."""
    params, query, body, status, check = CASES[name][index]
    response = api.call(
        name, params(api) if callable(params) else params, query, body, auth=BY_NAME[name].auth
    )
    assert response.status_code == status, response.text
    if status >= 400:
        assert isinstance(response.json()["message"], str)
    elif check is not None:
        text = response.headers["content-type"].startswith("text/csv")
        assert check(response.text if text else response.json()), response.text[:500]


def test_login_refresh_rotation_and_expiry(api: Api) -> None:
    """201 with both tokens; a refresh token works once; expired access → 401 {message}."""
    login = api.call("auth.login", body=api.box.credentials, auth=False)
    assert login.status_code == 201
    refresh = login.json()["refresh_token"]
    first = api.call("auth.refresh", body={"refresh_token": refresh}, auth=False)
    assert first.status_code == 201
    assert api.call("auth.refresh", body={"refresh_token": refresh}, auth=False).status_code == 401
    api.box.state.clock.advance(api.box.state.token_lifetime + 1)
    expired = api.call("user.me")
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]
    fresh = api.call(
        "auth.refresh", body={"refresh_token": first.json()["refresh_token"]}, auth=False
    )
    api.token = fresh.json()["access_token"]
    assert api.call("user.me").status_code == 200
    assert (
        api.call("auth.login", body={"username": "fleur", "password": "x"}, auth=False).status_code
        == 401
    )


def test_reset_set_password_and_confirm(api: Api) -> None:
    """Reset answers the same for unknown users; the mailed token sets a password once;
    a new user confirms with its activation token and can then log in."""
    state = api.box.state
    email = api.box.credentials["username"]
    assert api.call("auth.reset", body={"email": email}, auth=False).status_code == 200
    token = next(iter(state.mail_tokens))
    new = api.call(
        "auth.password", body={"token": token, "password": "Nieuw-wachtwoord1"}, auth=False
    )
    assert new.status_code == 200
    assert set(new.json()) == {"access_token", "refresh_token"}
    user = api.box.credentials["username"]
    assert (
        api.call(
            "auth.login", body={"username": user, "password": "Nieuw-wachtwoord1"}, auth=False
        ).status_code
        == 201
    )
    created = api.call(
        "user.create",
        body={"username": "anouk", "email": "anouk@x.nl", "userGroup": 2, "language": 1},
    ).json()
    activation = next(t for t, u in state.mail_tokens.items() if u == created["id"])
    state.passwords[created["id"]] = "temporary-1"
    refused = api.call(
        "auth.login", body={"username": "anouk", "password": "temporary-1"}, auth=False
    )
    assert refused.status_code == 401
    assert "not confirmed" in refused.json()["message"]
    ok = api.call("auth.confirm", body={"token": activation, "password": "Anouk-2026!"}, auth=False)
    assert ok.status_code == 200
    assert (
        api.call(
            "auth.login", body={"username": "anouk", "password": "Anouk-2026!"}, auth=False
        ).status_code
        == 201
    )


def test_no_token_and_unknown_path(api: Api) -> None:
    """No bearer → 401 {message}; an unknown path → 404 {message}; bad JSON → 400."""
    assert api.http.get("/machine").status_code == 401
    assert (
        api.http.get("/planet", headers={"Authorization": f"Bearer {api.token}"}).status_code == 404
    )
    bad = api.http.post("/location", content=b"{", headers={"Authorization": f"Bearer {api.token}"})
    assert bad.status_code == 400


def test_bulk_vouchers_are_atomic(api: Api) -> None:
    """count > 1 answers an empty body; a clash with an existing code stores nothing."""
    table = api.box.state.world.tables["voucher"]
    before = len(table)
    made = api.call("voucher.create", body={**VOUCHER, "count": 40})
    assert (made.status_code, made.content) == (201, b"")
    assert len(table) == before + 40
    code = _voucher(api)["code"]
    clash = api.call("voucher.create", body={**VOUCHER, "code": code})
    assert clash.status_code == 400
    assert len(table) == before + 40


def test_redeem_twice_with_the_same_order_redeems_once(api: Api) -> None:
    """A repeated redeem (same order id) answers the first result; the log has both calls' first."""
    v = _voucher(api)
    body = {"deviceId": "sn-00080", "order": {"id": "o-9", "amount": 220, "items": []}}
    first = api.call("voucher.redeem", {"code": v["code"]}, body=body).json()
    again = api.call("voucher.redeem", {"code": v["code"]}, body=body).json()
    assert first == again
    assert v["redemptionCount"] == 1
    other = api.call(
        "voucher.redeem", {"code": v["code"]}, body={**body, "order": {"id": "o-10", "amount": 220}}
    ).json()
    assert other["redeemed"] is False
    assert other["reason"] == "redemption limit reached"
    log = api.call("voucher.log", {"id": v["id"]}).json()
    assert [e["action"] for e in log] == ["redeem", "redeem"]
