"""WService on the wire: the `ResponseRequest`/`SuccessStatus` envelope and its errors.

`WServiceAuth` puts the SessionCode into every request (a path segment, or the body
field of JSON bodies), logs in first when there is none or it has been idle too long, and
after a session refusal logs in once more and resends. Numbers are decoded as `Decimal`
(never float). A record list is split into each
record's exact bytes with `msgspec.Raw`, so the raw payload is kept byte for byte.
Refusals (INFERRED shape, docs/wservice-wire.md) are `SuccessStatus: false` with the
message in `Data`: a login refusal is an `AuthError`, a session refusal `SessionRefused`
(the connector logs in again and repeats the call once), anything else a validation error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from posbridge.errors import AuthError, MalformedResponse, VendorError, VendorValidationError

__all__ = [
    "SessionRefused",
    "WServiceAuth",
    "decode_envelope",
    "decode_record",
    "decode_records",
]

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


def _session_refused(response: httpx.Response) -> bool:
    if response.status_code != 401:
        return False
    try:
        _fields(response)
    except SessionRefused:
        return True
    except (MalformedResponse, VendorError):
        return False
    return False


class WServiceAuth(httpx.Auth):
    """The SessionCode flow: login when needed, code in path or body, renew on refusal.

    The vendor ends a session 30 minutes after its last call; `renew_after` (seconds, less
    than that) makes the flow log in again before the vendor would refuse. `now` is the
    idleness clock (tests point it at the sandbox clock).
    """

    requires_response_body = True

    def __init__(
        self,
        user: str,
        password: str,
        renew_after: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user, self._password = user, password
        self.renew_after = renew_after
        self.now = now
        self.code: str | None = None
        self.last_call = 0.0
        self.logins = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path.rstrip("/").endswith("/login"):
            yield request
            return
        if self.code is None or self.now() - self.last_call > self.renew_after:
            yield from self._login(request)
        response = yield self._with_code(request)
        if _session_refused(response):
            self.code = None
            yield from self._login(request)
            response = yield self._with_code(request)
        self.last_call = self.now()

    def _login(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = request.url.path.rstrip("/").rsplit("/", 1)[0] + "/login"
        body = msgspec.json.encode({"User": self.user, "Password": self._password})
        login = httpx.Request(
            "POST",
            request.url.copy_with(path=path, query=None),
            headers={"Content-Type": "application/json", "User-Agent": "posbridge/0.1"},
            content=body,
        )
        response = yield login
        answer = decode_envelope(response)  # AuthError when refused
        self.code = str(answer["SessionCode"])
        self.last_call = self.now()
        self.logins += 1

    def _with_code(self, request: httpx.Request) -> httpx.Request:
        """The request with the current code: in a JSON body if it has one, else the path."""
        code = self.code or ""
        if request.content:
            fields = msgspec.json.decode(request.content)
            if isinstance(fields, dict):
                fields["SessionCode"] = code
                headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
                return httpx.Request(
                    request.method,
                    request.url,
                    headers=headers,
                    content=msgspec.json.encode(fields),
                )
        path = request.url.path.rstrip("/") + "/" + code
        return httpx.Request(
            request.method, request.url.copy_with(path=path), headers=request.headers
        )
