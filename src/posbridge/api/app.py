"""The unified REST API (`/v1`): every tenant's normalized records, read-only so far.

Built by `create_app(store)`; no import-time globals. Responses are encoded by msgspec
straight from the stored records (decimals as strings, ISO-8601 times): FastAPI's own
encoding of dicts runs ~140 requests/s on a 100-order page here (perf-limits §3).
Every resource is scoped to the caller's account: another tenant's id answers 404.
(No `from __future__ import annotations` here: FastAPI resolves the route annotations,
including the local `Tenant` dependency alias, at runtime.)
"""

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, Query
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from posbridge.api.connections import add_connection_routes, connection_doc
from posbridge.api.ops_routes import add_ops_routes
from posbridge.api.problems import ProblemError, install_problem_handlers
from posbridge.api.reports import Group, revenue
from posbridge.api.webhook_routes import add_webhook_routes
from posbridge.export import EXPORTABLE, record_document
from posbridge.store.accounts import account_for_key
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES, connections
from posbridge.web import STATIC_DIR

__all__ = ["create_app"]

_encode = msgspec.json.Encoder().encode
MAX_LIMIT = 500


def _json(body: Any) -> Response:
    return Response(_encode(body), media_type="application/json")


def create_app(store: Store) -> FastAPI:
    """The API over one store."""
    app = FastAPI(title="posbridge", version="1", description=__doc__)
    install_problem_handlers(app)

    def tenant(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, key = (authorization or "").partition(" ")
        account = account_for_key(store, key.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise ProblemError(
                401,
                "unauthorized",
                "A valid API key is required",
                "send `Authorization: Bearer <key>` (create one with `posbridge key create`)",
            )
        return account

    Tenant = Annotated[str, Depends(tenant)]

    def tenant_connections(account: str) -> list[str]:
        with store.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(connections.c.id).where(connections.c.account_id == account)
                ).scalars()
            )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    add_connection_routes(app, store, tenant, tenant_connections, _json)
    add_webhook_routes(app, store, tenant, _json)
    add_ops_routes(app, store, tenant, _json)

    @app.get("/v1/connections", summary="List the account's connections")
    def list_connections(account: Tenant) -> Response:
        ids = set(tenant_connections(account))
        data = [connection_doc(c) for c in store.list_connections() if c.id in ids]
        return _json({"object": "list", "data": data, "has_more": False})

    @app.get("/v1/connections/{connection_id}", summary="One connection (never its credentials)")
    def get_connection(connection_id: str, account: Tenant) -> Response:
        if connection_id not in tenant_connections(account):
            raise ProblemError(404, "not_found", "No such connection")
        return _json(connection_doc(store.get_connection(connection_id)))

    @app.get("/v1/reports/revenue", summary="Net, VAT and gross revenue, grouped, per currency")
    def revenue_report(
        account: Tenant,
        group_by: Group = "day",
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        connection: str | None = None,
    ) -> Response:
        scope = tenant_connections(account)
        if connection is not None:
            scope = [c for c in scope if c == connection]
        rows = revenue(store, scope, group_by, date_from=date_from, date_to=date_to)
        data = [
            {
                "key": r.key,
                "label": r.label,
                "currency": r.currency,
                "orders": r.orders,
                "net": r.net,
                "vat": r.vat,
                "gross": r.gross,
            }
            for r in rows
        ]
        return _json({"object": "report", "group_by": group_by, "data": data})

    @app.get("/v1/{resource}", summary="List normalized records of one kind")
    def list_records(
        resource: str,
        account: Tenant,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        starting_after: str | None = None,
        connection: str | None = None,
        location: str | None = None,
        device: str | None = None,
        customer: str | None = None,
        status: str | None = None,
        occurred_since: datetime | None = None,
        occurred_until: datetime | None = None,
        updated_since: datetime | None = None,
        include: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        object_type = _resource(resource)
        table = RECORD_TABLES[object_type]
        scope = tenant_connections(account)
        if connection is not None:
            scope = [c for c in scope if c == connection]
        where: list[sa.ColumnElement[bool]] = [
            table.c.connection_id.in_(scope),
            table.c.deleted_at.is_(None),
        ]
        for column, value in (
            ("location_source_id", location),
            ("device_source_id", device),
            ("customer_source_id", customer),
            ("status", status),
        ):
            if value is not None:
                where.append(table.c[column] == value)
        for column, op, when in (
            ("occurred_at", ">=", occurred_since),
            ("occurred_at", "<", occurred_until),
            ("updated_at", ">=", updated_since),
        ):
            if when is not None:
                if when.tzinfo is None:
                    raise ProblemError(
                        422,
                        "validation_error",
                        "Times need a UTC offset",
                        f"{column} filter {when.isoformat()} has no offset",
                    )
                where.append(table.c[column] >= when if op == ">=" else table.c[column] < when)
        after = _row_of(table, starting_after, scope) if starting_after else None
        rows = store.page(object_type, where, after_row=after, limit=limit + 1)
        has_more = len(rows) > limit
        flags = set(include or ())
        data = [
            record_document(item, "raw" in flags, "personal" in flags) | {"object": object_type}
            for _row, item in rows[:limit]
        ]
        return _json(
            {
                "object": "list",
                "data": data,
                "has_more": has_more,
                "next_starting_after": data[-1]["id"] if has_more else None,
            }
        )

    @app.get("/v1/{resource}/{record_id}", summary="One normalized record")
    def get_record(
        resource: str,
        record_id: str,
        account: Tenant,
        include: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        object_type = _resource(resource)
        table = RECORD_TABLES[object_type]
        scope = tenant_connections(account)
        rows = store.page(
            object_type,
            [table.c.id == record_id, table.c.connection_id.in_(scope)],
            after_row=None,
            limit=1,
        )
        if not rows:
            raise ProblemError(404, "not_found", f"No such {object_type}")
        flags = set(include or ())
        return _json(
            record_document(rows[0][1], "raw" in flags, "personal" in flags)
            | {"object": object_type}
        )

    def _row_of(table: sa.Table, record_id: str, scope: list[str]) -> int:
        with store.engine.connect() as conn:
            row = conn.execute(
                sa.select(table.c.row_id).where(
                    table.c.id == record_id, table.c.connection_id.in_(scope)
                )
            ).scalar()
        if row is None:
            raise ProblemError(
                422,
                "validation_error",
                "Unknown cursor",
                f"starting_after={record_id!r} is not a record of this list",
            )
        return int(row)

    return app


def _resource(resource: str) -> str:
    object_type = EXPORTABLE.get(resource)
    if object_type is None:
        raise ProblemError(
            404,
            "not_found",
            f"No resource /v1/{resource}",
            "resources: " + ", ".join(sorted(EXPORTABLE)),
        )
    return object_type
