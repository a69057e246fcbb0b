"""Abnormal stored cursors (scenario 4): corrupt or from the future, for every vendor.

The stream fails with a `CursorError` that names the stream and the reset command; it
never crashes with a traceback and never reads nothing while claiming success. A future
cursor is detected where the vendor's data decides it: CloudPOS id windows and iCash
completion times (their overlap re-reads the last committed record), AvaPOS days (past
the vendor's today). SmartNow and WService id cursors have no overlap, so a future id
there is checked for form only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import served
from posbridge.connectors.base import Stream
from posbridge.sandboxes import Sandbox, avapos, icash, smartnow, wservice
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import duplicate_keys, world_differences


@pytest.fixture
def box(store: Store) -> Iterator[Sandbox]:
    """A small CloudPOS world on loopback, connected as `shop` and synced once."""
    sandbox = create_sandbox(seed=9, days=2, orders_per_day=30)
    with served(store, sandbox, "cloudpos", {"page_size": 20, "lookback": 5}):
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


def build_streams(store: Store) -> Sequence[Stream]:
    """The streams of the `shop` connection, as the engine builds them."""
    connector = build_connector(store, store.get_connection("shop"))
    try:
        return connector.streams()
    finally:
        connector.http.close()


@dataclass(frozen=True)
class Vendor:
    """A small world of one vendor and the settings to connect it."""

    name: str
    make: Callable[[], Sandbox]
    settings: Callable[[Path], dict[str, Any]]
    other: str  # a stream that must still sync while the corrupt one fails


VENDORS = {
    "avapos": Vendor(
        "avapos",
        lambda: avapos.create_sandbox(seed=3, days=2, orders_per_day=10),
        lambda _: {"window_days": 30},
        "products",
    ),
    "icash": Vendor(
        "icash",
        lambda: icash.create_sandbox(seed=3, days=2, orders_per_day=10),
        lambda tmp: {"state_dir": str(tmp)},
        "payment_types",
    ),
    "smartnow": Vendor(
        "smartnow",
        lambda: smartnow.create_sandbox(seed=4, days=2, orders_per_day=5),
        lambda _: {},
        "locations",
    ),
    "wservice": Vendor(
        "wservice",
        lambda: wservice.create_sandbox(seed=2, days=2, orders_per_day=4),
        lambda _: {},
        "vouchers",
    ),
}
#: (vendor, stream, the corrupt state stored, what the error must say)
CORRUPT = [
    ("avapos", "orders", {"through": "yesterday"}, "through='yesterday' is not a day"),
    ("avapos", "orders", {"through": "2999-01-01"}, "through='2999-01-01' lies past the vendor's"),
    ("avapos", "purchases", {"through": 20261030}, "through=20261030 is not a day"),
    ("icash", "orders", {"complete_from": "abc"}, "complete_from='abc' is not a timestamp like"),
    (
        "icash",
        "orders",
        {"complete_from": "2999-01-01 00:00:00"},
        "complete_from='2999-01-01 00:00:00' lies past the newest operation",
    ),
    ("icash", "invoices", {"date_from": ["2026"]}, "date_from=['2026'] is not a day"),
    ("smartnow", "orders", {"after": "12"}, "after='12' is not a record id"),
    ("smartnow", "shifts", {"after": 3, "open": -1}, "open=-1 is not a record id"),
    ("smartnow", "vouchers", {"since": 5, "seen": []}, "since=5 is not a timestamp"),
    ("smartnow", "vouchers", {"since": None, "seen": "x"}, "seen='x' is not a list"),
    ("wservice", "orders", {"after": -1}, "after=-1 is not a record id"),
    ("wservice", "orders", {"after": None}, "after=None is not a record id"),
]


@pytest.mark.parametrize(
    ("vendor", "stream", "cursor", "says"),
    CORRUPT,
    ids=[f"{v}-{s}-{i}" for i, (v, s, _c, _x) in enumerate(CORRUPT)],
)
def test_every_vendor_fails_a_corrupt_cursor_clearly_and_a_reset_recovers(
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    vendor: str,
    stream: str,
    cursor: dict[str, Any],
    says: str,
) -> None:
    """The same promise for AvaPOS, iCash, SmartNow and WService cursors: CursorError
    naming the stream and the reset, no traceback, state and records left as found,
    another stream syncs, and `--full` on the stream ends equal to the world."""
    spec = VENDORS[vendor]
    box = spec.make()
    with served(store, box, vendor, spec.settings(tmp_path)):
        assert SyncEngine(store).run("shop").ok
        cid = store.get_connection("shop").id
        with store.engine.begin() as conn:
            store.put_state(conn, cid, stream, cursor, datetime.now(UTC))
        model = next(s for s in build_streams(store) if s.name == stream).model.object_type
        count = store.count(model, cid)
        with caplog.at_level(logging.WARNING):
            result = SyncEngine(store).run("shop", streams=[stream, spec.other])
        assert not [r for r in caplog.records if r.exc_info]  # no traceback logged
        failed, other = result.streams
        assert other.status == "ok", other.error
        assert (failed.status, failed.error_kind) == ("failed", "CursorError")
        assert failed.error is not None
        assert failed.error.startswith(f"stream {stream}: the stored cursor ")
        assert says in failed.error
        assert failed.error.endswith(
            f"Reset the cursor with `posbridge sync shop --stream {stream} --full`"
        )
        assert store.stream_states(cid)[stream]["state"] == cursor  # left as found
        assert store.count(model, cid) == count
        reset = SyncEngine(store).run("shop", streams=[stream], full=True)
        assert reset.ok, reset.error
        assert world_differences(store, cid, box.state.world, vendor=vendor) == []
        assert SyncEngine(store).run("shop", streams=[stream]).ok  # the fresh cursor works
