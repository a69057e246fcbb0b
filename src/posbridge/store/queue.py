"""Enqueue jobs with plain SQL, inside the caller's transaction (PostgreSQL only).

procrastinate keeps its jobs in our PostgreSQL schema (migration 0007). Calling its
`procrastinate_defer_jobs_v1` function on *our* SQLAlchemy connection puts the job in
the same transaction as the state that caused it: a connection that is created gets its
first sync job or neither exists. A job already waiting under the same queueing lock
is not an error: the savepoint keeps the caller's transaction alive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

__all__ = [
    "QUEUE",
    "SYNC_TASK",
    "enqueue",
    "enqueue_sync",
    "has_job_queue",
    "sync_job",
    "sync_lock",
    "sync_now",
]

QUEUE = "posbridge"
SYNC_TASK = "posbridge.sync"

_DEFER = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, "
    ":qlock, CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))"
)


def has_job_queue(conn: sa.Connection) -> bool:
    """True on PostgreSQL, where migration 0007 created the job tables."""
    return conn.dialect.name == "postgresql"


def sync_lock(connection_id: str) -> str:
    """The lock every job of one connection takes: never two at once on a connection."""
    return f"connection:{connection_id}"


def enqueue(
    conn: sa.Connection,
    task: str,
    args: dict[str, Any],
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    at: datetime | None = None,
) -> int | None:
    """Defer one job in the caller's transaction; None when an equal one is waiting."""
    try:
        with conn.begin_nested():
            job_id = conn.execute(
                _DEFER,
                {
                    "queue": QUEUE,
                    "task": task,
                    "lock": lock,
                    "qlock": queueing_lock,
                    "args": msgspec.json.encode(args).decode(),
                    "at": at,
                },
            ).scalar_one()
    except IntegrityError:  # the queueing lock: that job is already waiting
        return None
    return int(job_id)


def enqueue_sync(
    conn: sa.Connection,
    connection_id: str,
    *,
    full: bool = False,
    at: datetime | None = None,
    trigger: str | None = None,
) -> int | None:
    """Defer a sync of one connection (at most one waiting per connection)."""
    args: dict[str, Any] = {"connection_id": connection_id, "full": full}
    if trigger is not None:
        args["trigger"] = trigger
    return enqueue(
        conn,
        SYNC_TASK,
        args,
        lock=sync_lock(connection_id),
        queueing_lock=_sync_queueing_lock(connection_id),
        at=at,
    )


def _sync_queueing_lock(connection_id: str) -> str:
    return f"sync:{connection_id}"


def sync_now(conn: sa.Connection, connection_id: str) -> tuple[int, bool]:
    """A sync job of the connection due now: a new one, or the one already waiting
    (the queueing lock allows one), moved forward if the planner scheduled it later.
    Returns (job id, whether it is new)."""
    for _ in range(3):  # the waiting job may start between our two statements
        job_id = enqueue_sync(conn, connection_id, trigger="api")
        if job_id is not None:
            return job_id, True
        waiting = conn.execute(
            sa.text(
                "UPDATE procrastinate_jobs SET scheduled_at = NULL WHERE queueing_lock = :q"
                " AND status = 'todo' RETURNING id"
            ),
            {"q": _sync_queueing_lock(connection_id)},
        ).scalar_one_or_none()
        if waiting is not None:
            return int(waiting), False
    raise RuntimeError(f"could not queue a sync of {connection_id}")  # pragma: no cover


def sync_job(conn: sa.Connection, connection_id: str, job_id: int) -> dict[str, Any] | None:
    """One sync job of the connection: its queue status and timing (None if unknown)."""
    row = conn.execute(
        sa.text(
            "SELECT j.id, j.status::text AS status, j.attempts, j.scheduled_at, j.worker_id,"
            " (SELECT min(at) FROM procrastinate_events e WHERE e.job_id = j.id"
            "  AND e.type = 'deferred') AS queued_at"
            " FROM procrastinate_jobs j WHERE j.id = :id AND j.task_name = :task"
            " AND j.args->>'connection_id' = :cid"
        ),
        {"id": job_id, "task": SYNC_TASK, "cid": connection_id},
    ).first()
    return None if row is None else dict(row._mapping)
