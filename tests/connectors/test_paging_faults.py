"""Paging faults (scenarios 5 and 6): repeated records, records changed between pages,
ids out of order — CloudPOS id windows and SmartNow `where[id][>]`/`skip` lists — and a
record deleted between two iCash `offset` pages.

After one sync the store equals the world (the changed record in its latest version) and
no key is doubled; each test also checks the fault really fired.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import served
from posbridge.connectors.icash import PAGE
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox as cloudpos_sandbox
from posbridge.sandboxes.icash import create_sandbox as icash_sandbox
from posbridge.sandboxes.smartnow import create_sandbox as smartnow_sandbox
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences

KNOBS = [
    {"repeat_previous": 3},
    {"reverse_pages": True},
    {"repeat_previous": 2, "reverse_pages": True},
]


@pytest.fixture
def cloudpos(store: Store) -> Iterator[Sandbox]:
    box = cloudpos_sandbox(seed=31, days=2, orders_per_day=30)
    with served(store, box, "cloudpos", {"page_size": 10, "lookback": 2}):
        yield box


@pytest.fixture
def smartnow(store: Store) -> Iterator[Sandbox]:
    box = smartnow_sandbox(seed=32, days=2, orders_per_day=12)
    with served(store, box, "smartnow", {"page_size": 5}, name="sn"):
        yield box


def _orders_fetched(result: Any) -> int:
    return int(next(s.fetched for s in result.streams if s.name == "orders"))


@pytest.mark.parametrize("knobs", KNOBS)
def test_cloudpos_pages_with_repeats_and_disorder_store_the_world_once(
    store: Store, cloudpos: Sandbox, knobs: dict[str, Any]
) -> None:
    """Order windows that repeat the previous tail or list ids backwards lose and double nothing."""
    cloudpos.state.faults.update(**knobs)
    result = SyncEngine(store).run("shop")
    assert result.ok, result.error
    cid = store.get_connection("shop").id
    assert world_differences(store, cid, cloudpos.state.world) == []
    assert duplicate_keys(store, cid) == []
    fetched, world = _orders_fetched(result), len(cloudpos.state.world.orders)
    assert fetched > world if knobs.get("repeat_previous") else fetched >= world


def test_cloudpos_order_changed_between_pages_ends_in_its_latest_version(
    store: Store, cloudpos: Sandbox
) -> None:
    """The till edits an order right after its page was served; the next page repeats it."""
    before = {o.ticket: o.payments for o in cloudpos.state.world.orders}
    cloudpos.state.faults.update(repeat_previous=1, change_between_pages=1)
    result = SyncEngine(store).run("shop")
    assert result.ok, result.error
    changed = [o for o in cloudpos.state.world.orders if o.payments != before[o.ticket]]
    assert len(changed) == 1  # the fault fired once
    cid = store.get_connection("shop").id
    assert world_differences(store, cid, cloudpos.state.world) == []  # latest payments
    assert duplicate_keys(store, cid) == []


@pytest.mark.parametrize("knobs", KNOBS)
def test_smartnow_pages_with_repeats_and_disorder_store_the_world_once(
    store: Store, smartnow: Sandbox, knobs: dict[str, Any]
) -> None:
    """SmartNow lists (id cursors and skip pages) with repeats or backwards ids."""
    smartnow.state.faults.update(**knobs)
    result = SyncEngine(store).run("sn")
    assert result.ok, result.error
    cid = store.get_connection("sn").id
    assert world_differences(store, cid, smartnow.state.world, vendor="smartnow") == []
    assert duplicate_keys(store, cid) == []
    vends = len(smartnow.state.world.tables["revenuetransaction"])
    if knobs.get("repeat_previous"):  # the repeats were fetched, and stored once
        assert _orders_fetched(result) > vends


# -- scenario 6: a record deleted between two offset pages (iCash `offset`/`count`) ----------


@pytest.fixture
def icash(store: Store, tmp_path: Path) -> Iterator[Sandbox]:
    """An iCash shop with 128 contragents: two `get-contragents` pages of 100."""
    box = icash_sandbox(seed=33, days=1, orders_per_day=5)
    world = box.state.world
    model = next(c for c in world.contragents if c.type == "CLIENT")
    first = max(c.id for c in world.contragents) + 1
    world.contragents += [replace(model, id=i, name=f"Client {i}") for i in range(first, PAGE + 29)]
    with served(store, box, "icash", {"state_dir": str(tmp_path)}, name="ic"):
        yield box


def _deleted_customers(store: Store, cid: str) -> set[str]:
    return {
        s.record.source_id
        for s in store.records("customer", cid, include_deleted=True)
        if s.deleted_at is not None
    }


def test_icash_contragent_deleted_between_pages_soft_deletes_only_it(
    store: Store, icash: Sandbox
) -> None:
    """The vendor deletes the first page's last contragent before page two is read: the
    shifted scan is read again, so no live contragent is marked deleted, only that one."""
    assert SyncEngine(store).run("ic").ok
    cid = store.get_connection("ic").id
    assert len(icash.state.world.contragents) == PAGE + 28
    icash.state.faults.update(delete_between_pages=1)
    result = SyncEngine(store).run("ic", streams=["customers"])
    assert result.ok, result.error
    assert icash.state.faults.delete_between_pages == 0  # the fault fired
    assert len(icash.state.world.contragents) == PAGE + 27
    assert _deleted_customers(store, cid) == {str(PAGE)}
    assert world_differences(store, cid, icash.state.world, vendor="icash") == []
    assert duplicate_keys(store, cid) == []


def test_icash_list_that_keeps_changing_marks_no_deletion_until_it_holds_still(
    store: Store, icash: Sandbox
) -> None:
    """Every read shifts: the customers stream fails this run and deletes nothing; the next
    (stable) run soft-deletes exactly the contragents the vendor deleted."""
    assert SyncEngine(store).run("ic").ok
    cid = store.get_connection("ic").id
    icash.state.faults.update(delete_between_pages=3)
    result = SyncEngine(store).run("ic", streams=["customers"])
    customers = next(s for s in result.streams if s.name == "customers")
    assert customers.status == "failed"
    assert "kept changing" in (customers.error or "")
    assert icash.state.faults.delete_between_pages == 0
    assert _deleted_customers(store, cid) == set()
    assert SyncEngine(store).run("ic", streams=["customers"]).ok
    assert _deleted_customers(store, cid) == {str(PAGE), str(PAGE + 1), str(PAGE + 2)}
    assert world_differences(store, cid, icash.state.world, vendor="icash") == []
    assert duplicate_keys(store, cid) == []
