"""How many get-orders pages of 100 the CloudPOS sandbox serves per second on loopback.

The sandbox must never be the bottleneck of ingest tests and benchmarks. One sequential
httpx client (the same one posbridge uses) asks 2,000 windows of 100 tickets, after 50
warm-up requests; uvicorn runs the sandbox in a thread of the same process, as the
tests run it. Usage:

    .venv/bin/python bench/bench_sandbox.py

Writes bench/results/sandbox.json and prints the figure.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import httpx

from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer

REQUESTS = 2000


def main() -> None:
    box = create_sandbox(daily_limit=10**9, clock=Clock(frozen=datetime(2026, 11, 1, 3, 30)))
    first, count = box.state.world.orders[0].ticket, len(box.state.world.orders)
    auth = f"licname={box.credentials['licname']}&token={box.credentials['token']}"
    urls = []
    for i in range(REQUESTS):
        start = first + (i * 100) % (count - 100)
        urls.append(f"/api/?{auth}&get-orders&start={start}&end={start + 99}")
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as client:
        for url in urls[:50]:
            client.get(url)
        started = time.perf_counter()
        for url in urls:
            body = client.get(url).content
            assert body.count(b'"dbid"') == 100
        elapsed = time.perf_counter() - started
    result = {
        "pages": REQUESTS,
        "orders_per_page": 100,
        "seconds": round(elapsed, 3),
        "pages_per_s": round(REQUESTS / elapsed),
        "orders_per_s": round(REQUESTS * 100 / elapsed),
    }
    out = Path(__file__).resolve().parent / "results" / "sandbox.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['pages_per_s']:,} pages of 100 orders per second ({result['orders_per_s']:,} orders/s)"
    )


if __name__ == "__main__":
    main()
