"""SmartNow sandbox reads: get, list, populate, summaries, reports and CSV exports.

Rows are served as stored (already in wire shape). List operations go through
`smartnow_lists` (one implementation of the conventions); transactions and logs older
than the world's archive cutoff are visible only with `useArchive=true`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.faults import Faults, kinds_except, malform
from posbridge.sandboxes.smartnow_lists import ApiError, parse_list_query, run_list
from posbridge.sandboxes.smartnow_world import SNWorld, utc_z

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS", "MALFORMED_KINDS", "get_row", "list_rows"]

Row = dict[str, Any]
ARCHIVED = ("revenuetransaction", "paymenttransaction", "log")
FK, REV, LIST, ALL = "fk", "rev", "list", "all"
#: model → alias → (target model, how, column)
POPULATE: dict[str, dict[str, tuple[str, str, str]]] = {
    "usergroup": {
        "parent": ("usergroup", FK, "parent"),
        "users": ("user", REV, "userGroup"),
        "errorCodes": ("errorcode", ALL, ""),
        "manufacturers": ("manufacturer", ALL, ""),
        "locations": ("location", ALL, ""),
        "errorProfiles": ("errorprofile", ALL, ""),
        "alertGroups": ("alertgroup", REV, "userGroup"),
        "alertRecipients": ("alertrecipient", REV, "userGroup"),
        "locationGroups": ("locationgroup", ALL, ""),
        "permissions": ("permission", ALL, ""),
        "languages": ("language", ALL, ""),
        "translations": ("translation", ALL, ""),
        "machineModels": ("machinemodel", REV, "userGroup"),
        "machineGroups": ("machinegroup", ALL, ""),
        "alertObservers": ("alertobserver", REV, "userGroup"),
        "machine": ("machine", ALL, ""),
    },
    "machine": {
        "location": ("location", FK, "location"),
        "machineModel": ("machinemodel", FK, "machineModel"),
        "machineType": ("machinetype", FK, "machineType"),
        "manufacturer": ("manufacturer", FK, "manufacturer"),
        "machineGroups": ("machinegroup", LIST, "machineGroups"),
        "alertObservers": ("alertobserver", ALL, ""),
    },
    "machinemodel": {
        "manufacturer": ("manufacturer", FK, "manufacturer"),
        "machineType": ("machinetype", FK, "machineType"),
        "errorProfile": ("errorprofile", FK, "errorProfile"),
        "userGroup": ("usergroup", FK, "userGroup"),
    },
    "revenuetransaction": {
        "paymenttransactions": ("paymenttransaction", REV, "revenuetransaction"),
        "machine": ("machine", FK, "machine"),
        "location": ("location", FK, "location"),
    },
    "report": {
        "locationGroup": ("locationgroup", LIST, "locationGroup"),
        "manufacturers": ("manufacturer", LIST, "manufacturers"),
        "locations": ("location", LIST, "locations"),
        "machineTypes": ("machinetype", LIST, "machineTypes"),
        "machineModels": ("machinemodel", LIST, "machineModels"),
        "machineGroups": ("machinegroup", LIST, "machineGroups"),
        "machines": ("machine", LIST, "machines"),
        "user": ("user", FK, "user"),
    },
}
MACHINE_STATUSES = ("online", "offline", "error")
EXPORTABLE = (
    "alertgroup",
    "alertobserver",
    "alertrecipient",
    "errorcode",
    "erroridentity",
    "errorprofile",
    "language",
    "location",
    "locationgroup",
    "log",
    "machine",
    "machinegroup",
    "machinemodel",
    "machinetype",
    "manufacturer",
    "paymenttransaction",
    "product",
    "productextra",
    "productflavour",
    "revenuetransaction",
    "shift",
    "user",
    "usergroup",
)
PAYMENT_TYPES = [
    {"type": t, "name": n}
    for t, n in (
        ("cash", "Contant"),
        ("card", "Pin/creditcard"),
        ("code", "Vouchercode"),
        ("virtual", "Virtueel (app)"),
        ("token", "Token/sleutel"),
    )
]


def get_row(world: SNWorld, model: str, key: Any) -> Row:
    """The row `key` of `model`, or 404."""
    table = world.table(model)
    if isinstance(key, str) and key.lstrip("-").isdigit() and int(key) in table:
        key = int(key)
    row = table.get(key)
    if row is None:
        raise ApiError(404, f"{model} {key} not found")
    return row


def _id(call: Call, key: str = "id") -> int:
    return call.int_param(key)


def _archived(world: SNWorld) -> Any:
    cutoff = utc_z(datetime.fromtimestamp(world.archive_cutoff()).astimezone())
    return lambda r: str(r.get("createdAt", "")) < cutoff


def list_rows(
    world: SNWorld, model: str, items: list[tuple[str, str]], rows: Iterable[Row] | None = None
) -> list[Row]:
    """Apply the list conventions to `model` (or to the given subset of its rows)."""
    source = list(world.table(model).values()) if rows is None else list(rows)
    columns = (
        set().union(*(r.keys() for r in source)) if source else {"id", "createdAt", "updatedAt"}
    )
    q = parse_list_query(items)
    return [
        dict(r)
        for r in run_list(
            source, q, columns, archived=_archived(world) if model in ARCHIVED else None
        )
    ]


def _get(model: str, key: str = "id") -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        return 200, get_row(state.world, model, call.params[key])

    return handler


#: what moves from page to page of one listing (the rest of the query names the listing)
_PAGING = frozenset({"skip", "limit", "where[id][>]", "where[id][>=]"})


def _list(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        rows = list_rows(state.world, model, call.items)
        f = state.faults
        if f.repeat_previous or f.reverse_pages:  # paging faults: rows as they are now
            table = state.world.table(model)
            listing = model + repr(sorted(i for i in call.items if i[0] not in _PAGING))
            rows = [dict(table[k]) for k in f.page_keys(listing, [r["id"] for r in rows])]
        if model == "revenuetransaction":
            rows = _malformed_vends(f, rows)
        return 200, rows

    return handler


#: what `malform` corrupts in a revenue transaction (one vend): its price, its time, its
#: price's sign (a vend has no quantity: one transaction is one unit), its currency.
#: The VAT rate is the machine product's, shared by every vend of it, so `unknown_vat`
#: cannot be injected into one record.
MALFORMED_KINDS = kinds_except("unknown_vat")


def _malformed_vends(faults: Faults, rows: list[Row]) -> list[Row]:
    bad, _dropped, kind = faults.record_faults()
    if not bad:
        return rows
    return [
        malform(
            row,
            kind,
            amount=(("price",),),
            time=(("occurredAt",),),
            quantity=(("price",),),
            currency=(("currency",),),
        )
        if row.get("id") in bad
        else row
        for row in rows
    ]


def _all(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        return 200, list(state.world.table(model).values())

    return handler


def _populate(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        world = state.world
        row = get_row(world, model, call.params["parentid"])
        alias = call.params["alias"]
        if alias not in POPULATE[model]:
            raise ApiError(400, f"alias must be one of {', '.join(POPULATE[model])}")
        target, how, col = POPULATE[model][alias]
        table = world.table(target)
        if how == FK:
            return 200, table.get(row.get(col)) or {}
        if how == LIST:
            return 200, [table[i] for i in row.get(col) or [] if i in table]
        if how == REV:
            return 200, [r for r in table.values() if r.get(col) == row["id"]]
        return 200, list(table.values())

    return handler


def me(state: SmartNowState, call: Call) -> tuple[int, Any]:
    world = state.world
    user = dict(get_row(world, "user", call.user))
    user["language"] = world.table("language").get(user["language"])
    user["userGroup"] = world.table("usergroup").get(user["userGroup"])
    return 200, user


def children(state: SmartNowState, call: Call) -> tuple[int, Any]:
    parent = get_row(state.world, "usergroup", call.params["parentid"])["id"]
    return 200, [g for g in state.world.table("usergroup").values() if g["parent"] == parent]


def machine_status(world: SNWorld, machine: int) -> str:
    """online / offline (an open CM_OFFLINE) / error (another open event)."""
    codes = {
        r["code"]
        for r in world.table("log").values()
        if r["machine"] == machine and r["state"] == "active"
    }
    return "offline" if "CM_OFFLINE" in codes else "error" if codes else "online"


def by_location(state: SmartNowState, call: Call) -> tuple[int, Any]:
    machines = list(state.world.table("machine").values())
    return 200, [
        {**loc, "machines": [m for m in machines if m["location"] == loc["id"]]}
        for loc in state.world.table("location").values()
    ]


def _widget(state: SmartNowState, call: Call) -> None:
    widget = call.query("widget")
    if widget is not None:
        get_row(state.world, "widget", widget)


def machines_by_status(state: SmartNowState, call: Call) -> tuple[int, Any]:
    status = call.params["status"]
    if status not in MACHINE_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(MACHINE_STATUSES)}")
    _widget(state, call)
    w = state.world
    return 200, [m for m in w.table("machine").values() if machine_status(w, m["id"]) == status]


def observers_by_status(state: SmartNowState, call: Call) -> tuple[int, Any]:
    status = call.params["status"]
    if status not in ("ok", "alert"):
        raise ApiError(400, "status must be one of ok, alert")
    _widget(state, call)
    return 200, [
        o for o in state.world.table("alertobserver").values() if o.get("status") == status
    ]


def machine_observers(state: SmartNowState, call: Call) -> tuple[int, Any]:
    mid = get_row(state.world, "machine", call.params["id"])["id"]
    return 200, [
        o
        for o in state.world.table("alertobserver").values()
        if not o.get("machines") or mid in o["machines"]
    ]


def config_by_hostname(state: SmartNowState, call: Call) -> tuple[int, Any]:
    host = call.params.get("hostname") or call.query("hostname")
    rows = [c for c in state.world.table("machineconfig").values() if c["hostname"] == host]
    if host is None:
        return 200, next(iter(state.world.table("machineconfig").values()), {})
    if not rows:
        raise ApiError(404, f"machine {host} not found")
    row = dict(rows[0])
    if call.route.name == "machineconfig.by_hostname":
        row.pop("id", None)
    return 200, {k: v for k, v in row.items() if k not in ("machine", "hostname")}


def machine_assortment(model: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        mid = get_row(state.world, "machine", call.params["machine"])["id"]
        return 200, [r for r in state.world.table(model).values() if r["machine"] == mid]

    return handler


def chart_field(state: SmartNowState, call: Call) -> tuple[int, Any]:
    chart = get_row(state.world, "chart", call.params["id"])
    f = call.params["field"]
    if f not in chart:
        raise ApiError(400, f"unknown field {f!r}")
    return 200, {"id": chart["id"], f: chart[f]}


def report_charts(state: SmartNowState, call: Call) -> tuple[int, Any]:
    rid = get_row(state.world, "userreport", call.params["id"])["id"]
    return 200, [c for c in state.world.table("chart").values() if c["report"] == rid]


def campaign_vouchers(state: SmartNowState, call: Call) -> tuple[int, Any]:
    cid = get_row(state.world, "campaign", call.params["id"])["id"]
    return 200, [v for v in state.world.table("voucher").values() if v["campaign"] == cid]


def voucher_log(state: SmartNowState, call: Call) -> tuple[int, Any]:
    vid = get_row(state.world, "voucher", call.params["id"])["id"]
    return 200, [e for e in state.world.table("voucherlog").values() if e["voucher"] == vid]


def integration_status(state: SmartNowState, call: Call) -> tuple[int, Any]:
    row = get_row(state.world, "integration", call.params["id"])
    return 200, {"id": row["id"], "state": row["state"], "lastFailure": row.get("lastFailure")}


def integration_transactions(state: SmartNowState, call: Call) -> tuple[int, Any]:
    get_row(state.world, "integration", call.params["id"])
    keys = (
        "id",
        "remote",
        "price",
        "occurredAt",
        "machine",
        "location",
        "timestamp",
        "currency",
        "name",
        "token",
        "salestype",
        "createdAt",
        "updatedAt",
    )
    rows = [
        {**{k: r[k] for k in keys}, "timezone": r["timeZone"]}
        for r in state.world.table("revenuetransaction").values()
    ]
    return 200, list_rows(state.world, "integrationtransaction", call.items, rows)


HANDLERS: dict[str, Handler] = {
    "user.me": me,
    "user.get": _get("user"),
    "usergroup.children": children,
    "usergroup.populate": _populate("usergroup"),
    "machine.by_location": by_location,
    "machine.list": _all("machine"),
    "alertobserver.by_status": observers_by_status,
    "machine.by_status": machines_by_status,
    "machine.alertobservers": machine_observers,
    "machine.get": _get("machine"),
    "machine.populate": _populate("machine"),
    "machinemodel.get": _get("machinemodel"),
    "machinemodel.populate": _populate("machinemodel"),
    "machineconfig.by_hostname": config_by_hostname,
    "machineconfig.find": config_by_hostname,
    "machineconfigtemplate.get": _get("machineconfigtemplate"),
    "location.list": _all("location"),
    "location.get": _get("location"),
    "shift.list": _list("shift"),
    "shift.get": _get("shift"),
    "revenuetransaction.list": _list("revenuetransaction"),
    "revenuetransaction.get": _get("revenuetransaction"),
    "revenuetransaction.populate": _populate("revenuetransaction"),
    "paymenttransaction.list": _list("paymenttransaction"),
    "paymenttransaction.get": _get("paymenttransaction"),
    "log.list": _list("log"),
    "log.get": _get("log"),
    "report.populate": _populate("report"),
    "userreport.charts": report_charts,
    "chart.get": _get("chart"),
    "chart.field": chart_field,
    "charttemplate.list": _all("charttemplate"),
    "charttemplate.get": _get("charttemplate"),
    "alertobserver.list": _all("alertobserver"),
    "alertobserver.get": _get("alertobserver"),
    "alertrecipient.get": _get("alertrecipient"),
    "productflavour.list": machine_assortment("productflavour"),
    "productextra.list": machine_assortment("productextra"),
    "product.list": machine_assortment("product"),
    "transactionprofile.paymenttypes": lambda s, c: (200, PAYMENT_TYPES),
    "campaign.get": _get("campaign"),
    "campaign.list": _list("campaign"),
    "campaign.vouchers": campaign_vouchers,
    "integration.list": _all("integration"),
    "integration.get": _get("integration"),
    "integration.status": integration_status,
    "integration.transactions": integration_transactions,
    "voucher.list": _list("voucher"),
    "voucher.get": _get("voucher"),
    "voucher.log": voucher_log,
}
