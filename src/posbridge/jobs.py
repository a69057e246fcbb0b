"""The job functions: what a sync job and a planning pass do, in one place.

On PostgreSQL, procrastinate tasks (`posbridge.fleet`) call these from any number of
worker processes; on SQLite the embedded scheduler (`sync/scheduler.py`) calls the same
functions in-process. Nothing here knows which one is calling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from posbridge.errors import PosbridgeError
from posbridge.logs import bind
from posbridge.store.repo import ConnectionRow, Store
from posbridge.sync.engine import RunResult, SyncEngine, budget_for, build_connector
from posbridge.sync.planner import plan_intervals

__all__ = ["Due", "due_connections", "sync_connection"]

log = logging.getLogger("posbridge.jobs")


def sync_connection(
    store: Store,
    connection_id: str,
    *,
    full: bool = False,
    due_only: bool = True,
    trigger: str = "schedule",
    engine: SyncEngine | None = None,
    transport: httpx.BaseTransport | None = None,
) -> RunResult:
    """Sync one connection's due streams (all of them with `due_only=False`).

    Safe to run again after a crash: records and cursors commit together page by page,
    so a rerun resumes where the dead one stopped and upserts what it re-reads.
    """
    engine = engine or SyncEngine(store, transport=transport)
    with bind(connection_id=connection_id):
        result = engine.run(connection_id, full=full, due_only=due_only, trigger=trigger)
        with bind(run_id=result.run_id):
            level = logging.INFO if result.status in ("ok", "idle") else logging.WARNING
            log.log(
                level,
                "sync %s",
                result.status,
                extra={
                    "status": result.status,
                    "requests": result.requests,
                    "records": sum(s.inserted + s.updated for s in result.streams),
                    "error": result.error,
                },
            )
    return result


@dataclass(frozen=True, slots=True)
class Due:
    """A connection the planner wants synced, and when."""

    connection_id: str
    at: datetime


def due_connections(
    store: Store,
    now: datetime | None = None,
    *,
    horizon: timedelta = timedelta(0),
    clock: Callable[[], datetime] | None = None,
) -> list[Due]:
    """Connections with a stream due within `horizon`, within today's vendor budget.

    Needing attention, parked by a quota (`deferred_until` ahead) or out of today's
    request budget (counted in the store, so shared by every worker): not due until
    that changes. The freshness target is the planner's per-stream interval.
    """
    now = now or datetime.now(UTC)
    out: list[Due] = []
    for row in store.list_connections():
        try:
            at = _next_sync(store, row, now, clock or (lambda: now))
        except PosbridgeError as exc:  # one broken connection never stops the planner
            log.warning("cannot plan %s: %s", row.name, exc.message)
            continue
        if at is not None and at <= now + horizon:
            out.append(Due(row.id, max(at, now)))
    return out


def _next_sync(
    store: Store, row: ConnectionRow, now: datetime, clock: Callable[[], datetime]
) -> datetime | None:
    if row.status == "needs_attention":
        return None
    if row.deferred_until is not None and row.deferred_until > now:
        return None
    connector = build_connector(store, row)
    try:
        streams = connector.streams()
        limits = connector.effective_limits()
        budget = budget_for(store, row.id, connector, clock)
    finally:
        connector.http.close()
    if budget.remaining == 0:
        return None  # today's quota is spent: the next planner pass after midnight finds it
    plan = plan_intervals(limits, streams)
    states = store.stream_states(row.id)
    soonest: datetime | None = None
    for stream in streams:
        last = states.get(stream.name, {}).get("last_success_at")
        at = now if last is None else last + plan[stream.name]
        soonest = at if soonest is None else min(soonest, at)
    return soonest
