"""The SmartNow world generator: `nl_vending` plus what only SmartNow knows (see
`smartnow_world` for the table shapes). Deterministic: one `random.Random` per seed."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from posbridge.sandboxes.smartnow_org import OrgMixin
from posbridge.sandboxes.smartnow_world import (
    EVENTS,
    METHODS,
    TZ_NAME,
    Row,
    SNWorld,
    cents,
    local_iso,
    utc_z,
)
from posbridge.sandboxes.smartnow_world import stamp as _stamp
from posbridge.sandboxes.world import World, generate_world

__all__ = ["generate_smartnow_world"]


class _Builder(OrgMixin):
    def __init__(self, base: World, seed: int) -> None:
        self.base, self.seed = base, seed
        self.rng = random.Random(f"smartnow:{seed}")
        self.tz = ZoneInfo(TZ_NAME)
        self.t: dict[str, dict[Any, Row]] = {}
        self.created = base.as_of.replace(tzinfo=self.tz) - timedelta(days=400)
        self.dates: dict[int, date] = {}

    def places(self) -> None:
        st = _stamp(self.created)
        towns = (
            ("Stationshal 2", "3511 CE", "Utrecht", "52.0894", "5.1101"),
            ("Wagnerlaan 55", "6815 AD", "Arnhem", "51.9988", "5.8906"),
            ("Kralingse Zoom 91", "3063 ND", "Rotterdam", "51.9174", "4.5250"),
        )
        for est in self.base.establishments:
            street, postcode, city, lat, lon = towns[(est.id - 1) % len(towns)]
            self.put(
                "location",
                {
                    "id": est.id,
                    "name": est.name,
                    "address": street,
                    "postcode": postcode,
                    "city": city,
                    "country": "NL",
                    "activeShift": None,
                    "latitude": lat,
                    "longitude": lon,
                    "placeId": f"ChIJ{hashlib.md5(est.name.encode()).hexdigest()[:12]}",
                    "timeZone": TZ_NAME,
                    "locationGroups": [1],
                    **st,
                },
            )
            self.put(
                "openinghours",
                {
                    "id": est.id,
                    "resource": "location",
                    "resourceId": est.id,
                    "hours": [
                        {"day": d, "startTime": "06:00:00", "endTime": "23:00:00"}
                        for d in range(1, 8)
                    ],
                },
            )
        self.put(
            "locationgroup",
            {
                "id": 1,
                "name": "Alle locaties",
                "locations": [e.id for e in self.base.establishments],
                **st,
            },
        )
        for dev in self.base.devices:
            mid = 79 + dev.id
            model = self.t["machinemodel"][(dev.id - 1) % 4 + 1]
            self.put(
                "machine",
                {
                    "id": mid,
                    "name": dev.name,
                    "hostname": f"sn-{mid:05d}",
                    "gateway": 1000 + mid,
                    "location": dev.establishment_id,
                    "machineModel": model["id"],
                    "machineType": model["machineType"],
                    "manufacturer": model["manufacturer"],
                    "lastRevenuetransaction": None,
                    "lastLog": None,
                    "lastIotevent": None,
                    "tag": f"T{mid}",
                    "notes": "",
                    "virtualPrices": 0,
                    "active": 1,
                    "currency": 1,
                    "debtor": None,
                    "logSynced": 1,
                    "revenuetransactionSynced": 1,
                    "ioteventSynced": 1,
                    "ruleSet": "default",
                    **st,
                    "lastSoldId": None,
                    "isManagedAssortment": 1,
                    "configState": "applied",
                    "transactionProfile": 1,
                    "hasSubscription": 1,
                    "machineGroups": [1 if model["machineType"] != 2 else 2],
                    "status": "online",
                },
            )
            self.put(
                "machineconfig",
                {
                    "id": mid,
                    "machine": mid,
                    "hostname": f"sn-{mid:05d}",
                    "name": dev.name,
                    "apn": "internet.kpn",
                    "config": "{}",
                    "sharing": "off",
                    "mode": "client",
                    "encryption": "psk2",
                    "encryptionKey": "",
                    "ssid": "vending",
                },
            )
        self.put(
            "machineconfigtemplate",
            {
                "id": 1,
                "name": "KPN 4G",
                "config": "{}",
                "mode": "client",
                "ssid": "",
                "encryption": "none",
                "encryptionKey": "",
                "apn": "internet.kpn",
                "sharing": "off",
            },
        )
        machines = list(self.t["machine"])
        self.put(
            "machinegroup",
            {
                "id": 1,
                "name": "Koffieautomaten",
                "machines": [m for m in machines if self.t["machine"][m]["machineGroups"] == [1]],
                **st,
            },
        )
        self.put(
            "machinegroup",
            {
                "id": 2,
                "name": "Snackautomaten",
                "machines": [m for m in machines if self.t["machine"][m]["machineGroups"] == [2]],
                **st,
            },
        )

    def assortment(self) -> dict[tuple[int, int], int]:
        st = _stamp(self.created)
        ids: dict[tuple[int, int], int] = {}
        pid = fid = xid = 1
        for mid in self.t["machine"]:
            for p in self.base.products.values():
                self.put(
                    "product",
                    {
                        "id": pid,
                        "name": p.name,
                        "plu": p.id,
                        "price": cents(p.price),
                        "barcode": p.barcode,
                        "machine": mid,
                        "reportName": p.name,
                        "remotePrice": cents(p.price),
                        "type": "product",
                        "vatrate": int(p.vat),
                        "ledger": "8000",
                        "subledger": f"80{p.category_id:02d}",
                        **st,
                    },
                )
                ids[(mid, p.id)] = pid
                pid += 1
            for s in self.base.subproducts.values():
                kind = "productflavour" if s.price == 0 else "productextra"
                rid = fid if kind == "productflavour" else xid
                self.put(
                    kind,
                    {
                        "id": rid,
                        "name": s.name,
                        "plu": 900 + s.id,
                        "price": str(cents(s.price)),
                        "barcode": None,
                        "machine": mid,
                        "reportName": s.name,
                        **st,
                    },
                )
                fid, xid = (fid + 1, xid) if kind == "productflavour" else (fid, xid + 1)
        return ids

    def sales(self, product_ids: dict[tuple[int, int], int]) -> None:
        rid = 3184001 + self.seed * 1000
        pay_id = 3287001 + self.seed * 1000
        base = self.base
        for order in base.orders:
            if order.is_return:
                continue
            mid = 79 + order.device_id
            machine = self.t["machine"][mid]
            method = METHODS.get(max(order.payments, key=lambda k: order.payments[k]), "card")
            moment = order.ordertime
            for line in order.lines:
                for _unit in range(int(abs(line.quantity))):
                    price = cents(line.price + sum((s.price for s in line.subs), Decimal(0)))
                    aware = moment.replace(tzinfo=self.tz)
                    unix = int(aware.timestamp())
                    pays = self._payments(price, method)
                    prod = base.products[line.product_id]
                    created = aware + timedelta(seconds=self.rng.randint(20, 400))
                    row = {
                        "id": rid,
                        "product": product_ids[(mid, line.product_id)],
                        "name": prod.name,
                        "internalRef": f"PLU-{prod.id}",
                        "machine": mid,
                        "location": machine["location"],
                        "occurredAt": local_iso(aware, self.tz),
                        "timeZone": TZ_NAME,
                        "originalPrice": price,
                        "price": price,
                        "barcode": prod.barcode or None,
                        "currency": "EUR",
                        "timestamp": unix,
                        "token": "^^C:R/-0" if "token" in dict(pays) else "",
                        "salestype": 0,
                        "numPaymentTransactions": len(pays),
                        "remote": 40314001 + rid % 100000,
                        "pricelist": 0,
                        "usergroup": 1,
                        **_stamp(created),
                    }
                    self.put("revenuetransaction", row)
                    self.dates[rid] = base.business_date(moment)
                    for meth, amount in pays:
                        self.put(
                            "paymenttransaction",
                            {
                                "id": pay_id,
                                "revenuetransaction": rid,
                                "machine": mid,
                                "location": machine["location"],
                                "occurredAt": row["occurredAt"],
                                "timeZone": TZ_NAME,
                                "method": meth,
                                "type": meth,
                                "price": amount,
                                "currency": "EUR",
                                "exclude": 0,
                                "reportGroup": "A" if meth in ("cash", "card") else None,
                                **_stamp(created),
                            },
                        )
                        pay_id += 1
                    machine["lastRevenuetransaction"] = rid
                    machine["lastSoldId"] = row["remote"]
                    rid += 1
                    moment += timedelta(seconds=25)

    def _payments(self, price: int, method: str) -> list[tuple[str, int]]:
        """One payment, or a voucher code part plus the rest; some card vends paid by app."""
        if method == "card" and self.rng.random() < 0.15:
            method = "virtual"
        if price >= 100 and self.rng.random() < 0.08:
            part = self.rng.choice((50, 100)) if price > 100 else 50
            return [("code", part), (method if method != "code" else "card", price - part)]
        return [(method, price)]

    def shifts(self) -> None:
        by_loc: dict[int, list[Row]] = {}
        for row in self.t.get("revenuetransaction", {}).values():
            by_loc.setdefault(row["location"], []).append(row)
        last_day = max(self.dates.values(), default=self.base.as_of.date())
        sid = 1
        closings: list[tuple[datetime, int, date, list[Row]]] = []
        for loc, rows in sorted(by_loc.items()):
            days: dict[date, list[Row]] = {}
            for r in rows:
                days.setdefault(self.dates[r["id"]], []).append(r)
            for day, txs in sorted(days.items()):
                close = datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(
                    hour=self.base.business_day_start_hour - 1, minute=loc * 5
                )
                closings.append((close, loc, day, txs))
        prev: dict[int, int | None] = {}
        for close, loc, day, txs in sorted(closings, key=lambda c: (c[0], c[1])):
            is_open = day == last_day
            aware = close.replace(tzinfo=self.tz)
            opened = datetime.combine(day, datetime.min.time()).replace(
                hour=self.base.business_day_start_hour, tzinfo=self.tz
            )
            row = {
                "id": sid,
                "location": loc,
                "firstTransaction": txs[0]["id"],
                "lastTransaction": None if is_open else txs[-1]["id"],
                "previousShift": prev.get(loc),
                "closed": None if is_open else utc_z(aware),
                "createdAt": utc_z(opened),
                "updatedAt": utc_z(opened if is_open else aware),
            }
            self.put("shift", row)
            prev[loc] = sid
            if is_open:
                self.t["location"][loc]["activeShift"] = sid
            sid += 1

    def logs(self) -> None:
        lid = 5801001 + self.seed * 1000
        start = min(self.dates.values(), default=self.base.as_of.date())
        end = self.base.as_of.date()
        events = []
        for mid, machine in self.t["machine"].items():
            day = start
            while day < end:
                for code, chance in (
                    ("CM_REBOOT", 0.3),
                    ("CM_OFFLINE", 0.35),
                    ("ED014", 0.2),
                    ("ED017", 0.25),
                ):
                    if self.rng.random() < chance:
                        at = datetime.combine(day, datetime.min.time()) + timedelta(
                            seconds=self.rng.randint(6 * 3600, 22 * 3600)
                        )
                        events.append((at, mid, machine["location"], code))
                day += timedelta(days=1)
        events.sort()
        open_left = dict.fromkeys(self.t["machine"], 1)
        for at, mid, loc, code in reversed(events):  # the newest offline/error may be open
            events_open = (
                code != "CM_REBOOT" and open_left.get(mid, 0) > 0 and self.rng.random() < 0.5
            )
            if events_open:
                open_left[mid] = 0
            self._log_rows(at, mid, loc, code, events_open, lid + len(events))
            lid -= 1
        self.t["log"] = dict(sorted(self.t.get("log", {}).items()))
        for row in self.t["log"].values():
            self.t["machine"][row["machine"]]["lastLog"] = row["id"]

    def _log_rows(
        self, at: datetime, mid: int, loc: int, code: str, is_open: bool, lid: int
    ) -> None:
        ident, typ, _text = EVENTS[code]
        aware = at.replace(tzinfo=self.tz)
        unix = int(aware.timestamp())
        resolvable = code != "CM_REBOOT"
        duration = None if not resolvable or is_open else self.rng.randint(60, 7200)
        extra = (
            {"uptime": self.rng.randint(30, 900)}
            if code == "CM_REBOOT"
            else {"signal": self.rng.randint(5, 31)}
        )
        self.put(
            "log",
            {
                "id": lid,
                "remote": 89773001 + lid % 100000,
                "machine": mid,
                "location": loc,
                "code": code,
                "errorIdentity": ident,
                "type": typ,
                "isResolvable": resolvable,
                "occurredAt": local_iso(aware, self.tz),
                "timeZone": TZ_NAME,
                "duration": duration,
                "extraData": json.dumps(extra),
                "date": unix,
                "timestamp": unix,
                "resolvedAt": utc_z(aware + timedelta(seconds=duration)) if duration else None,
                "state": None if not resolvable else ("active" if is_open else "resolved"),
                "createdAt": utc_z(aware + timedelta(seconds=1)),
            },
        )


def generate_smartnow_world(
    *, seed: int = 1, days: int = 28, orders_per_day: int = 120, end_date: date = date(2026, 11, 1)
) -> SNWorld:
    """The SmartNow account of the `nl_vending` world of `seed` (deterministic)."""
    base = generate_world(
        "nl_vending", seed=seed, days=days, orders_per_day=orders_per_day, end_date=end_date
    )
    b = _Builder(base, seed)
    b.org()
    b.places()
    ids = b.assortment()
    b.sales(ids)
    b.shifts()
    b.logs()
    b.vouchers()
    for model in ("revenuetransaction", "paymenttransaction", "voucher"):
        b.t.setdefault(model, {})
    secret = hashlib.sha256(f"smartnow-sandbox:{seed}".encode()).hexdigest()
    return SNWorld(
        seed=seed,
        timezone=TZ_NAME,
        as_of=base.as_of,
        username=base.users[0].username + "@automaten.example.nl",
        password="Sn!" + secret[:13],
        tables=b.t,
        business_dates=b.dates,
    )
