"""Operations routes: Prometheus `/metrics` and the job queue's state.

`/metrics` is unauthenticated, as Prometheus scrapes expect; it carries only per-vendor
aggregates (see `posbridge.metrics`). `/v1/ops/queue` needs an API key and shows the
caller's own running jobs plus fleet-wide counts and worker heartbeats. (No `from
__future__ import annotations`: FastAPI resolves the local `Tenant` alias at runtime.)
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI
from starlette.responses import Response

from posbridge.fleet import queue_stats
from posbridge.metrics import render
from posbridge.store.repo import Store
from posbridge.store.tables import connections

__all__ = ["add_ops_routes"]


def add_ops_routes(
    app: FastAPI,
    store: Store,
    tenant: Callable[..., Awaitable[str]],
    respond: Callable[[Any], Response],
) -> None:
    """Register `/metrics` and `/v1/ops/queue`."""
    Tenant = Annotated[str, Depends(tenant)]

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(render(store), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/ops/queue", summary="Job queue depth, running jobs and worker heartbeats")
    def queue(account: Tenant) -> Response:
        stats = queue_stats(store)
        with store.engine.connect() as conn:
            own = set(
                conn.execute(
                    sa.select(connections.c.id).where(connections.c.account_id == account)
                ).scalars()
            )
        running = [
            {
                "job_id": job["id"],
                "task": job["task"],
                "connection_id": job["connection_id"],
                "worker_id": job["worker_id"],
                "started_at": job["started_at"].isoformat() if job["started_at"] else None,
            }
            for job in stats["running"]
            if job["connection_id"] in own
        ]
        workers = [
            {
                "id": w["id"],
                "last_heartbeat": w["last_heartbeat"].isoformat(),
                "age_seconds": w["age_seconds"],
                "alive": w["alive"],
                "running": w["running"],
            }
            for w in stats["workers"]
        ]
        return respond(
            {
                "object": "job_queue",
                "backend": stats["backend"],
                "queued": stats["queued"],
                "running_total": len(stats["running"]),
                "running": running,
                "workers": workers,
            }
        )
