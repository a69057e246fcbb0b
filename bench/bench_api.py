"""REST API latency and throughput on a large synced store.

Syncs a CloudPOS world into a fresh SQLite store (default ~1M order lines), serves the API
in its own process (uvicorn, one worker) and measures, with one sequential httpx client:
list-orders pages of 100 (lines and payments included) and the revenue-by-day report.
Usage:

    .venv/bin/python bench/bench_api.py                # 270 days × 1,230 orders/day ≈ 1M lines
    .venv/bin/python bench/bench_api.py --days 30      # quicker

Writes bench/results/api.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SERVE = """
import sys, uvicorn
from posbridge.api import create_app
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
store = Store.open(sys.argv[1], Vault(b"b" * 32))
uvicorn.run(create_app(store), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def build_store(url: str, days: int, per_day: int) -> tuple[str, int]:
    """Sync a world into the store; returns an API key and the number of order lines."""
    from posbridge.sandboxes.cloudpos import create_sandbox
    from posbridge.sandboxes.runner import SandboxServer
    from posbridge.store.accounts import assign_connection, create_account, create_api_key
    from posbridge.store.crypto import Vault
    from posbridge.store.repo import Store
    from posbridge.sync.engine import SyncEngine

    store = Store.open(url, Vault(b"b" * 32))
    box = create_sandbox(days=days, orders_per_day=per_day, daily_limit=10**9)
    with SandboxServer(box.app) as vendor:
        store.add_connection(
            "shop",
            "cloudpos",
            vendor.url + box.base_path,
            box.credentials,
            {"page_size": 1000, "daily_limit": 10**9},
        )
        assert SyncEngine(store, workers=1).run("shop").ok
    account = create_account(store, "bench")
    assign_connection(store, "shop", account)
    with store.engine.connect() as conn:
        lines = conn.exec_driver_sql("SELECT COUNT(*) FROM order_lines").scalar_one()
    key = create_api_key(store, account)
    store.close()
    return key, int(lines)


def timed(client: httpx.Client, path: str, params: dict[str, str | int], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, params=params)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=270)
    parser.add_argument("--orders-per-day", type=int, default=1230)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/api.db"
        started = time.perf_counter()
        key, lines = build_store(url, args.days, args.orders_per_day)
        built = time.perf_counter() - started
        port = 8765
        server = subprocess.Popen([sys.executable, "-c", SERVE, url, str(port)])
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}/v1",
                timeout=60,
                headers={"Authorization": f"Bearer {key}"},
            ) as client:
                for _ in range(100):
                    try:
                        client.get("/connections")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                timed(client, "/orders", {"limit": 100}, 20)
                lists = timed(client, "/orders", {"limit": 100}, args.requests)
                reports = timed(client, "/reports/revenue", {"group_by": "day"}, 30)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "order_lines": lines,
        "store_build_s": round(built, 1),
        "list_orders_req_per_s": round(len(lists) / sum(lists)),
        "list_orders_p50_ms": round(statistics.median(lists) * 1000, 2),
        "list_orders_p99_ms": round(sorted(lists)[int(len(lists) * 0.99) - 1] * 1000, 2),
        "revenue_by_day_p50_ms": round(statistics.median(reports) * 1000, 1),
        "revenue_by_day_p99_ms": round(sorted(reports)[int(len(reports) * 0.99) - 1] * 1000, 1),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "api.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
