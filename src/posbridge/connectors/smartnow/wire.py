"""SmartNow on the wire: bearer tokens with refresh, JSON answers, `{message}` errors.

`SmartNowAuth` logs in (`POST /auth/login` → 201 `{access_token, refresh_token}`), adds
`Authorization: Bearer`, refreshes shortly before the access token's `exp` (read from its
JWT payload, unverified) and on a 401: refresh once (the refresh token rotates: the old
one is refused after use), then log in once more; if that is refused too the 401 stands
and the decoder raises `AuthError` (the connection needs attention). Decisions the
document leaves open are in docs/smartnow-wire.md.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Generator
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from posbridge.connectors.http import server_now
from posbridge.connectors.smartnow.routes import path
from posbridge.errors import AuthError, MalformedResponse, VendorError, VendorValidationError

__all__ = [
    "SmartNowAuth",
    "decode_json",
    "decode_raw_list",
    "decode_record",
    "decode_report_rows",
    "token_expiry",
]

#: refresh this many seconds before the access token expires (at most half its lifetime)
REFRESH_MARGIN = 30
_record = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder(float_hook=Decimal)


class _Message(msgspec.Struct):
    message: str | None = None


_message = msgspec.json.Decoder(_Message)


def decode_record(raw: bytes) -> dict[str, Any]:
    """One record's exact bytes → dict (numbers never become floats)."""
    record: dict[str, Any] = _record.decode(raw)
    return record


def _error(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        message = _message.decode(response.content).message or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        message = response.text[:200]
    cls: type[VendorError] | type[AuthError] = (
        VendorValidationError if status in (400, 404, 409, 422) else VendorError
    )
    if status in (401, 403):
        raise AuthError(
            f"smartnow: {message or 'Unauthorized'}",
            vendor="smartnow",
            http_status=status,
            vendor_message=message,
        )
    raise cls(
        f"smartnow: HTTP {status}: {message}",
        vendor="smartnow",
        http_status=status,
        vendor_message=message,
    )


def decode_raw_list(response: httpx.Response) -> list[bytes]:
    """A JSON array answer → the exact bytes of each element."""
    _error(response)
    try:
        return [bytes(r) for r in _raw_list.decode(response.content)]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"smartnow: not a JSON array ({exc})", body=response.content
        ) from None


class _Period(msgspec.Struct):
    data: list[msgspec.Raw] = msgspec.field(default_factory=list)


class _Report(msgspec.Struct):
    period1: _Period | None = None


_report = msgspec.json.Decoder(_Report)


def decode_report_rows(response: httpx.Response) -> list[bytes]:
    """A period report's `period1.data` rows, as their exact bytes."""
    _error(response)
    try:
        report = _report.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(f"smartnow: not a report ({exc})", body=response.content) from None
    return [bytes(r) for r in (report.period1.data if report.period1 else [])]


def decode_json(response: httpx.Response) -> Any:
    """Any JSON answer (objects with Decimal numbers); an empty body → None."""
    _error(response)
    if not response.content.strip():
        return None
    try:
        return _any.decode(response.content)
    except msgspec.DecodeError as exc:
        raise MalformedResponse(f"smartnow: not JSON ({exc})", body=response.content) from None


def token_expiry(token: str) -> float | None:
    """The `exp` of a JWT-shaped access token (unverified), or None if it has none."""
    try:
        payload = token.split(".")[1]
        data = msgspec.json.decode(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(data["exp"])
    except (IndexError, KeyError, TypeError, ValueError, msgspec.DecodeError):
        return None


class SmartNowAuth(httpx.Auth):
    """Bearer auth with login, proactive refresh and a 401 recovery of refresh-then-login."""

    requires_response_body = True

    def __init__(
        self, base_url: httpx.URL, username: str, password: str, clock: Any = time.time
    ) -> None:
        self.base_url = base_url
        self._username, self._password = username, password
        self._clock = clock
        self.access: str | None = None
        self.refresh_token: str | None = None
        self.expires: float | None = None
        self.logins = self.refreshes = 0
        self.margin: float = REFRESH_MARGIN
        self._lock = threading.Lock()

    def _store(self, response: httpx.Response) -> bool:
        if response.status_code not in (200, 201):
            return False
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            return False
        if not isinstance(data, dict) or not data.get("access_token"):
            return False
        self.access, self.refresh_token = str(data["access_token"]), data.get("refresh_token")
        exp, server = token_expiry(self.access), server_now(response)
        # the lifetime on the server's clock (its Date header), counted on ours: skew-proof
        lifetime = exp - server.timestamp() if exp is not None and server is not None else None
        self.expires = None if lifetime is None else float(self._clock()) + lifetime
        # refresh 30 s ahead, or halfway through a shorter lifetime
        self.margin = REFRESH_MARGIN if lifetime is None else min(REFRESH_MARGIN, lifetime / 2)
        return True

    def _post(self, name: str, body: dict[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.base_url.join(path(name).lstrip("/")),
            json=body,
            headers={"User-Agent": "posbridge/0.1"},
        )

    def _login(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        response = yield self._post(
            "auth.login", {"username": self._username, "password": self._password}
        )
        self.logins += 1
        if not self._store(response):
            self.access = self.refresh_token = None
        return response

    def _refresh(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, bool]:
        if not self.refresh_token:
            return False
        response = yield self._post("auth.refresh", {"refresh_token": self.refresh_token})
        self.refreshes += 1
        return self._store(response)

    def _send(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self.access}"
        return request

    def _expiring(self) -> bool:
        return self.expires is not None and self.expires - float(self._clock()) < self.margin

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's driver, but closing our flow when the transport fails, so the lock held
        across the request is released at once (a lost answer must not wedge the next)."""
        flow = self.auth_flow(request)
        try:
            outgoing = next(flow)
            while True:
                response = yield outgoing
                response.read()
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
        finally:
            flow.close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self.access is None:
                login = yield from self._login(request)
                if self.access is None:
                    del login  # the refused login's answer is what the caller decodes
                    return
            elif self._expiring() and not (yield from self._refresh(request)):
                yield from self._login(request)
            response = yield self._send(request)
            if response.status_code != 401:
                return
            if (yield from self._refresh(request)):
                response = yield self._send(request)
                if response.status_code != 401:
                    return
            yield from self._login(request)
            if self.access is not None:
                yield self._send(request)
