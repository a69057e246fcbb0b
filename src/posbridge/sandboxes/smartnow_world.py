"""The SmartNow world: a Dutch vending operator as SmartNow's backend keeps it.

Built from the shared `nl_vending` world (`sandboxes/world.py`): its establishments become
locations, its devices machines, its catalogue a per-machine assortment (products,
flavours = free options, extras = paid options) and every unit of every sale one revenue
transaction with its payment transactions (cash, card, code, virtual, token; a few are
split). SmartNow-only things are derived from the seed with one `random.Random`: machine
models/types/manufacturers/groups, IoT logs (CM_REBOOT, CM_OFFLINE, ED0xx with durations
and resolution), one shift per location and business day (the last one still open),
voucher campaigns and vouchers, and the small configuration resources.

Every table holds rows exactly as the wire shows them (booleans 0/1, money in integer
cents, `occurredAt` local with offset + `timeZone`, `createdAt` UTC `Z`, unix
`timestamp`), so the sandbox serves, filters and sorts them without conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["SNWorld", "cents", "local_iso", "stamp", "utc_z", "voucher_row"]

Row = dict[str, Any]
TZ_NAME = "Europe/Amsterdam"
#: world payment key → SmartNow payment method
METHODS = {
    "cash": "cash",
    "bancontact": "card",
    "visa": "card",
    "mastercard": "card",
    "americanexpress": "card",
    "voucher": "code",
    "chargecard": "token",
    "luncheoncard": "virtual",
    "transfer": "virtual",
}
#: log code → (errorIdentity, type, translated text)
EVENTS = {
    "CM_OFFLINE": (1, 2, "Machine offline"),
    "CM_REBOOT": (3, 1, "Machine rebooted"),
    "ED014": (31, 3, "Muntmechanisme storing"),
    "ED017": (34, 3, "Bekervoorraad leeg"),
}


def cents(amount: Decimal) -> int:
    """Euros → integer cents (half up)."""
    return int((amount * 100).quantize(Decimal(1), ROUND_HALF_UP))


def local_iso(moment: datetime, tz: ZoneInfo) -> str:
    """`2019-02-06T07:06:17+01:00`: the local wall time with its offset."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    return aware.astimezone(tz).isoformat(timespec="seconds")


def utc_z(moment: datetime) -> str:
    """`2019-02-06T06:12:16Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class SNWorld:
    """One SmartNow account: wire-shaped tables plus what the sandbox needs besides."""

    seed: int
    timezone: str
    as_of: datetime  # naive local
    username: str
    password: str
    tables: dict[str, dict[Any, Row]]
    archive_days: int = 14
    next_ids: dict[str, int] = field(default_factory=dict)
    opening_hours: dict[tuple[str, int], list[Row]] = field(default_factory=dict)
    #: business date of each revenue transaction id (for the oracle and reports)
    business_dates: dict[int, date] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def table(self, model: str) -> dict[Any, Row]:
        return self.tables.setdefault(model, {})

    def new_id(self, model: str) -> int:
        """The next integer id of `model` (above every id it holds)."""
        rows = self.table(model)
        current = (
            self.next_ids.get(model) or max((k for k in rows if isinstance(k, int)), default=0) + 1
        )
        self.next_ids[model] = current + 1
        return current

    def archive_cutoff(self) -> int:
        """Unix time before which transactions and logs live in the archive."""
        return int(
            (self.as_of - timedelta(days=self.archive_days)).replace(tzinfo=self.tz).timestamp()
        )


def voucher_row(
    vid: str,
    code: str,
    campaign: int,
    typ: str,
    value: int,
    currency: str,
    at: str,
    *,
    redemption_limit: int = 1,
    expires: str | None = "2027-12-31",
) -> Row:
    """A fresh voucher as the wire shows it."""
    return {
        "id": vid,
        "code": code,
        "campaign": campaign,
        "type": typ,
        "value": value,
        "valueType": "cents",
        "currency": currency,
        "initialValue": value,
        "redemptionLimit": redemption_limit,
        "redemptionCount": 0,
        "totalRedemptionCount": 0,
        "lastRedemptionAt": None,
        "lastRedemptionLocation": None,
        "prefix": code.split("-")[0],
        "resetFrequency": "never",
        "lastResetAt": None,
        "expiresOn": expires,
        "timeZone": TZ_NAME,
        "lockOwner": None,
        "lockedTill": None,
        "status": "active",
        "amountRedeemed": 0,
        "totalAmountRedeemed": 0,
        "balance": value if typ == "gift" else 0,
        "text1": "",
        "text2": "",
        "text3": "",
        "text4": "",
        "logoImg": None,
        "pdfStatus": "empty",
        "style": "",
        "pdfUrl": None,
        "voucherComments": "",
        "validationRules": [],
        "createdAt": at,
        "updatedAt": at,
    }


def stamp(moment: datetime) -> dict[str, str]:
    """`createdAt`/`updatedAt` of one moment."""
    z = utc_z(moment)
    return {"createdAt": z, "updatedAt": z}
