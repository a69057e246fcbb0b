"""Connection management routes: create, test, update, delete, sync, runs, quarantine.

Credentials go in through the connector's settings model and are stored encrypted; no
response ever contains them. Every route is scoped to the caller's account.
"""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import BackgroundTasks, Body, Depends, FastAPI, Header, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from posbridge.api.problems import ProblemError
from posbridge.api.reconciliation import closure_document
from posbridge.api.writes import send_write
from posbridge.app import connect, parse_settings
from posbridge.store.accounts import TenantScopes, assign_connection
from posbridge.store.queue import sync_job, sync_now
from posbridge.store.repo import ConnectionRow, Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.sync.outbox import list_commands
from posbridge.sync.replay import replay_quarantine
from posbridge.verify import verify_connection

__all__ = ["ConnectionCreate", "ConnectionUpdate", "add_connection_routes", "connection_doc"]


class ConnectionCreate(BaseModel):
    """A new connection: vendor, a name unique in the store, and the vendor's settings."""

    vendor: str = Field(examples=["cloudpos"])
    name: str = Field(min_length=1, max_length=100)
    base_url: str | None = None
    settings: dict[str, str] = Field(default_factory=dict, description="licname, token, ...")
    check: bool = Field(default=True, description="make one authenticated call first")


class ConnectionUpdate(BaseModel):
    """New credentials and settings (all of them), optionally a new base URL."""

    settings: dict[str, str]
    base_url: str | None = None
    check: bool = True


class Passthrough(BaseModel):
    """A vendor operation the model lacks: name, query parameters and body fields."""

    operation: str = Field(examples=["get-reservationhours"])
    params: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] | None = None


def connection_doc(row: ConnectionRow) -> dict[str, Any]:
    """A connection as the API shows it: status and identity, never credentials."""
    return {
        "object": "connection",
        "id": row.id,
        "name": row.name,
        "vendor": row.vendor,
        "base_url": row.base_url,
        "status": row.status,
        "status_reason": row.status_reason,
        "deferred_until": row.deferred_until.isoformat() if row.deferred_until else None,
        "created_at": row.created_at.isoformat(),
    }


def _job_url(connection_id: str, job_id: int) -> str:
    return f"/v1/connections/{connection_id}/sync_jobs/{job_id}"


def _job_doc(connection_id: str, job: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A queued sync job as the API shows it (procrastinate's states: todo, doing,
    succeeded, failed, cancelled, aborted) with the runs it made."""
    return {
        "object": "sync_job",
        "id": job["id"],
        "connection_id": connection_id,
        "status": job["status"],
        "attempts": job["attempts"],
        "queued_at": job["queued_at"].isoformat() if job["queued_at"] else None,
        "url": _job_url(connection_id, job["id"]),
        "runs": [
            {
                "id": r["id"],
                "status": r["status"],
                "started_at": r["started_at"].isoformat(),
                "finished_at": r["finished_at"].isoformat() if r["finished_at"] else None,
                "error": r["error"],
            }
            for r in runs
        ],
    }


def add_connection_routes(
    app: FastAPI,
    store: Store,
    tenant: Callable[..., Awaitable[str]],
    tenant_connections: TenantScopes,
    respond: Callable[[Any], Response],
) -> Callable[[str, str], ConnectionRow]:
    """Register the write side of `/v1/connections` on `app`; returns the ownership check."""
    Tenant = Annotated[str, Depends(tenant)]  # a dependency alias, like a type

    def owned(account: str, connection_id: str) -> ConnectionRow:
        if connection_id not in tenant_connections(account):
            raise ProblemError(404, "not_found", "No such connection")
        return store.get_connection(connection_id)

    @app.post("/v1/connections", status_code=201, summary="Create a connection")
    def create_connection(body: ConnectionCreate, account: Tenant) -> Response:
        parse_settings(body.vendor, body.settings)  # a clear 400 before anything else
        row = connect(store, body.vendor, body.name, body.base_url, body.settings, check=body.check)
        assign_connection(store, row.name, account)
        tenant_connections.forget(account)
        response = respond(connection_doc(row))
        response.status_code = 201
        return response

    @app.post("/v1/connections/{connection_id}/test", summary="Make one authenticated call")
    def test_connection(connection_id: str, account: Tenant) -> Response:
        connector = build_connector(store, owned(account, connection_id))
        try:
            connector.check()
        finally:
            connector.http.close()
        return respond({"object": "check", "ok": True})

    @app.patch("/v1/connections/{connection_id}", summary="Replace credentials and settings")
    def update_connection(connection_id: str, body: ConnectionUpdate, account: Tenant) -> Response:
        row = owned(account, connection_id)
        updated = connect(
            store,
            row.vendor,
            row.name,
            body.base_url or row.base_url,
            body.settings,
            check=body.check,
            update=True,
        )
        return respond(connection_doc(updated))

    @app.delete(
        "/v1/connections/{connection_id}",
        status_code=204,
        summary="Delete a connection and every record synced from it",
    )
    def delete_connection(connection_id: str, account: Tenant) -> Response:
        store.delete_connection(owned(account, connection_id).id)
        tenant_connections.forget(account)
        return Response(status_code=204)

    @app.post(
        "/v1/connections/{connection_id}/sync",
        summary="Sync now: the run (embedded), or 202 and the queued job (workers)",
        description=(
            "Embedded mode (SQLite) runs the sync in this process and answers 200 with the "
            "run. With workers (PostgreSQL and its job queue) it queues a sync job and "
            "answers 202 with the job and a `Location` to follow "
            "(`GET /v1/connections/{id}/sync_jobs/{job_id}`); while a sync job of the "
            "connection is still waiting, that job is answered (moved up to now), never a "
            "second one."
        ),
        responses={202: {"description": "A sync job was queued (or one was waiting)"}},
    )
    def sync_connection(connection_id: str, account: Tenant) -> Response:
        row = owned(account, connection_id)
        if store.engine.dialect.name == "postgresql":
            with store.engine.begin() as conn:
                job_id, created = sync_now(conn, row.id)
                job = sync_job(conn, row.id, job_id)
            assert job is not None
            response = respond(_job_doc(row.id, job, store.runs_of_job(job_id)) | {"new": created})
            response.status_code = 202
            response.headers["Location"] = _job_url(row.id, job_id)
            return response
        result = SyncEngine(store).run(row.name, trigger="api")
        return respond(
            {
                "object": "sync_run",
                "id": result.run_id,
                "status": result.status,
                "requests": result.requests,
                "error": result.error,
                "streams": [
                    {
                        "name": s.name,
                        "status": s.status,
                        "fetched": s.fetched,
                        "inserted": s.inserted,
                        "updated": s.updated,
                        "quarantined": s.quarantined,
                        "deleted": s.deleted,
                        "error": s.error,
                    }
                    for s in result.streams
                ],
            }
        )

    @app.get(
        "/v1/connections/{connection_id}/capabilities", summary="Writes this connection can do"
    )
    def capabilities(connection_id: str, account: Tenant) -> Response:
        connector = build_connector(store, owned(account, connection_id))
        try:
            data = [
                {
                    "object": "capability",
                    "name": c.name,
                    "model": c.model,
                    "description": c.description,
                }
                for c in connector.capabilities()
            ]
        finally:
            connector.http.close()
        return respond({"object": "list", "data": data, "has_more": False})

    @app.post(
        "/v1/connections/{connection_id}/commands/{command}",
        summary="Run a write (Idempotency-Key required; ?dry_run=true to rehearse)",
    )
    def run_command(
        connection_id: str,
        command: str,
        account: Tenant,
        payload: Annotated[dict[str, Any], Body()],
        background: BackgroundTasks,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
        dry_run: bool = False,
        rehearse: bool = False,
        wait: bool = False,
    ) -> Response:
        return send_write(
            store,
            respond,
            background,
            account,
            owned(account, connection_id),
            command,
            payload,
            idempotency_key,
            dry_run=dry_run,
            rehearse=rehearse,
            wait=wait,
        )

    @app.get(
        "/v1/connections/{connection_id}/commands", summary="The outbox: writes and their status"
    )
    def commands(connection_id: str, account: Tenant) -> Response:
        data = list_commands(store, owned(account, connection_id).id)
        return respond({"object": "list", "data": data, "has_more": False})

    @app.get(
        "/v1/connections/{connection_id}/closures",
        summary="Closure-verified completeness: synced orders vs the POS's closures",
    )
    def closures(
        connection_id: str,
        account: Tenant,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
    ) -> Response:
        row = owned(account, connection_id)
        data = [
            closure_document(c)
            for c in verify_connection(store, row, date_from=date_from, date_to=date_to)
        ]
        return respond({"object": "list", "data": data, "has_more": False})

    @app.post(
        "/v1/connections/{connection_id}/passthrough",
        summary="A raw vendor request through the connector's auth, quota and retries",
    )
    def passthrough(connection_id: str, body: Passthrough, account: Tenant) -> Response:
        connector = build_connector(store, owned(account, connection_id))
        try:
            result = connector.passthrough(body.operation, body.params, body.fields)
        finally:
            connector.http.close()
        return respond({"object": "passthrough", "operation": body.operation, "response": result})

    @app.get(
        "/v1/connections/{connection_id}/sync_jobs/{job_id}",
        summary="A queued sync job: its state and the runs it made",
    )
    def get_sync_job(connection_id: str, job_id: int, account: Tenant) -> Response:
        row = owned(account, connection_id)
        if store.engine.dialect.name != "postgresql":
            raise ProblemError(404, "not_found", "No job queue here: syncs run in-process")
        with store.engine.connect() as conn:
            job = sync_job(conn, row.id, job_id)
        if job is None:
            raise ProblemError(404, "not_found", "No such sync job")
        return respond(_job_doc(row.id, job, store.runs_of_job(job_id)))

    @app.get("/v1/connections/{connection_id}/runs", summary="Recent sync runs")
    def list_runs(connection_id: str, account: Tenant) -> Response:
        runs = store.runs(owned(account, connection_id).id)
        data = [
            {
                "object": "sync_run",
                "id": r["id"],
                "trigger": r["trigger"],
                "status": r["status"],
                "started_at": r["started_at"].isoformat(),
                "finished_at": r["finished_at"].isoformat() if r["finished_at"] else None,
                "requests": r["requests"],
                "streams": r["summary"],
                "error": r["error"],
            }
            for r in runs
        ]
        return respond({"object": "list", "data": data, "has_more": False})

    @app.get("/v1/connections/{connection_id}/quarantine", summary="Quarantined records")
    def list_quarantine(connection_id: str, account: Tenant) -> Response:
        entries = store.quarantined(owned(account, connection_id).id)
        data = [
            {
                "object": "quarantined_record",
                "id": e["id"],
                "stream": e["stream"],
                "source_id": e["source_id"],
                "kind": e["error_kind"],
                "reason": e["reason"],
                "raw": e["raw"],
                "created_at": e["created_at"].isoformat(),
            }
            for e in entries
        ]
        return respond({"object": "list", "data": data, "has_more": False})

    @app.post(
        "/v1/connections/{connection_id}/quarantine/replay",
        summary="Map quarantined records again (after a fix) and store those that map",
    )
    def replay(connection_id: str, account: Tenant) -> Response:
        result = replay_quarantine(store, owned(account, connection_id).name)
        return respond(
            {
                "object": "replay",
                "fixed": result.fixed,
                "still_failing": [
                    {"stream": s, "source_id": sid, "reason": r}
                    for s, sid, r in result.still_failing
                ],
            }
        )

    return owned
