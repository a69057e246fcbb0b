"""What a data engineer writes instead of posbridge: each vendor's orders pulled page by page.

`pages(vendor, base_url, credentials, options)` walks the same endpoints with the same
page sizes as posbridge's orders stream and yields `(table, body)` per response; `records`
picks the list of records out of a body. `dlt_source` wraps both as one dlt resource
(tables named per page, nested lists unnested by dlt); `bench_vendors.py` also times a bare
decode + SQLite write over the captured bodies (the physical limit). Auth comes from each
connector's `wire.py` (an `httpx.Auth`): the few lines a data engineer would write anyway.
No mapping, no Decimal money, no raw retention, no quarantine: that is the point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

#: order documents of WService (VEN/VEA/VES/BIL receipts), per docs/wservice-wire.md
WSERVICE_ORDER_TYPES = frozenset({"VEN", "VEA", "VES", "BIL"})

_decode = msgspec.json.decode


def pages(
    vendor: str, base_url: str, credentials: Mapping[str, str], options: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    """Every orders response of `vendor` as `(table, body)`, in request order."""
    walkers = {
        "cloudpos": _cloudpos,
        "avapos": _avapos,
        "icash": _icash,
        "smartnow": _smartnow,
        "wservice": _wservice,
    }
    return walkers[vendor](base_url, credentials, options)


def records(vendor: str, body: bytes) -> list[dict[str, Any]]:
    """The records of one response body (plain JSON decode, floats stay floats)."""
    return pick(vendor, _decode(body))


def pick(vendor: str, doc: Any) -> list[dict[str, Any]]:
    """The records of one decoded response."""
    if vendor == "cloudpos":
        return list(doc.get("data") or []) if isinstance(doc, dict) else []
    if vendor == "avapos":
        return list(doc.get("Facturas") or []) if isinstance(doc, dict) else []
    if vendor == "icash":
        return list(doc["data"]["Data"])
    if vendor == "smartnow":
        return list(doc)
    found = list(doc.get("documents") or [])
    return [d for d in found if d.get("documenttype") in WSERVICE_ORDER_TYPES]


def _client(auth: httpx.Auth | None = None) -> httpx.Client:
    return httpx.Client(auth=auth, timeout=60)


def _cloudpos(
    base: str, creds: Mapping[str, str], opt: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    from posbridge.connectors.cloudpos.wire import CloudPOSAuth

    size = int(opt["page_size"])
    with _client(CloudPOSAuth(creds["licname"], creds["token"])) as http:
        zreports = _decode(http.get(base + "?get-zreports").content).get("data") or []
        start = min(int(z["startticket"]) for z in zreports)
        while True:
            end = start + size - 1
            body = http.get(f"{base}?get-orders&start={start}&end={end}").content
            yield "orders", body
            found = records("cloudpos", body)
            if not found or max(int(r["id"]) for r in found) < end:
                return
            start = end + 1


def _avapos(
    base: str, creds: Mapping[str, str], opt: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    from posbridge.connectors.avapos.wire import AvaPOSAuth

    today = datetime.now(ZoneInfo("America/Guayaquil")).date()
    start: date = today - timedelta(days=int(opt["history_days"]))
    window = timedelta(days=int(opt["window_days"]))
    with _client(AvaPOSAuth(creds["key"])) as http:
        while start <= today:
            stop = min(today, start + window - timedelta(days=1))
            data = json.dumps({"desde": start.isoformat(), "hasta": stop.isoformat()})
            params = {"action": "get", "typedata": "facturas", "data": data}
            yield "facturas", http.get(base, params=params).content
            start = stop + timedelta(days=1)


def _icash(
    base: str, creds: Mapping[str, str], opt: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    from posbridge.connectors.icash.wire import ICashAuth, LocalCounters, Nonces, nonce_scope

    # one short-lived client: a process-local counter (the sandbox forgets nonces per case)
    nonces = Nonces(LocalCounters(), nonce_scope(creds["api_key"], creds["warehouse_id"]))
    auth = ICashAuth(
        creds["api_key"], creds["secret_key"], creds["warehouse_id"], creds["user_id"], nonces
    )
    fields = {
        "OperationType": "Sell,ReturnClient",
        "OperationStatus": "NORMAL",
        "sort": "OperationCompleteDate",
        "order": "ASC",
        "count": "100",
    }
    offset = 0
    with _client(auth) as http:
        while True:
            body = http.post(
                base + "operations-list", data={**fields, "offset": str(offset)}
            ).content
            yield "operations", body
            data = _decode(body)["data"]
            offset += len(data["Data"])
            if not data["Data"] or offset >= int(data["TotalRecords"]):
                return


def _smartnow(
    base: str, creds: Mapping[str, str], opt: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    from posbridge.connectors.smartnow.routes import path
    from posbridge.connectors.smartnow.wire import SmartNowAuth

    with _client(SmartNowAuth(httpx.URL(base), creds["username"], creds["password"])) as http:
        for table, route in (
            ("revenuetransactions", "revenuetransaction.list"),
            ("paymenttransactions", "paymenttransaction.list"),
        ):
            url, after = base + path(route).lstrip("/"), 0
            while True:
                params = [
                    ("where[id][>]", str(after)),
                    ("sort", "id ASC"),
                    ("limit", "100"),
                    ("useArchive", "true"),
                ]
                body = http.get(url, params=params).content
                yield table, body
                found = records("smartnow", body)
                if len(found) < 100:
                    break
                after = int(found[-1]["id"])


def _wservice(
    base: str, creds: Mapping[str, str], opt: Mapping[str, Any]
) -> Iterator[tuple[str, bytes]]:
    from posbridge.connectors.wservice.wire import WServiceAuth

    idm, misses = 0, 0
    with _client(WServiceAuth(creds["user"], creds["password"], renew_after=1500)) as http:
        while misses < int(opt["miss_limit"]):
            idm += 1
            body = http.get(base + "documents", params={"iddocument": idm}).content
            if _decode(body).get("documents"):
                misses = 0
                yield "documents", body
            else:
                misses += 1


def dlt_source(
    vendor: str, base_url: str, credentials: Mapping[str, str], options: Mapping[str, Any]
) -> Any:
    """One dlt resource over `pages`: each page's records go to their table, nested lists
    become child tables (`orders__lines`-style), append only."""
    import dlt

    @dlt.resource(name=vendor, write_disposition="append")
    def orders() -> Iterator[Any]:
        for table, body in pages(vendor, base_url, credentials, options):
            found = records(vendor, body)
            if found:
                yield dlt.mark.with_table_name(found, table)

    return orders
