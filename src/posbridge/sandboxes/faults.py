"""Fault injection shared by every vendor sandbox.

Real vendor APIs time out, answer 5xx, rate-limit, cut bodies short, serve HTML error
pages with status 200 and, now and then, return records a client cannot map. A
`Faults` object holds the knobs (set from Python or `POST /_sandbox/faults`);
`FaultMiddleware` applies the transport-level ones to vendor requests; `malform` lets
a vendor app corrupt the records named in `malformed_orders` the way `malformed_kind`
says. Each sandbox sets `supported_kinds` to the kinds its records can carry (no
`currency_mismatch` where records name no currency) and refuses the others.

"Next N" knobs are counters that decrement as they fire. When several are armed, one
request consumes at most one, in this order: hang, stall, reset, fail, rate limit, HTML,
truncate. A hang accepts the request and answers nothing; a stall sends the head and half
the body, then nothing more; both last until the client gives up (or `hang_ms` passes).

Paged lists consult `page_keys` (`repeat_previous`: a page repeats the tail of the page
before it; `reverse_pages`: ids out of order), `change_between_pages` (the vendor edits
the last record of a page right after serving it) and `delete_between_pages` (the vendor
deletes the last record of a page right after serving it, so an offset-paged list shifts
and its next page starts one record late). Every vendor request's arrival time
(by the sandbox clock) is kept in `arrivals`, so tests assert on when requests came.
"""

from __future__ import annotations

import asyncio
import copy
import math
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, MutableMapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from posbridge.sandboxes.clock import Clock, DateHeaderMiddleware

__all__ = [
    "MALFORMED_KINDS",
    "FaultMiddleware",
    "Faults",
    "InjectedDisconnect",
    "LoseAnswers",
    "is_vendor_request",
    "kinds_except",
    "malform",
    "vendor_app",
]

#: every way `malform` corrupts a record; a sandbox serves those its records can carry
MALFORMED_KINDS = (
    "bad_amount",
    "missing_field",
    "impossible_date",
    "unknown_vat",
    "negative_quantity",
    "currency_mismatch",
)


def kinds_except(*missing: str) -> tuple[str, ...]:
    """The malformed kinds a vendor's records can carry: all but what they lack."""
    unknown = set(missing) - set(MALFORMED_KINDS)
    if unknown:
        raise ValueError(f"not malformed kinds: {sorted(unknown)}")
    return tuple(k for k in MALFORMED_KINDS if k not in missing)


#: what `retry_after` is sent as: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)
RETRY_AFTER_FORMS = ("seconds", "date")
K = TypeVar("K", bound=Hashable)

_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>{status} {reason}</title></head><body>"
    "<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
)
_REASONS = {
    200: "Service Unavailable",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    429: "Too Many Requests",
}


class InjectedDisconnect(Exception):
    """Raised after a response started so the server drops the connection mid-body."""


@dataclass(slots=True)
class Faults:
    """Mutable, thread-safe fault knobs consulted on every vendor request."""

    latency_ms: int = 0
    fail_next: int = 0
    fail_status: int = 500
    rate_limit_next: int = 0
    retry_after: int = 30
    truncate_next: int = 0
    html_next: int = 0
    reset_next: int = 0
    #: the next N answers stream an endless body (a 200 that never ends: no length, chunks
    #: of spaces forever) — the client must cap size and time (RELIABILITY.md scenario 27)
    endless_next: int = 0
    malformed_orders: set[int] = field(default_factory=set)
    malformed_kind: str = "bad_amount"
    drop_orders: set[int] = field(default_factory=set)
    retry_after_form: str = "seconds"
    hang_next: int = 0
    stall_next: int = 0
    hang_ms: int = 10_000
    repeat_previous: int = 0
    reverse_pages: bool = False
    change_between_pages: int = 0
    delete_between_pages: int = 0
    #: the malformed kinds this vendor's records can carry (set once by the sandbox)
    supported_kinds: tuple[str, ...] = field(default=MALFORMED_KINDS, compare=False)
    #: arrival time (sandbox clock) of every vendor request, oldest first
    arrivals: deque[datetime] = field(
        default_factory=lambda: deque(maxlen=10_000), repr=False, compare=False
    )
    _last_page: dict[str, list[Any]] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    COUNTERS: ClassVar[tuple[str, ...]] = (
        "latency_ms",
        "fail_next",
        "rate_limit_next",
        "retry_after",
        "truncate_next",
        "html_next",
        "reset_next",
        "hang_next",
        "stall_next",
        "hang_ms",
        "repeat_previous",
        "change_between_pages",
        "delete_between_pages",
        "endless_next",
    )
    _PRIVATE: ClassVar[frozenset[str]] = frozenset(
        {"_lock", "_last_page", "arrivals", "supported_kinds"}
    )

    def update(self, **knobs: Any) -> None:
        """Set knobs by name; validates all of them before changing any."""
        clean: dict[str, Any] = {}
        for name, value in knobs.items():
            if name in self.COUNTERS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
                clean[name] = value
            elif name == "fail_status":
                if value not in (500, 502, 503):
                    raise ValueError(f"fail_status must be 500, 502 or 503, got {value!r}")
                clean[name] = value
            elif name == "malformed_kind":
                if value not in self.supported_kinds:
                    raise ValueError(
                        f"malformed_kind must be one of {self.supported_kinds} for this "
                        f"vendor, got {value!r}"
                    )
                clean[name] = value
            elif name == "retry_after_form":
                if value not in RETRY_AFTER_FORMS:
                    raise ValueError(f"retry_after_form must be one of {RETRY_AFTER_FORMS}")
                clean[name] = value
            elif name == "reverse_pages":
                if not isinstance(value, bool):
                    raise ValueError(f"reverse_pages must be true or false, got {value!r}")
                clean[name] = value
            elif name in ("malformed_orders", "drop_orders"):
                clean[name] = _int_set(name, value)
            else:
                raise ValueError(f"unknown fault knob {name!r}")
        with self._lock:
            for name, value in clean.items():
                setattr(self, name, value)

    def reset(self) -> None:
        """Disarm every knob."""
        fresh = Faults()
        with self._lock:
            for f in fields(self):
                if f.name not in ("_lock", "supported_kinds"):
                    setattr(self, f.name, getattr(fresh, f.name))

    def arrived(self, at: datetime) -> None:
        """Record a vendor request's arrival (the middleware calls this first)."""
        self.arrivals.append(at)

    def page_keys(self, endpoint: str, keys: Sequence[K]) -> list[K]:
        """The record keys a paged list serves, after the paging knobs.

        `repeat_previous` prepends the last N keys of the page this endpoint served
        before (the vendor renders them as they are *now*, so a record changed between
        pages comes again in its new version); `reverse_pages` serves ids out of order.
        """
        with self._lock:
            tail = self._last_page.get(endpoint, [])[-self.repeat_previous :]
            repeat = [k for k in tail if k not in keys] if self.repeat_previous else []
            self._last_page[endpoint] = list(keys)
            out = [*repeat, *keys]
            return out[::-1] if self.reverse_pages else out

    def deleted_between_pages(self, served: Sequence[K], more: bool) -> K | None:
        """The key the vendor deletes right after serving `served` (`delete_between_pages`).

        The page's last record, so every later record shifts one place down and an
        offset-paged reader skips one; None when not armed or no page follows.
        """
        if not served or not more or not self.take("delete_between_pages"):
            return None
        return served[-1]

    def take(self, knob: str) -> bool:
        """Consume one shot of a "next N" counter; False when it is not armed."""
        with self._lock:
            left: int = getattr(self, knob)
            if left <= 0:
                return False
            setattr(self, knob, left - 1)
            return True

    def record_faults(self) -> tuple[frozenset[int], frozenset[int], str]:
        """(malformed ids, dropped ids, malformed kind) as one consistent snapshot."""
        with self._lock:
            return (
                frozenset(self.malformed_orders),
                frozenset(self.drop_orders),
                self.malformed_kind,
            )

    def snapshot(self) -> dict[str, Any]:
        """The knobs as JSON-ready values."""
        with self._lock:
            out: dict[str, Any] = {}
            for f in fields(self):
                if f.name in self._PRIVATE:
                    continue
                value = getattr(self, f.name)
                out[f.name] = sorted(value) if isinstance(value, set) else value
            return out


def _int_set(name: str, value: Any) -> set[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of integers")
    items = list(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name} must be a list of integers")
    return set(items)


Path = tuple[str | int, ...]


def malform(
    record: dict[str, Any],
    kind: str,
    *,
    amount: Iterable[Path] = (),
    time: Iterable[Path] = (),
    vat: Iterable[Path] = (),
    quantity: Iterable[Path] = (),
    currency: Iterable[Path] = (),
    required: Iterable[Path] | None = None,
) -> dict[str, Any]:
    """A deep copy of `record` corrupted so a client cannot map it.

    Each argument lists candidate paths (keys and list indexes) into the record; the
    first that exists is used, so a vendor names e.g. the first line's price with the
    order total as fallback. `bad_amount` → "abc", `missing_field` removes a `required`
    field (the time unless given), `impossible_date` → "2026-02-30 25:61:00",
    `unknown_vat` → "37", `negative_quantity` flips the sign of a sale line's quantity
    (the record stays a sale), `currency_mismatch` → "USD" ("EUR" where it was USD).
    """
    out = copy.deepcopy(record)
    candidates = {
        "bad_amount": amount,
        "missing_field": time if required is None else required,
        "impossible_date": time,
        "unknown_vat": vat,
        "negative_quantity": quantity,
        "currency_mismatch": currency,
    }[kind]
    for path in candidates:
        parent: Any = out
        try:
            for step in path[:-1]:
                parent = parent[step]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        if kind == "missing_field":
            del parent[path[-1]]
        elif kind == "negative_quantity":
            parent[path[-1]] = _negated(old)
        elif kind == "currency_mismatch":
            parent[path[-1]] = "EUR" if old == "USD" else "USD"
        else:
            parent[path[-1]] = {
                "bad_amount": "abc",
                "impossible_date": "2026-02-30 25:61:00",
                "unknown_vat": "37",
            }[kind]
        return out
    raise ValueError(f"record has none of the paths needed for {kind}")


def _negated(value: Any) -> Any:
    """A positive quantity as its negative, in the same wire form (number or text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return -abs(value)
    text = str(value).strip()
    return text if text.startswith("-") else "-" + text


def _always(_scope: Scope) -> bool:
    return True


class FaultMiddleware:
    """ASGI middleware applying the transport-level knobs to requests `applies` selects.

    Failures, rate limits and HTML pages answer before the app runs (as a proxy would);
    truncation and resets let the app run first, so a write still happens when the
    client never sees its answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        faults: Faults,
        *,
        applies: Callable[[Scope], bool] = _always,
        clock: Clock | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.applies = applies
        self.clock = clock

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC) if self.clock else datetime.now(UTC)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        f = self.faults
        f.arrived(self._now())
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 1000)
        if f.take("hang_next"):
            # Accepted, then silence: only the client's read timeout ends this.
            if not await _until_disconnect(receive, f.hang_ms / 1000):
                raise InjectedDisconnect("sandbox fault: hung request dropped after hang_ms")
            return
        if f.take("stall_next"):
            start, body = await _capture(self.app, scope, receive)
            await send(start)
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            await _until_disconnect(receive, f.hang_ms / 1000)
            raise InjectedDisconnect("sandbox fault: body stalled mid-way")
        if f.take("reset_next"):
            start, body = await _capture(self.app, scope, receive)
            await send(start)
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise InjectedDisconnect("sandbox fault: connection reset mid-response")
        if f.take("fail_next"):
            status = f.fail_status
            if status == 500:
                await _answer(
                    send, status, b'{"error":"Internal Server Error"}', b"application/json"
                )
            else:
                await _answer(send, status, _html(status), b"text/html; charset=utf-8")
            return
        if f.take("rate_limit_next"):
            await _answer(
                send,
                429,
                b'{"error":"Too Many Requests"}',
                b"application/json",
                [(b"retry-after", self._retry_after(f.retry_after, f.retry_after_form))],
            )
            return
        if f.take("html_next"):
            await _answer(send, 200, _html(200), b"text/html; charset=utf-8")
            return
        if f.take("endless_next"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"data":[', "more_body": True})
            await _endless(receive, send)
            return
        if f.take("truncate_next"):
            start, body = await _capture(self.app, scope, receive)
            cut = body[: len(body) // 2]
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            await send(
                {**start, "headers": [*headers, (b"content-length", str(len(cut)).encode())]}
            )
            await send({"type": "http.response.body", "body": cut})
            return
        await self.app(scope, receive, send)

    def _retry_after(self, seconds: int, form: str) -> bytes:
        """delay-seconds, or the HTTP-date at least `seconds` from now (rounded up to the
        whole second an HTTP-date can express)."""
        if form == "seconds":
            return str(seconds).encode()
        moment = self._now() + timedelta(seconds=seconds)
        whole = datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)
        return format_datetime(whole, usegmt=True).encode()


async def _until_disconnect(receive: Receive, limit: float) -> bool:
    """Wait for the client to hang up (True) or `limit` seconds to pass (False)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), limit)
    except TimeoutError:
        return False
    return True


async def _endless(receive: Receive, send: Send) -> None:
    """Chunks of spaces until the client hangs up (or, as a safety net, 4 GiB)."""
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    chunk = b" " * 65536
    try:
        for _ in range(65536):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0)
    finally:
        watcher.cancel()


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the app to completion and keep its answer instead of sending it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def sink(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, sink)
    return start, b"".join(chunks)


def is_vendor_request(scope: Scope) -> bool:
    """Faults apply to the vendor's API, never to the sandbox's own `/_sandbox/` knobs."""
    return not str(scope.get("path", "")).startswith("/_sandbox/")


def vendor_app(app: ASGIApp, faults: Faults, clock: Clock) -> DateHeaderMiddleware:
    """A sandbox app as every vendor serves it: fault knobs, then the vendor's Date header."""
    return DateHeaderMiddleware(
        FaultMiddleware(app, faults, applies=is_vendor_request, clock=clock), clock
    )


class LoseAnswers:
    """Lets an armed operation run, then drops the connection mid-answer: a lost reply.

    `armed` counts, per operation name, how many answers to lose (a vendor sandbox's
    `lose_response` knob); `operation` names a request's operation ("" for none). The
    vendor has done the work; the client sees a few bytes of an answer announced longer and
    a reset — even where the answer has no body (a 204) — which is what a write whose answer
    never arrived looks like.
    """

    def __init__(
        self,
        app: ASGIApp,
        armed: MutableMapping[str, int],
        lock: AbstractContextManager[Any],
        operation: Callable[[Scope], str],
    ) -> None:
        self.app, self.armed, self.lock, self.operation = app, armed, lock, operation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self.operation(scope) if scope["type"] == "http" else ""
        with self.lock:
            lose = self.armed.get(name, 0) > 0
            if lose:
                self.armed[name] -= 1
        if not lose:
            await self.app(scope, receive, send)
            return
        start, body = await _capture(self.app, scope, receive)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        length = str(len(body) + 64).encode()
        await send({**start, "headers": [*headers, (b"content-length", length)]})
        await send({"type": "http.response.body", "body": body[:4] or b'{"id', "more_body": True})
        raise InjectedDisconnect("sandbox fault: the answer was lost")


def _html(status: int) -> bytes:
    return _HTML_PAGE.format(
        status=503 if status == 200 else status, reason=_REASONS[status]
    ).encode()


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
