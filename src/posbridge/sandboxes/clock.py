"""A controllable clock for sandboxes.

Sandboxes enforce time-based rules (daily quotas, 30-minute IP locks, modtimes of
writes), and tests must be able to cross a midnight or a lock-out without waiting.
A `Clock` is either frozen at a moment (fully deterministic) or running with an offset
from the wall clock (realistic for `posbridge sandbox` and the demo).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Clock", "DateHeaderMiddleware"]


class Clock:
    """Thread-safe clock in one timezone; frozen, or running with an offset.

    `frozen` (naive values are read as local time in `tz`) stops time until `advance`
    or `set` moves it; without it the clock runs with the wall clock plus `offset`.
    """

    def __init__(
        self,
        tz: str = "Europe/Brussels",
        offset: timedelta = timedelta(0),
        frozen: datetime | None = None,
    ) -> None:
        self.tz = ZoneInfo(tz)
        self._offset = offset
        # kept in UTC: arithmetic on aware local datetimes is wall-clock arithmetic and
        # would get DST transitions wrong
        self._frozen = self._utc(frozen) if frozen is not None else None
        self._lock = threading.Lock()

    @classmethod
    def starting_at(cls, moment: datetime, tz: str = "Europe/Brussels") -> Clock:
        """A running clock that reads `moment` now and then ticks with the wall clock."""
        clock = cls(tz)
        clock.set(moment)
        return clock

    @property
    def frozen(self) -> bool:
        """Whether time only moves through `advance`/`set`."""
        return self._frozen is not None

    def _utc(self, moment: datetime) -> datetime:
        aware = moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment
        return aware.astimezone(UTC)

    def now(self) -> datetime:
        """The current moment as an aware datetime in the clock's timezone."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen.astimezone(self.tz)
            return (datetime.now(UTC) + self._offset).astimezone(self.tz)

    def local(self) -> datetime:
        """The current local wall time without tzinfo (the vendors' datetime format)."""
        return self.now().replace(tzinfo=None)

    def unix(self) -> int:
        """The current moment as a unix timestamp (the `modtime` unit)."""
        return int(self.now().timestamp())

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, if negative) and return the new now."""
        step = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen is not None:
                self._frozen += step
            else:
                self._offset += step
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (naive = local time in the clock's timezone)."""
        target = self._utc(moment)
        with self._lock:
            if self._frozen is not None:
                self._frozen = target
            else:
                self._offset = target - datetime.now(UTC)
        return self.now()


class DateHeaderMiddleware:
    """Stamps every HTTP response with a `Date` header read from the sandbox clock.

    Clients turn vendor-stated local times ("blocked till ...") into waits by
    comparing with `Date`, so the header must follow the sandbox clock, not the host's.
    """

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = format_datetime(self.clock.now().astimezone(UTC), usegmt=True)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", stamp.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
