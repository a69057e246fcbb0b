"""The job functions and the planner, on both stores; budgets add up across processes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from posbridge.connectors.http import RequestBudget
from posbridge.jobs import due_connections, sync_connection
from posbridge.logs import JsonFormatter, bind
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store


def test_planner_skips_attention_deferred_and_spent(store: Store) -> None:
    """New connections are due now; synced ones at their interval; stopped ones never."""
    box = create_sandbox(seed=5, days=1, orders_per_day=5, daily_limit=500)
    with SandboxServer(box.app) as server:
        url = server.url + box.base_path
        ids = {
            name: store.add_connection(
                name, "cloudpos", url, box.credentials, {"daily_limit": 500}
            ).id
            for name in ("fresh", "synced", "broken", "parked", "spent")
        }
        assert sync_connection(store, ids["synced"]).ok
    now = datetime.now(UTC)
    store.set_status(ids["broken"], "needs_attention", "bad token")
    store.set_status(ids["parked"], "deferred", "quota", deferred_until=now + timedelta(hours=2))
    with store.engine.begin() as conn:
        day = RequestBudget(limit=500).local_day().isoformat()
        store.put_budget(conn, ids["spent"], day, 500)
    due = {d.connection_id for d in due_connections(store, now)}
    assert due == {ids["fresh"]}
    later = {d.connection_id for d in due_connections(store, now, horizon=timedelta(days=1))}
    assert later == {ids["fresh"], ids["synced"]}


def test_budget_deltas_from_two_processes_add_up(store: Store) -> None:
    """Two budgets spending one connection's quota (a worker, the API) lose no counts."""
    box = create_sandbox(seed=6, days=1, orders_per_day=5)
    cid = store.add_connection("shop", "cloudpos", "http://x/", box.credentials).id
    a, b = RequestBudget(limit=500), RequestBudget(limit=500)
    day = a.local_day().isoformat()
    for budget, spent in ((a, 7), (b, 5), (a, 3)):
        for _ in range(spent):
            budget.spend()
        with store.engine.begin() as conn:
            store.put_budget(conn, cid, day, budget.unsaved())
    assert store.budget_used(cid, day) == 15


def test_json_logs_carry_connection_and_run_ids() -> None:
    """A record logged inside `bind` is one JSON line with the bound ids and extras."""
    from posbridge.logs import _ContextFilter

    record = logging.LogRecord(
        "posbridge.jobs", logging.INFO, __file__, 1, "sync %s", ("ok",), None
    )
    with bind(connection_id="con_1", run_id=7):
        _ContextFilter().filter(record)
    record.requests = 3
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sync ok"
    assert (line["connection_id"], line["run_id"], line["requests"]) == ("con_1", 7, 3)
