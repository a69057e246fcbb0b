"""SmartNow sandbox writes, continued: machine assortment, reports/charts/widgets, vouchers.

Assortment rows (products, flavours, extras) belong to one machine; `plu` is unique per
machine and kind. Vouchers: `POST /voucher` creates `count` (≤ 5000) atomically (all or
nothing; empty body when count > 1), validate/redeem work by code, every validate and
redeem is logged (`GET /voucher/{id}/log`), and a redeem repeated with the same
`order.id` answers the first result without redeeming again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.smartnow_lists import ApiError
from posbridge.sandboxes.smartnow_reads import get_row
from posbridge.sandboxes.smartnow_world import utc_z

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS"]

Row = dict[str, Any]
MAX_VOUCHERS = 5000


def _now(state: SmartNowState) -> str:
    return utc_z(state.clock.now())


def _clean(model: str, body: Any, state: SmartNowState, *, partial: bool) -> Row:
    from posbridge.sandboxes.smartnow_writes import clean

    return clean(model, body, partial=partial, state=state)


# -- assortment ------------------------------------------------------------------------------
def _create_item(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        mid = get_row(state.world, "machine", call.params["machine"])["id"]
        row = _clean(model, call.body, state, partial=False)
        table = state.world.table(model)
        if any(r["machine"] == mid and r["plu"] == row["plu"] for r in table.values()):
            raise ApiError(400, f"plu {row['plu']} already exists on machine {mid}")
        rid = state.world.new_id(model)
        stamp = _now(state)
        base: Row = {"barcode": None, "reportName": row["name"]}
        if model == "product":
            base.update(
                remotePrice=row["price"], type="product", vatrate=None, ledger=None, subledger=None
            )
        else:
            row["price"] = str(row["price"])  # flavours and extras answer price as a string
        table[rid] = {
            "id": rid,
            **base,
            **row,
            "machine": mid,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        if model == "product":
            return 201, {"id": rid}
        return 201, {"message": f"{model} {rid} created"}

    return handler


def _update_item(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        mid = get_row(state.world, "machine", call.params["machine"])["id"]
        row = get_row(state.world, model, call.params["id"])
        if row["machine"] != mid:
            raise ApiError(404, f"{model} {row['id']} not found on machine {mid}")
        body = dict(call.obj())
        if model != "product" and "plu" in body:
            raise ApiError(400, "unknown field(s): plu")
        changes = _clean(model, body, state, partial=True)
        if model != "product" and "price" in changes:
            changes["price"] = str(changes["price"])
        row.update(changes, updatedAt=_now(state))
        return 200, {"message": f"{model} {row['id']} updated"}

    return handler


def _convert(state: SmartNowState, call: Call) -> tuple[int, Row]:
    mid = get_row(state.world, "machine", call.params["machine"])["id"]
    body = call.obj()
    for key in ("flavourPLU", "extraProductPLU"):
        if key in body and not isinstance(body[key], int):
            raise ApiError(400, f"{key} must be an integer")
    w = state.world
    keys = {
        "baseProducts": "product",
        "productFlavours": "productflavour",
        "extraProducts": "productextra",
    }
    return mid, {
        key: [r for r in w.table(m).values() if r["machine"] == mid] for key, m in keys.items()
    }


def assortment_preview(state: SmartNowState, call: Call) -> tuple[int, Any]:
    return 200, _convert(state, call)[1]


def assortment_convert(state: SmartNowState, call: Call) -> tuple[int, Any]:
    mid, _ = _convert(state, call)
    state.world.table("machine")[mid]["isManagedAssortment"] = 1
    return 200, {"message": "Assortment converted"}


def assortment_override(state: SmartNowState, call: Call) -> tuple[int, Any]:
    mid = get_row(state.world, "machine", call.params["machine"])["id"]
    items = call.body
    if not isinstance(items, list) or not items:
        raise ApiError(400, "body must be a non-empty array of products")
    rows = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ApiError(400, "each product must be an object")
        rows.append(_clean("product", item, state, partial=False))
    if len({r["plu"] for r in rows}) != len(rows):
        raise ApiError(400, "plu must be unique")
    table = state.world.table("product")
    for rid in [k for k, r in table.items() if r["machine"] == mid]:
        del table[rid]
    stamp = _now(state)
    for r in rows:
        rid = state.world.new_id("product")
        table[rid] = {
            "id": rid,
            "barcode": None,
            "reportName": r["name"],
            "remotePrice": r["price"],
            "type": "product",
            "vatrate": None,
            "ledger": None,
            "subledger": None,
            **r,
            "machine": mid,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
    return 200, {"message": f"{len(rows)} products stored"}


def assortment_copy(state: SmartNowState, call: Call) -> tuple[int, Any]:
    w = state.world
    src = get_row(w, "machine", call.params["machine"])["id"]
    group = get_row(w, "machinegroup", call.params["machineGroup"])
    stamp = _now(state)
    for target in group["machines"]:
        if target == src:
            continue
        for model in ("product", "productflavour", "productextra"):
            table = w.table(model)
            for rid in [k for k, r in table.items() if r["machine"] == target]:
                del table[rid]
            for r in [r for r in table.values() if r["machine"] == src]:
                nid = w.new_id(model)
                table[nid] = {
                    **r,
                    "id": nid,
                    "machine": target,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
    return 200, {"message": f"Assortment copied to {len(group['machines'])} machine(s)"}


# -- reports, charts, widgets ------------------------------------------------------------------
REPORT_ALIASES = (
    "locations",
    "manufacturers",
    "machineTypes",
    "machineModels",
    "machineGroups",
    "machines",
)
_ALIAS_MODEL = {
    "locations": "location",
    "manufacturers": "manufacturer",
    "machineTypes": "machinetype",
    "machineModels": "machinemodel",
    "machineGroups": "machinegroup",
    "machines": "machine",
}


def report_association(state: SmartNowState, call: Call) -> tuple[int, Any]:
    report = get_row(state.world, "report", call.params["parentid"])
    alias = call.params["alias"]
    if alias not in REPORT_ALIASES:
        raise ApiError(400, f"alias must be one of {', '.join(REPORT_ALIASES)}")
    item = get_row(state.world, _ALIAS_MODEL[alias], call.params["id"])["id"]
    members = report.setdefault(alias, [])
    if call.route.method == "PUT":
        if item not in members:
            members.append(item)
        return 200, {"id": report["id"]}
    if item not in members:
        raise ApiError(404, f"{alias} {item} is not in report {report['id']}")
    members.remove(item)
    return 200, {"message": f"{alias} {item} removed"}


def rename_userreport(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "userreport", call.params["id"])
    name = call.obj().get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "Missing parameters: name")
    row.update(name=name, updatedAt=_now(state))
    return 200, {"message": "Report renamed"}


def add_chart(state: SmartNowState, call: Call) -> tuple[int, Any]:
    report = get_row(state.world, "userreport", call.params["id"])["id"]
    body = _clean("chart", call.body, state, partial=True)
    if "type" not in body:
        raise ApiError(400, "Missing parameters: type")
    cid = state.world.new_id("chart")
    stamp = _now(state)
    state.world.table("chart")[cid] = {
        "id": cid,
        "name": body.get("type"),
        "criteria": {},
        "view": "table",
        "position": 0,
        **body,
        "report": report,
        "reportType": "user",
        "createAt": stamp,
        "updateAt": stamp,
    }
    return 201, {"id": cid}


def duplicate_report(state: SmartNowState, call: Call) -> tuple[int, Any]:
    src = get_row(state.world, "userreport", call.params["id"])
    name = call.obj().get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "Missing parameters: name")
    w = state.world
    rid = w.new_id("userreport")
    stamp = _now(state)
    w.table("userreport")[rid] = {
        **src,
        "id": rid,
        "name": name,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    for chart in [c for c in w.table("chart").values() if c["report"] == src["id"]]:
        cid = w.new_id("chart")
        w.table("chart")[cid] = {
            **chart,
            "id": cid,
            "report": rid,
            "createAt": stamp,
            "updateAt": stamp,
        }
    return 200, {"message": f"Report duplicated as {rid}"}


def update_chart(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "chart", call.params["id"])
    changes = _clean("chart", call.body, state, partial=True)
    changes.pop("id", None)
    row.update(changes, updateAt=_now(state))
    return 200, {"message": f"chart {row['id']} updated"}


def create_widget(state: SmartNowState, call: Call) -> tuple[int, Any]:
    dashboard = get_row(state.world, "dashboard", call.params["dashboard"])["id"]
    body = _clean("widget", call.body, state, partial=True)
    wid = state.world.new_id("widget")
    stamp = _now(state)
    state.world.table("widget")[wid] = {
        "id": wid,
        "name": "",
        "widgetType": 0,
        "settings": "{}",
        **body,
        "dashboard": dashboard,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    return 201, {"id": wid}


def widget_settings(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "widget", call.params["id"])
    settings = call.obj().get("settings")
    if not isinstance(settings, str):
        raise ApiError(400, "Missing parameters: settings")
    row.update(settings=settings, updatedAt=_now(state))
    return 200, {"message": "Settings updated"}


def update_widget(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "widget", call.params["id"])
    changes = _clean("widget", call.body, state, partial=True)
    if "dashboard" in changes:
        get_row(state.world, "dashboard", changes["dashboard"])
    row.update(changes, updatedAt=_now(state))
    return 200, row


HANDLERS: dict[str, Handler] = {
    "productflavour.create": _create_item("productflavour"),
    "productflavour.update": _update_item("productflavour"),
    "productextra.create": _create_item("productextra"),
    "productextra.update": _update_item("productextra"),
    "product.create": _create_item("product"),
    "product.update": _update_item("product"),
    "assortment.preview": assortment_preview,
    "assortment.convert": assortment_convert,
    "assortment.override": assortment_override,
    "assortment.copy": assortment_copy,
    "report.add": report_association,
    "report.remove": report_association,
    "userreport.update": rename_userreport,
    "userreport.add_chart": add_chart,
    "userreport.duplicate": duplicate_report,
    "chart.update": update_chart,
    "widget.create": create_widget,
    "widget.settings": widget_settings,
    "widget.update": update_widget,
}
