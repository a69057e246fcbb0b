"""AvaPOS on the wire: the APIKEY in the query, JSON list answers, plain-text errors.

A `get` answers a JSON object keyed by the list name (`Facturas`, `Productos`, ...); a
`create`/`set` answers the bare id as text; any failure is a plain-text string (no JSON,
no code). The texts the sandbox uses, and how they map to the taxonomy, are in
docs/avapos-wire.md; an unknown text is a `VendorError`.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from posbridge.errors import (
    AuthError,
    MalformedResponse,
    PosbridgeError,
    VendorError,
    VendorValidationError,
)

__all__ = [
    "ERRORS",
    "AvaPOSAuth",
    "WriteError",
    "decode_list",
    "decode_record",
    "decode_write",
    "raise_text_error",
]

#: plain-text error fragment (lower case) → taxonomy class; first match wins.
ERRORS: tuple[tuple[str, type[PosbridgeError]], ...] = (
    ("apikey", AuthError),
    ("acción no permitida", VendorError),
    ("typedata no permitido", VendorError),
    ("no es un json", VendorValidationError),
    ("identificación no válida", VendorValidationError),
    ("ya existe", VendorValidationError),
    ("no encontrado", VendorValidationError),
    ("no cuadra", VendorValidationError),
    ("faltan", VendorValidationError),
    ("fecha", VendorValidationError),
    ("no es un número", VendorValidationError),
)
_ID = re.compile(r"[0-9A-Za-z]{1,20}")
_record = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
_lists = msgspec.json.Decoder(dict[str, list[msgspec.Raw]])
_any = msgspec.json.Decoder()


class WriteError(VendorValidationError):
    """A create/set refused with a plain-text message (kept verbatim in `vendor_message`)."""


def decode_record(raw: bytes) -> dict[str, Any]:
    """One record's exact bytes → dict (numbers stay strings/Decimals, never floats)."""
    record: dict[str, Any] = _record.decode(raw)
    return record


class AvaPOSAuth(httpx.Auth):
    """Adds `key=<APIKEY>` to the query of every request (the only credential)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params({"key": self._key})
        yield request


def raise_text_error(text: str, *, write: bool = False) -> None:
    """Raise the taxonomy error of a plain-text answer."""
    low = text.lower()
    cls: type[PosbridgeError] = VendorError
    for fragment, klass in ERRORS:
        if fragment in low:
            cls = klass
            break
    if write and cls is VendorValidationError:
        cls = WriteError
    raise cls(f"avapos: {text}", vendor="avapos", vendor_message=text)


def _text(response: httpx.Response) -> str:
    if response.status_code >= 400:
        raise VendorError(f"avapos: HTTP {response.status_code}", http_status=response.status_code)
    return response.content.decode("utf-8", "replace").strip()


def decode_list(response: httpx.Response, key: str) -> list[bytes]:
    """The exact bytes of each record under `key` (e.g. `Facturas`); empty answers → []."""
    body = _text(response)
    if not body or body in ("null", "[]", "{}"):
        return []
    if not body.startswith("{"):
        raise_text_error(body)
    try:
        lists = _lists.decode(body.encode())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"avapos: not the documented JSON ({exc})", body=response.content
        ) from None
    return [bytes(item) for item in lists.get(key, [])]


def decode_object(response: httpx.Response) -> dict[str, list[bytes]]:
    """Every list of a JSON answer (reservas: `totales` and `detalles`) as raw records."""
    body = _text(response)
    if not body.startswith("{"):
        raise_text_error(body)
    try:
        lists = _lists.decode(body.encode())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"avapos: not the documented JSON ({exc})", body=response.content
        ) from None
    return {k: [bytes(i) for i in v] for k, v in lists.items()}


def decode_write(response: httpx.Response) -> str:
    """A create/set answer: the bare id (or identification), else the error raised."""
    body = _text(response)
    if body.startswith('"') and body.endswith('"'):
        body = str(_any.decode(body.encode()))
    if not _ID.fullmatch(body):
        raise_text_error(body, write=True)
    return body
