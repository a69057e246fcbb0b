"""REST API latency and throughput on a large synced store.

Syncs a CloudPOS world into a fresh SQLite store (default ~1M order lines), serves the API
in its own process (uvicorn, one worker) and measures, with one httpx client: list-orders
pages of 100 (lines and payments included) starting anywhere in the store — closed loop
(throughput) and open loop at a fixed rate (latency) — and the revenue reports and heat map.
Usage:

    .venv/bin/python bench/bench_api.py                # 270 days × 1,230 orders/day ≈ 1M lines
    .venv/bin/python bench/bench_api.py --days 30      # quicker

Writes bench/results/api.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
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
    """Closed loop: one request after the other; returns each latency."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, params=params)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return out


def paced(
    client: httpx.Client, requests: list[tuple[str, dict[str, str | int]]], rate: float
) -> list[float]:
    """Open loop at a fixed rate: latency counted from each request's *scheduled* start, so a
    slow answer delays (and is charged to) the requests queued behind it."""
    out = []
    begin = time.perf_counter()
    for i, (path, params) in enumerate(requests):
        due = begin + i / rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        response = client.get(path, params=params)
        out.append(time.perf_counter() - due)
        assert response.status_code == 200, response.text
    return out


def cursors(client: httpx.Client, every: int) -> list[str]:
    """Order ids spread over the whole store, to start list pages anywhere in it."""
    out: list[str] = []
    after = None
    while True:
        params: dict[str, str | int] = {"limit": 500} | ({"starting_after": after} if after else {})
        body = client.get("/orders", params=params).json()
        ids = [o["id"] for o in body["data"]]
        out += ids[::every]
        if not body["has_more"]:
            return out
        after = body["next_starting_after"]


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("POSBRIDGE_BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wrk(base: str, key: str, paths: list[str], tmp: str, connections: int) -> dict[str, float]:
    """Server-side throughput with wrk (C client, Debian package `wrk`) cycling the paths."""
    listing, script = Path(tmp) / "paths.txt", Path(tmp) / "paths.lua"
    listing.write_text("\n".join(paths) + "\n")
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            "-d10s",
            "--latency",
            "-s",
            str(script),
            "-H",
            f"Authorization: Bearer {key}",
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"POSBRIDGE_BENCH_PATHS": str(listing), "PATH": "/usr/bin:/bin"},
    ).stdout
    figures: dict[str, float] = {"connections": connections}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["req_per_s"] = round(float(parts[1]))
        elif parts and parts[0] in ("50%", "99%"):
            figures[f"p{parts[0][:-1]}_ms"] = round(_ms(parts[1]), 2)
        elif "Non-2xx" in line:
            raise RuntimeError(f"wrk saw errors: {line}")
    return figures


def _ms(value: str) -> float:
    """wrk's `812.00us` / `2.31ms` / `1.02s` in milliseconds."""
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    raise ValueError(value)


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=270)
    parser.add_argument("--orders-per-day", type=int, default=1230)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200, help="fixed rate of list requests/s")
    args = parser.parse_args()
    rng = random.Random(7)
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
                starts = cursors(client, every=37)
                pages = [
                    ("/orders", {"limit": 100, "starting_after": rng.choice(starts)})
                    for _ in range(args.requests)
                ]
                timed(client, "/orders", {"limit": 100}, 50)
                server_side = None
                if shutil.which("wrk"):
                    server_side = wrk(
                        f"http://127.0.0.1:{port}",
                        key,
                        [
                            f"/v1/orders?limit=100&starting_after={p['starting_after']}"
                            for _, p in pages
                        ],
                        tmp,
                        connections=8,
                    )
                begin = time.perf_counter()
                closed = [timed(client, path, params, 1)[0] for path, params in pages]
                closed_rate = len(closed) / (time.perf_counter() - begin)
                open_loop = paced(client, pages, args.rate)
                reports = {
                    group: timed(client, "/reports/revenue", {"group_by": group}, 40)
                    for group in ("day", "month", "vat_rate", "payment_method", "location")
                }
                heat = timed(client, "/reports/heatmap", {}, 40)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "order_lines": lines,
        "store_build_s": round(built, 1),
        "list_orders_wrk": server_side,
        "list_orders_closed_loop_req_per_s": round(closed_rate),
        "list_orders_closed_loop": summary(closed),
        f"list_orders_at_{args.rate:g}_req_per_s": summary(open_loop),
        "revenue_report": {group: summary(lat) for group, lat in reports.items()},
        "heat_map": summary(heat),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "api.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
