"""Full CloudPOS sync of a large world: orders/s, lines/s, requests, peak RSS.

The sandbox runs in its own process (`posbridge sandbox cloudpos`), so it does not share
the GIL with the sync; the sync runs in a fresh child process per world size, so peak RSS
(`ru_maxrss`) is that sync's own. Usage:

    .venv/bin/python bench/bench_cloudpos_sync.py                 # 1x and 10x worlds
    .venv/bin/python bench/bench_cloudpos_sync.py --days 60 --orders-per-day 1200

Writes bench/results/cloudpos_sync.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSBRIDGE = [sys.executable, "-m", "posbridge"]


def start_sandbox(days: int, per_day: int) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen(
        [
            *POSBRIDGE,
            "sandbox",
            "cloudpos",
            "--days",
            str(days),
            "--orders-per-day",
            str(per_day),
            "--daily-limit",
            "1000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def child(
    base_url: str, licname: str, token: str, page_size: int, workers: int = 1
) -> dict[str, object]:
    """Runs in a fresh process: one full sync into a new SQLite file."""
    from posbridge.store.crypto import Vault
    from posbridge.store.repo import Store
    from posbridge.sync.engine import SyncEngine

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db", Vault(os.urandom(32)))
        store.add_connection(
            "bench",
            "cloudpos",
            base_url,
            {"licname": licname, "token": token},
            {"page_size": page_size, "daily_limit": 1000000},
        )
        started = time.perf_counter()
        result = SyncEngine(store, workers=workers).run("bench")
        elapsed = time.perf_counter() - started
        with store.engine.connect() as conn:
            lines = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM order_lines WHERE component = 0"
            ).scalar_one()
            payments = conn.exec_driver_sql("SELECT COUNT(*) FROM order_payments").scalar_one()
            db_bytes = Path(f"{tmp}/bench.db").stat().st_size
        (orders,) = [s for s in result.streams if s.name == "orders"]
        assert result.ok, result.error
    return {
        "orders": orders.inserted,
        "lines": lines,
        "payments": payments,
        "seconds": round(elapsed, 3),
        "orders_per_s": round(orders.inserted / elapsed),
        "lines_per_s": round(lines / elapsed),
        "requests": result.requests,
        "page_size": page_size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "workers": workers,
        "db_mb": round(db_bytes / 1e6, 1),
    }


def run(days: int, per_day: int, page_size: int, workers: int) -> dict[str, object]:
    proc, info = start_sandbox(days, per_day)
    try:
        creds = info["credentials"]
        assert isinstance(creds, dict)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(info["base_url"]),
                creds["licname"],
                creds["token"],
                str(page_size),
                str(workers),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"days": days, "orders_per_day": per_day, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=0)
    parser.add_argument("--orders-per-day", type=int, default=1200)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=1, help="mapping worker processes (0: in-process)"
    )
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        url, lic, tok, size, workers = args.child
        print(json.dumps(child(url, lic, tok, int(size), int(workers))))
        return
    sizes = [(args.days, args.orders_per_day)] if args.days else [(6, 1200), (30, 1200), (60, 1200)]
    rows = [run(d, n, args.page_size, args.workers) for d, n in sizes]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "cloudpos_sync.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(
        "| world | orders | lines | s | orders/s | lines/s | requests | peak RSS MB (sync + worker) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['days']} d x {r['orders_per_day']}/d | {r['orders']} | {r['lines']} | {r['seconds']} "
            f"| {r['orders_per_s']} | {r['lines_per_s']} | {r['requests']} "
            f"| {r['peak_rss_mb']} + {r['worker_peak_rss_mb']} |"
        )


if __name__ == "__main__":
    main()
