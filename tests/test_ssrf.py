"""Scenario 27: tenant-chosen URLs reach public addresses only; vendor answers are capped.

The suite allows loopback targets (`POSBRIDGE_ALLOW_LOOPBACK_TARGETS=1` in conftest.py,
as for a local demo, since every receiver here is on 127.0.0.1); these tests take that
away, or pass a strict policy, to see the default behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from posbridge.api import create_app
from posbridge.errors import UpstreamResponseRejected
from posbridge.netguard import OutboundPolicy, TargetRefused, check_url, guarded_client
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.store.tables import webhook_deliveries
from posbridge.sync.engine import SyncEngine
from posbridge.webhooks import create_subscription, deliver_due, emit


class Receiver:
    """A webhook endpoint on loopback that counts what reaches it (and answers 500)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append(await request.body())
            return Response(status_code=500)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


REFUSED = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://[fe80::1]/hook",
    "http://10.0.0.5/hook",
    "http://192.168.1.20:3055/hook",
    "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook",  # loopback written as IPv4-mapped IPv6
    "http://127.0.0.1:9/hook",
    "http://localhost/hook",
]


def test_private_loopback_and_metadata_targets_are_refused_by_default() -> None:
    """Without the setting, every non-public address is refused; with it, loopback only."""
    strict, local = OutboundPolicy(), OutboundPolicy(allow_loopback=True)
    for url in REFUSED:
        with pytest.raises(TargetRefused):
            check_url(url, strict)
    check_url("http://127.0.0.1:9/hook", local)
    check_url("http://localhost/hook", local)
    for url in REFUSED[:5]:
        with pytest.raises(TargetRefused):
            check_url(url, local)
    check_url("https://93.184.215.14/hook", strict)  # a public address passes


def test_the_api_refuses_a_webhook_to_the_metadata_service(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST /v1/webhooks answers a problem naming the reason; nothing is stored."""
    monkeypatch.delenv("POSBRIDGE_ALLOW_LOOPBACK_TARGETS")
    account = create_account(store, "A")
    key = create_api_key(store, account)
    with (
        SandboxServer(create_app(store)) as api,
        httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/hook"):
            answer = client.post("/v1/webhooks", json={"url": url, "events": ["order.created"]})
            assert answer.status_code == 400, answer.text
            assert "refusing to send" in answer.text
        assert client.get("/v1/webhooks").json()["data"] == []


def test_delivery_checks_the_address_again(store: Store) -> None:
    """A subscription accepted earlier (here: while loopback was allowed) whose host now
    resolves to a refused address — DNS rebinding, or the setting removed — is not sent:
    the delivery records why, and the guarded client refuses the connection itself."""
    receiver = Receiver()
    account = create_account(store, "A")
    with SandboxServer(receiver.app()) as hook:
        url = hook.url.replace("127.0.0.1", "localhost") + "/hook"
        create_subscription(store, account, url, ["sync.completed"])
        with store.engine.begin() as conn:
            emit(conn, account, [("sync.completed", None, {})], datetime.now(UTC))
        strict = OutboundPolicy()
        with guarded_client(strict) as client:
            assert deliver_due(store, client, policy=strict) == 0
            with pytest.raises(httpx.ConnectError, match="loopback"):
                client.post(url, content=b"{}")
        with guarded_client(OutboundPolicy(allow_loopback=True)) as client:
            assert client.post(hook.url + "/hook", content=b"{}").status_code == 500
    assert receiver.received == [b"{}"]  # only the allowed request arrived
    with store.engine.connect() as conn:
        error = conn.execute(sa.select(webhook_deliveries.c.last_error)).scalar_one()
    assert "loopback" in error


def test_an_endless_vendor_body_is_refused_not_read_forever(store: Store) -> None:
    """The sandbox streams a 200 that never ends: the stream fails with
    `UpstreamResponseRejected` at the size cap (not retried, nothing stored from it); the
    other streams and a rerun are unaffected."""
    box = create_sandbox(seed=51, days=1, orders_per_day=10)
    with SandboxServer(box.app) as vendor:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        box.state.faults.update(endless_next=1)
        result = SyncEngine(store).run("shop", streams=["products", "categories"])
        products = next(s for s in result.streams if s.name == "products")
        assert products.status == "failed"
        assert products.error_kind == UpstreamResponseRejected.__name__
        assert "refused unread" in (products.error or "")
        assert products.requests == 1  # the refusal is not retried
        assert next(s for s in result.streams if s.name == "categories").status == "ok"
        again = SyncEngine(store).run("shop", streams=["products"])
        assert again.status == "ok", again.error
