"""Who runs a sync, and finding the runs whose runner died (`interrupted`).

A run record is opened `running` and closed by the process that runs it; a process
killed mid-sync never closes it. Each run therefore records its owner: the job queue's
job and worker ids when a worker runs it (`owned_by`, set by the queue task), else the
host and pid of the process. `interrupt_dead_runs` closes as `interrupted`, with the
reason, every running run whose worker stopped heartbeating, whose job was re-queued,
retried elsewhere or ended, or (same host only) whose process is gone. The sync engine
knows nothing of this: `Store.start_run` reads the owner from a context variable.
"""

from __future__ import annotations

import contextvars
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from posbridge.store.queue import has_job_queue
from posbridge.store.tables import sync_runs

__all__ = [
    "RunOwner",
    "current_owner",
    "interrupt_dead_runs",
    "owned_by",
    "stalled_after_setting",
]


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process (and queue job) a run belongs to."""

    host: str
    pid: int
    job_id: int | None = None
    worker_id: int | None = None


_OWNER: contextvars.ContextVar[RunOwner | None] = contextvars.ContextVar(
    "posbridge_run_owner", default=None
)


def _host() -> str:
    return socket.gethostname()[:255]


def current_owner() -> RunOwner:
    """The owner bound by `owned_by`, else this process."""
    return _OWNER.get() or RunOwner(_host(), os.getpid())


@contextmanager
def owned_by(job_id: int | None, worker_id: int | None) -> Iterator[None]:
    """Runs opened in this block belong to this queue job on this worker."""
    token = _OWNER.set(RunOwner(_host(), os.getpid(), job_id, worker_id))
    try:
        yield
    finally:
        _OWNER.reset(token)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _queue_reason(r: Any, stalled_after: float) -> str | None:
    """Why a queue run is dead, or None while its job runs on a live worker."""
    if r.job_status == "doing" and r.job_worker == r.worker_id:
        if r.heartbeat is not None and (r.now - r.heartbeat).total_seconds() < stalled_after:
            return None
        return (
            f"worker {r.worker_id} stopped heartbeating (killed or frozen) while running "
            f"job {r.job_id}; the job runs again on another worker"
        )
    if r.heartbeat is None and r.job_status in ("todo", "doing"):
        return (
            f"worker {r.worker_id} is gone (killed or frozen); job {r.job_id} was re-queued"
            if r.job_status == "todo"
            else f"worker {r.worker_id} is gone; job {r.job_id} runs again on worker {r.job_worker}"
        )
    if r.job_status == "todo":
        return f"job {r.job_id} was re-queued (its worker {r.worker_id} stalled)"
    if r.job_status == "doing":
        return f"job {r.job_id} was retried on worker {r.job_worker}"
    if r.job_status == "aborted":  # recovery closed it: a newer sync job was waiting
        return (
            f"worker {r.worker_id} stopped heartbeating (killed or frozen); its job "
            f"{r.job_id} was aborted for the sync job already waiting"
        )
    ended = r.job_status or "deleted"
    return f"job {r.job_id} on worker {r.worker_id} ended ({ended}) without closing this run"


def stalled_after_setting() -> float:
    """The workers' `POSBRIDGE_WORKER_STALLED_AFTER` (default 30 s), for readers that
    are not workers (`posbridge status`, the API) and must not call a live worker dead."""
    try:
        return float(os.environ.get("POSBRIDGE_WORKER_STALLED_AFTER", "30"))
    except ValueError:
        return 30.0


def interrupt_dead_runs(engine: Engine, *, stalled_after: float | None = None) -> int:
    """Close dead `running` runs as `interrupted` with the reason; returns how many."""
    if stalled_after is None:
        stalled_after = stalled_after_setting()
    closed: dict[int, str] = {}
    now = datetime.now(UTC)
    with engine.connect() as conn:
        if has_job_queue(conn):
            rows = conn.execute(
                sa.text(
                    "SELECT r.id, r.job_id, r.worker_id, j.status::text AS job_status,"
                    " j.worker_id AS job_worker, w.last_heartbeat AS heartbeat, now() AS now"
                    " FROM sync_runs r"
                    " LEFT JOIN procrastinate_jobs j ON j.id = r.job_id"
                    " LEFT JOIN procrastinate_workers w ON w.id = r.worker_id"
                    " WHERE r.status = 'running' AND r.job_id IS NOT NULL"
                )
            ).all()
            for r in rows:
                reason = _queue_reason(r, stalled_after)
                if reason is not None:
                    closed[r.id] = reason
        host = _host()
        local = conn.execute(
            sa.select(sync_runs.c.id, sync_runs.c.pid).where(
                sync_runs.c.status == "running",
                sync_runs.c.job_id.is_(None),
                sync_runs.c.host == host,
            )
        ).all()
        for run_id, pid in local:
            if pid is not None and not _pid_alive(pid):
                closed[run_id] = f"process {pid} on {host} ended without closing this run"
    if not closed:
        return 0
    with engine.begin() as conn:
        for run_id, reason in closed.items():
            conn.execute(
                sync_runs.update()
                .where(sync_runs.c.id == run_id, sync_runs.c.status == "running")
                .values(status="interrupted", finished_at=now, error=reason)
            )
    return len(closed)
