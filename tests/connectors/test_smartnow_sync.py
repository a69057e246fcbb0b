"""SmartNow end to end: sandbox over loopback → connector → engine → store (both engines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from posbridge.connectors.smartnow import SmartNow
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow import create_sandbox
from posbridge.sandboxes.smartnow_world import utc_z
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import duplicate_keys, world_differences

INCREMENTAL = {
    "orders": "revenuetransaction.list",
    "device_events": "log.list",
    "shifts": "shift.list",
    "vouchers": "voucher.list",
}


@dataclass
class Operator:
    """A running SmartNow sandbox and the connection `sn` that points at it."""

    box: Sandbox
    store: Store
    name: str = "sn"

    @property
    def cid(self) -> str:
        return self.store.get_connection(self.name).id

    @property
    def world(self) -> Any:
        return self.box.state.world

    def routes_since(self, mark: int) -> Counter[str]:
        return Counter(e.route for e in list(self.box.state.request_log)[mark:])

    def mark(self) -> int:
        return len(self.box.state.request_log)

    def diffs(self) -> list[str]:
        return world_differences(self.store, self.cid, self.world, vendor="smartnow")


@pytest.fixture
def op(store: Store) -> Iterator[Operator]:
    """A small vending operator served on loopback and connected as `sn`."""
    box = create_sandbox(seed=4, days=4, orders_per_day=10)
    with SandboxServer(box.app) as server:
        store.add_connection("sn", "smartnow", server.url + box.base_path, box.credentials, {})
        yield Operator(box, store)


def _sell(op: Operator, price: int, methods: list[tuple[str, int]], *, late: int = 0) -> int:
    """Append a vend (and all but `late` of its payments) to the world, as the vendor would."""
    world = op.world
    txs, pays = world.tables["revenuetransaction"], world.tables["paymenttransaction"]
    last = txs[max(txs)]
    tid = max(txs) + 1
    stamp = utc_z(op.box.state.clock.now())
    txs[tid] = {
        **last,
        "id": tid,
        "price": price,
        "originalPrice": price,
        "createdAt": stamp,
        "updatedAt": stamp,
        "numPaymentTransactions": len(methods),
    }
    for method, amount in methods[: len(methods) - late]:
        pid = max(pays) + 1
        pays[pid] = {
            **pays[max(pays)],
            "id": pid,
            "revenuetransaction": tid,
            "method": method,
            "type": method,
            "price": amount,
            "machine": last["machine"],
            "location": last["location"],
            "occurredAt": last["occurredAt"],
        }
    return tid


def test_store_equals_world_after_sync(op: Operator) -> None:
    """One sync: every vend with its payments (to the cent), log, shift with its figures,
    voucher, campaign, location, machine, product, flavour/extra and user equals the world."""
    result = SyncEngine(op.store).run("sn")
    assert result.ok, result.error
    assert op.diffs() == []
    orders = [r.record for r in op.store.records("order", op.cid)]  # read whole: no open cursor
    assert {p.method for o in orders for p in o.payments} == {
        "cash",
        "card",
        "voucher",
        "mobile",
        "stored_value",
    }
    assert any(len(o.payments) == 2 for o in orders)


def test_world_checker_can_fail(op: Operator) -> None:
    """The oracle notices a missing vend and a changed payment."""
    SyncEngine(op.store).run("sn")
    victim = next(iter(op.world.tables["revenuetransaction"]))
    with op.store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM orders WHERE source_id = '{victim}'")
    pay = list(op.world.tables["paymenttransaction"].values())[-1]
    pay["price"] += 1
    diffs = op.diffs()
    assert f"revenuetransaction {victim} missing" in diffs
    assert any(d.startswith(f"revenuetransaction {pay['revenuetransaction']}:") for d in diffs)


def test_resync_with_nothing_new_costs_one_request_per_incremental_stream(op: Operator) -> None:
    """Nothing new: each incremental stream makes exactly one list request and nothing else
    (no payment or report look-ups); nothing is written."""
    engine = SyncEngine(op.store)
    assert engine.run("sn").ok
    mark = op.mark()
    again = engine.run("sn", streams=list(INCREMENTAL))
    assert again.ok
    assert all(s.inserted == 0 and s.updated == 0 for s in again.streams)
    routes = op.routes_since(mark)
    routes.pop("auth.login", None)  # a new connector logs in once per run
    assert routes == Counter(INCREMENTAL.values())


def test_a_run_lists_machines_flavours_and_extras_once(op: Operator) -> None:
    """Devices, products and modifiers share one run's catalogue lists: machines are listed
    once and each machine's flavours and extras once, and the store still equals the world."""
    mark = op.mark()
    assert SyncEngine(op.store).run("sn").ok
    routes = op.routes_since(mark)
    machines = len(op.world.tables["machine"])
    assert routes["machine.list"] == 1
    assert routes["productflavour.list"] == machines
    assert routes["productextra.list"] == machines
    assert op.diffs() == []


def test_incremental_sync_picks_up_new_sales_resolutions_and_closings(op: Operator) -> None:
    """New vends, a resolved event, a closed shift and a redeemed voucher arrive on the next
    run without re-reading history."""
    engine = SyncEngine(op.store)
    engine.run("sn")
    _sell(op, 250, [("card", 250)])
    _sell(op, 180, [("code", 100), ("cash", 80)])
    log = next(r for r in op.world.tables["log"].values() if r["state"] == "active")
    log.update(state="resolved", duration=600, resolvedAt=utc_z(op.box.state.clock.now()))
    with op.box.state.lock:
        loc = next(iter(op.world.tables["location"].values()))
    token = op.box.state.issue(1)["access_token"]
    import httpx

    base = op.store.get_connection("sn").base_url
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        httpx.post(base + "shift", json={"location": loc["id"]}, headers=headers).status_code == 200
    )
    code = next(iter(op.world.tables["voucher"].values()))["code"]
    redeemed = httpx.post(
        base + f"voucher/{code}/redeem",
        headers=headers,
        json={"deviceId": "sn-00080", "order": {"id": "x1", "amount": 300, "items": []}},
    )
    assert redeemed.json()["redeemed"] is True
    mark = op.mark()
    result = engine.run("sn", streams=list(INCREMENTAL))
    assert result.ok
    counts = {s.name: s.inserted + s.updated for s in result.streams}
    assert counts["orders"] == 2
    assert counts["vouchers"] == 1
    assert op.diffs() == []
    assert op.routes_since(mark)["revenuetransaction.list"] == 1


def test_a_payment_that_arrives_late_is_not_lost(op: Operator) -> None:
    """A vend whose second payment is not there yet is left for the next run, then complete."""
    engine = SyncEngine(op.store)
    engine.run("sn")
    tid = _sell(op, 300, [("code", 100), ("card", 200)], late=1)
    engine.run("sn", streams=["orders"])
    assert str(tid) not in {r.record.source_id for r in op.store.records("order", op.cid)}
    pays = op.world.tables["paymenttransaction"]
    pid = max(pays) + 1
    pays[pid] = {
        **pays[max(pays)],
        "id": pid,
        "revenuetransaction": tid,
        "method": "card",
        "type": "card",
        "price": 200,
    }
    engine.run("sn", streams=["orders"])
    assert op.diffs() == []


def test_token_that_expires_mid_sync_loses_nothing(op: Operator) -> None:
    """All access tokens expire after a few requests, twice: 401 → refresh (rotated) → go on;
    the store still equals the world, without duplicates."""
    op.box.state.expire_after_requests = 4
    engine = SyncEngine(op.store)
    result = engine.run("sn")
    assert result.ok, result.error
    routes = op.routes_since(0)
    assert routes["auth.refresh"] >= 1
    assert routes["auth.login"] == 1
    assert op.diffs() == []
    assert duplicate_keys(op.store, op.cid) == []


def test_short_token_lifetime_syncs_completely(store: Store) -> None:
    """Access tokens of 2 s (sandbox keyword): refreshed before expiry or after a 401,
    whichever comes first, the store still equals the world."""
    box = create_sandbox(seed=4, days=2, orders_per_day=6, token_lifetime=2)
    with SandboxServer(box.app) as server:
        store.add_connection("short", "smartnow", server.url + box.base_path, box.credentials, {})
        result = SyncEngine(store).run("short")
        assert result.ok, result.error
        cid = store.get_connection("short").id
        assert world_differences(store, cid, box.state.world, vendor="smartnow") == []


def test_refused_refresh_falls_back_to_one_login_then_needs_attention(op: Operator) -> None:
    """Refresh tokens revoked: one re-login recovers; a changed password stops the
    connection as needing attention after that one attempt."""
    state = op.box.state
    conn = build_connector(op.store, op.store.get_connection("sn"))
    assert isinstance(conn, SmartNow)
    conn.check()
    state.refresh.clear()
    state.expire_after_requests = 1
    conn.check()
    assert (conn.auth.logins, conn.auth.refreshes) == (2, 1)
    conn.http.close()
    state.passwords = {}
    state.expire_after_requests = 1
    mark = op.mark()
    result = SyncEngine(op.store).run("sn")
    assert result.status == "needs_attention"
    assert op.routes_since(mark)["auth.login"] == 1


def test_refresh_happens_before_expiry(op: Operator) -> None:
    """Close to the token's `exp` the connector refreshes first instead of collecting a 401."""
    conn = build_connector(op.store, op.store.get_connection("sn"))
    assert isinstance(conn, SmartNow)
    conn.check()
    assert conn.auth.expires is not None
    now = conn.auth.expires - 5  # 5 s before expiry on our clock
    conn.auth._clock = lambda: now
    mark = op.mark()
    conn.check()
    assert [e.route for e in list(op.box.state.request_log)[mark:]] == ["auth.refresh", "user.me"]
    assert [e.status for e in list(op.box.state.request_log)[mark:]] == [201, 200]
    conn.http.close()


def test_cli_sandbox_connect_sync(db_url: str) -> None:
    """`posbridge sandbox smartnow`, `connect smartnow --set username=… --set password=…` and
    `sync` work from the CLI; the password never shows."""
    env = {
        **os.environ,
        "POSBRIDGE_DATABASE_URL": db_url,
        "POSBRIDGE_SECRET_KEY": "cli-test",
        "COLUMNS": "200",
    }
    cmd = [sys.executable, "-m", "posbridge"]
    proc = subprocess.Popen(
        [*cmd, "sandbox", "smartnow", "--days", "2", "--orders-per-day", "5"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        creds = info["credentials"]
        connected = subprocess.run(
            [
                *cmd,
                "connect",
                "smartnow",
                "--name",
                "ams",
                "--base-url",
                info["base_url"],
                "--set",
                f"username={creds['username']}",
                "--set",
                f"password={creds['password']}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert connected.returncode == 0, connected.stderr
        assert creds["password"] not in connected.stdout + connected.stderr
        synced = subprocess.run(
            [*cmd, "sync", "ams"], env=env, capture_output=True, text=True, timeout=300
        )
        assert synced.returncode == 0, synced.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_verify_checks_each_closed_shift_and_names_a_missing_transaction(op: Operator) -> None:
    """Closed shifts store the vendor's totals and payments (report/shifts, report/revenue);
    `posbridge verify` checks each against its location's transactions in its range, and a
    transaction missing from the store fails its shift by number."""
    from posbridge.api.reconciliation import reconcile
    from posbridge.store.tables import RECORD_TABLES
    from posbridge.verify import verify_connection

    assert SyncEngine(op.store).run("sn").ok
    row = op.store.get_connection("sn")
    closed = [r.record for r in op.store.records("shift", op.cid) if r.record.closed_at]
    assert closed
    assert all(s.total_gross and s.payments for s in closed)
    checks = list(verify_connection(op.store, row))
    assert len(checks) == len(closed)
    assert all(c.verified for c in checks), [c.differences() for c in checks if not c.verified]
    # every shift is filed under the day it closed, so reconciliation shows it
    days = reconcile(op.store, [op.cid])
    assert sum(len(d["closures"]) for d in days) == len(checks)
    victim = checks[0]
    assert victim.first_ticket is not None
    txs = op.world.tables["revenuetransaction"]
    number = next(
        t
        for t in range(victim.first_ticket, (victim.last_ticket or 0) + 1)
        if t in txs and str(txs[t]["location"]) == victim.location
    )
    orders = RECORD_TABLES["order"]
    with op.store.engine.begin() as conn:
        conn.execute(
            orders.delete().where(orders.c.connection_id == op.cid, orders.c.number == str(number))
        )
    (bad,) = [c for c in verify_connection(op.store, row) if not c.verified]
    assert bad.report == victim.report
    assert bad.missing_tickets == [number]
    assert any("tickets" in d for d in bad.differences())
