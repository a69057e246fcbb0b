"""Distributed sync workers on PostgreSQL, with procrastinate as the job queue.

`posbridge worker` runs `run_worker`: a procrastinate worker whose tasks call the job
functions in `posbridge.jobs`. Jobs of one connection share a `lock`, so no two workers
ever sync it at once; a `queueing_lock` keeps at most one sync per connection waiting.
Periodic tasks (deduplicated across workers by procrastinate) plan the next syncs
within each vendor's budget and re-queue the jobs of workers that stopped heartbeating
(killed mid-job). Sync tasks are plain functions: procrastinate runs them in threads,
so one worker keeps `concurrency` connections in flight while each waits on its vendor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from posbridge.errors import UsageError
from posbridge.jobs import due_connections, sync_connection
from posbridge.logs import bind
from posbridge.store.owners import owned_by
from posbridge.store.queue import QUEUE, SYNC_TASK, enqueue_sync, has_job_queue
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine

__all__ = [
    "FleetOptions",
    "build_app",
    "conninfo",
    "queue_stats",
    "run_due_jobs",
    "run_worker",
]

log = logging.getLogger("posbridge.fleet")


def conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (keeps options such as search_path)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise UsageError(
            "distributed workers need PostgreSQL (POSBRIDGE_DATABASE_URL=postgresql+psycopg://"
            "...); with SQLite, `posbridge sync --watch` runs the embedded scheduler"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """Worker tuning; every field has a POSBRIDGE_WORKER_* environment variable (cli.py)."""

    concurrency: int = 20
    plan_every: int = 30  # seconds between planner passes (1-59: a cron seconds field)
    heartbeat: float = 10.0  # seconds between a worker's heartbeats
    stalled_after: float = 30.0  # a worker silent this long is dead: its jobs run again
    recover_every: int = 10  # seconds between checks for stalled jobs
    graceful_timeout: float = 60.0  # on SIGTERM, running syncs get this long to finish
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: housekeeping (plan, recover, webhooks) runs before waiting syncs, never behind them
HOUSEKEEPING = 10


def _every(seconds: int) -> str:
    # croniter's optional sixth field is seconds
    return f"* * * * * */{max(1, min(59, seconds))}"


def build_app(store: Store, options: FleetOptions | None = None) -> procrastinate.App:
    """A procrastinate app bound to `store`'s PostgreSQL, with posbridge's tasks."""
    options = options or FleetOptions()
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(store.engine.url.render_as_string(hide_password=False)),
        min_size=1,
        max_size=4,
    )
    app = procrastinate.App(connector=connector)

    # No job-level retry: a sync reports vendor trouble instead of raising, and a job that
    # did raise (a database blip) is queued again by the next planner pass, since its
    # streams are still due. (A procrastinate retry could also collide with a sync the
    # planner queued meanwhile under the same queueing lock.)
    @app.task(name=SYNC_TASK, queue=QUEUE, pass_context=True)
    def sync(
        context: procrastinate.JobContext,
        connection_id: str,
        full: bool = False,
        trigger: str = "queue",
    ) -> str:
        with (
            bind(job_id=context.job.id, worker=context.worker_name),
            owned_by(context.job.id, context.job.worker_id),
        ):
            # many syncs already overlap in this worker: no fetch/commit threads per sync
            engine = SyncEngine(store, pipeline=False)
            return sync_connection(
                store, connection_id, full=full, trigger=trigger, engine=engine
            ).status

    @app.periodic(cron=_every(options.plan_every), periodic_id="plan")
    # Housekeeping tasks: `lock` runs one at a time across the fleet, `queueing_lock`
    # keeps at most one waiting, the priority puts them ahead of waiting syncs.
    @app.task(
        name="posbridge.plan",
        queue=QUEUE,
        lock="posbridge.plan",
        queueing_lock="posbridge.plan",
        priority=HOUSEKEEPING,
    )
    def plan(timestamp: int) -> int:
        now = datetime.now(UTC)
        due = due_connections(store, now, horizon=timedelta(seconds=options.plan_every))
        queued = 0
        with store.engine.begin() as conn:
            for item in due:
                at = item.at if item.at > now else None
                queued += enqueue_sync(conn, item.connection_id, at=at) is not None
        return queued

    @app.periodic(cron=_every(options.recover_every), periodic_id="recover")
    @app.task(
        name="posbridge.recover",
        queue=QUEUE,
        # no `lock`: a recover job of a dead worker must not block the next recover
        queueing_lock="posbridge.recover",
        priority=HOUSEKEEPING,
    )
    async def recover(timestamp: int) -> int:
        """Run again the jobs of workers that stopped heartbeating (killed, frozen)."""
        manager = app.job_manager
        stalled = list(
            await manager.get_stalled_jobs(seconds_since_heartbeat=options.stalled_after)
        )
        for job in stalled:
            assert job.id is not None
            log.warning("re-queueing job %s of a stalled worker", job.id, extra={"job_id": job.id})
            try:
                await manager.retry_job_by_id_async(job.id, retry_at=datetime.now(UTC))
            except procrastinate.exceptions.UniqueViolation:
                # The planner queued the same sync meanwhile (queueing lock): that one will
                # run; close the dead one so its `lock` no longer blocks it.
                await manager.finish_job_by_id_async(
                    job.id, status=procrastinate.jobs.Status.ABORTED, delete_job=False
                )
            except procrastinate.exceptions.ConnectorException as exc:
                log.info("job %s was recovered already: %s", job.id, exc)
        await manager.prune_stalled_workers(options.stalled_after)
        # their runs never closed: say so (`interrupted`, with the reason)
        closed = await asyncio.to_thread(
            store.interrupt_dead_runs, stalled_after=options.stalled_after
        )
        if closed:
            log.warning("marked %d runs of dead workers interrupted", closed)
        return len(stalled)

    @app.periodic(cron=_every(5), periodic_id="webhooks")
    @app.task(
        name="posbridge.webhooks",
        queue=QUEUE,
        lock="posbridge.webhooks",
        queueing_lock="posbridge.webhooks",
        priority=HOUSEKEEPING,
    )
    def webhooks(timestamp: int) -> int:
        from posbridge.netguard import guarded_client
        from posbridge.webhooks import deliver_due

        with guarded_client() as client:
            return deliver_due(store, client)

    @app.periodic(cron="17 * * * *", periodic_id="cleanup")
    @app.task(
        name="posbridge.cleanup",
        queue=QUEUE,
        lock="posbridge.cleanup",
        queueing_lock="posbridge.cleanup",
        priority=HOUSEKEEPING,
    )
    async def cleanup(timestamp: int) -> None:
        """Drop finished jobs after a day (their runs stay in sync_runs)."""
        await app.job_manager.delete_old_jobs(nb_hours=24, include_failed=True)

    return app


def run_worker(store: Store, options: FleetOptions | None = None) -> None:
    """Run one worker process until SIGTERM/SIGINT (then finish running jobs, bounded)."""
    options = options or FleetOptions()
    app = build_app(store, options)

    async def main() -> None:
        # Sync tasks run in the loop's default executor: size it for `concurrency`.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=options.concurrency + 2, thread_name_prefix="job")
        )
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE],
                name=options.name or f"{socket.gethostname()}-{os.getpid()}",
                concurrency=options.concurrency,
                update_heartbeat_interval=options.heartbeat,
                stalled_worker_timeout=options.stalled_after,
                shutdown_graceful_timeout=options.graceful_timeout,
                install_signal_handlers=True,
                delete_jobs="never",  # finished jobs keep their latency; `cleanup` drops them
                **options.extra,
            )

    asyncio.run(main())


def run_due_jobs(store: Store) -> None:
    """Run every job due now in this process, then return: one pass of a worker, for
    tests and one-off maintenance on a deployment whose workers are stopped."""
    app = build_app(store)

    async def main() -> None:
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE],
                wait=False,
                concurrency=1,
                install_signal_handlers=False,
                delete_jobs="never",
            )

    asyncio.run(main())


def queue_stats(store: Store, *, stale_after: float = 30.0) -> dict[str, Any]:
    """Queue depth, running jobs and worker heartbeats, for `posbridge status` and the API."""
    with store.engine.connect() as conn:
        if not has_job_queue(conn):
            return {"backend": "embedded", "queued": 0, "running": [], "workers": []}
        depth: dict[str, int] = {
            str(status): int(count)
            for status, count in conn.execute(
                sa.text(
                    "SELECT status::text, count(*) FROM procrastinate_jobs "
                    "WHERE status IN ('todo', 'doing') GROUP BY status"
                )
            ).all()
        }
        running = [
            dict(r._mapping)
            for r in conn.execute(
                sa.text(
                    "SELECT j.id, j.task_name AS task, j.args->>'connection_id' AS connection_id,"
                    " j.worker_id, max(e.at) AS started_at FROM procrastinate_jobs j"
                    " LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'started'"
                    " WHERE j.status = 'doing' GROUP BY j.id ORDER BY j.id"
                )
            )
        ]
        now = conn.execute(sa.text("SELECT now()")).scalar_one()
        workers = [
            {
                "id": r.id,
                "last_heartbeat": r.last_heartbeat,
                "age_seconds": round((now - r.last_heartbeat).total_seconds(), 1),
                "alive": (now - r.last_heartbeat).total_seconds() < stale_after,
                "running": sum(1 for j in running if j["worker_id"] == r.id),
            }
            for r in conn.execute(
                sa.text("SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")
            )
        ]
    return {
        "backend": "procrastinate",
        "queued": int(depth.get("todo", 0)),
        "running": running,
        "workers": workers,
    }
