"""AvaPOS end to end: sandbox over loopback → connector → engine → store (both engines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from posbridge.connectors.base import Command, Connector
from posbridge.errors import AuthError, UsageError, VendorValidationError
from posbridge.model import Order
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.avapos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import duplicate_keys, world_differences


@dataclass
class Shop:
    """A running AvaPOS sandbox and the connection that points at it."""

    box: Sandbox
    url: str
    store: Store
    name: str = "ava"

    @property
    def cid(self) -> str:
        return self.store.get_connection(self.name).id

    def requests(self) -> int:
        return len(self.box.state.request_log)

    def diffs(self) -> list[str]:
        return world_differences(self.store, self.cid, self.box.state.world, vendor="avapos")


def _serve(store: Store, settings: dict[str, Any] | None = None) -> Iterator[Shop]:
    box = create_sandbox(seed=3, days=6, orders_per_day=40)
    with SandboxServer(box.app) as server:
        url = server.url + box.base_path
        store.add_connection("ava", "avapos", url, box.credentials, settings or {"window_days": 30})
        yield Shop(box, url, store)


@pytest.fixture
def shop(store: Store) -> Iterator[Shop]:
    """A small AvaPOS restaurant-and-hotel world served on loopback and connected as `ava`."""
    yield from _serve(store)


@pytest.fixture
def conn(shop: Shop) -> Iterator[Connector]:
    """The connector of `shop`, as the outbox would build it (closed afterwards)."""
    connector = build_connector(shop.store, shop.store.get_connection(shop.name))
    yield connector
    connector.http.close()


def test_store_equals_world_after_sync(shop: Shop) -> None:
    """After one sync every invoice (lines, IVA, servicio, tips, change), product, client,
    reservation, purchase and stock count equals the world."""
    result = SyncEngine(shop.store).run("ava")
    assert result.ok, result.error
    assert shop.diffs() == []
    orders = [r.record for r in shop.store.records("order", shop.cid)]
    assert any(isinstance(o, Order) and o.service_total for o in orders)
    assert any(isinstance(o, Order) and o.tip_total for o in orders)
    assert any(isinstance(o, Order) and any(p.is_change for p in o.payments) for o in orders)
    assert shop.store.count("reservation", shop.cid) == len(shop.box.state.world.reservas)


def test_world_checker_can_fail(shop: Shop) -> None:
    """The oracle notices a deleted invoice and a changed reservation amount."""
    SyncEngine(shop.store).run("ava")
    victim = shop.box.state.world.facturas[3]
    with shop.store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM orders WHERE source_id = '{victim.id}'")
    shop.box.state.world.reservas[0] = shop.box.state.world.reservas[0].__class__(
        **{**_fields(shop.box.state.world.reservas[0]), "rate": Decimal("1.00")}
    )
    diffs = shop.diffs()
    assert f"factura {victim.id} missing" in diffs
    assert any(d.startswith(f"reserva {shop.box.state.world.reservas[0].id}") for d in diffs)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def test_second_sync_rereads_only_the_overlap_and_writes_nothing(shop: Shop) -> None:
    """An immediate second sync reads one window per dated stream and changes no record;
    reservations and hotel totals share one `get reservas` answer."""
    engine = SyncEngine(shop.store)
    engine.run("ava")
    before = shop.requests()
    again = engine.run("ava")
    assert again.ok
    assert all(s.inserted == 0 and s.updated == 0 and s.deleted == 0 for s in again.streams)
    assert shop.requests() - before == len(again.streams) - 1
    assert [e.typedata for e in list(shop.box.state.request_log)[before:]].count("reservas") == 1
    assert duplicate_keys(shop.store, shop.cid) == []


def _tip(factura: Any, amount: Decimal) -> None:
    factura.propina += amount
    factura.total += amount
    last = factura.pagos[-1]
    factura.pagos[-1] = last.__class__(last.formapago, last.valor + amount)


def test_late_edit_inside_the_overlap_is_picked_up(shop: Shop) -> None:
    """An invoice edited within `overlap_days` of the last synced day is updated next sync;
    an older edit is not (the documented limit of date-window sync)."""
    engine = SyncEngine(shop.store, clock=shop.box.state.clock.now)  # "today" = the vendor's
    engine.run("ava")
    world = shop.box.state.world
    _tip(world.facturas[-1], Decimal(2))  # yesterday: inside the 3-day overlap
    _tip(world.facturas[0], Decimal(1))  # six days ago: outside it
    result = engine.run("ava")
    assert next(s for s in result.streams if s.name == "orders").updated == 1
    assert shop.diffs() == [f"factura {world.facturas[0].id} ({world.facturas[0].number}): "
                            + "; ".join(_stale(shop, world.facturas[0]))]  # fmt: skip
    assert engine.run("ava", full=True).ok
    assert shop.diffs() == []


def _stale(shop: Shop, factura: Any) -> list[str]:
    from posbridge.testing.avapos import _order_problems

    orders = {r.record.source_id: r.record for r in shop.store.records("order", shop.cid)}
    stored = orders[str(factura.id)]
    return _order_problems(stored, factura)


def test_dd_mm_yyyy_setting_syncs_the_same(store: Store) -> None:
    """With date_format=dmy (the third-party adapter's format) the store equals the world too."""
    for shop in _serve(store, {"date_format": "dmy", "window_days": 7}):
        assert SyncEngine(store).run("ava").ok
        assert shop.diffs() == []


def test_wrong_key_needs_attention_after_one_call(store: Store) -> None:
    """A wrong APIKEY gets the plain-text error once and stops the connection."""
    box = create_sandbox(seed=3, days=2, orders_per_day=5)
    with SandboxServer(box.app) as server:
        store.add_connection("bad", "avapos", server.url + box.base_path, {"key": "wrong"})
        result = SyncEngine(store).run("bad")
        assert len(box.state.request_log) == 1
    assert result.status == "needs_attention"
    assert "APIKEY" in (result.error or "")


def test_check_raises_auth_error_for_a_wrong_key(shop: Shop, conn: Connector) -> None:
    """`check` makes one call and raises AuthError when the key is refused."""
    shop.box.state.key = "rotated"
    with pytest.raises(AuthError):
        conn.check()


def test_writes_products_customers_and_journal(shop: Shop, conn: Connector) -> None:
    """Products and clients are created and updated; invalid input is refused before sending."""
    c = conn
    pid = c.execute(Command(name="create_product", payload={
        "name": "Corviche", "category": "Entradas nuevas", "price": "3.0435"})).source_id  # fmt: skip
    assert pid is not None
    c.execute(Command(name="update_product", payload={
        "source_id": pid, "name": "Corviche de pescado", "category": "Entradas", "taxed": True}))  # fmt: skip
    with pytest.raises(VendorValidationError, match="ya existe"):
        c.execute(Command(name="create_product", payload={"name": "Corviche de pescado",
                                                          "category": "X"}))  # fmt: skip
    before = shop.requests()
    with pytest.raises(UsageError, match="not a valid Ecuadorian"):
        c.execute(
            Command(name="create_customer", payload={"name": "X", "identification": "1710034066"})
        )
    with pytest.raises(UsageError, match="not balanced"):
        c.execute(Command(name="create_journal_entry", payload={"lines": [
            {"account": "1.1.1.6", "debit": "1.00"}, {"account": "2.1", "credit": "0.80"}]}))  # fmt: skip
    assert shop.requests() == before
    cust = c.execute(Command(name="create_customer", payload={
        "name": "Importadora Pichincha", "identification": "1790011674001", "email": "a@b.ec"}))  # fmt: skip
    assert cust.source_id == "1790011674001"
    c.execute(Command(name="update_customer", payload={"source_id": "1790011674001",
                                                       "name": "Importadora Pichincha S.A."}))  # fmt: skip
    entry = c.execute(Command(name="create_journal_entry", payload={
        "entry_date": "2026-10-31", "description": "Cierre", "lines": [
            {"account": "1.1.1.6", "debit": "10.00"}, {"account": "4.1.1", "credit": "10.00"}]}))  # fmt: skip
    assert entry.source_id == "1"
    assert SyncEngine(shop.store).run("ava").ok
    assert shop.diffs() == []


def test_invoice_write_is_idempotent_by_number(shop: Shop, conn: Connector) -> None:
    """An invoice with change is created once; a replay returns the same id; sync stores it."""
    c = conn
    payload = {
        "number": "001-002-000900001",
        "date": "2026-10-31",
        "tax_rate": "15",
        "service": True,
        "tip": "1.00",
        "customer": {"identification": "0926687856", "name": "Ana Vera"},
        "lines": [{"name": "Ceviche de camarón", "sku": "7", "quantity": "2", "unit_price": "11.00"},
                  {"name": "Lavandería", "quantity": "1", "unit_price": "6.00", "taxed": False}],
        "payments": [{"method": "Efectivo", "amount": "50.00"},
                     {"method": "Efectivo", "amount": "-10.70"}],
    }  # fmt: skip
    # 22.00 taxed + 6.00 exempt; IVA 3.30; servicio 2.80; tip 1.00 → 35.10... checked below
    with pytest.raises(UsageError, match="payments"):
        c.execute(Command(name="create_invoice", payload=payload))
    payload["payments"][1]["amount"] = "-14.90"
    first = c.execute(Command(name="create_invoice", payload=payload, reference="o-1"))
    replay = c.execute(Command(name="create_invoice", payload=payload, reference="o-1"))
    assert first.source_id == replay.source_id
    assert replay.response == {"replayed": True}
    assert SyncEngine(shop.store).run("ava").ok
    assert shop.diffs() == []
    orders = {r.record.source_id: r.record for r in shop.store.records("order", shop.cid)}
    stored = orders[first.source_id]
    assert isinstance(stored, Order)
    assert (stored.total_gross, stored.total_tax, stored.service_total) == (
        Decimal("35.10"), Decimal("3.30"), Decimal("2.80"))  # fmt: skip
    assert [t.rate for t in stored.taxes] == [Decimal(15), Decimal(0)]


def test_backfill_reads_a_window_without_moving_state(shop: Shop) -> None:
    """A since/until backfill refetches that window and keeps the stored cursor."""
    engine = SyncEngine(shop.store)
    engine.run("ava")
    state = shop.store.stream_states(shop.cid)["orders"]
    before = shop.requests()
    result = engine.run(
        "ava", streams=["orders"], since=date(2026, 10, 28), until=date(2026, 10, 29)
    )
    assert result.ok
    assert shop.requests() - before == 1
    assert shop.store.stream_states(shop.cid)["orders"] == state
    assert shop.diffs() == []


def test_cli_sandbox_connect_sync(db_url: str) -> None:
    """`posbridge sandbox avapos`, `connect avapos --set key=…` and `sync` work from the CLI."""
    env = {**os.environ, "POSBRIDGE_DATABASE_URL": db_url,
           "POSBRIDGE_SECRET_KEY": "cli-test", "COLUMNS": "200"}  # fmt: skip
    cmd = [sys.executable, "-m", "posbridge"]
    proc = subprocess.Popen([*cmd, "sandbox", "avapos", "--days", "2", "--orders-per-day", "10"],
                            env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        key = info["credentials"]["key"]
        connected = subprocess.run(
            [*cmd, "connect", "avapos", "--name", "gye", "--base-url", info["base_url"],
             "--set", f"key={key}"], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert connected.returncode == 0, connected.stderr
        assert key not in connected.stdout + connected.stderr
        synced = subprocess.run([*cmd, "sync", "gye"], env=env, capture_output=True, text=True,
                                timeout=300)  # fmt: skip
        assert synced.returncode == 0, synced.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_lost_invoice_response_is_one_invoice_through_the_outbox(shop: Shop) -> None:
    """The sandbox stores the factura and drops the connection mid-answer; the outbox's
    retry finds it by number: one invoice, a replayed result, and a clean sync after."""
    from posbridge.store.accounts import assign_connection, create_account
    from posbridge.sync.outbox import submit_command

    payload = {
        "number": "001-002-000900002",
        "date": "2026-10-31",
        "tax_rate": "15",
        "lines": [{"name": "Encebollado", "quantity": "1", "unit_price": "10.00"}],
        "payments": [{"method": "Efectivo", "amount": "11.50"}],
    }
    account = create_account(shop.store, "A")
    assign_connection(shop.store, "ava", account)
    row = shop.store.get_connection("ava")
    before = len(shop.box.state.world.facturas)
    shop.box.state.faults.update(reset_next=1)
    outcome = submit_command(shop.store, account, row, "create_invoice", payload, "lost-1")
    assert outcome.status == 201, outcome.body
    assert outcome.body["response"] == {"replayed": True}
    assert len(shop.box.state.world.facturas) == before + 1
    again = submit_command(shop.store, account, row, "create_invoice", payload, "lost-1")
    assert again.body == outcome.body
    assert len(shop.box.state.world.facturas) == before + 1
    assert SyncEngine(shop.store).run("ava").ok
    assert shop.diffs() == []
