"""The SmartNow oracle: a SmartNow sandbox world against what the store holds.

Computed from the sandbox's wire tables, independently of the connector's mapping:
every revenue transaction is one order (total and each payment to the cent, UTC time,
local zone and date, machine, location, VAT rate of the machine product), every log one
device event (code, time, duration, resolution), every shift one shift (range, closing,
and for closed ones the count, total and payments by method of its transactions), every
voucher and campaign, location, machine, product, flavour/extra and user.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from posbridge.connectors.smartnow import mapping
from posbridge.store.repo import Store
from posbridge.testing.keys import duplicate_keys

__all__ = ["world_differences"]

_METHODS = {
    "cash": "cash",
    "card": "card",
    "code": "voucher",
    "virtual": "mobile",
    "token": "stored_value",
}


def _eur(cents: Any) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def _by_id(records: Iterable[Any]) -> dict[str, Any]:
    return {r.record.source_id: r.record for r in records}


def _utc(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _compare(
    kind: str, want: dict[str, dict[str, Any]], got: dict[str, Any], fields: Any
) -> list[str]:
    diffs = [f"{kind} {sid} missing" for sid in want.keys() - got.keys()]
    diffs += [f"{kind} {sid} not in the world" for sid in got.keys() - want.keys()]
    for sid in sorted(want.keys() & got.keys()):
        have = fields(got[sid])
        bad = [f"{k} {have[k]!r} != {v!r}" for k, v in want[sid].items() if have[k] != v]
        if bad:
            diffs.append(f"{kind} {sid}: " + "; ".join(bad))
    return diffs


def _orders(store: Store, cid: str, world: Any, skip: set[str]) -> list[str]:
    products = world.tables["product"]
    pays: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for p in world.tables["paymenttransaction"].values():
        pays[p["revenuetransaction"]].append((_METHODS[p["method"]], _eur(p["price"])))
    want = {}
    for tx in world.tables["revenuetransaction"].values():
        if str(tx["id"]) in skip:
            continue
        local = datetime.fromisoformat(tx["occurredAt"])
        want[str(tx["id"])] = {
            "number": str(tx["id"]),
            "total": _eur(tx["price"]),
            "payments": sorted(pays[tx["id"]]),
            "at": datetime.fromtimestamp(tx["timestamp"], UTC),
            "zone": tx["timeZone"],
            "date": local.date(),
            "device": str(tx["machine"]),
            "location": str(tx["location"]),
            "rate": Decimal(products[tx["product"]]["vatrate"]),
        }

    def fields(o: Any) -> dict[str, Any]:
        return {
            "number": o.number,
            "total": o.total_gross,
            "payments": sorted((p.method, p.amount) for p in o.payments),
            "at": o.occurred_at,
            "zone": o.source_timezone,
            "date": o.business_date,
            "device": o.device_source_id,
            "location": o.location_source_id,
            "rate": o.lines[0].tax_rate,
        }

    return _compare("revenuetransaction", want, _by_id(store.records("order", cid)), fields)


def _events(store: Store, cid: str, world: Any) -> list[str]:
    want = {
        str(r["id"]): {
            "code": r["code"],
            "at": datetime.fromtimestamp(r["timestamp"], UTC),
            "duration": r["duration"],
            "ended": _utc(r["resolvedAt"]),
            "device": str(r["machine"]),
            "resolved": None if r["state"] is None else r["state"] == "resolved",
        }
        for r in world.tables["log"].values()
    }

    def fields(e: Any) -> dict[str, Any]:
        return {
            "code": e.code,
            "at": e.occurred_at,
            "duration": e.duration_seconds,
            "ended": e.ended_at,
            "device": e.device_source_id,
            "resolved": e.resolved,
        }

    return _compare("log", want, _by_id(store.records("device_event", cid)), fields)


def _shifts(store: Store, cid: str, world: Any) -> list[str]:
    txs = world.tables["revenuetransaction"]
    pays: dict[int, list[Any]] = defaultdict(list)
    for p in world.tables["paymenttransaction"].values():
        pays[p["revenuetransaction"]].append(p)
    want = {}
    for s in world.tables["shift"].values():
        row: dict[str, Any] = {
            "first": str(s["firstTransaction"]) if s["firstTransaction"] else None,
            "last": str(s["lastTransaction"]) if s["lastTransaction"] else None,
            "closed": _utc(s["closed"]),
            "count": None,
            "total": None,
            "payments": [],
        }
        if s["closed"]:
            mine = [
                t
                for t in txs.values()
                if t["location"] == s["location"]
                and s["firstTransaction"] <= t["id"] <= s["lastTransaction"]
            ]
            by_method: dict[str, Decimal] = defaultdict(Decimal)
            for t in mine:
                for p in pays[t["id"]]:
                    by_method[_METHODS[p["method"]]] += _eur(p["price"])
            row.update(
                count=len(mine) if mapping.SHIFT_TICKET_COUNT else None,
                total=sum((_eur(t["price"]) for t in mine), Decimal(0)),
                payments=sorted(by_method.items()),
            )
        want[str(s["id"])] = row

    def fields(s: Any) -> dict[str, Any]:
        return {
            "first": s.first_ticket,
            "last": s.last_ticket,
            "closed": s.closed_at,
            "count": s.ticket_count,
            "total": s.total_gross,
            "payments": sorted((p.method, p.amount) for p in s.payments),
        }

    return _compare("shift", want, _by_id(store.records("shift", cid)), fields)


def _vouchers(store: Store, cid: str, world: Any) -> list[str]:
    want: dict[str, dict[str, Any]] = {}
    for v in world.tables["voucher"].values():
        limit = v["redemptionLimit"] or 0
        want[v["id"]] = {
            "code": v["code"],
            "value": _eur(v["value"]),
            "balance": _eur(v["balance"]) if v["type"] == "gift" else None,
            "redeemed": bool(limit) and v["redemptionCount"] >= limit,
            "campaign": str(v["campaign"]),
        }
    for c in world.tables["campaign"].values():
        want[f"campaign:{c['id']}"] = {
            "code": c["prefix"] or None,
            "value": _eur(c["voucherValue"]),
            "balance": None,
            "redeemed": False,
            "campaign": None,
        }

    def fields(v: Any) -> dict[str, Any]:
        return {
            "code": v.code,
            "value": v.value,
            "balance": v.balance,
            "redeemed": v.redeemed,
            "campaign": v.campaign_source_id,
        }

    return _compare("voucher", want, _by_id(store.records("voucher", cid)), fields)


def _lists(store: Store, cid: str, world: Any) -> list[str]:
    t = world.tables
    diffs = _compare(
        "location",
        {
            str(r["id"]): {"name": r["name"], "town": r["city"], "zone": r["timeZone"]}
            for r in t["location"].values()
        },
        _by_id(store.records("location", cid)),
        lambda x: {"name": x.name, "town": x.town, "zone": x.timezone},
    )
    diffs += _compare(
        "machine",
        {
            str(r["id"]): {"name": r["name"], "loc": str(r["location"]), "serial": r["hostname"]}
            for r in t["machine"].values()
        },
        _by_id(store.records("device", cid)),
        lambda x: {"name": x.name, "loc": x.location_source_id, "serial": x.serial},
    )
    mods: dict[int, list[str]] = defaultdict(list)
    for kind in ("flavour", "extra"):
        for r in t[f"product{kind}"].values():
            mods[r["machine"]].append(f"{kind}:{r['id']}")
    diffs += _compare(
        "product",
        {
            str(r["id"]): {
                "name": r["name"],
                "sku": str(r["plu"]),
                "price": _eur(r["price"]),
                "rate": None if r["vatrate"] is None else Decimal(r["vatrate"]),
                "mods": mods[r["machine"]],
            }
            for r in t["product"].values()
        },
        _by_id(store.records("product", cid)),
        lambda x: {
            "name": x.name,
            "sku": x.sku,
            "price": x.prices[0].amount,
            "rate": x.tax_rate,
            "mods": x.modifier_source_ids,
        },
    )
    diffs += _compare(
        "modifier",
        {
            f"{k}:{r['id']}": {"name": r["name"], "price": _eur(r["price"])}
            for k in ("flavour", "extra")
            for r in t[f"product{k}"].values()
        },
        _by_id(store.records("modifier", cid)),
        lambda x: {"name": x.name, "price": x.price},
    )
    groups = t["usergroup"]
    diffs += _compare(
        "user",
        {
            str(u["id"]): {
                "name": u["username"],
                "email": u["email"],
                "admin": bool(groups[u["userGroup"]]["admin"]),
            }
            for u in t["user"].values()
        },
        _by_id(store.records("employee", cid)),
        lambda x: {"name": x.name, "email": x.email, "admin": x.is_admin},
    )
    return diffs


def world_differences(
    store: Store, connection_id: str, world: Any, *, skip: Iterable[Any] = ()
) -> list[str]:
    """Every difference between a SmartNow sandbox world and the store (empty = equal).

    `skip` names revenue transaction ids expected to be missing (quarantined on purpose).
    """
    diffs: list[str] = duplicate_keys(store, connection_id)
    diffs += _orders(store, connection_id, world, {str(s) for s in skip})
    diffs += _events(store, connection_id, world)
    diffs += _shifts(store, connection_id, world)
    diffs += _vouchers(store, connection_id, world)
    diffs += _lists(store, connection_id, world)
    return diffs
