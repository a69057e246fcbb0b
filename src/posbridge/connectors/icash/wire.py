"""iCash client API on the wire: signature, persisted nonce, session auth flow, envelope.

Every request is a form POST carrying `api_key`, `nonce`, `signature`, `WareHouseID`,
`UserID` and (after `login`) `ses`; `ICashAuth` adds them, logs in when it has no
session and logs in again and replays once on "Session expired" / "Missing value for
ses". The nonce must grow with every request of the API key, across processes and
restarts: `NonceFile` keeps the last one in a small file under an exclusive `flock`,
held until the answer is back, so two processes sharing one connection take turns and
the server always sees their nonces in increasing order.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec

from posbridge.errors import (
    AuthError,
    MalformedResponse,
    PosbridgeError,
    SessionExpired,
    TransientError,
    VendorError,
    VendorValidationError,
)

__all__ = [
    "ERRORS",
    "ICashAuth",
    "ListPage",
    "NonceFile",
    "decode_data",
    "decode_list",
    "decode_record",
    "sign",
]

#: vendor error_message → taxonomy class (the messages the document shows, plus ours)
ERRORS: dict[str, type[PosbridgeError]] = {
    "Authentication Error": AuthError,
    "Session expired": SessionExpired,
    "Missing value for ses": SessionExpired,
    "Invalid nonce": TransientError,
}
_SESSION_ERRORS = ("Session expired", "Missing value for ses")


def sign(secret: str, nonce: int | str, warehouse_id: int | str, api_key: str) -> str:
    """HMAC-SHA256 of nonce + WareHouseID + api_key keyed with the secret, upper hex."""
    message = f"{nonce}{warehouse_id}{api_key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().upper()


#: digits of the stored nonce (zero-padded; a unix time has 10)
_NONCE_WIDTH = 20


class NonceFile:
    """A strictly increasing nonce shared by every process using one API key.

    The file holds the last nonce sent. `hold()` takes an exclusive lock (a thread lock
    and `flock`), hands out max(last + 1, unix time) and keeps the lock until the
    caller's request has been answered: a nonce is never reused, and a smaller nonce is
    never sent after a larger one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                text = os.pread(fd, 64, 0).decode("ascii", "ignore").strip()
                last = int(text) if text.isdigit() else 0
                nonce = max(last + 1, int(time.time()))
                # One fixed-width write over the old value, never a truncate first: a process
                # killed here leaves the old nonce or the new one, never an empty file (which
                # restarted the counter at the clock, below nonces already sent).
                os.pwrite(fd, str(nonce).rjust(_NONCE_WIDTH, "0").encode(), 0)
                os.fsync(fd)
                yield nonce
            finally:
                os.close(fd)  # releases the flock


class _Envelope(msgspec.Struct):
    nonce: Any = None
    status: int | str | None = None
    error_message: str | None = None
    data: msgspec.Raw = msgspec.Raw()


class _ListData(msgspec.Struct):
    TotalRecords: int | str = 0
    Data: list[msgspec.Raw] | None = None


class ListPage(msgspec.Struct):
    """A list answer: the total, each record's exact bytes and decoded dict."""

    total: int
    raw: list[bytes]
    records: list[dict[str, Any]]


_envelope = msgspec.json.Decoder(_Envelope)
_list_data = msgspec.json.Decoder(_ListData)
_any = msgspec.json.Decoder(float_hook=Decimal)
_record = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


def decode_record(raw: bytes) -> dict[str, Any]:
    """One record's exact bytes → dict (numbers never become floats)."""
    record: dict[str, Any] = _record.decode(raw)
    return record


def _raise(message: str, body: bytes) -> None:
    cls = ERRORS.get(message)
    if cls is None:
        wrong = message.startswith(("Wrong value for", "Missing value for")) or message.endswith(
            ("is mandatory", "already exists")
        )
        cls = VendorValidationError if wrong else VendorError
    raise cls(f"icash: {message}", vendor="icash", vendor_message=message)


def decode_raw_data(response: httpx.Response) -> bytes:
    """The `data` bytes of a successful answer, or the taxonomy error of a failed one."""
    body = response.content
    if response.status_code >= 400:
        raise VendorError(f"icash: HTTP {response.status_code}", http_status=response.status_code)
    try:
        env = _envelope.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MalformedResponse(
            f"icash: answer is not the documented JSON ({exc})", body=body
        ) from None
    if str(env.status) == "1":
        return bytes(env.data)
    if env.error_message is None:
        raise MalformedResponse("icash: answer has neither status 1 nor error_message", body=body)
    _raise(env.error_message, body)
    raise AssertionError("unreachable")  # pragma: no cover


def decode_data(response: httpx.Response) -> Any:
    """The decoded `data` of a successful answer (decimals as Decimal)."""
    raw = decode_raw_data(response)
    return _any.decode(raw) if raw.strip() else None


def decode_list(response: httpx.Response) -> ListPage:
    """A `{TotalRecords, Data}` answer (3.09, 3.12, 3.20, 3.21) or a bare list (3.02…)."""
    raw = decode_raw_data(response).strip()
    try:
        if raw[:1] == b"[":
            items = _raw_list.decode(raw)
            total = len(items)
        else:
            page = _list_data.decode(raw)
            items, total = page.Data or [], int(page.TotalRecords)
        raws = [bytes(i) for i in items]
        return ListPage(total, raws, [decode_record(r) for r in raws])
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise MalformedResponse(f"icash: data is not a list of records ({exc})") from None


class ICashAuth(httpx.Auth):
    """Signs every request, keeps the session and renews it when the server drops it."""

    requires_response_body = True

    def __init__(
        self, api_key: str, secret: str, warehouse_id: str, user_id: str, nonces: NonceFile
    ) -> None:
        self.api_key, self.secret = api_key, secret
        self.warehouse_id, self.user_id = warehouse_id, user_id
        self.nonces = nonces
        self.session: str | None = None
        self.logins = 0
        self._lock = threading.Lock()

    def _signed(
        self, request: httpx.Request, fields: list[tuple[str, str]], nonce: int, url: httpx.URL
    ) -> httpx.Request:
        auth = [
            ("api_key", self.api_key),
            ("nonce", str(nonce)),
            ("signature", sign(self.secret, nonce, self.warehouse_id, self.api_key)),
            ("WareHouseID", self.warehouse_id),
            ("UserID", self.user_id),
        ]
        if self.session and not url.path.endswith("/login"):
            auth.append(("ses", self.session))
        own = {k for k, _ in auth}
        body = urlencode(auth + [(k, v) for k, v in fields if k not in own]).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        headers["content-type"] = "application/x-www-form-urlencoded"
        return httpx.Request("POST", url, headers=headers, content=body)

    def _send(
        self, request: httpx.Request, fields: list[tuple[str, str]], url: httpx.URL
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        with self.nonces.hold() as nonce:
            response = yield self._signed(request, fields, nonce, url)
            response.read()
        return response

    def _login(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        url = request.url.copy_with(path=request.url.path.rsplit("/", 1)[0] + "/login")
        self.session = None
        response = yield from self._send(request, [], url)
        self.logins += 1
        try:
            data = decode_data(response)
        except PosbridgeError:
            return response
        if isinstance(data, dict) and data.get("session_id"):
            self.session = str(data["session_id"])
        return response

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's driver, but closing our flow at once when the transport fails, so the
        nonce lock held across the request is released without waiting for the GC."""
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
        fields = parse_qsl(request.read().decode(), keep_blank_values=True)
        is_login = request.url.path.endswith("/login")
        if not is_login and self.session is None:
            login = yield from self._login(request)
            if self.session is None:
                return  # the failed login's answer is what the caller decodes
            del login
        response = yield from self._send(request, fields, request.url)
        message = _error_message(response)
        if not is_login and message in _SESSION_ERRORS:
            yield from self._login(request)
            if self.session is None:
                return
            response = yield from self._send(request, fields, request.url)
        elif message == "Invalid nonce":  # another client of the key ran ahead: once more
            yield from self._send(request, fields, request.url)


def _error_message(response: httpx.Response) -> str | None:
    try:
        env = _envelope.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return env.error_message if str(env.status) != "1" else None


def nonce_path(directory: Path, api_key: str, warehouse_id: str) -> Path:
    """The counter file of one API key and warehouse."""
    key = hashlib.sha256(f"{api_key}:{warehouse_id}".encode()).hexdigest()[:20]
    return directory / f"icash-nonce-{key}"
