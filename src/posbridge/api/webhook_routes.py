"""Webhook subscription routes and the event log, scoped to the caller's account."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from posbridge.api.problems import ProblemError
from posbridge.store.repo import Store
from posbridge.store.tables import webhook_events, webhook_subscriptions
from posbridge.webhooks import EVENT_TYPES, create_subscription, replay

__all__ = ["WebhookCreate", "add_webhook_routes"]


#: an event sequence number (64-bit: larger values are refused with 422, not a 500)
#: event ids are 32-bit integers on PostgreSQL (INTEGER primary key): larger cursors are 422s
EventCursor = Annotated[int, Query(ge=0, le=2**31 - 1)]


class WebhookCreate(BaseModel):
    """Where to send which events."""

    url: str = Field(examples=["https://example.com/hooks/posbridge"])
    events: list[str] = Field(
        min_length=1,
        examples=[["order.created", "sync.failed"]],
        description="any of: " + ", ".join(EVENT_TYPES),
    )


def add_webhook_routes(
    app: FastAPI,
    store: Store,
    tenant: Callable[..., Awaitable[str]],
    respond: Callable[[Any], Response],
) -> None:
    """Register `/v1/webhooks` and `/v1/events`."""
    Tenant = Annotated[str, Depends(tenant)]  # a dependency alias, like a type

    @app.post("/v1/webhooks", status_code=201, summary="Subscribe (the secret is shown once)")
    def subscribe(body: WebhookCreate, account: Tenant) -> Response:
        sub_id, secret = create_subscription(store, account, body.url, body.events)
        response = respond(
            {
                "object": "webhook",
                "id": sub_id,
                "url": body.url,
                "events": sorted(set(body.events)),
                "secret": secret,
            }
        )
        response.status_code = 201
        return response

    @app.get("/v1/webhooks", summary="The account's subscriptions (without secrets)")
    def list_webhooks(account: Tenant) -> Response:
        with store.engine.connect() as conn:
            rows = conn.execute(
                webhook_subscriptions.select().where(webhook_subscriptions.c.account_id == account)
            ).all()
        data = [
            {
                "object": "webhook",
                "id": r.id,
                "url": r.url,
                "events": msgspec.json.decode(r.events),
                "active": bool(r.active),
            }
            for r in rows
        ]
        return respond({"object": "list", "data": data, "has_more": False})

    @app.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe")
    def unsubscribe(webhook_id: str, account: Tenant) -> Response:
        with store.engine.begin() as conn:
            gone = conn.execute(
                webhook_subscriptions.delete().where(
                    webhook_subscriptions.c.id == webhook_id,
                    webhook_subscriptions.c.account_id == account,
                )
            ).rowcount
        if not gone:
            raise ProblemError(404, "not_found", "No such webhook")
        return Response(status_code=204)

    @app.post("/v1/webhooks/{webhook_id}/replay", summary="Send logged events again, in order")
    def replay_events(webhook_id: str, account: Tenant, after: EventCursor = 0) -> Response:
        with store.engine.connect() as conn:
            owned = conn.execute(
                sa.select(webhook_subscriptions.c.id).where(
                    webhook_subscriptions.c.id == webhook_id,
                    webhook_subscriptions.c.account_id == account,
                )
            ).first()
        if owned is None:
            raise ProblemError(404, "not_found", "No such webhook")
        return respond({"object": "replay", "queued": replay(store, account, webhook_id, after)})

    @app.get("/v1/events", summary="The event log, oldest first")
    def list_events(
        account: Tenant,
        after: EventCursor = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        with store.engine.connect() as conn:
            rows = conn.execute(
                webhook_events.select()
                .where(webhook_events.c.account_id == account, webhook_events.c.id > after)
                .order_by(webhook_events.c.id)
                .limit(limit)
            ).all()
        data = [
            {
                "object": "event",
                "id": f"evt_{r.id}",
                "sequence": r.id,
                "type": r.type,
                "object_id": r.object_id,
                "data": msgspec.json.decode(r.data),
                "created": r.created_at.isoformat(),
            }
            for r in rows
        ]
        return respond({"object": "list", "data": data, "has_more": len(data) == limit})
