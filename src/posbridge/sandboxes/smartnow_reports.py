"""SmartNow sandbox reports: revenue summaries, best sellers, overview, heat map, event
summaries, the period-comparison reports (issues, alarms, products, payment types,
revenue, shifts) and the CSV exports. Periods are local wall time (Europe/Amsterdam)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from posbridge.sandboxes.smartnow_lists import ApiError, array
from posbridge.sandboxes.smartnow_reads import EXPORTABLE, get_row, list_rows
from posbridge.sandboxes.smartnow_world import EVENTS, SNWorld

if TYPE_CHECKING:
    from posbridge.sandboxes.smartnow import Call, Handler, SmartNowState

__all__ = ["HANDLERS", "local_of", "period", "shift_of"]

Row = dict[str, Any]


def local_of(row: Mapping[str, Any]) -> datetime:
    """A row's local wall time (naive) from its `occurredAt`."""
    return datetime.fromisoformat(str(row["occurredAt"])).replace(tzinfo=None)


def _filtered(
    world: SNWorld,
    items: list[tuple[str, str]] | None = None,
    body: Mapping[str, Any] | None = None,
    model: str = "revenuetransaction",
) -> list[Row]:
    if items is not None:
        machines, locations = set(array(items, "machines")), set(array(items, "locations"))
        mgroups, lgroups = set(array(items, "machineGroups")), set(array(items, "locationGroups"))
    else:
        body = body or {}
        vals = {
            k: body.get(k) or []
            for k in ("machines", "locations", "machineGroups", "locationGroups")
        }
        for k, v in vals.items():
            if not isinstance(v, list) or not all(isinstance(i, int) for i in v):
                raise ApiError(400, f"{k} must be an array of integers")
        machines, locations = set(vals["machines"]), set(vals["locations"])
        mgroups, lgroups = set(vals["machineGroups"]), set(vals["locationGroups"])
    for g in mgroups:
        machines |= set(get_row(world, "machinegroup", g)["machines"])
    for g in lgroups:
        locations |= set(get_row(world, "locationgroup", g)["locations"])
    return [
        r
        for r in world.table(model).values()
        if (not machines or r["machine"] in machines)
        and (not locations or r["location"] in locations)
    ]


def _day(value: str | None, name: str) -> date:
    if not value:
        raise ApiError(400, f"{name} is required")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ApiError(400, f"{name} must be a date (YYYY-MM-DD)") from None


def summary(state: SmartNowState, call: Call) -> tuple[int, Any]:
    start, end = _day(call.query("startDate"), "startDate"), _day(call.query("endDate"), "endDate")
    sums: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for r in _filtered(state.world, call.items):
        d = local_of(r).date()
        if start <= d <= end:
            sums[(r["currency"], d)][0] += r["originalPrice"]
            sums[(r["currency"], d)][1] += r["price"]
    out: dict[str, list[Row]] = defaultdict(list)
    for (cur, d), (orig, value) in sorted(sums.items()):
        out[cur].append(
            {
                "currency": cur,
                "currencyRate": 1,
                "date": d.isoformat(),
                "orginalValue": orig,
                "value": value,
            }
        )
    return 200, dict(out)


def bestselling(state: SmartNowState, call: Call) -> tuple[int, Any]:
    start, end = _day(call.query("startDate"), "startDate"), _day(call.query("endDate"), "endDate")
    amount = call.query("amount", "10") or "10"
    if not amount.isdigit() or int(amount) < 1:
        raise ApiError(400, "amount must be a positive integer")
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for r in _filtered(state.world, call.items):
        d = local_of(r).date()
        if start <= d <= end:
            per[r["name"]][d.isoformat()] += 1
    top = sorted(per, key=lambda n: (-sum(per[n].values()), n))[: int(amount)]
    return 200, [
        {"name": n, "values": [{"date": d, "value": v} for d, v in sorted(per[n].items())]}
        for n in top
    ]


def overview(state: SmartNowState, call: Call) -> tuple[int, Any]:
    today = state.clock.local().date()
    starts = {
        "day": today,
        "week": today - timedelta(days=today.weekday()),
        "month": today.replace(day=1),
        "year": today.replace(month=1, day=1),
    }
    figures: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in starts})
    for r in _filtered(state.world, call.items):
        d = local_of(r).date()
        for key, first in starts.items():
            if first <= d <= today:
                figures[r["currency"]][key][0] += 1
                figures[r["currency"]][key][1] += r["price"]
    return 200, {
        cur: [{k: {"currency": cur, "products": p, "revenue": v} for k, (p, v) in f.items()}]
        for cur, f in figures.items()
    }


def heatmap(state: SmartNowState, call: Call) -> tuple[int, Any]:
    since = state.clock.local() - timedelta(days=91)
    cells: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in _filtered(state.world, call.items):
        at = local_of(r)
        if at >= since:
            cells[(at.isoweekday(), at.hour)][0] += 1
            cells[(at.isoweekday(), at.hour)][1] += r["price"]
    return 200, [
        {"day": d, "hour": h, "count": c, "total": t} for (d, h), (c, t) in sorted(cells.items())
    ]


def active_logs(state: SmartNowState, call: Call) -> tuple[int, Any]:
    machine = call.query("machine")
    if not machine:
        raise ApiError(400, "machine is required")
    mid = get_row(state.world, "machine", machine)["id"]
    return 200, [
        r
        for r in state.world.table("log").values()
        if r["machine"] == mid and r["state"] == "active"
    ]


def log_summary(state: SmartNowState, call: Call) -> tuple[int, Any]:
    limit = call.query("limit", "10") or "10"
    if not limit.isdigit() or not 1 <= int(limit) <= 30:
        raise ApiError(400, "limit must be between 1 and 30")
    counts = Counter(r["code"] for r in _filtered(state.world, call.items, model="log"))
    return 200, [
        {"code": c, "error": EVENTS.get(c, (0, 0, c))[2], "summary": n}
        for c, n in counts.most_common(int(limit))
    ]


def period(spec: Any, name: str) -> tuple[datetime, datetime]:
    """A report period: fixed `YYYY-MM-DD HH:mm:ss` strings, or relative date objects.

    Relative objects (docs/smartnow-wire.md): a date part of 0 takes the reference
    date's, any other value is absolute (month 1 = January); time parts are absolute.
    """
    if not isinstance(spec, Mapping) or "startDate" not in spec or "endDate" not in spec:
        raise ApiError(400, f"{name} needs startDate and endDate")
    ref_raw = spec.get("referenceDate")
    try:
        ref = datetime.fromisoformat(str(ref_raw)).replace(tzinfo=None) if ref_raw else None
    except ValueError:
        raise ApiError(400, f"{name}.referenceDate is not a date") from None
    out = []
    for key in ("startDate", "endDate"):
        value = spec[key]
        try:
            if isinstance(value, str):
                out.append(datetime.fromisoformat(value))
                continue
            if not isinstance(value, Mapping) or ref is None:
                raise ValueError
            parts = {
                k: int(value.get(k) or 0)
                for k in ("year", "month", "day", "hour", "minute", "second")
            }
            out.append(
                datetime(
                    parts["year"] or ref.year,
                    parts["month"] or ref.month,
                    parts["day"] or ref.day,
                    parts["hour"],
                    parts["minute"],
                    parts["second"],
                )
            )
        except (ValueError, TypeError):
            raise ApiError(400, f"{name}.{key} is not a valid date") from None
    if out[0] > out[1]:
        raise ApiError(400, f"{name}: startDate is after endDate")
    return out[0], out[1]


def shift_of(world: SNWorld) -> dict[int, int]:
    """Revenue transaction id → the shift it belongs to (its location's range)."""
    ranges = defaultdict(list)
    for s in world.table("shift").values():
        ranges[s["location"]].append((s["firstTransaction"], s["lastTransaction"], s["id"]))
    out = {}
    for r in world.table("revenuetransaction").values():
        for first, last, sid in ranges.get(r["location"], ()):
            if first is not None and first <= r["id"] and (last is None or r["id"] <= last):
                out[r["id"]] = sid
    return out


def _report(kind: str) -> Handler:
    def handler(state: SmartNowState, call: Call) -> tuple[int, Any]:
        body = call.obj()
        if "period1" not in body:
            raise ApiError(400, "period1 is required")
        out = {}
        for name in ("period1", "period2"):
            if body.get(name) is None:
                continue
            start, end = period(body[name], name)
            model = "log" if kind in ("issues", "alarms") else "revenuetransaction"
            rows = [
                r
                for r in _filtered(state.world, body=body, model=model)
                if start <= local_of(r) <= end
            ]
            out[name] = {
                "startDate": f"{start:%Y-%m-%d %H:%M:%S}",
                "endDate": f"{end:%Y-%m-%d %H:%M:%S}",
                "data": REPORTS[kind](state.world, rows),
            }
        return 200, out

    return handler


def _issues(world: SNWorld, rows: list[Row], durations: bool = True) -> list[Row]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r["code"]].append(r)
    out = []
    for code, rs in sorted(groups.items()):
        row = {
            "code": code,
            "erroridentity": rs[0]["errorIdentity"],
            "error": code,
            "quantity": len(rs),
        }
        if durations:
            row["duration"] = sum(r["duration"] or 0 for r in rs)
        out.append(row)
    return out


def _products(world: SNWorld, rows: list[Row]) -> list[Row]:
    groups: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    refs = {}
    for r in rows:
        plu = int(str(r["internalRef"]).removeprefix("PLU-"))
        groups[(plu, r["currency"])][0] += 1
        groups[(plu, r["currency"])][1] += r["price"]
        refs[plu] = (r["name"], r["internalRef"])
    return [
        {
            "productId": plu,
            "name": refs[plu][0],
            "internalRef": refs[plu][1],
            "revenue": v,
            "quantity": q,
            "currency": cur,
        }
        for (plu, cur), (q, v) in sorted(groups.items())
    ]


def _payments(world: SNWorld, rows: list[Row], by_shift: bool = False) -> list[Row]:
    ids = {r["id"]: r for r in rows}
    shifts = shift_of(world) if by_shift else {}
    locs = world.table("location")
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for p in world.table("paymenttransaction").values():
        if p["revenuetransaction"] in ids:
            key = (
                (p["type"], p["reportGroup"], p["currency"])
                if not by_shift
                else (
                    locs[p["location"]]["name"],
                    p["method"],
                    p["reportGroup"],
                    shifts.get(p["revenuetransaction"]),
                    p["type"],
                )
            )
            groups[key][0] += 1
            groups[key][1] += p["price"]
    if by_shift:
        return [
            {
                "location": k[0],
                "payment": k[1],
                "quantity": q,
                "reportGroup": k[2],
                "revenue": v,
                "shift": k[3],
                "type": k[4],
            }
            for k, (q, v) in sorted(groups.items(), key=str)
        ]
    return [
        {"type": k[0], "quantity": q, "revenue": v, "reportGroup": k[1], "currency": k[2]}
        for k, (q, v) in sorted(groups.items(), key=str)
    ]


def _shifts(world: SNWorld, rows: list[Row]) -> list[Row]:
    shifts = shift_of(world)
    products = world.table("product")
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        key = (shifts.get(r["id"]), r["product"], r["currency"])
        groups[key][0] += 1
        groups[key][1] += r["price"]
    out = []
    for (sid, pid, cur), (q, v) in sorted(groups.items(), key=str):
        p = products.get(pid, {})
        out.append(
            {
                "shift": sid,
                "productId": pid,
                "name": p.get("name"),
                "barcode": p.get("barcode"),
                "reportName": p.get("reportName"),
                "quantity": q,
                "revenue": v,
                "sum": v,
                "currency": cur,
            }
        )
    return out


REPORTS: dict[str, Any] = {
    "issues": _issues,
    "alarms": lambda w, rows: _issues(w, rows, durations=False),
    "products": _products,
    "paymenttypes": _payments,
    "revenue": lambda w, rows: _payments(w, rows, by_shift=True),
    "shifts": _shifts,
}


def _csv(rows: list[Row], columns: list[str], filename: str) -> Any:
    from posbridge.sandboxes.smartnow import Csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return Csv(buf.getvalue(), filename)


def report_export(state: SmartNowState, call: Call) -> tuple[int, Any]:
    spec = {k.split("[")[1].rstrip("]"): v for k, v in call.items if k.startswith("period1[")}
    if not spec:
        raise ApiError(400, "period1 is required")
    start, end = period(spec, "period1")
    if start < state.clock.local() - timedelta(days=183):
        raise ApiError(400, "The date-range must be within 6 months of the current date")
    rows = [r for r in _filtered(state.world, call.items) if start <= local_of(r) <= end]
    cols = ["id", "occurredAt", "machine", "location", "name", "internalRef", "price", "currency"]
    return 200, _csv(rows, cols, "transactions.csv")


def export_resource(state: SmartNowState, call: Call) -> tuple[int, Any]:
    resource = call.params["resource"]
    if resource not in EXPORTABLE:
        raise ApiError(400, f"resource must be one of {', '.join(EXPORTABLE)}")
    columns = [v for k, v in call.items if k in ("columns[]", "columns")]
    if not columns:
        raise ApiError(400, "columns is required")
    if not any(k.startswith("where[machine]") for k, _v in call.items):
        raise ApiError(400, "where.machine is required")
    sample = next(iter(state.world.table(resource).values()), {})
    alias = "machine" if "machine" in sample else "id" if resource == "machine" else None
    items = [
        (k.replace("where[machine]", f"where[{alias}]") if alias else k, v)
        for k, v in call.items
        if (k.startswith("where") and (alias or not k.startswith("where[machine]"))) or k == "sort"
    ]
    rows = list_rows(state.world, resource, [*items, ("useArchive", "true")])
    name = call.query("filename") or f"{resource}.csv"
    return 200, _csv(rows, columns, name)


def voucher_export(state: SmartNowState, call: Call) -> tuple[int, Any]:
    columns = [v for k, v in call.items if k in ("columns[]", "columns")]
    if not columns:
        raise ApiError(400, "columns is required")
    rows = list_rows(
        state.world,
        "voucher",
        [(k, v) for k, v in call.items if k.startswith("where") or k == "sort"],
    )
    return 200, _csv(rows, columns, "vouchers.csv")


HANDLERS: dict[str, Handler] = {
    "revenuetransaction.summary": summary,
    "revenuetransaction.bestselling": bestselling,
    "revenuetransaction.overview": overview,
    "revenuetransaction.heatmap": heatmap,
    "log.active": active_logs,
    "log.summary": log_summary,
    **{f"report.{k}": _report(k) for k in REPORTS},
    "report.export": report_export,
    "voucher.export": voucher_export,
    "export.resource": export_resource,
}
