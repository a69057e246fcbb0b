"""Outbound webhooks: a durable event log, signed deliveries, ordered retries.

Events are written in the same transaction as the change that caused them (a synced page,
a finished run, a write), so a crash never loses or invents one. Each delivery is signed
like Stripe's: header `Posbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` with the subscription's secret; receivers check it with `verify()`, which
refuses signatures older than five minutes (replays). Deliveries of one subscription go
out in event order and a failure holds back the later ones, so an update never overtakes
its create; failures retry with capped exponential backoff and jitter.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa

from posbridge.errors import PosbridgeError, UsageError
from posbridge.netguard import OutboundPolicy, TargetRefused, check_url
from posbridge.store.repo import Store
from posbridge.store.tables import webhook_deliveries, webhook_events, webhook_subscriptions

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "WebhookSignatureError",
    "create_subscription",
    "deliver_due",
    "emit",
    "sign",
    "subscribed_types",
    "verify",
]

EVENT_TYPES = (
    "order.created",
    "order.updated",
    "product.updated",
    "customer.updated",
    "sync.completed",
    "sync.failed",
    "connection.needs_attention",
    "command.succeeded",
    "command.failed",
)
SIGNATURE_HEADER = "Posbridge-Signature"
TOLERANCE = 300
_encode = msgspec.json.Encoder(decimal_format="string").encode


class WebhookSignatureError(PosbridgeError):
    """A delivery's signature is missing, wrong or too old."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a delivery on the raw body bytes; raises `WebhookSignatureError` if not genuine."""
    if not header:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        raise WebhookSignatureError("signature header has no timestamp") from None
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise WebhookSignatureError("signature does not match the body")
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        raise WebhookSignatureError(f"signature is older than {tolerance} s (a replay?)")


def create_subscription(
    store: Store, account_id: str, url: str, events: Iterable[str]
) -> tuple[str, str]:
    """Subscribe `url` to event types; returns (id, signing secret — shown once)."""
    wanted = sorted(set(events))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown or not wanted:
        raise UsageError(f"unknown event types {unknown}; choose from {', '.join(EVENT_TYPES)}")
    if not url.startswith(("https://", "http://")):
        raise UsageError("webhook url must be http(s)")
    check_url(url)  # no private, loopback or metadata targets (checked again when sent)
    sub_id = "whk_" + secrets.token_hex(8)
    secret = "whsec_" + secrets.token_urlsafe(24)
    with store.engine.begin() as conn:
        conn.execute(
            webhook_subscriptions.insert().values(
                id=sub_id,
                account_id=account_id,
                url=url,
                events=_encode(wanted).decode(),
                secret=store.vault.encrypt(secret.encode(), context=sub_id),
                active=1,
                created_at=datetime.now(UTC),
            )
        )
    return sub_id, secret


def subscribed_types(store: Store, account_id: str | None) -> set[str]:
    """Event types some active subscription of the account wants (empty: emit nothing)."""
    if account_id is None:
        return set()
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(webhook_subscriptions.c.events).where(
                webhook_subscriptions.c.account_id == account_id,
                webhook_subscriptions.c.active == 1,
            )
        ).scalars()
        return {t for r in rows for t in msgspec.json.decode(r)}


def emit(
    conn: sa.Connection,
    account_id: str | None,
    events: Iterable[tuple[str, str | None, dict[str, Any]]],
    now: datetime,
) -> int:
    """Append events to the log and queue a delivery per matching subscription (caller's txn)."""
    if account_id is None:
        return 0
    subs = [
        (r.id, set(msgspec.json.decode(r.events)))
        for r in conn.execute(
            webhook_subscriptions.select().where(
                webhook_subscriptions.c.account_id == account_id,
                webhook_subscriptions.c.active == 1,
            )
        )
    ]
    count = 0
    for event_type, object_id, data in events:
        targets = [sid for sid, types in subs if event_type in types]
        if not targets:
            continue
        event_id = conn.execute(
            webhook_events.insert().values(
                account_id=account_id,
                type=event_type,
                object_id=object_id,
                data=_encode(data).decode(),
                created_at=now,
            )
        ).inserted_primary_key
        assert event_id is not None
        conn.execute(
            webhook_deliveries.insert(),
            [
                {
                    "subscription_id": sid,
                    "event_id": event_id[0],
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for sid in targets
            ],
        )
        count += 1
    return count


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600.0, 10 * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0))


def deliver_due(
    store: Store,
    client: httpx.Client,
    *,
    now: datetime | None = None,
    limit: int = 200,
    policy: OutboundPolicy | None = None,
) -> int:
    """Send due deliveries in event order per subscription; returns how many succeeded.

    Each URL is checked against the outbound policy again before sending (its DNS may
    have changed since the subscription); `netguard.guarded_client` checks the address
    it actually connects to as well.
    """
    now = now or datetime.now(UTC)
    policy = policy or OutboundPolicy.from_env()
    d, e, s = webhook_deliveries.c, webhook_events.c, webhook_subscriptions.c
    q = (
        sa.select(
            d.id,
            d.subscription_id,
            d.attempts,
            d.next_attempt_at,
            e.id.label("event_id"),
            e.type,
            e.object_id,
            e.data,
            e.created_at,
            s.url,
            s.secret,
        )
        .select_from(
            webhook_deliveries.join(webhook_events, d.event_id == e.id).join(
                webhook_subscriptions, d.subscription_id == s.id
            )
        )
        .where(d.status == "pending")
        .order_by(d.subscription_id, e.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    blocked: set[str] = set()
    delivered = 0
    for r in rows:
        if r.subscription_id in blocked:
            continue
        if r.next_attempt_at > now:  # the oldest pending one waits: later ones wait behind it
            blocked.add(r.subscription_id)
            continue
        body = _encode(
            {
                "id": f"evt_{r.event_id}",
                "type": r.type,
                "object_id": r.object_id,
                "created": r.created_at.isoformat(),
                "data": msgspec.json.decode(r.data),
            }
        )
        secret = store.vault.decrypt(r.secret, context=r.subscription_id).decode()
        error: str | None = None
        try:
            check_url(r.url, policy)
            response = client.post(
                r.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
                    "Posbridge-Event-Id": f"evt_{r.event_id}",
                },
            )
            if response.status_code >= 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}"
        except TargetRefused as exc:
            error = exc.message
        with store.engine.begin() as conn:
            if error is None:
                conn.execute(
                    webhook_deliveries.update()
                    .where(d.id == r.id)
                    .values(status="delivered", attempts=r.attempts + 1, delivered_at=now)
                )
                delivered += 1
            else:
                conn.execute(
                    webhook_deliveries.update()
                    .where(d.id == r.id)
                    .values(
                        attempts=r.attempts + 1,
                        last_error=error,
                        next_attempt_at=now + _backoff(r.attempts + 1),
                    )
                )
                blocked.add(r.subscription_id)
    return delivered


def replay(store: Store, account_id: str, subscription_id: str, after_event: int = 0) -> int:
    """Queue every logged event after `after_event` again for one subscription."""
    with store.engine.begin() as conn:
        sub = conn.execute(
            webhook_subscriptions.select().where(
                webhook_subscriptions.c.id == subscription_id,
                webhook_subscriptions.c.account_id == account_id,
            )
        ).first()
        if sub is None:
            raise UsageError(f"no webhook subscription {subscription_id!r}")
        types = msgspec.json.decode(sub.events)
        ids = list(
            conn.execute(
                sa.select(webhook_events.c.id)
                .where(
                    webhook_events.c.account_id == account_id,
                    webhook_events.c.id > after_event,
                    webhook_events.c.type.in_(types),
                )
                .order_by(webhook_events.c.id)
            ).scalars()
        )
        now = datetime.now(UTC)
        if ids:
            conn.execute(
                webhook_deliveries.insert(),
                [
                    {
                        "subscription_id": subscription_id,
                        "event_id": i,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for i in ids
                ],
            )
    return len(ids)
