"""Writes through the API: typed resource writes and raw commands, both via the outbox.

`POST /v1/products` (and categories, customers, orders, invoices, vouchers, reservations,
journal_entries) creates through whichever command the connection's connector offers for
that model; `POST /v1/products/{id}` updates the stored record at the vendor. A model the
connector cannot write answers a 422 problem listing what it can. Every write needs an
`Idempotency-Key`; without `?wait=true` it is accepted (202) and runs after the answer —
poll `GET /v1/commands/{id}`.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import BackgroundTasks, Body, Depends, FastAPI, Header
from starlette.responses import Response

from posbridge.api.problems import ProblemError
from posbridge.connectors.base import Capability
from posbridge.export import EXPORTABLE
from posbridge.store.paging import Filter
from posbridge.store.repo import ConnectionRow, Store
from posbridge.sync.engine import build_connector
from posbridge.sync.outbox import get_command, submit_command

__all__ = ["WRITABLE", "add_write_routes", "resolve_command", "send_write"]

#: resources with typed writes
WRITABLE = (
    "products",
    "categories",
    "customers",
    "orders",
    "invoices",
    "vouchers",
    "reservations",
    "journal_entries",
)


def resolve_command(
    capabilities: Sequence[Capability],
    object_type: str,
    action: Literal["create", "update"],
    kind: str | None,
) -> str:
    """The connector command that creates or updates this model (a 422 problem if none)."""
    verbs = ("create_", "upsert_") if action == "create" else ("update_", "upsert_")
    names = [c.name for c in capabilities if c.model == object_type and c.name.startswith(verbs)]
    if kind is not None:
        for name in (f"{verbs[0]}{kind}", f"{verbs[1]}{kind}"):
            if name in names:
                return name
        raise ProblemError(
            422,
            "unsupported_command",
            f"This connection cannot {action} a {object_type} of kind {kind!r}",
            "kinds: " + (", ".join(n.split("_", 1)[1] for n in names) or "none"),
        )
    for preferred in (f"{verbs[0]}{object_type}", f"{verbs[1]}{object_type}"):
        if preferred in names:
            return preferred
    if names:
        return names[0]
    writable = sorted({c.model for c in capabilities})
    raise ProblemError(
        422,
        "unsupported_command",
        f"This connection cannot {action} a {object_type}",
        "its connector writes: " + (", ".join(writable) or "nothing"),
    )


def send_write(
    store: Store,
    respond: Callable[[Any], Response],
    background: BackgroundTasks,
    account: str,
    row: ConnectionRow,
    command: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    *,
    dry_run: bool,
    rehearse: bool,
    wait: bool,
) -> Response:
    """Put one write through the outbox and answer with its command resource or result."""
    if not idempotency_key:
        raise ProblemError(
            400,
            "idempotency_key_required",
            "Writes need an Idempotency-Key header",
            "send a unique `Idempotency-Key` per intended write; retries reuse it",
        )
    if rehearse and not dry_run:
        raise ProblemError(
            422, "validation_error", "rehearse=true needs dry_run=true", "add dry_run=true"
        )
    outcome = submit_command(
        store,
        account,
        row,
        command,
        payload,
        idempotency_key,
        dry_run=dry_run,
        rehearse=rehearse,
        wait=wait,
    )
    if outcome.pending is not None:
        background.add_task(outcome.pending)
    response = respond(outcome.body)
    response.status_code = outcome.status
    if outcome.status >= 400:
        response.headers["content-type"] = "application/problem+json"
    return response


def add_write_routes(
    app: FastAPI,
    store: Store,
    tenant: Callable[..., Awaitable[str]],
    owned: Callable[[str, str], ConnectionRow],
    respond: Callable[[Any], Response],
) -> None:
    """Mount the typed write routes and the command lookup."""
    Tenant = Annotated[str, Depends(tenant)]
    Key = Annotated[str | None, Header(alias="Idempotency-Key")]

    @app.get("/v1/commands/{command_id}", summary="One write: its status and result")
    def get_command_route(command_id: str, account: Tenant) -> Response:
        doc = get_command(store, account, command_id)
        if doc is None:
            raise ProblemError(404, "not_found", "No such command")
        return respond(doc)

    def write(
        resource: str,
        action: Literal["create", "update"],
        account: str,
        body: dict[str, Any],
        background: BackgroundTasks,
        key: str | None,
        record_id: str | None,
        dry_run: bool,
        rehearse: bool,
        wait: bool,
    ) -> Response:
        object_type = EXPORTABLE[resource]
        payload = dict(body)
        if action == "update":
            assert record_id is not None
            scope = [c.id for c in store.list_connections() if c.account_id == account]
            rows = store.page(
                object_type, scope, [Filter("id", "eq", record_id)], after_row=None, limit=1
            )
            if not rows:
                raise ProblemError(404, "not_found", f"No such {object_type}")
            stored = rows[0][1]
            connection_id = stored.connection_id
            payload["source_id"] = stored.record.source_id
        else:
            connection_id = payload.pop("connection_id", None)
            if not isinstance(connection_id, str):
                raise ProblemError(
                    422,
                    "validation_error",
                    "connection_id is required",
                    'name the connection to write to: {"connection_id": "con_…", …}',
                )
        payload.pop("connection_id", None)
        kind = payload.pop("kind", None)
        row = owned(account, connection_id)
        connector = build_connector(store, row)
        try:
            command = resolve_command(
                connector.capabilities(), object_type, action, None if kind is None else str(kind)
            )
        finally:
            connector.http.close()
        return send_write(
            store,
            respond,
            background,
            account,
            row,
            command,
            payload,
            key,
            dry_run=dry_run,
            rehearse=rehearse,
            wait=wait,
        )

    for resource in WRITABLE:
        _add_resource(app, resource, write, Tenant, Key)


def _add_resource(
    app: FastAPI, resource: str, write: Callable[..., Response], Tenant: Any, Key: Any
) -> None:
    object_type = EXPORTABLE[resource]
    Payload = Annotated[dict[str, Any], Body()]

    @app.post(
        f"/v1/{resource}",
        status_code=201,
        summary=f"Create a {object_type} at the vendor (connection_id in the body)",
        name=f"create_{resource}",
    )
    def create(
        body: Payload,
        account: Tenant,
        background: BackgroundTasks,
        idempotency_key: Key = None,
        dry_run: bool = False,
        rehearse: bool = False,
        wait: bool = False,
    ) -> Response:
        return write(
            resource,
            "create",
            account,
            body,
            background,
            idempotency_key,
            None,
            dry_run,
            rehearse,
            wait,
        )

    @app.post(
        f"/v1/{resource}/{{record_id}}",
        summary=f"Update a stored {object_type} at the vendor",
        name=f"update_{resource}",
    )
    def update(
        record_id: str,
        body: Payload,
        account: Tenant,
        background: BackgroundTasks,
        idempotency_key: Key = None,
        dry_run: bool = False,
        rehearse: bool = False,
        wait: bool = False,
    ) -> Response:
        return write(
            resource,
            "update",
            account,
            body,
            background,
            idempotency_key,
            record_id,
            dry_run,
            rehearse,
            wait,
        )
