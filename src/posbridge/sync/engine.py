"""The sync engine: drive a connection's streams into the store, page by page.

Guarantees (each one has a test):
- a page's records, its quarantined records, the stream's new state and the day's request
  count commit in ONE transaction, so a crash at any point resumes without loss or
  duplicates (records upsert on (connection, source id));
- a record that fails to map is quarantined with its raw payload and the reason, and the
  sync goes on; it is marked resolved when it later maps;
- one failing stream never fails the others; an auth failure stops the connection at
  once (needs attention) and a quota error parks it until the vendor's stated time;
- a targeted backfill (`since`/`until`) reads a window without touching stored state;
- a complete read of a full stream soft-deletes records that vanished from the vendor.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import stamina
from sqlalchemy.exc import DBAPIError

from posbridge.connectors import REGISTRY
from posbridge.connectors.base import Connector, FetchContext, Page, Stream
from posbridge.connectors.http import RequestBudget, RetryPolicy, VendorClient
from posbridge.errors import (
    AuthError,
    ConfigError,
    CursorError,
    DatabaseUnavailable,
    LockedOut,
    PosbridgeError,
    QuotaExhausted,
    RateLimited,
    StoreError,
    SyncError,
)
from posbridge.store.dberrors import storage_error
from posbridge.store.records import PageWrite
from posbridge.store.repo import ConnectionRow, Store
from posbridge.store.rollups import refresh as refresh_rollups
from posbridge.sync.planner import plan_intervals
from posbridge.sync.prefetch import CommitThread, InlineCommit, Prefetcher
from posbridge.sync.worker import MappedPage, PageSpec, new_pool, prepare_page, warm_up
from posbridge.webhooks import emit, subscribed_types

__all__ = [
    "ProgressFn",
    "RunResult",
    "StreamOutcome",
    "SyncEngine",
    "budget_for",
    "build_connector",
    "default_workers",
]

log = logging.getLogger("posbridge.sync")
_encode = msgspec.json.encode

#: called after each committed page: (connection name, stream, records in page, totals so far)
ProgressFn = Callable[[str, str, int, "StreamOutcome"], None]

#: object type → (event when created, event when updated); only these emit per-record events
CHANGE_EVENTS = {
    "order": ("order.created", "order.updated"),
    "product": ("product.updated", "product.updated"),
    "customer": ("customer.updated", "customer.updated"),
}

#: pages smaller than this are mapped in-process (a worker round trip costs more)
_POOL_MIN_PAGE = 200

#: a fetched page on its way to the commit: mapped here or by a worker process
_Pending = tuple[MappedPage | Future[MappedPage], PageSpec, Page]


@dataclass(slots=True)
class StreamOutcome:
    """What one stream did in one run."""

    name: str
    status: str = "pending"
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    requests: int = 0
    error: str | None = None
    error_kind: str | None = None


@dataclass(slots=True)
class RunResult:
    """What one run of one connection did; `ok` is false when anything failed."""

    connection: str
    run_id: int | None
    status: str
    streams: list[StreamOutcome] = field(default_factory=list)
    requests: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every stream that ran succeeded."""
        return self.status == "ok"


def build_connector(
    store: Store,
    row: ConnectionRow,
    *,
    budget: RequestBudget | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    """Instantiate the connector of a stored connection with its decrypted settings."""
    cls = REGISTRY.get(row.vendor)
    if cls is None:
        raise SyncError(f"connection {row.name!r} uses unknown vendor {row.vendor!r}")
    settings = cls.Settings.model_validate({**row.settings, **store.credentials(row)})
    client = VendorClient(
        row.base_url, vendor=row.vendor, budget=budget, retry=retry, transport=transport
    )
    connector = cls(settings, client)
    connector.use_counters(store.nonces)  # iCash nonces, shared by every worker of a key
    return connector


def default_workers() -> int:
    """Worker processes for mapping: one when a second core exists, else none."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


@contextmanager
def _bulk_gc() -> Iterator[None]:
    """Collect young objects every 100k allocations instead of 700 while syncing.

    A page is thousands of short-lived dicts; the default threshold runs a collection
    every few records and cost ~40% of decode time (measured in bench/). Restored after.
    """
    saved = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _due(interval: timedelta, stored: dict[str, Any] | None, now: datetime) -> bool:
    """A stream is due when its planned interval has passed since its last success."""
    if not stored or stored.get("last_success_at") is None:
        return True
    last: datetime = stored["last_success_at"]
    return now - last >= interval


def budget_for(
    store: Store, connection_id: str, connector: Connector, clock: Callable[[], datetime]
) -> RequestBudget:
    """Today's request budget of a connection, with what was already spent today."""
    limits = connector.effective_limits()
    budget = RequestBudget(
        limit=limits.per_day,
        timezone=limits.quota_timezone,
        reserve=limits.write_reserve,
        clock=clock,
    )
    budget.day = budget.local_day()
    budget.used = budget.saved = store.budget_used(connection_id, budget.day.isoformat())
    return budget


class SyncEngine:
    """Runs syncs against one store. Clock and transport are injectable for tests."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        progress: ProgressFn | None = None,
        workers: int = 0,
        pipeline: bool = True,
    ) -> None:
        self.store = store
        self.workers = workers
        #: fetch ahead and commit behind on two helper threads. One big sync gains ~20%
        #: from it; a fleet worker already overlaps many connections, where the two extra
        #: threads per sync only add GIL hand-offs (bench/README.md, fleet section)
        self.pipeline = pipeline
        self._pool: ProcessPoolExecutor | None = None
        self._warm: Future[None] | None = None
        self._subscriptions: set[str] | None = None
        #: pages mapped by worker processes so far (observability and tests)
        self.pages_in_workers = 0
        self.clock = clock
        self.retry = retry
        self.transport = transport
        self.progress = progress

    # -- public ----------------------------------------------------------------------------
    def run(
        self,
        name: str,
        *,
        streams: Sequence[str] | None = None,
        full: bool = False,
        since: date | None = None,
        until: date | None = None,
        trigger: str = "manual",
        due_only: bool = False,
    ) -> RunResult:
        """Sync one connection; never raises for vendor trouble, reports it instead."""
        self._subscriptions = None  # re-read per run: subscriptions may have changed
        with _bulk_gc():
            try:
                return self._run(
                    name,
                    streams=streams,
                    full=full,
                    since=since,
                    until=until,
                    trigger=trigger,
                    due_only=due_only,
                )
            finally:
                self.close()

    def _run(
        self,
        name: str,
        *,
        streams: Sequence[str] | None,
        full: bool,
        since: date | None,
        until: date | None,
        trigger: str,
        due_only: bool,
    ) -> RunResult:
        row = self.store.get_connection(name)
        now = self.clock()
        if row.status == "needs_attention":
            return RunResult(
                row.name,
                None,
                "needs_attention",
                error=f"{row.status_reason} — fix the credentials with "
                f"`posbridge connect {row.vendor} --name {row.name} --update`",
            )
        if row.deferred_until is not None and row.deferred_until > now:
            return RunResult(
                row.name,
                None,
                "deferred",
                error=f"deferred until {row.deferred_until:%Y-%m-%d %H:%M:%S} UTC "
                f"({row.status_reason})",
            )
        if since and until and since > until:
            raise SyncError(f"--since {since} is after --until {until}")
        if row.status == "deferred":
            self.store.set_status(row.id, "ok")
        connector = build_connector(self.store, row, retry=self.retry, transport=self.transport)
        budget = budget_for(self.store, row.id, connector, self.clock)
        connector.http.budget = budget
        selected = self._select(connector, streams, since, until)
        states = self.store.stream_states(row.id)
        if due_only:  # the scheduler: only streams whose planned interval has passed
            plan = plan_intervals(connector.effective_limits(), connector.streams())
            selected = [s for s in selected if _due(plan[s.name], states.get(s.name), now)]
            if not selected:
                connector.http.close()
                return RunResult(row.name, None, "idle")
        run_id = self.store.start_run(row.id, trigger, now)
        result = RunResult(row.name, run_id, "running")
        try:
            for stream in selected:
                outcome = StreamOutcome(stream.name)
                result.streams.append(outcome)
                stop = self._run_stream(
                    row,
                    connector,
                    stream,
                    states.get(stream.name),
                    outcome,
                    run_id,
                    full=full,
                    since=since,
                    until=until,
                )
                if stop:
                    break
        except StoreError as exc:
            connector.http.close()
            self._record_store_failure(run_id, row.id, budget, connector.http.requests_made, exc)
            raise
        finally:
            connector.http.close()
        # Reports read per-day rollups: bring the days this run touched up to date.
        refresh_rollups(self.store.engine, [row.id])
        result.requests = connector.http.requests_made
        self._persist_budget(row.id, budget)
        failed = [s for s in result.streams if s.status in ("failed", "stopped")]
        if any(s.status == "stopped" for s in result.streams):
            result.status = self.store.get_connection(row.id).status
            result.error = next(s.error for s in result.streams if s.status == "stopped")
        elif failed:
            result.status = "partial" if len(failed) < len(result.streams) else "failed"
            result.error = "; ".join(f"{s.name}: {s.error}" for s in failed)
        else:
            result.status = "ok"
        summary = {
            s.name: {k: getattr(s, k) for k in StreamOutcome.__slots__} for s in result.streams
        }
        self.store.finish_run(
            run_id, result.status, result.requests, summary, result.error, self.clock()
        )
        self._emit_run_events(row, result)
        return result

    def _emit_run_events(self, row: ConnectionRow, result: RunResult) -> None:
        wanted = subscribed_types(self.store, row.account_id)
        if not wanted:
            return
        data = {
            "connection_id": row.id,
            "run_id": result.run_id,
            "status": result.status,
            "requests": result.requests,
            "error": result.error,
            "streams": {
                s.name: {
                    "inserted": s.inserted,
                    "updated": s.updated,
                    "quarantined": s.quarantined,
                    "status": s.status,
                }
                for s in result.streams
            },
        }
        events = [("sync.completed" if result.ok else "sync.failed", row.id, data)]
        if result.status == "needs_attention":
            events.append(
                (
                    "connection.needs_attention",
                    row.id,
                    {"connection_id": row.id, "reason": result.error},
                )
            )
        with self.store.engine.begin() as conn:
            emit(conn, row.account_id, events, self.clock())

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _select(
        connector: Connector, names: Sequence[str] | None, since: date | None, until: date | None
    ) -> list[Stream]:
        available = list(connector.streams())
        if names:
            by_name = {s.name: s for s in available}
            unknown = [n for n in names if n not in by_name]
            if unknown:
                raise SyncError(
                    f"unknown stream(s) {', '.join(unknown)} for {connector.vendor}; "
                    f"known: {', '.join(by_name)}"
                )
            available = [by_name[n] for n in names]
        if since or until:
            unsupported = [s.name for s in available if not s.supports_backfill]
            if names and unsupported:
                raise SyncError(
                    f"stream(s) {', '.join(unsupported)} cannot be backfilled by "
                    "date; backfill works on: "
                    + ", ".join(s.name for s in connector.streams() if s.supports_backfill)
                )
            available = [s for s in available if s.supports_backfill]
        return available

    def _run_stream(
        self,
        row: ConnectionRow,
        connector: Connector,
        stream: Stream,
        stored: dict[str, Any] | None,
        outcome: StreamOutcome,
        run_id: int,
        *,
        full: bool,
        since: date | None,
        until: date | None,
    ) -> bool:
        """Run one stream; True means stop the whole connection (auth, lockout, quota)."""
        backfill = since is not None or until is not None
        state = {} if (full or not stored) else stored["state"]
        ctx = FetchContext(state=state, full=full, since=since, until=until, now=self.clock())
        seen: set[str] | None = set() if (stream.mode == "full" and not backfill) else None
        quarantined = self.store.quarantined_ids(row.id, stream.name)
        before = connector.http.requests_made

        def commit(item: _Pending) -> None:
            pending, spec, page = item
            if isinstance(pending, Future):
                try:
                    mapped = pending.result()
                except BrokenProcessPool:  # a worker died: map this page here instead
                    log.warning("mapping worker died; mapping in-process")
                    self.workers = 0
                    mapped = prepare_page(spec, page.records, page.raw, page.state)
            else:
                mapped = pending
            self._commit_retrying(
                row,
                connector,
                stream,
                mapped,
                outcome,
                run_id,
                seen,
                quarantined,
                save_state=not backfill,
            )
            if self.progress:
                self.progress(row.name, stream.name, mapped.fetched, outcome)

        try:
            with self._committer(commit) as committer:
                for page in self._pages(stream.fetch(ctx)):
                    spec = PageSpec(
                        row.id,
                        self.store.engine.dialect.name,
                        stream.model.object_type,
                        stream.source_key,
                        stream.to_model,
                        stream.decode,
                        stream.related,
                        self.clock(),
                        connector.mapping_version,
                    )
                    pool = self._pool_for(stream, page)
                    future = None
                    if pool is not None:
                        try:
                            future = pool.submit(prepare_page, spec, None, page.raw, page.state)
                        except BrokenProcessPool:
                            log.warning("mapping worker pool is broken; mapping in-process")
                            self.workers = 0
                    if future is not None:
                        self.pages_in_workers += 1
                        committer.submit((future, spec, page))
                    else:
                        mapped = prepare_page(spec, page.records, page.raw, page.state)
                        committer.submit((mapped, spec, page))
            if seen is not None and stream.detect_deletions:
                with self.store.engine.begin() as conn:
                    outcome.deleted = self.store.writer.mark_missing(
                        conn, row.id, stream.model.object_type, seen, self.clock()
                    )
            if not backfill:
                with self.store.engine.begin() as conn:
                    self.store.put_state(
                        conn, row.id, stream.name, None, self.clock(), success=True
                    )
            outcome.status = "ok"
            return False
        except (AuthError, LockedOut, QuotaExhausted) as exc:
            self._stop_connection(row, exc)
            outcome.status, outcome.error, outcome.error_kind = "stopped", exc.message, exc.kind
            return True
        except StoreError:
            raise  # the database itself failed: no other stream can commit either
        except RateLimited as exc:
            if exc.retry_after is None or exc.retry_after <= connector.http.retry.max_inline_wait:
                outcome.status, outcome.error, outcome.error_kind = "failed", exc.message, exc.kind
                self._record_stream_error(row, stream, exc.message)
                return False
            # Too long to sleep in a worker: park the connection until the stated time.
            until = self.clock() + timedelta(seconds=exc.retry_after)
            message = (
                f"{exc.message}; the vendor asks to wait {exc.retry_after:.0f} s, "
                f"deferred until {until:%Y-%m-%d %H:%M:%S} UTC"
            )
            self.store.set_status(row.id, "deferred", message, deferred_until=until)
            outcome.status, outcome.error, outcome.error_kind = "stopped", message, exc.kind
            return True
        except CursorError as exc:
            message = (
                f"stream {stream.name}: {exc.message}; nothing was read. Reset the cursor with "
                f"`posbridge sync {row.name} --stream {stream.name} --full`"
            )
            outcome.status, outcome.error, outcome.error_kind = "failed", message, exc.kind
            self._record_stream_error(row, stream, message)
            return False
        except PosbridgeError as exc:
            outcome.status, outcome.error, outcome.error_kind = "failed", exc.message, exc.kind
            self._record_stream_error(row, stream, exc.message)
            return False
        except Exception as exc:  # a bug in one stream must not fail the others
            problem = storage_error(exc, self.store.engine)
            if problem is not None:
                raise problem from exc
            log.exception("stream %s of %s crashed", stream.name, row.name)
            outcome.status, outcome.error, outcome.error_kind = (
                "failed",
                f"internal error: {exc!r}",
                "InternalError",
            )
            self._record_stream_error(row, stream, outcome.error)
            return False
        finally:
            outcome.requests = connector.http.requests_made - before

    def _commit_page(
        self,
        row: ConnectionRow,
        connector: Connector,
        stream: Stream,
        mapped: MappedPage,
        outcome: StreamOutcome,
        run_id: int,
        seen: set[str] | None,
        quarantined: set[str],
        *,
        save_state: bool,
    ) -> None:
        """One transaction: records, derived records, quarantine, stream state, budget.

        Nothing outside the database changes before the commit, so a failed commit can be
        retried with the same page (`_commit_retrying`).
        """
        now = self.clock()
        budget = connector.http.budget
        day = None if budget.day is None else budget.day.isoformat()
        requests = budget.unsaved() if day is not None else 0
        fixed: list[str] = []
        try:
            written = self._write_page(
                row, stream, mapped, run_id, quarantined, fixed, (day, requests), now, save_state
            )
        except BaseException:
            budget.give_back(requests)
            raise
        quarantined.difference_update(fixed)
        outcome.fetched += mapped.fetched
        outcome.inserted += written.inserted
        outcome.updated += written.updated
        outcome.unchanged += written.unchanged
        outcome.quarantined += len(mapped.bad)
        if seen is not None:
            seen.update(mapped.good_ids)
            seen.update(sid for sid, *_ in mapped.bad if sid is not None)

    def _commit_retrying(self, *args: Any, **kwargs: Any) -> None:
        """Commit a page, retrying it while the database is unavailable (a PostgreSQL
        restart or failover); the page is kept in memory, so nothing is fetched twice."""
        for attempt in stamina.retry_context(
            on=DatabaseUnavailable, attempts=8, timeout=60.0, wait_initial=0.25, wait_max=5.0
        ):
            with attempt:
                try:
                    self._commit_page(*args, **kwargs)
                except Exception as exc:
                    problem = storage_error(exc, self.store.engine)
                    if problem is None:
                        raise
                    raise problem from exc

    def _write_page(
        self,
        row: ConnectionRow,
        stream: Stream,
        mapped: MappedPage,
        run_id: int,
        quarantined: set[str],
        fixed: list[str],
        requests: tuple[str | None, int],
        now: datetime,
        save_state: bool,
    ) -> PageWrite:
        """The page's one transaction; `fixed` collects the quarantined ids it resolved."""
        with self.store.engine.begin() as conn:
            main, *derived = mapped.tables
            written = self.store.writer.apply(conn, row.id, main)
            change = CHANGE_EVENTS.get(stream.model.object_type)
            if change is not None and written.written and self._wants(row, change):
                emit(
                    conn,
                    row.account_id,
                    [
                        (change[0] if new else change[1], rid, {"id": rid, "connection_id": row.id})
                        for rid, new in written.written
                    ],
                    now,
                )
            for table in derived:
                self.store.writer.apply(conn, row.id, table)
            for sid, kind, reason, raw in mapped.bad:
                self.store.quarantine(
                    conn,
                    row.id,
                    stream.name,
                    stream.model.object_type,
                    sid,
                    kind,
                    reason,
                    raw,
                    run_id,
                    now,
                )
            if quarantined:
                fixed.extend(sid for sid in mapped.good_ids if sid in quarantined)
                if fixed:
                    self.store.resolve_quarantined(conn, row.id, stream.name, fixed, now)
            if save_state:
                self.store.put_state(
                    conn,
                    row.id,
                    stream.name,
                    mapped.state,
                    now,
                    records=written.inserted + written.updated,
                )
            day, spent = requests
            if day is not None:
                self.store.put_budget(conn, row.id, day, spent)
        return written

    def _pages(self, pages: Iterator[Page]) -> Iterable[Page]:
        return Prefetcher(pages) if self.pipeline else pages

    def _committer(
        self, commit: Callable[[_Pending], None]
    ) -> AbstractContextManager[CommitThread[_Pending] | InlineCommit[_Pending]]:
        return CommitThread(commit, depth=3) if self.pipeline else InlineCommit(commit)

    def _wants(self, row: ConnectionRow, change: tuple[str, str]) -> bool:
        """Whether any subscription wants this record type's change events (cached per run)."""
        if self._subscriptions is None:
            self._subscriptions = subscribed_types(self.store, row.account_id)
        return bool(self._subscriptions & set(change))

    def _pool_for(self, stream: Stream, page: Page) -> ProcessPoolExecutor | None:
        """A worker pool for big pages of streams that can be decoded from raw bytes."""
        if self.workers <= 0 or stream.decode is None or len(page.raw) < _POOL_MIN_PAGE:
            return None
        pool = self._ensure_pool()
        # Until the worker has started (~0.4 s: a fresh interpreter), map here instead of
        # waiting for it.
        return pool if self._warm is not None and self._warm.done() else None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = new_pool(self.workers)
            self._warm = self._pool.submit(warm_up)
        return self._pool

    def start_workers(self, *, wait: bool = False) -> None:
        """Start the mapping workers ahead of a sync (optionally until they are ready)."""
        if self.workers > 0:
            self._ensure_pool()
            if wait and self._warm is not None:
                self._warm.result(timeout=60)

    def close(self) -> None:
        """Stop worker processes (if any were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._warm = None, None

    def _stop_connection(self, row: ConnectionRow, exc: PosbridgeError) -> None:
        if isinstance(exc, QuotaExhausted):
            self.store.set_status(row.id, "deferred", exc.message, deferred_until=exc.reset_at)
        elif isinstance(exc, LockedOut):
            self.store.set_status(row.id, "needs_attention", exc.message, deferred_until=exc.until)
        elif isinstance(exc, ConfigError):
            self.store.set_status(row.id, "needs_attention", exc.message)

    def _record_store_failure(
        self, run_id: int, connection_id: str, budget: RequestBudget, requests: int, exc: StoreError
    ) -> None:
        """Mark the run failed and save the requests spent, if the database still lets us
        (a full disk often has room for an update in place; a server that is down has not)."""
        try:
            self._persist_budget(connection_id, budget)
            self.store.finish_run(run_id, "failed", requests, {}, exc.message, self.clock())
        except DBAPIError:
            log.warning("could not record run %s as failed: the database refused it", run_id)

    def _record_stream_error(self, row: ConnectionRow, stream: Stream, message: str) -> None:
        with self.store.engine.begin() as conn:
            self.store.put_state(conn, row.id, stream.name, None, self.clock(), error=message)

    def _persist_budget(self, connection_id: str, budget: RequestBudget) -> None:
        if budget.day is not None:
            with self.store.engine.begin() as conn:
                self.store.put_budget(conn, connection_id, budget.day.isoformat(), budget.unsaved())

    def run_many(self, names: Iterable[str], **kwargs: Any) -> list[RunResult]:
        """Sync several connections one after another; one failing never stops the rest."""
        return [self.run(n, **kwargs) for n in names]


def _reason(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, PosbridgeError) else str(exc)
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, PosbridgeError) else text
