"""CloudPOS API v1 on the wire: auth, the function flag, the envelope and its errors.

Envelope and formats follow docs/cloudpos-wire.md. Records are kept as the exact bytes
the vendor sent (`msgspec.Raw`), so the store's `raw` column is lossless and the
record decode happens once, page at a time.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import msgspec

from posbridge.connectors.http import RequestBudget, server_now
from posbridge.errors import (
    AuthError,
    LockedOut,
    MalformedResponse,
    NotLicensed,
    PosbridgeError,
    QuotaExhausted,
    VendorError,
    VendorValidationError,
)

__all__ = [
    "ERRORS",
    "CloudPOSAuth",
    "Envelope",
    "ListEnvelope",
    "ListResult",
    "decode_envelope",
    "decode_record",
    "decode_records",
]

TIMEZONE = ZoneInfo("Europe/Brussels")

#: vendor error code → taxonomy class (vendor doc: "Error" lines). 2000 is "no records".
ERRORS: dict[int, type[PosbridgeError]] = {
    1001: AuthError,  # Token and name can not be empty
    1002: AuthError,  # Token or name not valid
    1003: QuotaExhausted,  # Limit of '500' requests per day reached, next request possible ...
    1004: LockedOut,  # 5 bad logins reached, your ip adress is blocked till ...
    1005: NotLicensed,  # No license for this module
    **dict.fromkeys(range(2001, 2009), VendorValidationError),
}
NO_RECORDS = 2000
_STATED_TIME = re.compile(r"'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})'")


class Envelope(msgspec.Struct):
    """The outer JSON of every answer; `data` stays raw until a page is decoded."""

    success: int | str | None = None
    errorcode: int | str | None = None
    error_code: int | str | None = None
    message: str | None = None
    data: msgspec.Raw = msgspec.Raw()


class ListEnvelope(msgspec.Struct):
    """The common case, decoded in one pass: `data` is a list of raw records."""

    success: int | str | None = None
    errorcode: int | str | None = None
    error_code: int | str | None = None
    message: str | None = None
    data: list[msgspec.Raw] | None = None


_envelope = msgspec.json.Decoder(Envelope)
_list_envelope = msgspec.json.Decoder(ListEnvelope)
_record = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
#: a whole answer as a dict (write responses: id, modtime, persons, ...)
decode_fields = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal).decode


def decode_record(raw: bytes) -> dict[str, Any]:
    """One record's exact bytes → dict (decimals never become floats); used by workers."""
    record: dict[str, Any] = _record.decode(raw)
    return record


class CloudPOSAuth(httpx.Auth):
    """Puts `licname` and `token` first in the query; the function flag stays bare."""

    def __init__(self, licname: str, token: str) -> None:
        self._prefix = f"licname={quote(licname, safe='')}&token={quote(token, safe='')}".encode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        query = request.url.query
        request.url = request.url.copy_with(query=self._prefix + (b"&" + query if query else b""))
        yield request


class ListResult(msgspec.Struct):
    """A decoded list answer: records as dicts and their exact raw bytes."""

    records: list[dict[str, Any]]
    raw: list[bytes]


def _stated_time(message: str, response: httpx.Response, clock: datetime) -> datetime | None:
    """The vendor's 'next request possible' local time, re-based on our clock.

    The stated time is on the vendor's clock; the `Date` header tells us its now, so the
    wait survives a skewed local clock.
    """
    match = _STATED_TIME.search(message)
    if not match:
        return None
    stated = datetime.fromisoformat(match.group(1)).replace(tzinfo=TIMEZONE).astimezone(UTC)
    vendor_now = server_now(response) or clock
    return clock + max(timedelta(0), stated - vendor_now) + timedelta(seconds=1)


def decode_envelope(
    response: httpx.Response, budget: RequestBudget | None = None
) -> Envelope | ListEnvelope:
    """Parse the envelope or raise the taxonomy error for its `errorcode`."""
    body = response.content
    if response.status_code >= 400:
        raise VendorError(
            f"cloudpos: HTTP {response.status_code}", http_status=response.status_code
        )
    try:
        try:
            env: Envelope | ListEnvelope = _list_envelope.decode(body)
        except msgspec.ValidationError:  # `data` is an object (get-xreport): the general shape
            env = _envelope.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"cloudpos: response is not the documented JSON ({exc})", body=body
        ) from None
    code_value = env.errorcode if env.errorcode is not None else env.error_code
    if str(env.success) == "1" and code_value in (None, 0, "0"):
        return env
    if code_value is None:
        raise MalformedResponse("cloudpos: answer has neither success nor errorcode", body=body)
    code = int(code_value)
    message = env.message or ""
    if code == NO_RECORDS:
        return ListEnvelope(success=0, errorcode=code, message=message, data=None)
    cls = ERRORS.get(code, VendorError)
    text = f"cloudpos error {code}: {message}".rstrip(": ")
    kw: dict[str, Any] = {"vendor": "cloudpos", "vendor_code": code, "vendor_message": message}
    now = budget.clock() if budget is not None else datetime.now(UTC)
    if cls is QuotaExhausted:
        reset_at = _stated_time(message, response, now)
        if budget is not None:
            budget.exhaust(reset_at)
        raise QuotaExhausted(text, reset_at=reset_at, **kw)
    if cls is LockedOut:
        raise LockedOut(text, until=_stated_time(message, response, now), **kw)
    raise cls(text, **kw)


class _Ids(msgspec.Struct):
    id: Any = None
    dbid: Any = None


_ids = msgspec.json.Decoder(_Ids)


def top_id(raws: list[bytes], key: str) -> int:
    """The highest numeric `key` ("id" or "dbid") among raw records, without full decoding."""
    top = 0
    for raw in raws:
        value = getattr(_ids.decode(raw), key)
        try:
            top = max(top, int(value))
        except (TypeError, ValueError):
            continue
    return top


def raw_records(env: Envelope | ListEnvelope) -> list[bytes]:
    """The exact bytes of each record of a list answer (decoding left to the engine)."""
    data = env.data
    if data is None:
        return []
    try:
        if isinstance(data, list):
            return [bytes(item) for item in data]
        body = bytes(data).strip()
        if not body or body == b"null":
            return []
        return [bytes(i) for i in _raw_list.decode(body)] if body[:1] == b"[" else [body]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(f"cloudpos: data is not a list of records ({exc})") from None


def decode_records(env: Envelope | ListEnvelope) -> ListResult:
    """Decode the records of a list answer one by one, keeping each one's exact bytes."""
    data = env.data
    if data is None:
        return ListResult([], [])
    try:
        if isinstance(data, list):
            items = data
        else:
            body = bytes(data).strip()
            if not body or body == b"null":
                return ListResult([], [])
            items = _raw_list.decode(body) if body[:1] == b"[" else [data]
        raws = [bytes(item) for item in items]
        records = [_record.decode(raw) for raw in raws]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(f"cloudpos: a record is not a JSON object ({exc})") from None
    return ListResult(records, raws)


def form_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """Render write fields as form values; arrays travel as a JSON string field."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (list, dict)):
            out[key] = msgspec.json.encode(value).decode()
        elif isinstance(value, bool):
            out[key] = "1" if value else "0"
        else:
            out[key] = str(value)
    return out
