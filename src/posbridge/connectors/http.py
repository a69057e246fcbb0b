"""Shared HTTP plumbing for connectors: retries, the request budget, error statuses.

Connectors never retry or count requests themselves. `VendorClient.request` does, in one
layer: it spends one unit of the connection's daily budget *before* each attempt (so the
vendor's limit is never crossed, retries included), maps transport failures and HTTP
statuses to the error taxonomy, lets the vendor's `decode` turn the body into data or a
taxonomy error, and retries only `TransientError` with capped exponential backoff and
full jitter (stamina), honouring a vendor-stated wait when it is short enough to sleep.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import certifi
import httpx
import stamina

from posbridge.errors import (
    NetworkError,
    PosbridgeError,
    QuotaExhausted,
    RateLimited,
    ServerError,
    TransientError,
    UpstreamResponseRejected,
)

__all__ = [
    "MAX_RESPONSE_BYTES",
    "MAX_RESPONSE_SECONDS",
    "RequestBudget",
    "RetryPolicy",
    "VendorClient",
    "parse_retry_after",
    "server_now",
]

T = TypeVar("T")

#: the largest vendor answer read (a page of 1,000 orders is ~1 MB; full catalogues a few MB)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: the longest an answer's body may take to arrive once its headers came
MAX_RESPONSE_SECONDS = 120.0

#: query parameters whose values are credentials (some vendors put keys in the URL)
_SECRET_PARAM = re.compile(
    r"([?&](?:api_?key|key|token|secret\w*|pass\w*|pwd|signature)=)[^&\s\"']+", re.IGNORECASE
)


class _RedactSecrets(logging.Filter):
    """httpx logs every request URL at INFO: mask credentials carried in query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAM.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("httpx").addFilter(_RedactSecrets())


@dataclass(slots=True)
class RequestBudget:
    """A per-connection daily request counter that refuses to cross the vendor limit.

    `used` is loaded from and saved to the store by the engine, so the count survives
    restarts. `reserve` requests are kept for writes: reads stop at `limit - reserve`.
    """

    limit: int | None
    timezone: str = "UTC"
    reserve: int = 0
    used: int = 0
    day: date | None = None
    #: part of `used` already added to the store (`unsaved` hands out the rest once)
    saved: int = 0
    blocked_until: datetime | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def local_day(self) -> date:
        """The vendor-local calendar day the quota counts in."""
        return self.clock().astimezone(ZoneInfo(self.timezone)).date()

    def reset_at(self) -> datetime:
        """When the next quota day starts, as a UTC instant."""
        tz = ZoneInfo(self.timezone)
        next_day = self.local_day() + timedelta(days=1)
        return datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz).astimezone(UTC)

    def _roll(self) -> None:
        today = self.local_day()
        if self.day != today:
            self.day = today
            self.used = self.saved = 0

    @property
    def remaining(self) -> int | None:
        """Requests left today for reads (writes may also use the reserve)."""
        if self.limit is None:
            return None
        with self._lock:
            self._roll()
            return max(0, self.limit - self.reserve - self.used)

    def spend(self, *, write: bool = False) -> None:
        """Count one request, or raise `QuotaExhausted` without sending it."""
        with self._lock:
            now = self.clock()
            if self.blocked_until is not None:
                if now < self.blocked_until:
                    raise QuotaExhausted(
                        f"the vendor refuses requests until {self.blocked_until:%Y-%m-%d %H:%M:%S} UTC",
                        reset_at=self.blocked_until,
                    )
                # The vendor's new quota day has begun (by its own clock): start counting afresh.
                self.blocked_until, self.used, self.day = None, 0, self.local_day()
                self.saved = 0
            self._roll()
            if self.limit is not None:
                ceiling = self.limit if write else self.limit - self.reserve
                if self.used >= ceiling:
                    raise QuotaExhausted(
                        f"daily request budget of {self.limit} used up ({self.reserve} kept for "
                        f"writes); resumes at {self.reset_at():%Y-%m-%d %H:%M} UTC",
                        reset_at=self.reset_at(),
                    )
            self.used += 1

    def unsaved(self) -> int:
        """Requests counted since the last call: the store adds them to the day's total.

        Deltas, not totals, so that several processes spending one connection's budget
        (a sync worker, the API's writes) never overwrite each other's counts.
        """
        with self._lock:
            delta, self.saved = self.used - self.saved, self.used
            return delta

    def give_back(self, delta: int) -> None:
        """`unsaved` handed out `delta` but the transaction adding it rolled back: hand it
        out again next time, so a retried page commit still counts its requests."""
        with self._lock:
            self.saved = max(0, self.saved - delta)

    def exhaust(self, until: datetime | None) -> None:
        """The vendor said the quota is gone until `until` (it counts what we cannot see)."""
        with self._lock:
            if until is not None:
                self.blocked_until = until
            elif self.limit is not None:
                self._roll()
                self.used = max(self.used, self.limit)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One default TLS context per process: building one (loading the CA bundle) costs
    ~7 ms of CPU, and a fleet worker opens a client per sync (profiled: 7% of its CPU)."""
    return ssl.create_default_context(cafile=certifi.where())  # what httpx uses by default


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded by attempts and total time; waits longer than `max_inline_wait` are not
    slept in place: the error goes up so the scheduler can park the connection.

    `request_timeout` bounds each attempt (connect, each read, write, pool wait): a vendor
    that accepts a request and then goes silent costs at most that long per attempt.
    """

    attempts: int = 5
    timeout: float = 60.0
    request_timeout: float = 30.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    max_inline_wait: float = 30.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP `Retry-After` (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def server_now(response: httpx.Response) -> datetime | None:
    """The vendor's clock from the `Date` header: a stated reset time is relative to it."""
    header = response.headers.get("date")
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class VendorClient:
    """An `httpx.Client` with the budget, the retry policy and status mapping applied.

    One per connection and run. The transport is injectable (tests and the in-process
    demo use real loopback servers; nothing is mocked).
    """

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        auth: httpx.Auth | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_response_seconds: float = MAX_RESPONSE_SECONDS,
    ) -> None:
        self.vendor = vendor
        self.max_response_bytes = max_response_bytes
        self.max_response_seconds = max_response_seconds
        self.budget = budget or RequestBudget(limit=None)
        self.retry = retry or RetryPolicy()
        self.requests_made = 0
        self._client = httpx.Client(
            base_url=base_url,
            verify=_tls_context(),
            timeout=self.retry.request_timeout if timeout is None else timeout,
            transport=transport,
            auth=auth,
            follow_redirects=False,
            headers={"User-Agent": "posbridge/0.1"},
        )

    @property
    def base_url(self) -> httpx.URL:
        """The vendor base URL requests are relative to (auth flows that log in need it)."""
        return self._client.base_url

    def set_auth(self, auth: httpx.Auth) -> None:
        """Install the vendor's auth flow (the only place credentials enter requests)."""
        self._client.auth = auth

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _should_retry(self, exc: Exception) -> bool | float:
        if not isinstance(exc, TransientError):
            return False
        if exc.retry_after is not None:
            if exc.retry_after > self.retry.max_inline_wait:
                return False
            return exc.retry_after
        return True

    def _read_capped(self, response: httpx.Response) -> httpx.Response:
        """The answer read whole, unless it exceeds the size or time cap: a vendor (or a
        URL pointing elsewhere) must not exhaust memory or hold a worker forever."""
        limit, started = self.max_response_bytes, time.monotonic()
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._rejected(f"declares {int(declared):,} bytes", response)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():  # decoded: a compressed bomb counts unpacked
            size += len(chunk)
            if size > limit:
                raise self._rejected(f"is over {limit:,} bytes", response)
            if time.monotonic() - started > self.max_response_seconds:
                raise self._rejected(
                    f"took over {self.max_response_seconds:g} s to read ({size:,} bytes so far)",
                    response,
                )
            chunks.append(chunk)
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
        )

    def _rejected(self, what: str, response: httpx.Response) -> UpstreamResponseRejected:
        return UpstreamResponseRejected(
            f"{self.vendor}: the answer {what}; refused unread (cap "
            f"{self.max_response_bytes:,} bytes / {self.max_response_seconds:g} s)",
            vendor=self.vendor,
            http_status=response.status_code,
        )

    def request(
        self,
        method: str,
        url: str = "",
        *,
        decode: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        write: bool = False,
        once: bool = False,
    ) -> T:
        """Send with budget, retries and decoding; return what `decode` returns.

        `once` sends a single attempt (budget and error mapping still apply): for a write
        the vendor cannot deduplicate, whose retry must first look up what happened.
        """
        if once:
            return self._send_once(method, url, decode, params, data, json, write)
        for attempt in stamina.retry_context(
            on=self._should_retry,
            attempts=self.retry.attempts,
            timeout=self.retry.timeout,
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_jitter,
        ):
            with attempt:
                return self._send_once(method, url, decode, params, data, json, write)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        url: str,
        decode: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        data: Mapping[str, Any] | None,
        json: Any,
        write: bool,
    ) -> T:
        self.budget.spend(write=write)
        self.requests_made += 1
        try:
            request = self._client.build_request(method, url, params=params, data=data, json=json)
            response = self._client.send(request, stream=True)
            try:
                response = self._read_capped(response)
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise NetworkError(f"{self.vendor}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise NetworkError(f"{self.vendor}: connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429:
            raise RateLimited(
                f"{self.vendor}: rate limited (HTTP 429)",
                retry_after=parse_retry_after(
                    response.headers.get("retry-after"), server_now(response)
                ),
                vendor=self.vendor,
                http_status=status,
            )
        if status >= 500:
            raise ServerError(
                f"{self.vendor}: server error HTTP {status}", vendor=self.vendor, http_status=status
            )
        try:
            return decode(response)
        except PosbridgeError as exc:
            if exc.vendor is None:
                exc.vendor = self.vendor
            if exc.http_status is None:
                exc.http_status = status
            raise
