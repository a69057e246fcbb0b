"""CloudPOS budget planner: one virtual day of a 2,000-orders/day merchant in 500 requests.

posbridge's own planner and job functions decide when to sync (`jobs.due_connections`
every 30 s of virtual time, `jobs.sync_connection` at the planned moments) against a
CloudPOS sandbox that enforces the 500/day quota and reveals each order when it happens;
see `posbridge.testing.budget_day`. No real waiting: the clock is the sandbox's, frozen
and moved from event to event.

    .venv/bin/python bench/bench_budget.py                  # 7 days of history, 2,000/day
    .venv/bin/python bench/bench_budget.py --quick          # 1 day of history, 200/day

Writes bench/results/budget.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from statistics import fmean

from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.testing.budget_day import optimum, percentile, simulate_day

HERE = Path(__file__).resolve().parent


def _ages(values: list[float]) -> dict[str, float]:
    return {
        "p50_s": round(percentile(values, 50), 1),
        "p95_s": round(percentile(values, 95), 1),
        "max_s": round(max(values, default=0.0), 1),
        "mean_s": round(fmean(values), 1) if values else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--orders-per-day", type=int, default=2000)
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--daily-limit", type=int, default=500)
    parser.add_argument("--plan-every", type=int, default=30, help="seconds between passes")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "budget.json")
    args = parser.parse_args()
    history, per_day = (1, 200) if args.quick else (args.history_days, args.orders_per_day)
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/budget.db", Vault(os.urandom(32)))
        started = time.perf_counter()
        try:
            day = simulate_day(
                store,
                history_days=history,
                orders_per_day=per_day,
                daily_limit=args.daily_limit,
                plan_every=args.plan_every,
            )
        finally:
            store.close()
        wall = time.perf_counter() - started
    streams = {
        name: {
            "planned_interval_s": day.planned[name],
            "reads": day.reads_per_stream[name],
            "requests": day.requests_per_stream[name],
            "staleness": _ages(day.stream_ages_s[name]),
        }
        for name in day.planned
    }
    out = {
        "uptime": load.strip(),
        "wall_s": round(wall, 1),
        "day": day.day.isoformat(),
        "history_days": history,
        "orders_per_day": per_day,
        "daily_limit": day.daily_limit,
        "plan_every_s": args.plan_every,
        "requests_on_day": day.requests_on_day,
        "refused_1003": day.refused,
        "syncs": day.syncs,
        "idle_jobs": day.idle_jobs,
        "setup_requests_day_before": day.setup_requests,
        "orders_in_day": day.orders_in_day,
        "orders_landed_by_midnight": day.orders_landed,
        "order_age": _ages(day.order_ages_s),
        "streams": streams,
        "optimum": optimum(day),
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    age = out["order_age"]
    print(
        f"{day.day}: {day.requests_on_day}/{day.daily_limit} requests, {day.refused} refused, "
        f"{day.syncs} syncs; {day.orders_landed}/{day.orders_in_day} orders landed; "
        f"order age p50 {age['p50_s']} s, p95 {age['p95_s']} s, max {age['max_s']} s, "
        f"mean {age['mean_s']} s ({wall:.0f} s wall)"
    )
    print("\n| stream | planned every | reads | requests | staleness p50 / p95 / max |")
    print("|---|---|---|---|---|")
    for name, s in streams.items():
        st = s["staleness"]
        print(
            f"| {name} | {s['planned_interval_s'] / 60:.0f} min | {s['reads']} | "
            f"{s['requests']} | {st['p50_s'] / 60:.1f} / {st['p95_s'] / 60:.1f} / "
            f"{st['max_s'] / 60:.1f} min |"
        )
    print("\nOptimum:")
    for label, figures in out["optimum"].items():
        print(f"  {label}: {figures}")


if __name__ == "__main__":
    main()
