"""A virtual day of a quota-bound CloudPOS merchant, driven by posbridge's own planner.

The planner's promise (orders kept fresh within the vendor's daily quota) is a claim about
a whole day, and nobody waits 24 hours. This reproduces the fleet's loop in virtual time:
a planning pass (`jobs.due_connections`, horizon = the pass period, as `posbridge.plan`
does) every `plan_every` seconds queues the connection at its planned time (at most one
waiting job, like procrastinate's queueing lock), and the job runs `jobs.sync_connection`
— the functions `posbridge worker` calls — with the sandbox's frozen clock set to the
job's time. Orders appear in the sandbox when they happen (by ticket time), so the age of
an order when it lands in the store is measured, not assumed. The sandbox enforces the
quota itself: its own per-day count is the evidence.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from posbridge.jobs import due_connections, sync_connection
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.cloudpos import CloudPOSState, create_sandbox
from posbridge.sandboxes.cloudpos_reads import OrderIndex
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.world import World, generate_world
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.sync.planner import DAY, plan_intervals

__all__ = ["DayResult", "optimum", "percentile", "simulate_day"]


@dataclass
class DayResult:
    """What one virtual vendor day cost and how fresh it kept the data."""

    day: date
    daily_limit: int
    requests_on_day: int  # counted by the sandbox, per its own quota day
    refused: int  # 1003 answers (quota exceeded): must be 0
    syncs: int  # jobs that made at least one request
    idle_jobs: int  # jobs that found nothing due
    requests_per_stream: dict[str, int]
    reads_per_stream: dict[str, int]
    orders_in_day: int
    orders_landed: int
    order_ages_s: list[float]  # landing time - order time, per order of the day
    stream_ages_s: dict[str, list[float]]  # now - last success, sampled every pass
    planned: dict[str, float]  # the planner's interval per stream, seconds
    opening_s: float  # first to last order of the day
    order_times_s: list[float]  # each order of the day, seconds after local midnight
    setup_requests: int  # the first (history) sync, on the day before
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class _Reveal:
    """Shows the sandbox only the orders that have happened by a given moment."""

    def __init__(self, state: CloudPOSState) -> None:
        self.state = state
        self.full = state.orders
        self.orders = list(state.world.orders)
        tz = ZoneInfo(state.world.timezone)
        self.times = [o.ordertime.replace(tzinfo=tz).astimezone(UTC) for o in self.orders]

    def upto(self, moment: datetime) -> int:
        return bisect_right(self.times, moment)

    def show(self, moment: datetime) -> None:
        n = self.upto(moment)
        full = self.full
        view = OrderIndex([])
        view.orders, view.tickets, view.blobs = full.orders[:n], full.tickets[:n], full.blobs[:n]
        view.dates = {d: (lo, min(hi, n)) for d, (lo, hi) in full.dates.items() if lo < n}
        with self.state.lock:
            self.state.world.orders = self.orders[:n]
            self.state.orders = view


def _at(moment: datetime) -> datetime:
    """A clock stopped at `moment` (the planner's view during one pass)."""
    return moment


def _world(history_days: int, orders_per_day: int, seed: int) -> World:
    return generate_world(
        "be_hospitality", seed=seed, days=history_days + 1, orders_per_day=orders_per_day
    )


def simulate_day(
    store: Store,
    *,
    history_days: int = 7,
    orders_per_day: int = 2000,
    daily_limit: int = 500,
    plan_every: int = 30,
    seed: int = 11,
) -> DayResult:
    """Run one vendor-local day (00:00-24:00 of the world's last business day)."""
    world = _world(history_days, orders_per_day, seed)
    tz = ZoneInfo(world.timezone)
    last_business = world.business_date(world.as_of)
    day_start = datetime.combine(last_business, time()).replace(tzinfo=tz).astimezone(UTC)
    day_end = day_start + DAY
    clock = Clock(world.timezone, frozen=day_start - timedelta(hours=1))
    box = create_sandbox(seed=seed, world=world, clock=clock, daily_limit=daily_limit)
    state: CloudPOSState = box.state
    reveal = _Reveal(state)
    now = clock.now().astimezone(UTC)
    with SandboxServer(box.app) as server:
        store.add_connection(
            "budget",
            "cloudpos",
            server.url + box.base_path,
            box.credentials,
            {"daily_limit": daily_limit},
        )
        cid = store.get_connection("budget").id
        engine = SyncEngine(store, clock=lambda: clock.now().astimezone(UTC), workers=0)
        reveal.show(now)
        first = sync_connection(store, cid, engine=engine, due_only=False, trigger="initial")
        if not first.ok:
            raise RuntimeError(f"initial sync failed: {first.status}: {first.error}")
        row = store.get_connection(cid)
        connector = build_connector(store, row)
        try:
            streams = connector.streams()
            planned = plan_intervals(connector.effective_limits(), streams)
        finally:
            connector.http.close()
        requests_per_stream = {s.name: 0 for s in streams}
        reads_per_stream = {s.name: 0 for s in streams}
        stream_ages: dict[str, list[float]] = {s.name: [] for s in streams}
        syncs = idle = 0
        queued: datetime | None = None
        # The loop starts right after the first sync (an hour before the day) so the day
        # begins in steady state; only the day's syncs and samples are reported.
        next_plan = now
        step = timedelta(seconds=plan_every)
        while True:
            event = min(next_plan, queued) if queued is not None else next_plan
            if event >= day_end:
                break
            clock.set(event)
            reveal.show(event)
            if queued is not None and queued <= next_plan:
                queued = None
                result = sync_connection(store, cid, engine=engine, trigger="queue")
                if result.status == "idle":
                    idle += event >= day_start
                    continue
                if result.status not in ("ok", "partial"):
                    raise RuntimeError(f"sync at {event}: {result.status}: {result.error}")
                if event < day_start:
                    continue
                syncs += 1
                for s in result.streams:
                    requests_per_stream[s.name] += s.requests
                    reads_per_stream[s.name] += 1
                continue
            states = store.stream_states(cid) if event >= day_start else {}
            for name in stream_ages:
                last = states.get(name, {}).get("last_success_at")
                if last is not None:
                    stream_ages[name].append((event - last).total_seconds())
            for item in due_connections(store, event, horizon=step, clock=partial(_at, event)):
                if item.connection_id == cid and queued is None:
                    queued = max(item.at, event)
            next_plan += step
    log = list(state.request_log)
    local_day = last_business
    on_day = [e for e in log if e.at.astimezone(tz).date() == local_day]
    ages, in_day = _order_ages(store, cid, reveal, day_start, day_end)
    day_times = [t for t in reveal.times if day_start <= t < day_end]
    return DayResult(
        day=local_day,
        daily_limit=daily_limit,
        requests_on_day=len(on_day),
        refused=sum(1 for e in on_day if e.errorcode == 1003),
        syncs=syncs,
        idle_jobs=idle,
        requests_per_stream=requests_per_stream,
        reads_per_stream=reads_per_stream,
        orders_in_day=in_day,
        orders_landed=len(ages),
        order_ages_s=ages,
        stream_ages_s=stream_ages,
        planned={k: v.total_seconds() for k, v in planned.items()},
        opening_s=(day_times[-1] - day_times[0]).total_seconds() if day_times else 0.0,
        order_times_s=[(t - day_start).total_seconds() for t in day_times],
        setup_requests=first.requests,
    )


def _order_ages(
    store: Store, cid: str, reveal: _Reveal, start: datetime, end: datetime
) -> tuple[list[float], int]:
    """Seconds from each of the day's orders to its first landing in the store."""
    table = RECORD_TABLES["order"]
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.occurred_at, table.c.first_seen_at).where(
                table.c.connection_id == cid,
                table.c.occurred_at >= start,
                table.c.occurred_at < end,
            )
        ).all()
    in_day = sum(1 for t in reveal.times if start <= t < end)
    return [(seen - at).total_seconds() for at, seen in rows], in_day


def optimum(result: DayResult, write_reserve: int = 25) -> dict[str, Any]:
    """How fresh anyone could keep orders with this quota, against posbridge's figure.

    One request per order poll is the API's floor (an id window of up to 5,000 tickets
    covers any poll interval's orders). With polls at a fixed interval T and orders at
    random moments, an order waits uniformly 0..T: p50 T/2, p95 0.95 T, max T.
    """
    other = sum(DAY.total_seconds() / v for k, v in result.planned.items() if k != "orders")
    reads = result.daily_limit - write_reserve
    cases = {
        "other streams at posbridge's cadences, orders polled evenly over 24 h": (
            reads - other,
            DAY.total_seconds(),
        ),
        "other streams at posbridge's cadences, orders polled only while open": (
            reads - other,
            result.opening_s,
        ),
        "all 500 requests on orders, only while open (no other stream, no writes)": (
            float(result.daily_limit),
            result.opening_s,
        ),
    }
    out: dict[str, Any] = {}
    polls = reads - other
    if result.order_times_s and polls > 0:
        # Polls spaced by traffic (interval ∝ 1/sqrt(rate), 15-minute bins) minimise the
        # mean wait: (Σ sqrt(n_i · bin))² / (2 · polls · Σ n_i).
        bin_s = 900.0
        counts: dict[int, int] = {}
        for t in result.order_times_s:
            counts[int(t // bin_s)] = counts.get(int(t // bin_s), 0) + 1
        root = sum(math.sqrt(n * bin_s) for n in counts.values())
        out["other streams at posbridge's cadences, order polls spaced by traffic"] = {
            "order_polls": round(polls, 1),
            "age_mean_s": round(root**2 / (2 * polls * len(result.order_times_s)), 1),
        }
    for label, (polls, span) in cases.items():
        interval = span / polls if polls > 0 else float("inf")
        out[label] = {
            "order_polls": round(polls, 1),
            "interval_s": round(interval, 1),
            "age_mean_s": round(interval / 2, 1),
            "age_p50_s": round(interval / 2, 1),
            "age_p95_s": round(0.95 * interval, 1),
            "age_max_s": round(interval, 1),
        }
    return out
