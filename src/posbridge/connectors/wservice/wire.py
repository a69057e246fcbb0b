"""WService on the wire: the `ResponseRequest`/`SuccessStatus` envelope and its errors.

Numbers are decoded as `Decimal` (never float). A record list is split into each
record's exact bytes with `msgspec.Raw`, so the raw payload is kept byte for byte.
Refusals (INFERRED shape, docs/wservice-wire.md) are `SuccessStatus: false` with the
message in `Data`: a login refusal is an `AuthError`, a session refusal `SessionRefused`
(the connector logs in again and repeats the call once), anything else a validation error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec

from posbridge.errors import AuthError, MalformedResponse, VendorError, VendorValidationError

__all__ = ["SessionRefused", "decode_envelope", "decode_record", "decode_records"]

_record = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
_raw_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
SESSION_WORDS = ("session", "sessione")


class SessionRefused(VendorError):
    """The SessionCode is unknown or expired (30 min idle, or a newer login of the user)."""


def decode_record(raw: bytes) -> dict[str, Any]:
    """One record's exact bytes → dict with Decimal numbers."""
    record: dict[str, Any] = _record.decode(raw)
    return record


def _fields(response: httpx.Response) -> dict[str, msgspec.Raw]:
    try:
        fields = _raw_fields.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"wservice: HTTP {response.status_code}, not the documented JSON ({exc})",
            body=response.content,
        ) from None
    status = fields.get("SuccessStatus")
    if status is None:
        raise MalformedResponse("wservice: answer without SuccessStatus", body=response.content)
    if bytes(status) != b"true":
        data = fields.get("Data")
        message = str(msgspec.json.decode(bytes(data))) if data is not None else ""
        request = str(msgspec.json.decode(bytes(fields.get("ResponseRequest", b'""'))))
        low = message.lower()
        if request == "login":
            raise AuthError(f"wservice: login refused ({message})", vendor_message=message)
        if any(word in low for word in SESSION_WORDS):
            raise SessionRefused(f"wservice: {message}", vendor_message=message)
        cls = VendorValidationError if response.status_code < 500 else VendorError
        raise cls(f"wservice: {message or 'refused'}", vendor_message=message)
    return fields


def decode_envelope(response: httpx.Response) -> dict[str, Any]:
    """A successful answer as a dict (numbers as Decimal); refusals raised."""
    _fields(response)
    return decode_record(response.content)


def decode_records(response: httpx.Response, key: str) -> list[bytes]:
    """The exact bytes of each record of the list `key` of a successful answer."""
    fields = _fields(response)
    raw = fields.get(key)
    if raw is None:
        raise MalformedResponse(f"wservice: answer without {key!r}", body=response.content)
    return [bytes(item) for item in _raw_list.decode(bytes(raw))]
