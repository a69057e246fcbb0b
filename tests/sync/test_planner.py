"""Polling within the daily budget: the plan, due streams only, and the scheduler loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from posbridge.connectors.base import Limits
from posbridge.connectors.cloudpos import CloudPOS, CloudPOSSettings
from posbridge.connectors.http import VendorClient
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import RunResult, SyncEngine
from posbridge.sync.planner import DAY, plan_intervals
from posbridge.sync.scheduler import run_scheduled


def _streams() -> list:  # type: ignore[type-arg]
    settings = CloudPOSSettings(licname="x", token="y")  # type: ignore[arg-type]
    return list(
        CloudPOS(settings, VendorClient("http://127.0.0.1:9/", vendor="cloudpos")).streams()
    )


def test_plan_fits_cloudpos_budget_and_keeps_orders_fresh() -> None:
    """500/day minus the write reserve covers every stream; orders get the rest, every few minutes."""
    streams = _streams()
    plan = plan_intervals(CloudPOS.limits, streams)
    per_day = sum(DAY / interval for interval in plan.values())
    assert per_day <= CloudPOS.limits.per_day - CloudPOS.limits.write_reserve  # type: ignore[operator]
    assert timedelta(minutes=5) <= plan["orders"] <= timedelta(minutes=10)
    assert plan["products"] == timedelta(hours=6)


def test_plan_stretches_evenly_when_the_budget_is_too_small() -> None:
    """With 20 requests a day nothing fits its cadence: every interval stretches, total fits."""
    streams = _streams()
    plan = plan_intervals(Limits(per_day=20), streams)
    assert sum(DAY / i for i in plan.values()) <= 20.001


def test_due_only_reads_nothing_until_an_interval_passes(store: Store) -> None:
    """Right after a sync nothing is due (no request); ten minutes later only orders are."""
    box = create_sandbox(seed=2, days=2, orders_per_day=20)
    now = [datetime.now(UTC)]
    with SandboxServer(box.app) as server:
        store.add_connection("shop", "cloudpos", server.url + box.base_path, box.credentials)
        engine = SyncEngine(store, clock=lambda: now[0])
        assert engine.run("shop").ok
        made = len(box.state.request_log)
        assert engine.run("shop", due_only=True).status == "idle"
        assert len(box.state.request_log) == made
        now[0] += timedelta(minutes=10)
        result = engine.run("shop", due_only=True)
        assert [s.name for s in result.streams] == ["orders"]
        assert len(box.state.request_log) == made + 1


def test_scheduler_runs_due_connections_until_stopped(store: Store) -> None:
    """The in-process scheduler syncs every connection once, then idles until stopped."""
    box = create_sandbox(seed=2, days=2, orders_per_day=20)
    stop = threading.Event()
    seen: list[RunResult] = []

    def on_result(result: RunResult) -> None:
        seen.append(result)
        stop.set()

    with SandboxServer(box.app) as server:
        store.add_connection("shop", "cloudpos", server.url + box.base_path, box.credentials)
        run_scheduled(SyncEngine(store), lambda: ["shop"], stop, tick=0.01, on_result=on_result)
    assert [r.status for r in seen] == ["ok"]
    assert store.count("order", store.get_connection("shop").id) == len(box.state.world.orders)
