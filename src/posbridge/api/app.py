"""The unified REST API (`/v1`): every tenant's normalized records, read-only so far.

Built by `create_app(store)`; no import-time globals. Responses are encoded by msgspec
straight from the stored records (decimals as strings, ISO-8601 times): FastAPI's own
encoding of dicts runs ~140 requests/s on a 100-order page here (perf-limits §3).
Every resource is scoped to the caller's account: another tenant's id answers 404.
(No `from __future__ import annotations` here: FastAPI resolves the route annotations,
including the local `Tenant` dependency alias, at runtime.)
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import Depends, FastAPI, Header, Query
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from posbridge.api.connections import add_connection_routes, connection_doc
from posbridge.api.fastlist import FastList, cursor_row, list_response
from posbridge.api.health import connection_health
from posbridge.api.limits import BodyLimit
from posbridge.api.ops_routes import add_ops_routes
from posbridge.api.problems import ProblemError, install_problem_handlers
from posbridge.api.receivers import add_receiver_routes
from posbridge.api.reconciliation import reconcile
from posbridge.api.reports import Group, heat_map, revenue
from posbridge.api.webhook_routes import add_webhook_routes
from posbridge.api.writes import add_write_routes
from posbridge.erasure import erase_customer
from posbridge.errors import UsageError
from posbridge.export import EXPORTABLE, record_document
from posbridge.store.accounts import LOCALES, KeyCache, TenantScopes, get_account, set_locale
from posbridge.store.paging import Filter
from posbridge.store.repo import Store
from posbridge.web import STATIC_DIR

__all__ = ["create_app"]

_encode = msgspec.json.Encoder().encode
MAX_LIMIT = 500


def _json(body: Any) -> Response:
    return Response(_encode(body), media_type="application/json")


class ListQuery(BaseModel):
    """Paging and filters of `GET /v1/{resource}`."""

    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    starting_after: str | None = Field(None, description="id of the last record seen")
    connection: str | None = None
    location: str | None = None
    device: str | None = None
    customer: str | None = None
    status: str | None = None
    number: str | None = None
    occurred_since: datetime | None = Field(None, description="ISO 8601 with offset")
    occurred_until: datetime | None = Field(None, description="ISO 8601 with offset")
    updated_since: datetime | None = Field(None, description="ISO 8601 with offset")
    include: list[Literal["raw", "personal"]] = Field(
        default_factory=list, description="raw: the vendor record; personal: unmasked"
    )


class AccountUpdate(BaseModel):
    """`PATCH /v1/account`: the dashboard locale."""

    locale: Literal[LOCALES]  # type: ignore[valid-type]


def create_app(store: Store, *, max_body_bytes: int = 1_048_576) -> FastAPI:
    """The API over one store (request bodies up to `max_body_bytes`)."""
    app = FastAPI(title="posbridge", version="1", description=__doc__)
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    keys = KeyCache(store)

    async def tenant(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, key = (authorization or "").partition(" ")
        account = keys.account(key.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise ProblemError(
                401,
                "unauthorized",
                "A valid API key is required",
                "send `Authorization: Bearer <key>` (create one with `posbridge key create`)",
            )
        return account

    Tenant = Annotated[str, Depends(tenant)]

    tenant_connections = TenantScopes(store)
    app.add_middleware(
        FastList, store=store, keys=keys, scopes=tenant_connections, max_limit=MAX_LIMIT
    )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    owned = add_connection_routes(app, store, tenant, tenant_connections, _json)
    add_write_routes(app, store, tenant, owned, _json)
    add_webhook_routes(app, store, tenant, _json)
    add_receiver_routes(app, store)
    add_ops_routes(app, store, tenant, _json)

    @app.delete(
        "/v1/customers/{customer_id}/personal-data",
        summary="Erase a customer's personal data everywhere it is stored; sales are kept",
    )
    def erase_personal_data(customer_id: str, account: Tenant) -> Response:
        try:
            done = erase_customer(store, customer_id, tenant_connections(account))
        except UsageError:
            raise ProblemError(404, "not_found", "No such customer") from None
        return _json(
            {
                "object": "erasure",
                "customer_id": done.customer_id,
                "records_scrubbed": done.records_scrubbed,
                "erased_at": done.erased_at.isoformat(),
            }
        )

    @app.get("/v1/account", summary="The calling tenant: id, name and dashboard locale")
    def get_account_route(account: Tenant) -> Response:
        return _json({"object": "account"} | get_account(store, account))

    @app.patch("/v1/account", summary="Set the tenant's dashboard locale")
    def patch_account(body: AccountUpdate, account: Tenant) -> Response:
        try:
            set_locale(store, account, body.locale)
        except UsageError as exc:
            raise ProblemError(422, "validation_error", "Unsupported locale", exc.message) from None
        return _json({"object": "account"} | get_account(store, account))

    @app.get("/v1/connections", summary="List the account's connections")
    def list_connections(account: Tenant) -> Response:
        ids = set(tenant_connections(account))
        data = [
            connection_doc(c) | {"health": connection_health(store, c)}
            for c in store.list_connections()
            if c.id in ids
        ]
        return _json({"object": "list", "data": data, "has_more": False})

    @app.get("/v1/connections/{connection_id}", summary="One connection (never its credentials)")
    def get_connection(connection_id: str, account: Tenant) -> Response:
        if connection_id not in tenant_connections(account):
            raise ProblemError(404, "not_found", "No such connection")
        row = store.get_connection(connection_id)
        return _json(connection_doc(row) | {"health": connection_health(store, row)})

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

    @app.get("/v1/reports/heatmap", summary="Orders and gross by local weekday and hour")
    def heat_map_report(
        account: Tenant,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        connection: str | None = None,
    ) -> Response:
        scope = tenant_connections(account)
        if connection is not None:
            scope = [c for c in scope if c == connection]
        cells = heat_map(store, scope, date_from=date_from, date_to=date_to)
        data = [
            {
                "weekday": c.weekday,
                "hour": c.hour,
                "currency": c.currency,
                "orders": c.orders,
                "gross": c.gross,
            }
            for c in cells
        ]
        return _json({"object": "heatmap", "weekdays": "0 = Monday", "data": data})

    @app.get(
        "/v1/reconciliation",
        summary="Per business day: synced orders, payments and VAT against the POS's closures",
    )
    def reconciliation_report(
        account: Tenant,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
        connection: str | None = None,
    ) -> Response:
        scope = tenant_connections(account)
        if connection is not None:
            scope = [c for c in scope if c == connection]
        days = reconcile(store, scope, date_from=date_from, date_to=date_to)
        return _json(
            {
                "object": "reconciliation",
                "days_verified": sum(1 for d in days if d["verified"]),
                "days_unverified": sum(1 for d in days if not d["verified"]),
                "data": days,
            }
        )

    @app.get("/v1/{resource}", summary="List normalized records of one kind")
    async def list_records(
        resource: str, account: Tenant, query: Annotated[ListQuery, Query()]
    ) -> Response:
        # One query model: FastAPI validates it in one pydantic call instead of thirteen.
        limit, starting_after, connection = query.limit, query.starting_after, query.connection
        location, device, customer = query.location, query.device, query.customer
        status, number, include = query.status, query.number, query.include
        occurred_since, occurred_until = query.occurred_since, query.occurred_until
        updated_since = query.updated_since
        object_type = _resource(resource)
        scope = tenant_connections(account)
        if connection is not None:
            scope = [c for c in scope if c == connection]
        filters = [
            Filter(column, "eq", value)
            for column, value in (
                ("location_source_id", location),
                ("device_source_id", device),
                ("customer_source_id", customer),
                ("status", status),
                ("number", number),
            )
            if value is not None
        ]
        for column, op, when in (
            ("occurred_at", "ge", occurred_since),
            ("occurred_at", "lt", occurred_until),
            ("updated_at", "ge", updated_since),
        ):
            if when is not None:
                if when.tzinfo is None:
                    raise ProblemError(
                        422,
                        "validation_error",
                        "Times need a UTC offset",
                        f"{column} filter {when.isoformat()} has no offset",
                    )
                filters.append(Filter(column, op, when))  # type: ignore[arg-type]
        after = _row_of(object_type, starting_after, scope) if starting_after else None
        flags = set(include or ())
        if not flags:  # the common case: splice pre-encoded documents
            docs = store.page_documents(
                object_type, scope, filters, after_row=after, limit=limit + 1
            )
            if docs is not None:
                return list_response(docs, limit)
        rows = store.page(object_type, scope, filters, after_row=after, limit=limit + 1)
        has_more = len(rows) > limit
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
    async def get_record(
        resource: str,
        record_id: str,
        account: Tenant,
        include: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        object_type = _resource(resource)
        scope = tenant_connections(account)
        rows = store.page(
            object_type, scope, [Filter("id", "eq", record_id)], after_row=None, limit=1
        )
        if not rows:
            raise ProblemError(404, "not_found", f"No such {object_type}")
        flags = set(include or ())
        return _json(
            record_document(rows[0][1], "raw" in flags, "personal" in flags)
            | {"object": object_type}
        )

    def _row_of(object_type: str, record_id: str, scope: list[str]) -> int:
        row = cursor_row(store, object_type, record_id, scope)
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
