"""iCash client API on the wire: signature, shared nonce, session auth flow, envelope.

Every request is a form POST carrying `api_key`, `nonce`, `signature`, `WareHouseID`,
`UserID` and (after `login`) `ses`; `ICashAuth` adds them, logs in when it has no
session and logs in again and replays once on "Session expired" / "Missing value for
ses". The nonce must grow with every request of the API key, across processes, machines
and restarts: `Nonces` takes it from the store's shared counter (`store/nonces.py`),
locked until the answer is back, so every worker sharing a key takes turns and the
server sees their nonces in increasing order. "Invalid nonce" (a client outside the
store ran ahead, or a clock behind the server's) resynchronises the counter past the
refused nonce and the server's clock, and retries once; a second refusal is an error
naming the clock skew, never a retry storm.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec

from posbridge.connectors.base import SharedCounters
from posbridge.errors import (
    AuthError,
    MalformedResponse,
    PosbridgeError,
    SessionExpired,
    VendorError,
    VendorValidationError,
)

__all__ = [
    "ERRORS",
    "ICashAuth",
    "ListPage",
    "LocalCounters",
    "Nonces",
    "decode_data",
    "decode_list",
    "decode_record",
    "legacy_nonce_path",
    "nonce_scope",
    "read_legacy_nonce",
    "server_skew",
    "sign",
]

#: vendor error_message → taxonomy class (the messages the document shows, plus ours)
ERRORS: dict[str, type[PosbridgeError]] = {
    "Authentication Error": AuthError,
    "Session expired": SessionExpired,
    "Missing value for ses": SessionExpired,
    # refused after the auth flow's resync and one retry: not retried again (no storm)
    "Invalid nonce": VendorError,
}
_SESSION_ERRORS = ("Session expired", "Missing value for ses")


def sign(secret: str, nonce: int | str, warehouse_id: int | str, api_key: str) -> str:
    """HMAC-SHA256 of nonce + WareHouseID + api_key keyed with the secret, upper hex."""
    message = f"{nonce}{warehouse_id}{api_key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().upper()


def nonce_scope(api_key: str, warehouse_id: str) -> str:
    """The counter of one API key and warehouse, as a hash: the key is never stored."""
    return hashlib.sha256(f"icash:{api_key}:{warehouse_id}".encode()).hexdigest()


def legacy_nonce_path(directory: Path, api_key: str, warehouse_id: str) -> Path:
    """Where posbridge before the shared counter kept one key's last nonce (a file)."""
    key = hashlib.sha256(f"{api_key}:{warehouse_id}".encode()).hexdigest()[:20]
    return directory / f"icash-nonce-{key}"


def read_legacy_nonce(path: Path) -> int:
    """The last nonce in an old counter file, 0 when there is none (read once, on upgrade)."""
    try:
        text = path.read_text("ascii", "ignore").strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


class LocalCounters:
    """Process-local counters, for a connector without a store (rehearsals, docs).

    Same contract as the store's `NonceCounters`, but shared by nobody else: only right
    for a sandbox or a single short-lived process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}

    @contextmanager
    def hold(self, scope: str, floor: int, seed: Callable[[], int] | None = None) -> Iterator[int]:
        with self._lock:
            if scope not in self._last:
                self._last[scope] = seed() if seed is not None else 0
            nonce = max(self._last[scope] + 1, floor)
            self._last[scope] = nonce
            yield nonce


class Nonces:
    """One API key's nonces: max(last + 1, unix time) from a counter every client of
    the key shares, held until the request is answered so the server sees them in
    increasing order, whatever each client's clock says."""

    def __init__(
        self,
        counters: SharedCounters,
        scope: str,
        seed: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counters, self.scope, self.seed, self.clock = counters, scope, seed, clock

    def hold(self, floor: int = 0) -> AbstractContextManager[int]:
        """The next nonce, at least `floor` (a resync) and this host's unix time."""
        return self.counters.hold(self.scope, max(int(self.clock()), floor), self.seed)


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


def _raise(message: str, response: httpx.Response) -> None:
    if message == "Invalid nonce":
        raise _nonce_refused(message, response)
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
    _raise(env.error_message, response)
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
        self, api_key: str, secret: str, warehouse_id: str, user_id: str, nonces: Nonces
    ) -> None:
        self.api_key, self.secret = api_key, secret
        self.warehouse_id, self.user_id = warehouse_id, user_id
        self.nonces = nonces
        self.session: str | None = None
        self.logins = 0
        self.resyncs = 0  # "Invalid nonce" answers met (each retried once)
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
        """Send once; on "Invalid nonce" resynchronise the counter and send once more."""
        response = yield from self._send_with(request, fields, url, floor=0)
        if _error_message(response) == "Invalid nonce":
            self.resyncs += 1
            floor = _resync_floor(response, self.nonces.clock())
            response = yield from self._send_with(request, fields, url, floor=floor)
        return response

    def _send_with(
        self, request: httpx.Request, fields: list[tuple[str, str]], url: httpx.URL, floor: int
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        with self.nonces.hold(floor) as nonce:
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


def _error_message(response: httpx.Response) -> str | None:
    try:
        env = _envelope.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return env.error_message if str(env.status) != "1" else None


#: a Date header further than this from our clock is not believed (a proxy, a bad box)
_PLAUSIBLE_SKEW = 86_400


def server_skew(response: httpx.Response, local: float | None = None) -> float | None:
    """Seconds the server's clock (its Date header) is ahead of ours; None if unknown."""
    try:
        server = parsedate_to_datetime(response.headers["date"])
    except (KeyError, TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    now = time.time() if local is None else local
    skew = server.timestamp() - now
    return skew if abs(skew) <= _PLAUSIBLE_SKEW else None


def _resync_floor(response: httpx.Response, local: float) -> int:
    """The least nonce to try after "Invalid nonce": the server's clock when ours is
    behind it (its other clients' nonces are its time plus a counter). The shared
    counter already sits at the refused nonce, so the retry is above it anyway."""
    skew = server_skew(response, local)
    return int(local + skew) + 1 if skew is not None and skew > 0 else 0


def _nonce_refused(message: str, response: httpx.Response | None) -> VendorError:
    skew = server_skew(response) if response is not None else None
    hint = (
        f"; this host's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'}"
        " the server's (check NTP)"
        if skew is not None and abs(skew) >= 60
        else ""
    )
    return VendorError(
        'icash: the server refused the nonce again after a resync ("Invalid nonce"): '
        f"another client of this API key sends larger nonces{hint}",
        vendor="icash",
        vendor_code="invalid_nonce",
        vendor_message=message,
    )
