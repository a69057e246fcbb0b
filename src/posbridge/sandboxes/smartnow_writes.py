"""SmartNow sandbox writes: auth, create/update of every resource, assortment, vouchers.

Creates answer `{"id": n}` (201), updates `{"message": ...}` (200) as documented; input
is checked against the documented fields (required, integer, boolean, enum, unknown
fields) and answers 400 `{message}`; unknown ids 404. Booleans are stored as 0/1, money
as integer cents. Natural keys are unique (product/flavour/extra `plu` per machine,
machine `hostname`, voucher `code` per campaign) so a retried create after a lost answer
is refused and can be reconciled; a redeem is idempotent per (voucher, order id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.smartnow_lists import ApiError
from posbridge.sandboxes.smartnow_reads import get_row
from posbridge.sandboxes.smartnow_world import utc_z

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS", "SPECS"]

Row = dict[str, Any]
INT, S, B, L, OBJ, N = "int", "str", "bool", "ints", "obj", "num"
#: model → field → (type, required); from the document's request bodies
SPECS: dict[str, dict[str, tuple[str, bool]]] = {
    "user": {
        "username": (S, True),
        "email": (S, True),
        "userGroup": (INT, True),
        "language": (INT, True),
    },
    "usergroup": {
        "name": (S, True),
        "parent": (INT, True),
        "locations": (L, False),
        "locationGroups": (L, False),
    },
    "machine": {
        "name": (S, True),
        "hostname": (S, True),
        "location": (INT, True),
        "machineModel": (INT, True),
        "machineType": (INT, True),
        "manufacturer": (INT, True),
        "currency": (INT, True),
        "debtor": (INT, False),
        "tag": (S, False),
        "virtualPrices": (B, False),
        "active": (B, False),
        "machineGroups": (L, False),
    },
    "machinemodel": {
        "name": (S, True),
        "manufacturer": (INT, True),
        "errorProfile": (INT, True),
        "machineType": (INT, False),
    },
    "machinetype": {"name": (S, True)},
    "manufacturer": {"name": (S, True), "machineTypes": (L, False)},
    "machinegroup": {"name": (S, True), "machines": (L, False)},
    "location": {
        "name": (S, True),
        "address": (S, True),
        "postcode": (S, True),
        "city": (S, True),
        "country": (S, True),
        "latitude": (N, False),
        "longitude": (N, False),
        "placeId": (S, False),
        "locationGroups": (L, False),
    },
    "locationgroup": {"name": (S, True), "locations": (L, False)},
    "report": {
        "name": (S, False),
        "period1": (OBJ, False),
        "period2": (OBJ, False),
        "locationGroup": (L, False),
        "locations": (L, False),
        "machineGroups": (L, False),
        "machines": (L, False),
        "machineModels": (L, False),
        "machineTypes": (L, False),
        "manufactures": (L, False),
    },
    "alertobserver": {
        "name": (S, True),
        "type": (S, True),
        "observer": (S, True),
        "timer": (INT, True),
        "timerType": (INT, True),
        "alertGroup": (INT, True),
        "error": (INT, False),
        "occurs": (INT, False),
        "paymentMethod": (S, False),
        "machines": (L, False),
        "openingHours": (B, False),
    },
    "alertgroup": {"name": (S, False)},
    "alertrecipient": {
        "name": (S, True),
        "email": (S, True),
        "language": (INT, True),
        "alertGroup": (INT, True),
        "active": (B, False),
    },
    "productflavour": {
        "name": (S, True),
        "reportName": (S, False),
        "price": (INT, True),
        "plu": (INT, True),
    },
    "productextra": {
        "name": (S, True),
        "reportName": (S, False),
        "price": (INT, True),
        "plu": (INT, True),
    },
    "product": {
        "name": (S, True),
        "plu": (INT, True),
        "price": (INT, True),
        "reportName": (S, False),
        "barcode": (S, False),
        "machine": (INT, False),
    },
    "errorprofile": {"name": (S, True), "machineType": (INT, True), "manufacturer": (INT, True)},
    "erroridentity": {"machineType": (INT, True), "error": (S, True)},
    "errorcode": {"errorIdentity": (INT, True), "errorProfile": (INT, True), "code": (S, False)},
    "transactionprofile": {
        "id": (INT, False),
        "reportRule": (S, False),
        "paymentTypesMap": (OBJ, False),
    },
    "widget": {
        "name": (S, False),
        "widgetType": (INT, False),
        "dashboard": (INT, False),
        "settings": (S, False),
    },
    "image": {"thumbnail": (S, True), "original": (S, True)},
    "language": {"name": (S, True), "language": (S, True), "locale": (S, True)},
    "translation": {"key": (S, True), "language": (INT, True), "value": (S, False)},
    "campaign": {
        "name": (S, True),
        "totalVouchers": (INT, True),
        "voucherValue": (INT, True),
        "type": (S, False),
        "valueType": (S, False),
        "redemptionLimit": (INT, False),
        "resetFrequency": (S, False),
        "expiresOn": (S, False),
        "timeZone": (S, False),
        "prefix": (S, False),
        "currency": (S, False),
        "status": (S, False),
        **{f"voucherText{i}": (S, False) for i in range(1, 5)},
        "voucherStyle": (S, False),
    },
    "integration": {
        "type": (S, True),
        "active": (B, False),
        "state": (S, False),
        "throttle": (INT, False),
        "maxRetries": (INT, False),
        "retryThrottle": (INT, False),
        "stopOnFailure": (B, False),
        "url": (S, False),
    },
    "chart": {
        "name": (S, False),
        "type": (S, False),
        "criteria": (OBJ, False),
        "report": (INT, False),
        "reportType": (S, False),
        "view": (S, False),
        "position": (INT, False),
        "id": (INT, False),
        "createAt": (S, False),
        "updateAt": (S, False),
    },
}
ENUMS: dict[str, tuple[Any, ...]] = {
    "alertobserver.type": ("event", "transaction"),
    "alertobserver.observer": ("occurrence", "non_resolution", "non_occurrence"),
    "alertobserver.timerType": (1, 2, 3, 4),
    "alertobserver.paymentMethod": ("cash", "card", "code", "virtual", "token"),
    "transactionprofile.reportRule": ("first_letter", "first_block"),
    "campaign.type": ("discount", "gift", "dynamic"),
    "campaign.valueType": ("cents",),
    "campaign.resetFrequency": ("day", "week", "month", "never"),
    "campaign.status": ("active", "inactive"),
    "integration.type": ("httptransactions",),
    "chart.type": (
        "revenue_full",
        "revenue_grouped",
        "payment_types",
        "offline_machines",
        "machine_cleaning",
        "machine_alarms",
        "machine_issues",
    ),
    "chart.view": ("table", "bars", "lines", "pie"),
}
#: integer fields that refer to another model (checked on write: 400 when unknown)
REFS = {
    "location": "location",
    "machineModel": "machinemodel",
    "machineType": "machinetype",
    "manufacturer": "manufacturer",
    "userGroup": "usergroup",
    "language": "language",
    "alertGroup": "alertgroup",
    "errorProfile": "errorprofile",
    "errorIdentity": "erroridentity",
}


def _now(state: SmartNowState) -> str:
    return utc_z(state.clock.now())


def clean(model: str, body: Any, *, partial: bool, state: SmartNowState) -> Row:
    """Validate a create/update body against SPECS; booleans → 0/1."""
    if not isinstance(body, Mapping):
        raise ApiError(400, "Missing parameters")
    spec = SPECS[model]
    unknown = sorted(set(body) - set(spec))
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}")
    if not partial:
        missing = [k for k, (_t, req) in spec.items() if req and body.get(k) in (None, "")]
        if missing:
            raise ApiError(400, f"Missing parameters: {', '.join(missing)}")
    out: Row = {}
    for key, value in body.items():
        kind = spec[key][0]
        if value is None:
            out[key] = None
            continue
        ok = {
            INT: isinstance(value, int) and not isinstance(value, bool),
            S: isinstance(value, str),
            B: isinstance(value, bool) or value in (0, 1),
            L: isinstance(value, list) and all(isinstance(i, int) for i in value),
            OBJ: isinstance(value, dict | list),
            N: isinstance(value, int | float | str),
        }[kind]
        if not ok:
            raise ApiError(400, f"{key} must be {'an ' if kind == INT else 'a '}{kind}")
        allowed = ENUMS.get(f"{model}.{key}")
        if allowed and value not in allowed:
            raise ApiError(400, f"{key} must be one of {', '.join(map(str, allowed))}")
        is_ref = kind == INT and key in REFS and model != REFS[key]
        if is_ref and value not in state.world.table(REFS[key]):
            raise ApiError(400, f"{key} {value} does not exist")
        out[key] = int(value) if kind == B else value
    return out


def create_handler(model: str) -> Handler:
    """The generic create of `model`: validate, new id, stamps, `{id}` (201)."""

    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        row = clean(model, call.body, partial=False, state=state)
        rid = state.world.new_id(model)
        stamp = _now(state)
        state.world.table(model)[rid] = {"id": rid, **row, "createdAt": stamp, "updatedAt": stamp}
        return 201, {"id": rid}

    return handler


def _update(model: str, answer: str = "message") -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        row = get_row(state.world, model, call.params["id"])
        row.update(clean(model, call.body, partial=True, state=state), updatedAt=_now(state))
        return 200, row if answer == "row" else {"message": f"{model} {row['id']} updated"}

    return handler


# -- machines ----------------------------------------------------------------------------------
def _machine_by_host(state: SmartNowState, host: str) -> Row:
    row = next((m for m in state.world.table("machine").values() if m["hostname"] == host), None)
    if row is None:
        raise ApiError(404, f"machine {host} not found")
    return row


def create_machine(state: SmartNowState, call: Call) -> tuple[int, Any]:
    world = state.world
    source = call.query("source")
    body = dict(call.obj())
    base: Row = {}
    if source is not None:
        base = {
            k: v
            for k, v in get_row(world, "machine", source).items()
            if k not in ("id", "hostname", "name")
        }
        for key in SPECS["machine"]:
            body.setdefault(key, base.get(key))
        body = {k: v for k, v in body.items() if v is not None or SPECS["machine"][k][1]}
    row = clean("machine", body, partial=False, state=state)
    if any(m["hostname"] == row["hostname"] for m in world.table("machine").values()):
        raise ApiError(400, f"hostname {row['hostname']} already exists")
    mid = world.new_id("machine")
    stamp = _now(state)
    defaults: dict[str, Any] = {
        "gateway": None,
        "lastRevenuetransaction": None,
        "lastLog": None,
        "lastIotevent": None,
        "tag": "",
        "notes": "",
        "virtualPrices": 0,
        "active": 1,
        "debtor": None,
        "logSynced": 0,
        "revenuetransactionSynced": 0,
        "ioteventSynced": 0,
        "ruleSet": "default",
        "lastSoldId": None,
        "isManagedAssortment": 0,
        "configState": "scheduled",
        "transactionProfile": None,
        "hasSubscription": 0,
        "machineGroups": [],
        "status": "online",
    }
    world.table("machine")[mid] = {
        **defaults,
        **base,
        "id": mid,
        **row,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    if source is not None:
        src = int(source)
        for model in ("product", "productflavour", "productextra"):
            for r in [r for r in world.table(model).values() if r["machine"] == src]:
                nid = world.new_id(model)
                world.table(model)[nid] = {
                    **r,
                    "id": nid,
                    "machine": mid,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
    return 201, {"id": mid}


def update_machine(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.obj()
    if "hostname" in body:
        raise ApiError(400, "unknown field(s): hostname")
    return _update("machine")(state, call)


def machine_config(state: SmartNowState, call: Call) -> tuple[int, Any]:
    machine = _machine_by_host(state, call.params["hostname"])
    body = call.obj()
    if not isinstance(body.get("config"), str):
        raise ApiError(400, "Missing parameters: config")
    state.world.table("machineconfig").setdefault(
        machine["id"],
        {"id": machine["id"], "machine": machine["id"], "hostname": machine["hostname"]},
    )["config"] = body["config"]
    return 200, {"message": "Configuration stored"}


def _filter_ids(state: SmartNowState, body: Mapping[str, Any]) -> list[int]:
    flt = body.get("filter")
    if not isinstance(flt, Mapping) or flt.get("type") not in (
        "machine",
        "machinegroup",
        "location",
        "locationgroup",
    ):
        raise ApiError(
            400, "filter.type must be one of machine, machinegroup, location, locationgroup"
        )
    ids = flt.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ApiError(400, "filter.ids must be an array of integers")
    return _machines_of(state, str(flt["type"]), ids)


def _machines_of(state: SmartNowState, kind: str, ids: list[int]) -> list[int]:
    w = state.world
    if kind == "machine":
        return [get_row(w, "machine", i)["id"] for i in ids]
    if kind == "machinegroup":
        return [m for i in ids for m in get_row(w, "machinegroup", i)["machines"]]
    locs = (
        set(ids)
        if kind == "location"
        else {x for i in ids for x in get_row(w, "locationgroup", i)["locations"]}
    )
    if kind == "location":
        for i in ids:
            get_row(w, "location", i)
    return [m["id"] for m in w.table("machine").values() if m["location"] in locs]


def bulk_configuration(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.obj()
    conf = body.get("configuration")
    if not isinstance(conf, Mapping):
        raise ApiError(400, "Missing parameters: configuration")
    for mid in _filter_ids(state, body):
        row = state.world.table("machineconfig").setdefault(mid, {"id": mid, "machine": mid})
        for part in conf.values():
            if isinstance(part, Mapping):
                row.update({k: v for k, v in part.items() if isinstance(v, str)})
        state.world.table("machine")[mid]["configState"] = "scheduled"
    return 200, {"message": "Configuration scheduled"}


def update_config(state: SmartNowState, call: Call) -> tuple[int, Any]:
    mid = get_row(state.world, "machine", call.params["machine"])["id"]
    body = call.obj()
    keys = ("config", "mode", "ssid", "encryption", "encryptionKey", "apn", "sharing", "machine")
    if set(body) - set(keys):
        raise ApiError(400, f"unknown field(s): {', '.join(sorted(set(body) - set(keys)))}")
    state.world.table("machineconfig").setdefault(mid, {"id": mid, "machine": mid}).update(
        {k: v for k, v in body.items() if k != "machine"}
    )
    return 200, {"message": "Configuration updated"}


def command(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.body if call.body is not None else {}
    if call.route.name == "machine.command":
        _machine_by_host(state, call.params["hostname"])
        params = body.get("params", []) if isinstance(body, dict) else None
        if not isinstance(params, list) or not all(isinstance(p, int) for p in params):
            raise ApiError(400, "params must be an array of integers")
        count = 1
    else:
        if not isinstance(body, dict) or not isinstance(body.get("params"), list):
            raise ApiError(400, "Missing parameters: params")
        count = len(_filter_ids(state, body))
    if call.params["command"] not in ("reboot", "sync", "config", "vend", "reset"):
        raise ApiError(400, "command must be one of reboot, sync, config, vend, reset")
    return 200, {"message": f"{call.params['command']} sent to {count} machine(s)"}


def close_shift(state: SmartNowState, call: Call) -> tuple[int, Any]:
    """Close the location's active shift (up to its last transaction) and open the next."""
    world = state.world
    body = call.obj()
    if not isinstance(body.get("location"), int):
        raise ApiError(400, "Missing parameters: location")
    loc = get_row(world, "location", body["location"])
    current = world.table("shift").get(loc["activeShift"])
    stamp = _now(state)
    txs = [
        r["id"] for r in world.table("revenuetransaction").values() if r["location"] == loc["id"]
    ]
    if current is None:
        raise ApiError(400, "location has no active shift")
    current.update(lastTransaction=max(txs) if txs else None, closed=stamp, updatedAt=stamp)
    sid = world.new_id("shift")
    world.table("shift")[sid] = {
        "id": sid,
        "location": loc["id"],
        "firstTransaction": None,
        "lastTransaction": None,
        "previousShift": current["id"],
        "closed": None,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    loc["activeShift"] = sid
    return 200, current


def opening_hours(state: SmartNowState, call: Call) -> tuple[int, Any]:
    resource = call.params["resource"]
    if resource not in ("machine", "machinegroup", "location", "locationgroup"):
        raise ApiError(
            400, "resource must be one of machine, machinegroup, location, locationgroup"
        )
    get_row(state.world, resource, call.params["id"])
    hours = call.body
    if not isinstance(hours, list):
        raise ApiError(400, "body must be an array of opening hours")
    for h in hours:
        if (
            not isinstance(h, dict)
            or not isinstance(h.get("day"), int)
            or not 0 <= h["day"] <= 7
            or not all(_is_time(h.get(k)) for k in ("startTime", "endTime"))
        ):
            raise ApiError(400, "each entry needs day (0-7), startTime and endTime (HH:mm:ss)")
    for mid in _machines_of(state, resource, [int(call.params["id"])]):
        state.world.opening_hours[("machine", mid)] = list(hours)
    state.world.opening_hours[(resource, int(call.params["id"]))] = list(hours)
    return 200, {"message": "Opening hours updated"}


def _is_time(value: Any) -> bool:
    try:
        datetime.strptime(str(value), "%H:%M:%S")
    except ValueError:
        return False
    return True


#: tables whose create and update are plain validated inserts and patches
_PLAIN_TABLES = (
    "machinemodel",
    "machinetype",
    "manufacturer",
    "machinegroup",
    "location",
    "locationgroup",
    "alertobserver",
    "alertrecipient",
    "errorprofile",
    "erroridentity",
    "errorcode",
    "transactionprofile",
    "image",
    "language",
    "translation",
    "campaign",
    "integration",
)

HANDLERS: dict[str, Handler] = {
    "user.update": _update("user"),
    "usergroup.create": create_handler("usergroup"),
    "usergroup.update": _update("usergroup"),
    "machine.config": machine_config,
    "machine.configuration": bulk_configuration,
    "machine.create": create_machine,
    "machine.update": update_machine,
    "machine.command": command,
    "command.bulk": command,
    **{f"{m}.create": create_handler(m) for m in _PLAIN_TABLES},
    **{f"{m}.update": _update(m) for m in (*_PLAIN_TABLES, "report", "chart")},
    "alertgroup.update": _update("alertgroup", answer="row"),
    "machineconfig.update": update_config,
    "shift.close": close_shift,
    "openinghours.set": opening_hours,
    "report.create": create_handler("report"),
}
