"""Mapping in a worker process gives the same store as mapping in-process."""

from __future__ import annotations

from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences


def test_worker_process_sync_equals_world(store: Store) -> None:
    """Big pages mapped by a worker process land exactly like in-process ones, quarantine included."""
    box = create_sandbox(seed=5, days=4, orders_per_day=150)
    bad = box.state.world.orders[10].ticket
    box.state.faults.update(malformed_orders={bad}, malformed_kind="bad_amount")
    with SandboxServer(box.app) as server:
        store.add_connection(
            "shop",
            "cloudpos",
            server.url + box.base_path,
            box.credentials,
            {"page_size": 250, "lookback": 10},
        )
        engine = SyncEngine(store, workers=1)
        engine.start_workers(wait=True)  # else the first pages are mapped here while it boots
        result = engine.run("shop")
        assert result.ok, result.error
        assert engine.pages_in_workers >= 2  # the worker path really ran
        cid = store.get_connection("shop").id
        assert [q["source_id"] for q in store.quarantined(cid)] == [
            str(next(o.dbid for o in box.state.world.orders if o.ticket == bad))
        ]
        assert world_differences(store, cid, box.state.world, skip_tickets={bad}) == []
        box.state.faults.update(malformed_orders=set())
        engine.start_workers(wait=True)
        assert engine.run("shop", full=True, streams=["orders"]).ok
        assert world_differences(store, cid, box.state.world) == []
        assert duplicate_keys(store, cid) == []
        assert engine._pool is None  # workers are stopped after each run
