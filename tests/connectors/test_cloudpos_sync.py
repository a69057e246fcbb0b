"""CloudPOS end to end: sandbox over loopback → connector → engine → store (both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from posbridge.connectors.base import Command
from posbridge.errors import UsageError, VendorValidationError
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import MODULES, create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import duplicate_keys, world_differences
from posbridge.verify import verify_connection


@dataclass
class Shop:
    """A running sandbox and the connection that points at it."""

    box: Sandbox
    url: str
    store: Store
    name: str = "shop"

    @property
    def cid(self) -> str:
        return self.store.get_connection(self.name).id

    def requests(self) -> int:
        return len(self.box.state.request_log)


def _serve(store: Store, **kw: Any) -> Iterator[Shop]:
    box = create_sandbox(seed=3, days=4, orders_per_day=60, **kw)
    with SandboxServer(box.app) as server:
        url = server.url + box.base_path
        store.add_connection(
            "shop", "cloudpos", url, box.credentials, {"page_size": 50, "lookback": 10}
        )
        yield Shop(box, url, store)


@pytest.fixture
def shop(store: Store) -> Iterator[Shop]:
    """A small CloudPOS world served on loopback and connected as `shop`."""
    yield from _serve(store)


@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "inline"])
def test_store_equals_world_after_sync(shop: Shop, pipeline: bool) -> None:
    """After one sync every order, line, modifier, payment and total equals the world
    (with the fetch/commit threads of a single sync, and inline as a fleet worker runs)."""
    result = SyncEngine(shop.store, pipeline=pipeline).run("shop")
    assert result.ok, result.error
    assert world_differences(shop.store, shop.cid, shop.box.state.world) == []
    devices = {r.record.source_id for r in shop.store.records("device", shop.cid)}
    assert {f"kassa:{d.id}" for d in shop.box.state.world.devices} <= devices


def test_world_checker_can_fail(shop: Shop) -> None:
    """The oracle notices a deleted order, and the store refuses a duplicate key outright."""
    SyncEngine(shop.store).run("shop")
    ticket = shop.box.state.world.orders[4].ticket
    with shop.store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM orders WHERE number = '{ticket}'")
    diffs = world_differences(shop.store, shop.cid, shop.box.state.world)
    assert any(f"ticket {ticket}" in d and "missing" in d for d in diffs)
    with pytest.raises(sa.exc.IntegrityError), shop.store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO products (id, connection_id, source_id, hash, data, raw, first_seen_at, "
            "updated_at) SELECT 'dup', connection_id, source_id, hash, data, raw, first_seen_at, "
            "updated_at FROM products LIMIT 1"
        )
    assert duplicate_keys(shop.store, shop.cid) == []


def test_second_sync_fetches_little_and_writes_nothing(shop: Shop) -> None:
    """An immediate second sync re-reads only the lookback windows and writes no record."""
    engine = SyncEngine(shop.store)
    engine.run("shop")
    before = shop.requests()
    again = engine.run("shop")
    assert again.ok
    assert all(s.inserted == 0 and s.updated == 0 and s.deleted == 0 for s in again.streams)
    assert shop.requests() - before == len(again.streams)  # one request per stream


def test_wrong_token_makes_one_call_and_needs_attention(store: Store) -> None:
    """With a wrong token the connector makes one failing call and stops the connection."""
    box = create_sandbox(seed=3, days=2, orders_per_day=10)
    with SandboxServer(box.app) as server:
        store.add_connection(
            "bad",
            "cloudpos",
            server.url + box.base_path,
            {"licname": box.credentials["licname"], "token": "wrong"},
        )
        first = SyncEngine(store).run("bad")
        second = SyncEngine(store).run("bad")
        assert len(box.state.request_log) == 1
    assert first.status == "needs_attention"
    assert "1002" in (first.error or "")
    assert second.status == "needs_attention"
    assert store.get_connection("bad").status == "needs_attention"


def test_lockout_after_five_bad_logins() -> None:
    """Six calls with a wrong token get 1002 five times, then 1004 (even with a good token)."""
    box = create_sandbox(seed=3, days=2, orders_per_day=10)
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as client:
        lic = box.credentials["licname"]
        codes = [
            client.get(f"/api/?licname={lic}&token=nope&get-products").json()["errorcode"]
            for _ in range(5)
        ]
        good = client.get(
            f"/api/?licname={lic}&token={box.credentials['token']}&get-products"
        ).json()
    assert codes == [1002] * 5
    assert good["errorcode"] == 1004


def test_quota_stops_at_1003_and_resumes_after_stated_time(store: Store) -> None:
    """A small daily limit parks the connection at 1003; after the reset it resumes, losing nothing."""
    box = create_sandbox(seed=3, days=4, orders_per_day=60, daily_limit=4)
    box.state.clock.set(datetime(2026, 11, 2, 23, 58, 0))
    # Our clock runs 5 s behind the vendor's: the wait must come from the vendor's Date header.
    now = [datetime(2026, 11, 2, 23, 57, 55, tzinfo=ZoneInfo("Europe/Brussels")).astimezone(UTC)]
    streams = ["orders", "z_reports"]
    with SandboxServer(box.app) as server:
        store.add_connection(
            "shop",
            "cloudpos",
            server.url + box.base_path,
            box.credentials,
            {"page_size": 50, "lookback": 10},
        )
        engine = SyncEngine(store, clock=lambda: now[0])
        first = engine.run("shop", streams=streams)
        row = store.get_connection("shop")
        assert first.status == "deferred"
        assert "1003" in (first.error or "")
        assert row.deferred_until is not None
        wait = row.deferred_until - now[0]
        assert timedelta(seconds=100) < wait < timedelta(seconds=200)  # until local midnight
        committed = store.count("order", row.id)
        assert 0 < committed < len(box.state.world.orders)
        made = len(box.state.request_log)
        assert engine.run("shop", streams=streams).status == "deferred"
        assert len(box.state.request_log) == made  # nothing sent while deferred
        box.state.clock.set(datetime(2026, 11, 3, 0, 1, 0))
        now[0] += wait + timedelta(seconds=1)
        result = engine.run("shop", streams=streams)
        assert result.ok, result.error
        assert store.count("order", row.id) == len(box.state.world.orders)
        assert duplicate_keys(store, row.id) == []
        log = list(box.state.request_log)
    assert [e for e in log if e.errorcode == 1003] == [log[4]]  # exactly one refused request


def test_malformed_records_are_quarantined_and_sync_completes(shop: Shop) -> None:
    """Bad records land in quarantine with a reason; the rest syncs; a fixed record resolves."""
    tickets = {shop.box.state.world.orders[3].ticket, shop.box.state.world.orders[7].ticket}
    shop.box.state.faults.update(malformed_orders=tickets, malformed_kind="bad_amount")
    result = SyncEngine(shop.store).run("shop")
    assert result.ok
    orders = next(s for s in result.streams if s.name == "orders")
    assert orders.quarantined == 2
    rows = shop.store.quarantined(shop.cid)
    assert {r["stream"] for r in rows} == {"orders"}
    assert all("not a number" in r["reason"] for r in rows)
    assert world_differences(shop.store, shop.cid, shop.box.state.world, skip_tickets=tickets) == []
    shop.box.state.faults.update(malformed_orders=set())
    SyncEngine(shop.store).run("shop", full=True, streams=["orders"])
    assert shop.store.quarantined(shop.cid) == []
    assert world_differences(shop.store, shop.cid, shop.box.state.world) == []


@pytest.mark.parametrize("kind", ["missing_field", "impossible_date", "unknown_vat"])
def test_each_malformed_kind_is_quarantined(shop: Shop, kind: str) -> None:
    """Missing fields, impossible dates and unknown VAT rates are quarantined, not fatal."""
    shop.box.state.faults.update(
        malformed_orders={shop.box.state.world.orders[4].ticket}, malformed_kind=kind
    )
    result = SyncEngine(shop.store).run("shop", streams=["orders"])
    assert result.ok
    (row,) = shop.store.quarantined(shop.cid)
    assert row["reason"]


def test_verify_reports_every_day_and_a_dropped_order(shop: Shop) -> None:
    """verify passes every Z day, and names the ticket the sandbox hid from its list."""
    world = shop.box.state.world
    victim = world.zreports[1].startticket + 2
    shop.box.state.faults.update(drop_orders={victim})
    SyncEngine(shop.store).run("shop")
    row = shop.store.get_connection("shop")
    checks = list(verify_connection(shop.store, row))
    assert len(checks) == len(world.zreports)
    failed = [c for c in checks if not c.verified]
    assert len(failed) == 1, [(c.report, c.scope, c.differences()) for c in failed]
    assert failed[0].missing_tickets == [victim]
    assert any("tickets" in d for d in failed[0].differences())
    shop.box.state.faults.update(drop_orders=set())
    SyncEngine(shop.store).run("shop", full=True, streams=["orders"])
    assert all(c.verified for c in verify_connection(shop.store, row))


def test_unlicensed_module_fails_only_its_streams(store: Store) -> None:
    """A 1005 on the voucher module fails those streams; every other stream succeeds."""
    modules = set(MODULES) - {"vouchers"}
    for shop in _serve(store, licensed_modules=modules):
        result = SyncEngine(store).run("shop")
        failed = {s.name for s in result.streams if s.status == "failed"}
        assert failed == {"gift_vouchers", "coupons"}
        assert result.status == "partial"
        assert all(s.error_kind == "NotLicensed" for s in result.streams if s.status == "failed")
        assert shop.store.count("order", shop.cid) == len(shop.box.state.world.orders)


@pytest.mark.parametrize(
    "knobs",
    [
        {"fail_next": 2, "fail_status": 503},
        {"truncate_next": 1},
        {"html_next": 1},
        {"rate_limit_next": 1, "retry_after": 1},
        {"reset_next": 1},
    ],
)
def test_transient_faults_are_retried(shop: Shop, knobs: dict[str, Any]) -> None:
    """5xx, truncated JSON, HTML pages, a short 429 and a reset connection are retried."""
    shop.box.state.faults.update(**knobs)
    result = SyncEngine(shop.store).run("shop", streams=["orders", "products"])
    assert result.ok, result.error
    assert shop.store.count("order", shop.cid) == len(shop.box.state.world.orders)


def test_backfill_reads_a_window_without_moving_state(shop: Shop) -> None:
    """--since/--until re-reads those days by date and leaves the stored cursor alone."""
    engine = SyncEngine(shop.store)
    engine.run("shop", streams=["orders"])
    state = shop.store.stream_states(shop.cid)["orders"]["state"]
    day = shop.box.state.world.orders[0].ordertime.date()
    before = shop.requests()
    result = engine.run("shop", streams=["orders"], since=day, until=day + timedelta(days=1))
    assert result.ok
    assert shop.requests() - before == 2  # one request per day
    assert shop.store.stream_states(shop.cid)["orders"]["state"] == state
    with pytest.raises(UsageError, match="cannot be backfilled"):
        engine.run("shop", streams=["products"], since=day)


def test_vanished_products_are_soft_deleted(shop: Shop) -> None:
    """A product missing from a complete full list is marked deleted, not left stale."""
    engine = SyncEngine(shop.store)
    engine.run("shop", streams=["products"])
    world = shop.box.state.world
    gone = next(iter(world.products))
    del world.products[gone]
    result = engine.run("shop", streams=["products"])
    assert next(s for s in result.streams if s.name == "products").deleted == 1
    assert shop.store.count("product", shop.cid) == len(world.products)


def _connector(shop: Shop) -> Any:
    return build_connector(shop.store, shop.store.get_connection("shop"))


def test_writes_change_the_world_and_sync_back(shop: Shop) -> None:
    """Every post-*/update-* command is accepted by the sandbox and read back by a sync."""
    c = _connector(shop)
    cat = c.execute(Command(name="create_category", payload={"name": "Seizoen"})).source_id
    c.execute(Command(name="update_category", payload={"source_id": cat, "name": "Winter"}))
    prod = c.execute(
        Command(
            name="create_product",
            payload={
                "name": "Glühwein",
                "category_source_id": cat,
                "price": "5.50",
                "tax_rate": "21",
            },
        )
    ).source_id
    c.execute(Command(name="update_product", payload={"source_id": prod, "price": "6.00"}))
    sub = c.execute(
        Command(
            name="create_modifier", payload={"name": "Kaneel", "price": "0.50", "tax_rate": "6"}
        )
    ).source_id
    c.execute(Command(name="update_modifier", payload={"source_id": sub, "name": "Extra kaneel"}))
    cust = c.execute(
        Command(
            name="create_customer",
            payload={"first_name": "Els", "last_name": "Claes", "email": "els@example.be"},
        )
    ).source_id
    c.execute(
        Command(
            name="update_customer",
            payload={"source_id": cust, "last_name": "Claes", "town": "Gent"},
        )
    )
    web = c.execute(
        Command(
            name="create_web_order",
            reference="wo-1",
            payload={
                "customer_source_id": cust,
                "delivery": "pickup",
                "auto_confirm": True,
                "lines": [
                    {
                        "product_source_id": prod,
                        "unit_price_gross": "6.00",
                        "tax_rate": "21",
                        "modifiers": [
                            {"modifier_source_id": sub, "unit_price_gross": "0.50", "tax_rate": "6"}
                        ],
                    }
                ],
            },
        )
    )
    assert web.source_id
    confirmed = c.execute(
        Command(name="web_order_confirmation", payload={"weborder_id": web.source_id})
    )
    assert confirmed.response["webordertime"]
    inv = {
        "number": "F-2026-900",
        "customer_source_id": cust,
        "lines": [
            {"name": "Zaalhuur", "quantity": "1", "tax_rate": "21", "unit_price_gross": "121.00"}
        ],
    }
    c.execute(Command(name="create_invoice", payload=inv, reference="inv-1"))
    replay = c.execute(Command(name="create_invoice", payload=inv, reference="inv-1"))
    assert replay.response["reconciled"] is True  # idempotent by document number
    assert c.execute(Command(name="signed_invoice", payload={"number": "F-2026-900"})).response[
        "vatticket"
    ]
    persons = c.execute(
        Command(name="reservation_persons", payload={"date": "2026-11-05"})
    ).response
    hours = c.execute(
        Command(name="reservation_hours", payload={"date": "2026-11-05", "persons": 2})
    ).response
    c.execute(
        Command(
            name="create_reservation",
            payload={
                "date": "2026-11-05",
                "hour": hours["hours"][0],
                "persons": 2,
                "name": "Claes",
            },
        )
    )
    assert persons["persons"]
    c.execute(
        Command(
            name="create_gift_voucher",
            payload={
                "code": "2000001",
                "value": "25.00",
                "valid_from": "2026-11-01",
                "valid_until": "2027-11-01",
                "payment": "cash",
            },
        )
    )
    c.execute(
        Command(
            name="create_coupon",
            payload={
                "code": "3000001",
                "value": "10",
                "value_type": "percent",
                "valid_from": "2026-11-01",
                "valid_until": "2026-12-31",
            },
        )
    )
    c.execute(
        Command(
            name="create_customer_credit",
            payload={"customer_source_id": cust, "value": "15.00", "payment": "transfer"},
        )
    )
    c.execute(
        Command(
            name="create_eol_order",
            payload={
                "number": "EOL-1",
                "date": "2026-11-05",
                "customer_source_id": cust,
                "payment": "transfer",
                "lines": [{"product_source_id": prod, "price": "6.00", "quantity": "2"}],
            },
        )
    )
    c.http.close()
    assert SyncEngine(shop.store).run("shop").ok
    assert world_differences(shop.store, shop.cid, shop.box.state.world) == []
    names = {r.record.name for r in shop.store.records("product", shop.cid)}
    assert "Glühwein" in names


def test_invalid_writes_are_refused_before_sending(shop: Shop) -> None:
    """Too many modifiers, a non-Belgian VAT rate or 3-decimal prices never reach the vendor."""
    c = _connector(shop)
    before = shop.requests()
    mods = [{"modifier_source_id": "1", "unit_price_gross": "0.10", "tax_rate": "6"}] * 11
    bad = [
        (
            "create_web_order",
            {
                "customer_source_id": "1",
                "lines": [
                    {
                        "product_source_id": "1",
                        "unit_price_gross": "1.00",
                        "tax_rate": "21",
                        "modifiers": mods,
                    }
                ],
            },
        ),
        (
            "create_product",
            {"name": "x", "category_source_id": "1", "price": "1.00", "tax_rate": "19"},
        ),
        (
            "create_product",
            {"name": "x", "category_source_id": "1", "price": "1.005", "tax_rate": "21"},
        ),
        ("create_customer", {"company_name": "BV", "last_name": "Janssens"}),
    ]
    for name, payload in bad:
        with pytest.raises(UsageError):
            c.execute(Command(name=name, payload=payload))
    assert shop.requests() == before
    with pytest.raises(VendorValidationError, match="2004"):
        c.execute(
            Command(
                name="create_web_order",
                payload={
                    "customer_source_id": "1",
                    "lines": [
                        {
                            "product_source_id": "999999",
                            "unit_price_gross": "1.00",
                            "tax_rate": "21",
                        }
                    ],
                },
            )
        )
    c.http.close()
