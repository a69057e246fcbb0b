"""Reliability scenario 29: the API under load at a fixed rate while a sync writes.

A client walks `/v1/orders` page by page at a fixed request rate while a CloudPOS sync
commits page after page into the same store (SQLite and PostgreSQL). Every answer must
be a 200 with a consistent page: no order twice within one walk, cursors that keep
working while rows arrive. After the sync, one more walk returns every order of the
world exactly once. Latencies are recorded (printed with `-s`, never asserted).
"""

from __future__ import annotations

import statistics
import threading
import time

import httpx

from conftest import served
from posbridge.api import create_app
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.sync.engine import RunResult, SyncEngine

RATE = 50  # requests per second, open loop: a slow answer does not slow the schedule


def _walk(client: httpx.Client, latencies: list[float]) -> list[str]:
    """Every order id of one pass through the pages, asserting each page is sound."""
    ids: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if after:
            params["starting_after"] = after
        started = time.perf_counter()
        answer = client.get("/orders", params=params)
        latencies.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        page = [o["id"] for o in body["data"]]
        assert len(page) == len(set(page))
        ids += page
        if not body["has_more"]:
            return ids
        after = body["next_starting_after"]
        time.sleep(1 / RATE)


def test_paging_at_a_fixed_rate_while_a_sync_commits(store: Store) -> None:
    box = create_sandbox(seed=29, days=12, orders_per_day=150)
    box.state.faults.update(latency_ms=15)  # a sync of many pages, not one burst
    result: list[RunResult] = []
    with served(store, box, "cloudpos", {"page_size": 60, "lookback": 10}):
        tenant = create_account(store, "A")
        assign_connection(store, "shop", tenant)
        key = create_api_key(store, tenant)
        with (
            SandboxServer(create_app(store)) as api,
            httpx.Client(
                base_url=api.url + "/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client,
        ):
            sync = threading.Thread(target=lambda: result.append(SyncEngine(store).run("shop")))
            sync.start()
            latencies: list[float] = []
            walks: list[list[str]] = []
            while sync.is_alive():
                walk = _walk(client, latencies)
                assert len(walk) == len(set(walk)), "an order twice in one walk"
                walks.append(walk)
            sync.join()
            assert result[0].ok, result[0].error
            final = _walk(client, latencies)
    world = box.state.world.orders
    assert len(walks) >= 2, "the sync finished before the API was read under load"
    assert any(len(w) < len(world) for w in walks), "no walk saw the store mid-sync"
    assert len(final) == len(set(final)) == len(world)
    ms = sorted(x * 1000 for x in latencies)
    print(
        f"\n{len(ms)} pages during and after the sync: p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, max {ms[-1]:.1f} ms"
    )
