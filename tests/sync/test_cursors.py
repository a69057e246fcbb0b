"""Abnormal stored cursors (scenario 4): corrupt or from the future.

The stream fails with a `CursorError` that names the stream and the reset command; it
never crashes with a traceback and never reads nothing while claiming success.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences


@pytest.fixture
def box(store: Store) -> Iterator[Sandbox]:
    """A small CloudPOS world on loopback, connected as `shop` and synced once."""
    sandbox = create_sandbox(seed=9, days=2, orders_per_day=30)
    with SandboxServer(sandbox.app) as server:
        store.add_connection(
            "shop",
            "cloudpos",
            server.url + sandbox.base_path,
            sandbox.credentials,
            {"page_size": 20, "lookback": 5},
        )
        assert SyncEngine(store).run("shop").ok
        yield sandbox


@pytest.mark.parametrize(
    ("cursor", "says"),
    [
        ("abc", "last_id='abc' is not a record id"),
        (-3, "last_id=-3 is not a record id"),
        (None, "last_id=None is not a record id"),
        (2**63 - 1, f"last_id={2**63 - 1} lies past the newest record"),
        (10**7, "last_id=10000000 lies past the newest record"),
    ],
)
def test_an_abnormal_cursor_fails_the_stream_clearly_and_a_reset_recovers(
    store: Store, box: Sandbox, caplog: pytest.LogCaptureFixture, cursor: Any, says: str
) -> None:
    """Corrupt and future cursors: a clear error naming the stream and the reset; no
    traceback; other streams sync; `--full` on that stream ends equal to the world."""
    cid = store.get_connection("shop").id
    with store.engine.begin() as conn:
        store.put_state(conn, cid, "orders", {"last_id": cursor}, datetime.now(UTC))
    count = store.count("order", cid)
    with caplog.at_level(logging.WARNING):
        result = SyncEngine(store).run("shop", streams=["orders", "z_reports"])
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged
    assert result.status == "partial"
    orders, z_reports = result.streams
    assert z_reports.status == "ok"
    assert orders.status == "failed"
    assert orders.error_kind == "CursorError"
    assert says in (orders.error or "")
    assert orders.error is not None
    assert orders.error.startswith("stream orders: ")
    assert orders.error.endswith(
        "Reset the cursor with `posbridge sync shop --stream orders --full`"
    )
    assert store.stream_states(cid)["orders"]["state"] == {"last_id": cursor}  # left as found
    assert store.count("order", cid) == count
    reset = SyncEngine(store).run("shop", streams=["orders"], full=True)
    assert reset.ok, reset.error
    assert world_differences(store, cid, box.state.world) == []
    assert duplicate_keys(store, cid) == []
    assert SyncEngine(store).run("shop", streams=["orders"]).ok  # the fresh cursor works
