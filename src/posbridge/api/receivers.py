"""Inbound vendor pushes: the WService document webhook receiver.

WService POSTs every new document to `WebhookDocUrl` and advances its cursor only when
the answer contains `WebhookDocSuccessKey`. The receiver checks the connection's own
Basic credentials (stored encrypted with its other secrets), maps the document with the
same functions and keyed writer as a sync (`sync.worker.prepare_page` +
`store.writer.apply`, emitting the same change events), so a document pushed twice — or pushed and also pulled — is
stored once. A document that cannot be mapped is quarantined and still acknowledged:
refusing it would stall WService's push loop on it forever (docs/wservice-wire.md).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Any

import msgspec
from fastapi import FastAPI, Header, Request
from starlette.responses import PlainTextResponse, Response

from posbridge.api.problems import ProblemError
from posbridge.connectors.wservice import WService, WServiceSettings
from posbridge.connectors.wservice import mapping as m
from posbridge.connectors.wservice.codes import family_of
from posbridge.connectors.wservice.wire import decode_record
from posbridge.errors import PosbridgeError
from posbridge.store.repo import ConnectionRow, Store
from posbridge.sync.engine import CHANGE_EVENTS  # one event table
from posbridge.sync.worker import PageSpec, prepare_page
from posbridge.webhooks import emit

__all__ = ["RECEIVER_PATH", "add_receiver_routes", "receive_document"]

RECEIVER_PATH = "/v1/receivers/wservice/{connection_id}"
#: document family → (stream, its mapper, related records)
STREAMS: dict[str, tuple[str, Any, Any]] = {
    "order": ("orders", m.to_order, m.document_related),
    "closure": ("shifts", m.to_shift, m.document_related),
    "invoice": ("invoices", m.to_invoice, None),
    "stock": ("stock_movements", m.to_stock_movement, None),
    "report": ("reports", m.to_report, None),
}
_MODELS = {
    "orders": "order",
    "shifts": "shift",
    "invoices": "invoice",
    "stock_movements": "stock_movement",
    "reports": "report",
}


def _settings(store: Store, row: ConnectionRow) -> WServiceSettings:
    values = {**row.settings, **store.credentials(row)}
    return WServiceSettings.model_validate(values)


def _authorized(settings: WServiceSettings, header: str | None) -> bool:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic" or settings.receiver_password is None:
        return False
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    expected = settings.receiver_password.get_secret_value()
    same_user = secrets.compare_digest(user.encode(), settings.receiver_user.encode())
    same_password = secrets.compare_digest(password.encode(), expected.encode())
    return bool(settings.receiver_user) and same_user and same_password


def receive_document(store: Store, row: ConnectionRow, raw: bytes) -> str:
    """Store one pushed document (or quarantine it); returns what happened, in a word."""
    now = datetime.now(UTC)
    try:
        record = decode_record(raw)
        family = family_of(str(record.get("documenttype", "")))
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        with store.engine.begin() as conn:
            store.quarantine(
                conn,
                row.id,
                "documents",
                "order",
                None,
                "MappingError",
                f"undecodable pushed document: {exc}",
                raw,
                None,
                now,
            )
        return "quarantined"
    stream, to_model, related = STREAMS[family]
    spec = PageSpec(
        row.id,
        store.engine.dialect.name,
        _MODELS[stream],
        "idmovement",
        to_model,
        None,
        related,
        now,
        WService.mapping_version,
    )
    mapped = prepare_page(spec, [record], [raw], {})
    held = store.quarantined_ids(row.id, stream)
    with store.engine.begin() as conn:
        main, *derived = mapped.tables
        written = store.writer.apply(conn, row.id, main)
        change = CHANGE_EVENTS.get(spec.object_type)
        if change is not None and written.written:  # the events a sync would emit
            events = [
                (change[0] if new else change[1], rid, {"id": rid, "connection_id": row.id})
                for rid, new in written.written
            ]
            emit(conn, row.account_id, events, now)
        for table in derived:
            store.writer.apply(conn, row.id, table)
        for sid, kind, reason, bad_raw in mapped.bad:
            store.quarantine(
                conn, row.id, stream, _MODELS[stream], sid, kind, reason, bad_raw, None, now
            )
        fixed = [s for s in mapped.good_ids if s in held]
        if fixed:
            store.resolve_quarantined(conn, row.id, stream, fixed, now)
    return "quarantined" if mapped.bad else "stored"


def add_receiver_routes(app: FastAPI, store: Store) -> None:
    """Register the WService document receiver (Basic auth per connection, not API keys)."""

    @app.post(
        RECEIVER_PATH,
        summary="WService document webhook (WebhookDocUrl); answers the success key",
        response_class=PlainTextResponse,
        responses={401: {"description": "wrong receiver credentials"}},
    )
    async def wservice_document(
        connection_id: str,
        request: Request,
        authorization: str | None = Header(default=None),
    ) -> Response:
        try:
            row = store.get_connection(connection_id)
        except PosbridgeError:
            row = None
        if row is None or row.vendor != WService.vendor or row.id != connection_id:
            raise ProblemError(404, "not_found", "no such WService connection")
        try:
            settings = _settings(store, row)
        except ValueError:
            settings = None
        if settings is None or not _authorized(settings, authorization):
            return PlainTextResponse(
                "unauthorized", status_code=401, headers={"WWW-Authenticate": "Basic"}
            )
        outcome = receive_document(store, row, await request.body())
        return PlainTextResponse(f"{settings.success_key} {outcome}")
