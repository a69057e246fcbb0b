"""The connector contract: what a vendor package declares and what the engine drives.

A connector is data plus generators. It declares its settings model, its limits and
its streams (read) and commands (write); it never touches the database or the stored
state. The engine hands each stream its last state, receives pages of raw records with
the state to store once the page is committed, maps each record with the stream's pure
`to_model`, and commits records and state in one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

import msgspec
from pydantic import BaseModel

from posbridge.connectors.fieldmap import Field
from posbridge.connectors.http import VendorClient
from posbridge.model import Record

__all__ = [
    "Capability",
    "Command",
    "CommandResult",
    "Connector",
    "FetchContext",
    "Limits",
    "Page",
    "RawRecord",
    "SharedCounters",
    "Stream",
]

#: a vendor record exactly as decoded from the wire, plus its undecoded bytes.
RawRecord = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Limits:
    """What the vendor allows; the engine budgets and schedules within it.

    `per_day` is shared by every stream and write of one vendor account and resets at
    local midnight in `quota_timezone`. `write_reserve` requests of it are kept back for
    write-back so that reads never starve writes.
    """

    per_day: int | None = None
    quota_timezone: str = "UTC"
    write_reserve: int = 0
    max_bad_logins: int | None = None
    concurrency: int = 1


@dataclass(frozen=True, slots=True)
class FetchContext:
    """What the engine tells a stream's fetch: where it left off and what is asked.

    `state` is the JSON state the stream returned with its last committed page (empty on
    the first sync or with `--full`). `since`/`until` are set for a targeted backfill,
    which must not change the stored state (the engine does not save it).
    """

    state: Mapping[str, Any]
    full: bool = False
    since: date | None = None
    until: date | None = None
    lookback: int | timedelta | None = None
    now: datetime | None = None


@dataclass(slots=True)
class Page:
    """One vendor page: raw records (their exact JSON bytes, maybe decoded) and state.

    `records` may be None when the stream declares `decode`: the engine then decodes each
    raw record where it maps it (possibly in a worker process). `state` is what the engine
    stores with this page in the same transaction; it must describe a position from which
    fetching again loses nothing.
    """

    records: list[dict[str, Any]] | None
    raw: list[bytes]
    state: dict[str, Any] = field(default_factory=dict)
    requests: int = 1


@dataclass(frozen=True, slots=True)
class Stream:
    """A read-side resource of a vendor, declared as data.

    `mode` is "incremental" when `fetch` can resume from `state`; "full" streams are read
    whole every time, and records missing from a complete full read are marked deleted.
    `every` is how stale the stream may get; the planner spends the daily budget on the
    streams that are due, most urgent first (`priority`, lower = more urgent).
    `source_key` names the raw field holding the vendor id (for quarantine entries of
    records that fail to map); `supports_backfill` streams honour `since`/`until`.
    `decode` (a module-level function: raw record bytes → dict) lets the engine map big
    pages in a worker process. `related` derives records the vendor only mentions inside this stream's records
    (CloudPOS has no kassa list: devices come from the orders' `kassaid`).
    """

    name: str
    model: type[Record]
    fetch: Callable[[FetchContext], Iterator[Page]]
    to_model: Callable[[Mapping[str, Any]], Record]
    mode: Literal["full", "incremental"] = "full"
    source_key: str = "id"
    supports_backfill: bool = False
    every: timedelta = timedelta(hours=1)
    priority: int = 50
    detect_deletions: bool = True
    description: str = ""
    related: Callable[[Record], Sequence[Record]] | None = None
    decode: Callable[[bytes], Mapping[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Capability:
    """One write the connector can perform, for the capability matrix and the API."""

    name: str
    model: str
    description: str


class Command(msgspec.Struct, kw_only=True, frozen=True):
    """A write request: the command name, its normalized payload and our reference.

    `reference` (the outbox id) is written into a searchable vendor field where the
    vendor has one, so a lost response can be reconciled by looking it up.
    """

    name: str
    payload: dict[str, Any]
    reference: str | None = None


class CommandResult(msgspec.Struct, kw_only=True, frozen=True):
    """What a write returned: the vendor's id for the created/updated object, if any."""

    source_id: str | None = None
    response: dict[str, Any] = msgspec.field(default_factory=dict)


class SharedCounters(Protocol):
    """Strictly increasing counters shared by every process on the store (store/nonces.py)."""

    def hold(
        self, scope: str, floor: int, seed: Callable[[], int] | None = None
    ) -> AbstractContextManager[int]:
        """The next value of `scope` (at least `floor`), locked until the block ends."""
        ...


class Connector(ABC):
    """Base class of every vendor connector.

    Subclasses set the class attributes and implement `check` and `streams`; writes are
    optional via `capabilities` and `execute`.
    """

    vendor: ClassVar[str]
    display_name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]
    limits: ClassVar[Limits] = Limits()
    currency: ClassVar[str] = "EUR"
    timezone: ClassVar[str] = "UTC"
    #: bump when a mapping changes: stored records are then rewritten on the next read
    mapping_version: ClassVar[str] = "1"
    #: the vendor's production URL, when there is exactly one
    default_base_url: ClassVar[str | None] = None
    #: stream → (vendor source, declared fields); rendered into docs/connectors.md
    field_map: ClassVar[Mapping[str, tuple[str, Sequence[Field]]]] = {}

    def __init__(self, settings: BaseModel, http: VendorClient) -> None:
        self.settings = settings
        self.http = http

    def use_counters(self, counters: SharedCounters) -> None:
        """Take the store's shared counters; a connector signing with a nonce that must
        grow across every process and machine (iCash) overrides this."""
        del counters  # nothing to share for a connector without such a counter

    def effective_limits(self) -> Limits:
        """The limits of this account (a vendor may grant more on request)."""
        return self.limits

    @abstractmethod
    def check(self) -> None:
        """Make one cheap authenticated call; raise `AuthError` if refused."""

    @abstractmethod
    def streams(self) -> Sequence[Stream]:
        """The read side, in the order a full sync should run them."""

    def capabilities(self) -> Sequence[Capability]:
        """The write side; empty for a read-only connector."""
        return ()

    def execute(self, command: Command) -> CommandResult:
        """Perform one write; subclasses with capabilities override this."""
        from posbridge.errors import UsageError

        raise UsageError(f"{self.vendor} has no write command {command.name!r}")

    def passthrough(
        self, operation: str, params: Mapping[str, str], fields: Mapping[str, str] | None
    ) -> Any:
        """Send a raw vendor operation with the connector's auth, budget and retries."""
        from posbridge.errors import UsageError

        raise UsageError(f"{self.vendor} has no passthrough")

    def preview(self, command: Command) -> dict[str, Any]:
        """The vendor request `execute` would send, for dry runs; override with writes."""
        from posbridge.errors import UsageError

        raise UsageError(f"{self.vendor} cannot rehearse {command.name!r}")
