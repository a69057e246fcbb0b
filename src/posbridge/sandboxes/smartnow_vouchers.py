"""SmartNow sandbox campaigns and vouchers: `POST /voucher` creates `count` (≤ 5000)
atomically (all or nothing; empty body when count > 1); validate and redeem work by code
and are logged (`GET /voucher/{id}/log`); a redeem repeated with the same `order.id`
answers the first result without redeeming again."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from posbridge.sandboxes.smartnow_lists import ApiError
from posbridge.sandboxes.smartnow_reads import get_row
from posbridge.sandboxes.smartnow_world import utc_z, voucher_row
from posbridge.sandboxes.smartnow_writes import clean

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS"]

Row = dict[str, Any]
MAX_VOUCHERS = 5000


def _now(state: SmartNowState) -> str:
    return utc_z(state.clock.now())


def create_campaign(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = clean("campaign", call.body, partial=False, state=state)
    cid = state.world.new_id("campaign")
    stamp = _now(state)
    state.world.table("campaign")[cid] = {
        "id": cid,
        "type": "discount",
        "valueType": "cents",
        "redemptionLimit": 1,
        "resetFrequency": "never",
        "expiresOn": None,
        "currency": "EUR",
        "timeZone": "Europe/Amsterdam",
        "status": "active",
        "prefix": "",
        "ownerId": call.user,
        "ownerData": "",
        "campaignstats": 0,
        "lastResetAt": None,
        "vouchersPdfStatus": "empty",
        "vouchersPdfUrl": None,
        "voucherLogoImg": None,
        "validationRules": [],
        **{f"voucherText{i}": "" for i in range(1, 5)},
        "voucherStyle": "",
        **body,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    return 201, {"id": cid}


def validation_rules(state: SmartNowState, call: Call) -> tuple[int, Any]:
    campaign = get_row(state.world, "campaign", call.params["id"])
    rules = _rules(call.body)
    campaign.update(validationRules=rules, updatedAt=_now(state))
    return 200, {"message": "Validation rules updated"}


def _rules(value: Any) -> list[Row]:
    if not isinstance(value, list) or not all(
        isinstance(r, Mapping) and isinstance(r.get("field"), str) and r.get("value") is not None
        for r in value
    ):
        raise ApiError(400, "validationRules must be an array of {field, value}")
    return [{"field": r["field"], "value": str(r["value"])} for r in value]


_VOUCHER_KEYS = {
    "campaign",
    "type",
    "value",
    "valueType",
    "code",
    "prefix",
    "redemptionLimit",
    "resetFrequency",
    "expiresOn",
    "timeZone",
    "validationRules",
    "count",
    "text1",
    "text2",
    "text3",
    "text4",
    "style",
    "voucherComments",
}


def _voucher_body(state: SmartNowState, body: Any, *, replace: bool = False) -> Row:
    if not isinstance(body, Mapping):
        raise ApiError(400, "Missing parameters")
    unknown = sorted(set(body) - _VOUCHER_KEYS)
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}")
    required = ("campaign", "type", "value") + (("validationRules",) if replace else ())
    missing = [k for k in required if body.get(k) is None]
    if missing:
        raise ApiError(400, f"Missing parameters: {', '.join(missing)}")
    if body["type"] not in ("discount", "gift"):
        raise ApiError(400, "type must be one of discount, gift")
    if not isinstance(body["value"], int) or body["value"] < 0:
        raise ApiError(400, "value must be a non-negative integer (cents)")
    if body.get("valueType", "cents") != "cents":
        raise ApiError(400, "valueType must be cents")
    get_row(state.world, "campaign", body["campaign"])
    return dict(body)


def create_vouchers(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = _voucher_body(state, call.body)
    count = body.get("count", 1)
    if not isinstance(count, int) or not 1 <= count <= MAX_VOUCHERS:
        raise ApiError(400, f"count must be between 1 and {MAX_VOUCHERS}")
    prefix = body.get("prefix", "00000")
    if not isinstance(prefix, str) or not prefix.isalnum() or not 1 <= len(prefix) <= 5:
        raise ApiError(400, "prefix must match [a-zA-Z0-9]{1,5}")
    if body.get("code") and count > 1:
        raise ApiError(400, "a custom code needs count 1")
    rules = _rules(body.get("validationRules", []))
    table = state.world.table("voucher")
    taken = {v["code"] for v in table.values() if v["campaign"] == body["campaign"]}
    stamp = _now(state)
    campaign = state.world.table("campaign")[body["campaign"]]
    new: list[Row] = []
    seq = len(table)
    for _ in range(count):  # build all first: atomic (nothing is stored if one fails)
        seq += 1
        digest = hashlib.sha256(f"{state.world.seed}:{seq}:{stamp}".encode()).hexdigest()
        code = body.get("code") or f"{prefix}-{digest[:8].upper()}"
        if code in taken:
            raise ApiError(400, f"code {code} already exists in campaign {body['campaign']}")
        taken.add(code)
        row = voucher_row(
            digest[:24],
            code,
            body["campaign"],
            body["type"],
            body["value"],
            campaign["currency"],
            stamp,
            redemption_limit=body.get("redemptionLimit", 1),
            expires=body.get("expiresOn"),
        )
        row.update(
            prefix=prefix,
            validationRules=rules,
            resetFrequency=body.get("resetFrequency", "never"),
            **{k: body[k] for k in ("text1", "text2", "text3", "text4", "style") if k in body},
        )
        new.append(row)
    for row in new:
        table[row["id"]] = row
    return 201, (new[0] if count == 1 else None)


def patch_voucher(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "voucher", call.params["id"])
    body = call.obj()
    unknown = sorted(set(body) - {"campaign", "value", "expiresOn"})
    if unknown or body.get("campaign") is None:
        raise ApiError(
            400,
            f"unknown field(s): {', '.join(unknown)}"
            if unknown
            else "Missing parameters: campaign",
        )
    if body["campaign"] != row["campaign"]:
        raise ApiError(404, f"voucher {row['id']} not found in campaign {body['campaign']}")
    if "value" in body:
        if not isinstance(body["value"], int) or body["value"] < 0:
            raise ApiError(400, "value must be a non-negative integer (cents)")
        row.update(
            value=body["value"],
            balance=body["value"] - row["amountRedeemed"] if row["type"] == "gift" else 0,
        )
    if "expiresOn" in body:
        row["expiresOn"] = body["expiresOn"]
    row["updatedAt"] = _now(state)
    return 200, {"message": f"voucher {row['id']} updated"}


def replace_voucher(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "voucher", call.params["id"])
    body = _voucher_body(state, call.body, replace=True)
    row.update(
        campaign=body["campaign"],
        type=body["type"],
        value=body["value"],
        initialValue=body["value"],
        validationRules=_rules(body["validationRules"]),
        redemptionLimit=body.get("redemptionLimit", row["redemptionLimit"]),
        resetFrequency=body.get("resetFrequency", "never"),
        expiresOn=body.get("expiresOn"),
        balance=body["value"] if body["type"] == "gift" else 0,
        updatedAt=_now(state),
        **{
            k: body[k]
            for k in ("text1", "text2", "text3", "text4", "style", "voucherComments")
            if k in body
        },
    )
    return 200, {"message": f"voucher {row['id']} replaced"}


def _by_code(state: SmartNowState, code: str) -> Row | None:
    return next((v for v in state.world.table("voucher").values() if v["code"] == code), None)


def _log(
    state: SmartNowState,
    voucher: Row,
    action: str,
    request: Any,
    answer: Row,
    ok: bool,
    device: str,
) -> None:
    lid = state.world.new_id("voucherlog")
    stamp = _now(state)
    state.world.table("voucherlog")[lid] = {
        "id": lid,
        "voucher": voucher["id"],
        "requester": device,
        "requesterLocation": "",
        "action": action,
        "success": int(ok),
        "request": msgspec.json.encode(request).decode(),
        "response": msgspec.json.encode(answer).decode(),
        "currency": voucher["currency"],
        "createdAt": stamp,
        "updatedAt": stamp,
    }


def _usable(state: SmartNowState, v: Row) -> str | None:
    if v["status"] != "active":
        return "voucher is not active"
    if v["expiresOn"] and str(v["expiresOn"])[:10] < state.clock.local().date().isoformat():
        return "voucher expired"
    if v["redemptionLimit"] and v["redemptionCount"] >= v["redemptionLimit"]:
        return "redemption limit reached"
    if v["type"] == "gift" and v["balance"] <= 0:
        return "no balance left"
    return None


def _demand(body: Mapping[str, Any]) -> int | None:
    demand = body.get("demand")
    if demand is None:
        return None
    if (
        not isinstance(demand, Mapping)
        or not isinstance(demand.get("amount"), int)
        or demand["amount"] < 0
    ):
        raise ApiError(400, "demand.amount must be a non-negative integer (cents)")
    return int(demand["amount"])


def validate(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.obj()
    if not isinstance(body.get("deviceId"), str) or not body["deviceId"]:
        raise ApiError(400, "Missing parameters: deviceId")
    demand = _demand(body)
    v = _by_code(state, call.params["code"])
    if v is None:
        raise ApiError(404, "voucher not found")
    problem = _usable(state, v)
    off = v["balance"] if v["type"] == "gift" else v["value"]
    if demand is not None and v["type"] == "gift":
        off = min(off, demand)
    products = [r["value"] for r in v["validationRules"] if r["field"] == "product"]
    answer = {
        "code": v["code"],
        "campaignType": state.world.table("campaign")[v["campaign"]]["type"],
        "voucherId": v["id"],
        "valid": problem is None,
        "voucherValue": v["value"],
        "discount": {"type": "cents", "amountOff": 0 if problem else off},
        "validFor": {"products": dict.fromkeys(products, True), "productsRegExp": ""},
    }
    lock = body.get("lockDuration")
    if lock is not None and problem is None:
        if not isinstance(lock, int | float) or lock < 0:
            raise ApiError(400, "lockDuration must be a number of seconds")
        v.update(lockOwner=body["deviceId"])
    _log(state, v, "validate", body, answer, problem is None, body["deviceId"])
    return 200, answer


def redeem(state: SmartNowState, call: Call) -> tuple[int, Any]:
    body = call.obj()
    order = body.get("order")
    if not isinstance(body.get("deviceId"), str) or not isinstance(order, Mapping):
        raise ApiError(400, "Missing parameters: deviceId, order")
    if not isinstance(order.get("amount"), int) or order.get("id") in (None, ""):
        raise ApiError(400, "order needs id and amount (cents)")
    demand = _demand(body)
    v = _by_code(state, call.params["code"])
    if v is None:
        raise ApiError(404, "voucher not found")
    for entry in state.world.table("voucherlog").values():  # same order again: same answer
        mine = entry["voucher"] == v["id"] and entry["action"] == "redeem" and entry["success"]
        if mine and msgspec.json.decode(entry["request"]).get("order", {}).get("id") == order["id"]:
            return 200, msgspec.json.decode(entry["response"])
    if v["type"] == "gift" and demand is None:
        raise ApiError(400, "demand is mandatory for gift vouchers")
    problem = _usable(state, v)
    off = 0
    if problem is None:
        off = (
            min(v["balance"], demand or 0)
            if v["type"] == "gift"
            else min(v["value"], order["amount"])
        )
        stamp = _now(state)
        v.update(
            redemptionCount=v["redemptionCount"] + 1,
            totalRedemptionCount=v["totalRedemptionCount"] + 1,
            amountRedeemed=v["amountRedeemed"] + off,
            totalAmountRedeemed=v["totalAmountRedeemed"] + off,
            lastRedemptionAt=stamp,
            lastRedemptionLocation=body["deviceId"],
            updatedAt=stamp,
            balance=v["balance"] - off if v["type"] == "gift" else 0,
            lockOwner=None,
        )
    answer = {
        "code": v["code"],
        "campaignType": state.world.table("campaign")[v["campaign"]]["type"],
        "voucherId": v["id"],
        "redeemed": problem is None,
        "reason": problem or "",
        "discount": {"type": "cents", "amountOff": off},
        "voucherValue": v["value"],
    }
    _log(state, v, "redeem", body, answer, problem is None, body["deviceId"])
    return 200, answer


HANDLERS: dict[str, Handler] = {
    "campaign.create": create_campaign,
    "campaign.validationrule": validation_rules,
    "voucher.create": create_vouchers,
    "voucher.patch": patch_voucher,
    "voucher.replace": replace_voucher,
    "voucher.validate": validate,
    "voucher.redeem": redeem,
}
