"""Quarantined records are replayed through a fixed mapping without asking the vendor again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from posbridge.connectors.cloudpos import mapping
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.sync.replay import replay_quarantine
from posbridge.testing import world_differences


def _clear_mapping_caches() -> None:
    mapping._vat_rate_cached.cache_clear()
    mapping._order_line.cache_clear()


def test_replay_after_a_mapping_fix_stores_what_was_quarantined(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mapping that refused 6% VAT quarantines those orders; after the fix a replay stores them."""
    box = create_sandbox(seed=6, days=3, orders_per_day=40)
    with SandboxServer(box.app) as server:
        store.add_connection("shop", "cloudpos", server.url + box.base_path, box.credentials)
        _clear_mapping_caches()
        monkeypatch.setattr(mapping, "BE_RATES", frozenset({Decimal(0), Decimal(12), Decimal(21)}))
        assert SyncEngine(store).run("shop").ok
        cid = store.get_connection("shop").id
        broken = len(store.quarantined(cid))
        assert broken > 0
        requests = len(box.state.request_log)
        monkeypatch.undo()  # the fix
        _clear_mapping_caches()
        result = replay_quarantine(store, "shop")
        assert (result.fixed, result.still_failing) == (broken, [])
        assert len(box.state.request_log) == requests  # no vendor request
        assert store.quarantined(cid) == []
        assert store.count("order", cid) == len(box.state.world.orders)
        assert world_differences(store, cid, box.state.world) == []


def test_replay_keeps_records_that_still_fail(store: Store) -> None:
    """A record whose raw bytes are still bad stays quarantined, with its reason."""
    box = create_sandbox(seed=6, days=2, orders_per_day=20)
    box.state.faults.update(
        malformed_orders={box.state.world.orders[2].ticket}, malformed_kind="impossible_date"
    )
    with SandboxServer(box.app) as server:
        store.add_connection("shop", "cloudpos", server.url + box.base_path, box.credentials)
        assert SyncEngine(store).run("shop", streams=["orders"]).ok
    result = replay_quarantine(store, "shop")
    assert result.fixed == 0
    assert len(result.still_failing) == 1
    assert "impossible" in result.still_failing[0][2]
    assert len(store.quarantined(store.get_connection("shop").id)) == 1
