"""The configuration side of a SmartNow world: languages, user groups and users, machine
manufacturers/types/models, error profiles and codes, alerting, reports and charts,
widgets, images, translations, integrations, campaigns and vouchers."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from posbridge.sandboxes.smartnow_world import EVENTS, TZ_NAME, voucher_row
from posbridge.sandboxes.smartnow_world import stamp as _stamp
from posbridge.sandboxes.world import World

__all__ = ["OrgMixin", "voucher_id"]


def voucher_id(seed: int, n: int) -> str:
    """A generated voucher's string id (24 hex digits, like the vendor's)."""
    return hashlib.sha256(f"smartnow-voucher:{seed}:{n}".encode()).hexdigest()[:24]


class OrgMixin:
    """Builds the configuration tables; the world builder supplies the state below."""

    base: World
    seed: int
    rng: random.Random
    created: datetime
    t: dict[str, dict[Any, dict[str, Any]]]

    def put(self, model: str, row: dict[str, Any]) -> dict[str, Any]:
        self.t.setdefault(model, {})[row["id"]] = row
        return row

    def org(self) -> None:
        st = _stamp(self.created)
        self.put(
            "language", {"id": 1, "name": "Nederlands", "language": "nl", "locale": "nl_NL", **st}
        )
        self.put(
            "language", {"id": 2, "name": "English", "language": "en", "locale": "en_GB", **st}
        )
        self.put(
            "usergroup",
            {
                "id": 1,
                "name": "Automatenexploitant",
                "parent": None,
                "admin": 1,
                **st,
                "disabledAt": None,
                "deleted": False,
            },
        )
        self.put(
            "usergroup",
            {
                "id": 2,
                "name": "Servicemonteurs",
                "parent": 1,
                "admin": 0,
                **st,
                "disabledAt": None,
                "deleted": False,
            },
        )
        for u in self.base.users:
            self.put(
                "user",
                {
                    "id": u.id,
                    "username": u.username,
                    "email": f"{u.username}@automaten.example.nl",
                    "language": 1,
                    "userGroup": 1 if u.admin else 2,
                    **st,
                    "emailConfirmed": 1,
                    "disabledAt": None,
                    "password_expires": "2027-06-30T00:00:00Z",
                },
            )
        for i, (name, country) in enumerate(
            (("Necta", "IT"), ("Azkoyen", "ES"), ("Wittenborg", "DK")), 1
        ):
            self.put(
                "manufacturer",
                {"id": i, "name": name, "country": country, "machineTypes": [1, 2, 3], **st},
            )
        for i, name in enumerate(("Warme dranken", "Snacks", "Combi"), 1):
            self.put("machinetype", {"id": i, "name": name, **st})
        for i, (name, man, typ) in enumerate(
            (("Kikko Max", 1, 1), ("Vitro S5", 2, 1), ("Spiral 6000", 3, 2), ("Combo 2", 1, 3)), 1
        ):
            self.put(
                "errorprofile",
                {"id": i, "name": f"{name} fouten", "machineType": typ, "manufacturer": man, **st},
            )
            self.put(
                "machinemodel",
                {
                    "id": i,
                    "name": name,
                    "manufacturer": man,
                    "machineType": typ,
                    "errorProfile": i,
                    "image": None,
                    "userGroup": 1,
                    **st,
                },
            )
        for code, (ident, _typ, text) in EVENTS.items():
            self.put("erroridentity", {"id": ident, "machineType": 1, "error": code, **st})
            self.put(
                "errorcode",
                {
                    "id": ident,
                    "errorIdentity": ident,
                    "errorProfile": 1,
                    "code": code,
                    "description": text,
                    **st,
                },
            )
        self.put(
            "transactionprofile",
            {
                "id": 1,
                "reportRule": "first_letter",
                "paymentTypesMap": {
                    "cash": "cash",
                    "card": "card",
                    "code": "code",
                    "virtual": "virtual",
                    "token": "token",
                },
                **st,
            },
        )
        self.put("alertgroup", {"id": 1, "name": "Storingsdienst", "userGroup": 1, **st})
        self.put(
            "alertrecipient",
            {
                "id": 1,
                "name": "Storingsdienst",
                "email": "storing@automaten.example.nl",
                "alertGroup": 1,
                "language": 1,
                "active": 1,
                "userGroup": 1,
                **st,
            },
        )
        self.put(
            "alertobserver",
            {
                "id": 1,
                "name": "Automaat offline > 1 uur",
                "error": 1,
                "observer": "non_resolution",
                "occurs": 1,
                "timer": 60,
                "timerType": 1,
                "alertGroup": 1,
                "sentAt": None,
                "type": "event",
                "paymentMethod": None,
                "openingHours": 1,
                "userGroup": 1,
                "status": "ok",
                "machines": [],
                **st,
            },
        )
        self.put(
            "charttemplate",
            {
                "id": 1,
                "type": "revenue_full",
                "criteria": {
                    "select": [{"expr": "price", "op": "sum", "as": "revenue"}],
                    "from": "revenuetransaction",
                    "where": [],
                    "orderBy": [],
                    "timeFrames": [],
                },
                "createAt": st["createdAt"],
                "updateAt": st["createdAt"],
            },
        )
        self.put("userreport", {"id": 1, "name": "Weekomzet", "user": 1, **st})
        self.put(
            "chart",
            {
                "id": 1,
                "name": "Omzet",
                "type": "revenue_full",
                "criteria": self.t["charttemplate"][1]["criteria"],
                "report": 1,
                "reportType": "user",
                "view": "table",
                "position": 0,
                "createAt": st["createdAt"],
                "updateAt": st["createdAt"],
            },
        )
        self.put("dashboard", {"id": 1, "name": "Overzicht", "user": 1, **st})
        self.put(
            "widget",
            {
                "id": 1,
                "name": "Omzet vandaag",
                "widgetType": 1,
                "dashboard": 1,
                "settings": "{}",
                **st,
            },
        )
        self.put(
            "image",
            {
                "id": 1,
                "thumbnail": "https://img.example.nl/t/1.png",
                "original": "https://img.example.nl/o/1.png",
                **st,
            },
        )
        self.put(
            "translation",
            {"id": 1, "key": "CM_OFFLINE", "language": 1, "value": "Automaat offline", **st},
        )
        self.put(
            "report",
            {
                "id": 1,
                "name": "Maandrapport",
                "user": 1,
                "period1": {
                    "startDate": "2026-10-01 00:00:00",
                    "endDate": "2026-10-31 23:59:59",
                    "type": "fixed date",
                },
                "period2": None,
                "locationGroup": [],
                "locations": [],
                "machineGroups": [],
                "machines": [],
                "manufacturers": [],
                "machineTypes": [],
                "machineModels": [],
                **st,
            },
        )
        self.put(
            "integration",
            {
                "id": 1,
                "type": "httptransactions",
                "active": True,
                "state": "idle",
                "throttle": 0,
                "maxRetries": 3,
                "retryThrottle": 60,
                "stopOnFailure": False,
                "url": "https://erp.example.nl/smartnow",
                "lastFailure": None,
                **st,
            },
        )

    def vouchers(self) -> None:
        st = _stamp(self.created + timedelta(days=300))
        n = 0
        for cid, (name, typ, value, count) in enumerate(
            (("Gratis koffie", "discount", 180, 6), ("Cadeaubon 10 euro", "gift", 1000, 4)), 1
        ):
            self.put(
                "campaign",
                {
                    "id": cid,
                    "name": name,
                    "totalVouchers": count,
                    "type": typ,
                    "valueType": "cents",
                    "voucherValue": value,
                    "redemptionLimit": 1 if typ == "discount" else 0,
                    "resetFrequency": "never",
                    "expiresOn": "2027-12-31",
                    "currency": "EUR",
                    "timeZone": TZ_NAME,
                    "status": "active",
                    "prefix": f"C{cid}",
                    "ownerId": 1,
                    "ownerData": "",
                    "voucherText1": name,
                    "voucherText2": "",
                    "voucherText3": "",
                    "voucherText4": "",
                    "voucherStyle": "",
                    "campaignstats": 0,
                    "lastResetAt": None,
                    "vouchersPdfStatus": "empty",
                    "vouchersPdfUrl": None,
                    "voucherLogoImg": None,
                    "validationRules": [],
                    **st,
                },
            )
            for _ in range(count):
                n += 1
                code = f"C{cid}-{self.rng.randrange(16**6):06X}"
                self.put(
                    "voucher",
                    voucher_row(
                        voucher_id(self.seed, n), code, cid, typ, value, "EUR", st["createdAt"]
                    ),
                )
