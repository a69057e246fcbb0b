"""The error taxonomy every connector decodes into.

Classes are named by what the caller does about them::

    PosbridgeError                  root; carries vendor, code, vendor message, request id
    ├── ConfigError                 a human must act; never retried
    │   ├── AuthError               credentials refused (CloudPOS 1001/1002)
    │   ├── LockedOut               the vendor blocks us until `until` (CloudPOS 1004)
    │   └── NotLicensed             the account lacks the module (CloudPOS 1005)
    ├── TransientError              retried with backoff and jitter
    │   ├── NetworkError            connect/read failures, timeouts, resets
    │   ├── ServerError             HTTP 5xx
    │   ├── RateLimited             HTTP 429; carries retry_after
    │   ├── MalformedResponse       truncated JSON, HTML where JSON was expected
    │   └── SessionExpired          the auth flow renews and replays once
    ├── QuotaExhausted              stop the connection until reset_at; the scheduler waits
    ├── VendorError                 request rejected or unsupported; fatal for that stream
    │   ├── VendorValidationError   a write was refused for a field (CloudPOS 2001-2008)
    │   └── UpstreamResponseRejected  an answer too big or too slow to accept (never retried)
    ├── RecordError                 one record; quarantined, the sync continues
    │   └── MappingError
    └── UsageError                  bad input from our own user (CLI/API); says what to fix
        ├── StoreError
        │   ├── DatabaseFull        the disk (or quota) under the database is full
        │   ├── DatabaseReadOnly    the database refuses writes (read-only file or disk)
        │   └── DatabaseUnavailable the server is down, restarting or unreachable
        └── SyncError
            └── CursorError         a stored stream cursor is corrupt or beyond the vendor's data

`ConfigError`, `QuotaExhausted` and `VendorError` are never retried by the HTTP layer:
CloudPOS blocks an IP for 30 minutes after five bad logins, so an auth failure must stop
the connection after one call.
"""

from __future__ import annotations

from datetime import datetime

#: prefix of every problem+json `type` posbridge answers with
PROBLEM_TYPE_BASE = "https://posbridge.dev/problems/"

__all__ = [
    "PROBLEM_TYPE_BASE",
    "AuthError",
    "ConfigError",
    "CursorError",
    "DatabaseFull",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "LockedOut",
    "MalformedResponse",
    "MappingError",
    "NetworkError",
    "NotLicensed",
    "PosbridgeError",
    "QuotaExhausted",
    "RateLimited",
    "RecordError",
    "ServerError",
    "SessionExpired",
    "StoreError",
    "SyncError",
    "TransientError",
    "UpstreamResponseRejected",
    "UsageError",
    "VendorError",
    "VendorValidationError",
]


class PosbridgeError(Exception):
    """Root of every error posbridge raises on purpose.

    `vendor_code` and `vendor_message` keep the vendor's own words so a user can look
    them up in the vendor's documentation.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        vendor_code: int | str | None = None,
        vendor_message: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.vendor_code = vendor_code
        self.vendor_message = vendor_message
        self.http_status = http_status

    @property
    def kind(self) -> str:
        """Stable machine-readable name, used in run reports and problem types."""
        return type(self).__name__

    @property
    def problem_kind(self) -> str:
        """The class as the last part of its RFC 9457 `type` URI: `quota_exhausted`."""
        return "".join("_" + c.lower() if c.isupper() else c for c in self.kind).lstrip("_")


class ConfigError(PosbridgeError):
    """Something a human must fix (credentials, licence, settings)."""


class AuthError(ConfigError):
    """The vendor refused the credentials; retrying would only risk a lockout."""


class LockedOut(ConfigError):
    """The vendor has blocked us until a stated time."""

    def __init__(self, message: str, *, until: datetime | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]  # forwarded keyword set
        self.until = until


class NotLicensed(ConfigError):
    """The vendor account has no licence for the module a stream or command needs."""


class TransientError(PosbridgeError):
    """A failure that may pass; retried with exponential backoff and jitter."""

    retry_after: float | None = None


class NetworkError(TransientError):
    """Connection refused/reset, or a timeout."""


class ServerError(TransientError):
    """The vendor answered with a 5xx status."""


class RateLimited(TransientError):
    """HTTP 429; `retry_after` (seconds) is the vendor's stated wait, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]  # forwarded keyword set
        self.retry_after = retry_after


class MalformedResponse(TransientError):
    """The body was not the JSON the vendor documents (truncated, HTML, wrong shape)."""

    def __init__(self, message: str, *, body: bytes = b"", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]  # forwarded keyword set
        self.body = body[:4096]


class SessionExpired(TransientError):
    """The vendor session ended; the auth flow logs in again and replays once."""


class QuotaExhausted(PosbridgeError):
    """The vendor's request quota is used up until `reset_at` (UTC)."""

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]  # forwarded keyword set
        self.reset_at = reset_at


class VendorError(PosbridgeError):
    """The vendor rejected the request; retrying the same request will not help."""


class VendorValidationError(VendorError):
    """A write was refused because of a field; the vendor's code and text are kept."""


class UpstreamResponseRejected(VendorError):
    """The vendor's answer was refused unread (over the size or time cap): asking again would
    only fetch it again, so it is not retried (RELIABILITY.md scenario 27)."""


class RecordError(PosbridgeError):
    """One record cannot be used; it is quarantined and the sync continues."""


class MappingError(RecordError):
    """A vendor record could not be mapped to the normalized model."""


class UsageError(PosbridgeError):
    """Bad input from our own user; the message says what to fix."""


class StoreError(UsageError):
    """The database cannot be used (missing, read-only, full, wrong schema)."""


class DatabaseFull(StoreError):
    """No space left for the database: nothing more can be committed until space is freed."""


class DatabaseReadOnly(StoreError):
    """The database (file, disk or server) refuses writes."""


class DatabaseUnavailable(StoreError):
    """The database server cannot be reached (down, restarting); a retry may succeed."""


class SyncError(UsageError):
    """A sync could not start (unknown connection, unknown stream, bad dates)."""


class CursorError(SyncError):
    """A stream's stored cursor is unusable (corrupt, or past everything the vendor has).

    The stream fails without reading rather than guessing: a guess could skip data. The
    engine's message names the stream and the reset command (`sync --stream S --full`).
    """
