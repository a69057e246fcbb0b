"""Outbound webhooks: events logged with the change, signed, delivered in order, replayable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from posbridge.api import create_app
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.webhooks import WebhookSignatureError, deliver_due, sign, verify


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records deliveries (and can fail on purpose)."""

    received: list[tuple[bytes, str]] = field(default_factory=list)
    fail_next: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=500)
            self.received.append((await request.body(), request.headers["posbridge-signature"]))
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@dataclass
class Hooked:
    """A synced store, an API client for its tenant and a receiver subscribed to events."""

    store: Store
    api: httpx.Client
    receiver: Receiver
    secret: str
    box: object


@pytest.fixture
def hooked(store: Store) -> Iterator[Hooked]:
    """A tenant with a CloudPOS connection and a webhook to a local receiver."""
    box = create_sandbox(seed=12, days=2, orders_per_day=15)
    receiver = Receiver()
    with (
        SandboxServer(box.app) as vendor,
        SandboxServer(receiver.app()) as hook_server,
        SandboxServer(create_app(store)) as api_server,
    ):
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        account = create_account(store, "A")
        assign_connection(store, "shop", account)
        key = create_api_key(store, account)
        with httpx.Client(
            base_url=api_server.url + "/v1", headers={"Authorization": f"Bearer {key}"}
        ) as api:
            sub = api.post(
                "/webhooks",
                json={
                    "url": hook_server.url + "/hook",
                    "events": ["order.created", "sync.completed"],
                },
            ).json()
            yield Hooked(store, api, receiver, sub["secret"], box)


def _deliver(h: Hooked) -> int:
    with httpx.Client(timeout=10) as client:
        return deliver_due(h.store, client)


def test_sync_events_are_delivered_signed_and_in_order(hooked: Hooked) -> None:
    """Every new order and the finished run arrive once, in log order, with valid signatures."""
    assert SyncEngine(hooked.store).run("shop").ok
    sent = _deliver(hooked)
    orders = len(hooked.box.state.world.orders)  # type: ignore[attr-defined]
    assert sent == orders + 1
    events = [msgspec.json.decode(body) for body, _ in hooked.receiver.received]
    assert [e["type"] for e in events].count("order.created") == orders
    assert events[-1]["type"] == "sync.completed"
    ids = [int(e["id"].removeprefix("evt_")) for e in events]
    assert ids == sorted(ids)
    for body, header in hooked.receiver.received:
        verify(body, header, hooked.secret)
    assert _deliver(hooked) == 0  # nothing twice
    assert SyncEngine(hooked.store).run("shop").ok  # nothing new: only sync.completed
    assert _deliver(hooked) == 1


def test_forged_tampered_and_replayed_signatures_are_refused(hooked: Hooked) -> None:
    """Wrong secret, a changed byte, a missing header or a stale timestamp all fail."""
    body = b'{"type":"order.created"}'
    now = int(time.time())
    verify(body, sign(hooked.secret, body, now), hooked.secret)
    for bad_body, header in (
        (body, sign("whsec_other", body, now)),
        (body.replace(b"created", b"updated"), sign(hooked.secret, body, now)),
        (body, None),
        (body, sign(hooked.secret, body, now - 301)),
    ):
        with pytest.raises(WebhookSignatureError):
            verify(bad_body, header, hooked.secret)


def test_a_failing_receiver_holds_back_later_events(hooked: Hooked) -> None:
    """After a failed delivery nothing later is sent before it; the retry keeps the order."""
    hooked.receiver.fail_next = 1
    assert SyncEngine(hooked.store).run("shop").ok
    assert _deliver(hooked) == 0  # the first failed; the rest waited behind it
    from datetime import UTC, datetime, timedelta

    with httpx.Client(timeout=10) as client:
        sent = deliver_due(hooked.store, client, now=datetime.now(UTC) + timedelta(hours=2))
    assert sent == len(hooked.box.state.world.orders) + 1  # type: ignore[attr-defined]
    ids = [
        int(msgspec.json.decode(b)["id"].removeprefix("evt_")) for b, _ in hooked.receiver.received
    ]
    assert ids == sorted(ids)


def test_event_log_and_replay(hooked: Hooked) -> None:
    """The event log lists what happened; a replay queues it again for the subscription."""
    SyncEngine(hooked.store).run("shop")
    _deliver(hooked)
    log = hooked.api.get("/events", params={"limit": 500}).json()["data"]
    assert log
    assert log[0]["type"] == "order.created"
    (sub,) = hooked.api.get("/webhooks").json()["data"]
    assert "secret" not in sub
    queued = hooked.api.post(f"/webhooks/{sub['id']}/replay").json()["queued"]
    assert queued == len(log)
    before = len(hooked.receiver.received)
    _deliver(hooked)
    assert len(hooked.receiver.received) == before + queued


def test_event_cursor_out_of_range_is_a_problem_not_a_crash(hooked: Hooked) -> None:
    """A cursor beyond the event ids' 32 bits (found by the fuzzer, first beyond 64 bits on
    SQLite, then beyond 32 on PostgreSQL) answers 422 problem+json, not 500."""
    for after in (2**63, 2**31):
        response = hooked.api.get("/events", params={"after": after})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    assert hooked.api.get("/events", params={"after": 2**31 - 1}).status_code == 200
