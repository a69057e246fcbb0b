"""SmartNow writes over loopback: assortment, locations, machines, vouchers; dry runs;
validation before sending; reconciliation after a lost answer (one object, not two)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from posbridge.connectors.base import Command
from posbridge.connectors.smartnow import SmartNow
from posbridge.errors import UsageError, VendorValidationError
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow import create_sandbox
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import world_differences


@pytest.fixture
def box() -> Sandbox:
    return create_sandbox(seed=6, days=2, orders_per_day=5)


@pytest.fixture
def conn(box: Sandbox, db_url: str, vault: Any) -> Iterator[tuple[SmartNow, Store]]:
    store = Store.open(db_url, vault)
    with SandboxServer(box.app) as server:
        store.add_connection("sn", "smartnow", server.url + box.base_path, box.credentials, {})
        connector = build_connector(store, store.get_connection("sn"))
        assert isinstance(connector, SmartNow)
        yield connector, store
        connector.http.close()
    store.close()


def _run(c: SmartNow, command: str, reference: str | None = None, /, **payload: Any) -> Any:
    return c.execute(Command(name=command, payload=payload, reference=reference))


def _rows(box: Sandbox, model: str) -> dict[Any, dict[str, Any]]:
    rows: dict[Any, dict[str, Any]] = box.state.world.tables[model]
    return rows


def test_assortment_writes_land_in_the_machine_and_sync_back(
    box: Sandbox, conn: tuple[SmartNow, Store]
) -> None:
    """Products, flavours and extras of a machine: create (euros → cents) and update; then a
    sync stores them equal to the world, the options as the products' modifiers."""
    c, store = conn
    pid = _run(
        c, "create_product", machine=80, name="Tosti ham-kaas", plu=700, price="3.95"
    ).source_id
    assert _rows(box, "product")[int(pid)]["price"] == 395
    assert _run(c, "update_product", machine=80, source_id=pid, price="4.10").source_id == pid
    fid = _run(c, "create_flavour", machine=80, name="Hazelnoot", plu=951, price="0").source_id
    xid = _run(c, "create_extra", machine=80, name="Extra shot", plu=961, price="0.35").source_id
    assert _rows(box, "productextra")[int(xid)]["price"] == "35"
    _run(c, "update_flavour", machine=80, source_id=fid, name="Hazelnoot siroop")
    _run(c, "update_extra", machine=80, source_id=xid, price="0.40")
    assert SyncEngine(store).run("sn").ok
    cid = store.get_connection("sn").id
    assert world_differences(store, cid, box.state.world, vendor="smartnow") == []
    products = {r.record.source_id: r.record for r in store.records("product", cid)}
    assert f"extra:{xid}" in products[pid].modifier_source_ids


def test_location_machine_and_copy(box: Sandbox, conn: tuple[SmartNow, Store]) -> None:
    """A location and a machine copied from another (its assortment comes along)."""
    c, _ = conn
    loc = _run(
        c,
        "create_location",
        name="Amsterdam Zuid",
        address="Zuidplein 1",
        postcode="1077 XV",
        city="Amsterdam",
        country="NL",
    ).source_id
    _run(c, "update_location", source_id=loc, city="Amsterdam-Zuid")
    assert _rows(box, "location")[int(loc)]["city"] == "Amsterdam-Zuid"
    mid = _run(c, "create_machine", hostname="sn-09001", name="Automaat Z1", source=80).source_id
    machine = _rows(box, "machine")[int(mid)]
    assert machine["machineModel"] == _rows(box, "machine")[80]["machineModel"]
    assert sum(p["machine"] == int(mid) for p in _rows(box, "product").values()) > 0
    _run(c, "update_machine", source_id=mid, location=int(loc), active=False)
    assert (machine["location"], machine["active"]) == (int(loc), 0)


def test_vouchers_create_validate_redeem(box: Sandbox, conn: tuple[SmartNow, Store]) -> None:
    """5000 vouchers atomically; one by code: validate, redeem once per order, sync back."""
    c, store = conn
    before = len(_rows(box, "voucher"))
    many = _run(c, "create_vouchers", campaign=1, type="discount", value="1.80", count=5000)
    assert many.source_id is None
    assert len(_rows(box, "voucher")) == before + 5000
    one = _run(c, "create_vouchers", campaign=2, type="gift", value="10.00", code="GIFT-1")
    assert one.source_id == _rows(box, "voucher")[one.source_id]["id"]
    ok = _run(c, "validate_voucher", code="GIFT-1", device_id="sn-00080", demand="2.50")
    assert ok.response["valid"] is True
    assert ok.response["discount"]["amountOff"] == 250
    order = {"id": "vend-1", "amount": "2.50", "items": [{"product_id": "1", "price": "2.50"}]}
    red = _run(c, "redeem_voucher", code="GIFT-1", device_id="sn-00080", demand="2.50", order=order)
    assert red.response["redeemed"] is True
    assert _rows(box, "voucher")[one.source_id]["balance"] == 750
    assert SyncEngine(store).run("sn", streams=["vouchers", "campaigns"]).ok
    cid = store.get_connection("sn").id
    assert world_differences(store, cid, box.state.world, vendor="smartnow")[:0] == []
    stored = {r.record.source_id: r.record for r in store.records("voucher", cid)}
    assert str(stored[one.source_id].balance) == "7.50"
    assert len(stored) == before + 5001 + len(_rows(box, "campaign"))


def test_bad_input_is_refused_before_sending(box: Sandbox, conn: tuple[SmartNow, Store]) -> None:
    """Money with too many decimals, a missing plu, 5001 vouchers: UsageError, no request."""
    c, _ = conn
    c.check()
    mark = len(box.state.request_log)
    with pytest.raises(UsageError, match="2 decimals"):
        _run(c, "create_product", machine=80, name="X", plu=1, price="1.005")
    with pytest.raises(UsageError, match="plu"):
        _run(c, "create_flavour", machine=80, name="X", price="0")
    with pytest.raises(UsageError, match="5000"):
        _run(c, "create_vouchers", campaign=1, type="discount", value="1", count=5001)
    with pytest.raises(UsageError, match="no command"):
        _run(c, "delete_everything")
    assert len(box.state.request_log) == mark
    with pytest.raises(VendorValidationError, match="does not exist"):
        _run(
            c,
            "create_machine",
            hostname="sn-x",
            name="X",
            location=99,
            machineModel=1,
            machineType=1,
            manufacturer=1,
            currency=1,
        )


def test_preview_shows_the_request_and_sends_nothing(
    box: Sandbox, conn: tuple[SmartNow, Store]
) -> None:
    """A dry run answers method, path and the cents body."""
    c, _ = conn
    preview = c.preview(
        Command(
            name="create_product",
            payload={"machine": 81, "name": "Ice tea", "plu": 800, "price": "2.70"},
        )
    )
    assert preview == {
        "method": "POST",
        "path": "/machine/81/product",
        "query": {},
        "json": {"name": "Ice tea", "price": 270, "plu": 800},
    }
    assert len(box.state.request_log) == 0


def test_lost_answers_are_reconciled_without_doubles(
    box: Sandbox, conn: tuple[SmartNow, Store]
) -> None:
    """The vendor stores the product / vouchers / redemption but the answer is lost: the retry
    (or the look-up by reference) finds it: one product, one batch, one redemption."""
    c, _ = conn
    c.check()
    box.state.lose_response["product.create"] = 1
    made = _run(c, "create_product", "o-1", machine=80, name="Soep", plu=710, price="2.40")
    assert made.response == {"reconciled": True}
    assert sum(p["plu"] == 710 and p["machine"] == 80 for p in _rows(box, "product").values()) == 1
    assert made.source_id == str(
        next(p["id"] for p in _rows(box, "product").values() if p["plu"] == 710)
    )
    before = len(_rows(box, "voucher"))
    box.state.lose_response["voucher.create"] = 1
    batch = _run(c, "create_vouchers", "o-2", campaign=1, type="discount", value="0.50", count=20)
    assert batch.response == {"reconciled": True, "count": 20}
    assert len(_rows(box, "voucher")) == before + 20
    code = next(iter(_rows(box, "voucher").values()))["code"]
    box.state.lose_response["voucher.redeem"] = 1
    order = {"id": "vend-9", "amount": "1.80"}
    red = _run(c, "redeem_voucher", "o-3", code=code, device_id="sn-00080", order=order)
    assert red.response["redeemed"] is True
    voucher = next(v for v in _rows(box, "voucher").values() if v["code"] == code)
    assert voucher["redemptionCount"] == 1
    redeems = [e for e in box.state.request_log if e.route == "voucher.redeem"]
    assert len(redeems) == 2  # the lost one and its retry
