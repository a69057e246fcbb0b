"""Fleet sync: 200 sandbox accounts, 100 ms vendor latency, 1, 2 and 4 worker processes.

Each case gets a fresh PostgreSQL schema: the accounts are connected first (each
creation enqueues its first sync), then N `posbridge worker` processes start and the
clock runs from the first job start to the last run's end (both read from the
database). Reported: wall time, connections per second, per worker, scaling efficiency
(throughput(N) / (N × throughput(1))), and the most syncs any one worker had in flight.
Beside each figure: the latency bound (requests × latency ÷ syncs in flight — the time
if the CPU were free) and the cores the workers and sandboxes used, which say whether a
case was bound by the vendor's latency or by this machine's two cores.

    POSBRIDGE_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/bench_fleet.py [--connections 200] [--workers 1,2,4] \
        [--latency-ms 100,500]

Writes bench/results/fleet.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from posbridge.app import open_store
from posbridge.fleet import queue_stats
from posbridge.settings import AppSettings
from posbridge.store.tables import sync_runs
from posbridge.testing.fleet import fleet_sandboxes

HERE = Path(__file__).parent
SECRET = "bench-fleet"


def run_case(
    base: str, connections: int, workers: int, latency_ms: int, args: argparse.Namespace
) -> dict[str, Any]:
    load = os.getloadavg()[0]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    store = open_store(AppSettings(database_url=url, secret_key=SECRET))  # type: ignore[arg-type]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with fleet_sandboxes(
            connections, latency_ms=latency_ms, days=args.days, orders_per_day=args.per_day
        ) as fleet:
            ids = fleet.connect_all(store)
            own_cpu = resource.getrusage(resource.RUSAGE_SELF)
            env = os.environ | {
                "POSBRIDGE_DATABASE_URL": url,
                "POSBRIDGE_SECRET_KEY": SECRET,
                "POSBRIDGE_WORKER_CONCURRENCY": str(args.concurrency),
                "POSBRIDGE_LOG_LEVEL": "WARNING",
            }
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "posbridge", "worker", "--name", f"b{i}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
                for i in range(workers)
            ]
            peak: dict[int, int] = {}
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                stats = queue_stats(store)
                per_worker: dict[int, int] = {}
                for job in stats["running"]:
                    per_worker[job["worker_id"]] = per_worker.get(job["worker_id"], 0) + 1
                for wid, n in per_worker.items():
                    peak[wid] = max(peak.get(wid, 0), n)
                with store.engine.connect() as conn:
                    done = conn.execute(
                        sa.select(sa.func.count(sa.distinct(sync_runs.c.connection_id))).where(
                            sync_runs.c.status == "ok"
                        )
                    ).scalar_one()
                if done == len(ids) and not stats["running"] and not stats["queued"]:
                    break
                time.sleep(0.05)
            else:
                raise SystemExit(f"timed out: {done} of {len(ids)} synced")
            with store.engine.connect() as conn:
                first = conn.execute(
                    sa.text("SELECT min(at) FROM procrastinate_events WHERE type = 'started'")
                ).scalar_one()
                last = conn.execute(sa.select(sa.func.max(sync_runs.c.finished_at))).scalar_one()
                requests = conn.execute(sa.select(sa.func.sum(sync_runs.c.requests))).scalar_one()
            host_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(own_cpu)
            worker_cpu = _stop(procs)
            differences = fleet.differences(store) if args.check else {}
            seconds = (last - first).total_seconds()
            in_flight = workers * args.concurrency
            return {
                "workers": workers,
                "latency_ms": latency_ms,
                "connections": len(ids),
                "vendors": fleet.vendors,
                "seconds": round(seconds, 2),
                "connections_per_s": round(len(ids) / seconds, 2),
                "per_worker_per_s": round(len(ids) / seconds / workers, 2),
                "requests": int(requests),
                "peak_in_flight_per_worker": sorted(peak.values(), reverse=True),
                "max_requests_in_flight_per_account": max(fleet.meter.peak.values()),
                "store_equals_worlds": not differences if args.check else None,
                # CPU seconds per wall second: ~2 means both cores were busy (CPU-bound)
                "cpu_s_workers": round(worker_cpu, 1),
                "cpu_s_sandbox_host": round(host_cpu, 1),
                "cores_used": round((worker_cpu + host_cpu) / seconds, 2),
                "latency_bound_s": round(int(requests) * latency_ms / 1000 / in_flight, 1),
                "load_before": round(load, 1),
            }
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        store.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _stop(procs: list[subprocess.Popen[bytes]]) -> float:
    """SIGTERM the workers, reap them and return the CPU seconds they used."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    total = 0.0
    for p in procs:
        if p.returncode is None:
            _, _, usage = os.wait4(p.pid, 0)
            p.returncode = 0
            total += _cpu(usage)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=25, help="syncs in flight per worker")
    parser.add_argument(
        "--latency-ms", default="100", help="vendor latency per request; a list runs each"
    )
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--no-check", dest="check", action="store_false")
    args = parser.parse_args()
    base = os.environ.get("POSBRIDGE_BENCH_POSTGRES_URL") or os.environ.get(
        "POSBRIDGE_TEST_POSTGRES_URL"
    )
    if not base:
        raise SystemExit("set POSBRIDGE_BENCH_POSTGRES_URL to a PostgreSQL database URL")
    runs = []
    for latency in (int(x) for x in args.latency_ms.split(",")):
        cases = [
            run_case(base, args.connections, int(n), latency, args) for n in args.workers.split(",")
        ]
        one = cases[0]["connections_per_s"] / cases[0]["workers"]
        for case in cases:
            case["scaling_efficiency"] = round(
                case["connections_per_s"] / (case["workers"] * one), 2
            )
            case["speedup_vs_first"] = round(
                case["connections_per_s"] / cases[0]["connections_per_s"], 2
            )
        runs.append({"latency_ms": latency, "concurrency": args.concurrency, "cases": cases})
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fleet.json").write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(
        "| latency | workers | s | latency bound s | connections/s | per worker | speed-up "
        "| efficiency | cores used | peak in flight |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        for c in run["cases"]:
            print(
                f"| {c['latency_ms']} ms | {c['workers']} | {c['seconds']} | "
                f"{c['latency_bound_s']} | {c['connections_per_s']} | {c['per_worker_per_s']} | "
                f"{c['speedup_vs_first']}× | {c['scaling_efficiency']} | {c['cores_used']} | "
                f"{c['peak_in_flight_per_worker']} |"
            )


if __name__ == "__main__":
    main()
