"""iCash end to end: sandbox over loopback → connector → engine → store (both engines)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posbridge.model import Order
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.icash import create_sandbox
from posbridge.sandboxes.icash_gen import sale
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import world_differences


@dataclass
class Shop:
    """A running iCash sandbox and the connection that points at it."""

    box: Sandbox
    url: str
    store: Store
    name: str = "shop"

    @property
    def cid(self) -> str:
        return self.store.get_connection(self.name).id


def _serve(store: Store, state_dir: Path, **kw: Any) -> Iterator[Shop]:
    box = create_sandbox(seed=3, days=3, orders_per_day=50, **kw)
    with SandboxServer(box.app) as server:
        url = server.url + box.base_path
        store.add_connection("shop", "icash", url, box.credentials, {"state_dir": str(state_dir)})
        yield Shop(box, url, store)


@pytest.fixture
def shop(store: Store, tmp_path: Path) -> Iterator[Shop]:
    """A small Bulgarian iCash chain served on loopback and connected as `shop`."""
    yield from _serve(store, tmp_path)


def test_store_equals_world_after_sync(shop: Shop) -> None:
    """After one sync every operation (returns included), item, contragent and document equals the world."""
    result = SyncEngine(shop.store).run("shop")
    assert result.ok, result.error
    assert world_differences(shop.store, shop.cid, shop.box.state.world, vendor="icash") == []


def test_returns_are_negative_and_linked_to_their_sale(shop: Shop) -> None:
    """A ReturnClient becomes a return order with negative lines, linked to its sale and its storno ref."""
    assert SyncEngine(shop.store).run("shop").ok
    world = shop.box.state.world
    returns = [o for o in world.operations if o.type == "ReturnClient"]
    assert returns
    orders = {r.record.source_id: r.record for r in shop.store.records("order", shop.cid)}
    for op in returns:
        order = orders[str(op.id)]
        assert isinstance(order, Order)
        assert order.kind == "return"
        assert order.total_gross < 0
        assert all(line.quantity < 0 for line in order.lines)
        assert order.refund_of_source_id == str(op.sell_operation_id)
        assert op.storno is not None
        assert order.note is not None
        assert op.storno.uuid in order.note
        sale = orders[str(op.sell_operation_id)]
        assert isinstance(sale, Order)
        assert sale.fiscal is not None
        assert sale.fiscal.uuid == op.storno.uuid


def test_second_sync_writes_nothing(shop: Shop) -> None:
    """An immediate second sync inserts, updates and deletes nothing."""
    engine = SyncEngine(shop.store)
    assert engine.run("shop").ok
    again = engine.run("shop")
    assert again.ok, again.error
    assert all(s.inserted == 0 and s.updated == 0 and s.deleted == 0 for s in again.streams)


def test_new_sales_arrive_incrementally(shop: Shop) -> None:
    """A sale made after the first sync is picked up by the next one, by completion time."""
    engine = SyncEngine(shop.store)
    assert engine.run("shop").ok
    state = shop.box.state
    with state.lock:
        state.clock.advance(3600)
        reg = state.world.registers[0]
        op = sale(state.world, random.Random(1), reg, state.now(), None)
        state.operations[op.id] = op
    assert engine.run("shop").ok
    assert world_differences(shop.store, shop.cid, state.world, vendor="icash") == []


def test_expired_session_is_renewed_inside_the_auth_flow(shop: Shop) -> None:
    """After 31 idle minutes the call gets "Session expired"; the auth flow logs in and replays it."""
    connector = build_connector(shop.store, shop.store.get_connection("shop"))
    try:
        connector.check()
        shop.box.state.clock.advance(31 * 60)
        connector.check()
    finally:
        connector.http.close()
    log = [(e.operation, e.error) for e in shop.box.state.request_log]
    assert log == [
        ("login", ""),
        ("get-pay-types", ""),
        ("get-pay-types", "Session expired"),
        ("login", ""),
        ("get-pay-types", ""),
    ]


def test_wrong_secret_needs_attention_after_one_call(store: Store, tmp_path: Path) -> None:
    """A wrong secret gets "Authentication Error" on login and stops the connection after one call."""
    box = create_sandbox(seed=3, days=1, orders_per_day=5)
    with SandboxServer(box.app) as server:
        creds = dict(box.credentials) | {"secret_key": "wrong"}
        store.add_connection(
            "bad", "icash", server.url + box.base_path, creds, {"state_dir": str(tmp_path)}
        )
        result = SyncEngine(store).run("bad")
        assert len(box.state.request_log) == 1
    assert result.status == "needs_attention"
    assert "Authentication Error" in (result.error or "")


def test_albanian_chain_equals_world(store: Store, tmp_path: Path) -> None:
    """An Albanian (ALL, VAT 20/6/0) chain syncs completely too."""
    box = create_sandbox(seed=5, days=2, orders_per_day=40, profile="al_retail")
    with SandboxServer(box.app) as server:
        store.add_connection(
            "al", "icash", server.url + box.base_path, box.credentials, {"state_dir": str(tmp_path)}
        )
        assert SyncEngine(store).run("al").ok
        cid = store.get_connection("al").id
        assert world_differences(store, cid, box.state.world, vendor="icash") == []
        orders = [r.record for r in store.records("order", cid)]
        assert orders
        assert all(isinstance(o, Order) and o.currency == "ALL" for o in orders)


def test_transport_faults_on_reads_are_retried_with_fresh_nonces(shop: Shop) -> None:
    """A 500 and a truncated body on reads are retried with fresh nonces; the store still equals the world."""
    shop.box.state.faults.update(fail_next=1, truncate_next=1)
    result = SyncEngine(shop.store).run("shop")
    assert result.ok, result.error
    assert world_differences(shop.store, shop.cid, shop.box.state.world, vendor="icash") == []
    nonces = [int(e.nonce) for e in shop.box.state.request_log]
    assert len(set(nonces)) == len(nonces)
