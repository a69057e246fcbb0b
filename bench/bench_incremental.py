"""Incremental sync cost per vendor: requests and time with nothing new and with 1% new.

Per vendor: a world of a busy month, of which the newest 3% of orders are held back; a
full sync; then three syncs with nothing new and three after 1% more orders (plus a few
edits where the vendor shows edits) are revealed each time. Every sync is a plain
`SyncEngine.run` of all streams (what `posbridge sync` does), mapping in-process as the
scheduled syncs do. Requests are counted twice: per stream by the engine, and on the wire
by a meter in front of the sandbox (which also sees logins). The sandbox runs in a thread
of this process on loopback, with a frozen clock shared with the engine.

    .venv/bin/python bench/bench_incremental.py                 # every vendor, 30 days
    .venv/bin/python bench/bench_incremental.py --vendors cloudpos,avapos --quick

Writes bench/results/incremental.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import RunResult, SyncEngine

HERE = Path(__file__).resolve().parent
REPEATS = 3


class WireMeter:
    """ASGI middleware counting every vendor request (sandbox admin paths excluded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sandbox"):
            self.count += 1
        await self.app(scope, receive, send)


# -- per-vendor worlds: hold back the newest orders, reveal them in tranches ------------------


@dataclass
class Case:
    """One vendor's world, how to reveal held-back orders and make edits, and why."""

    vendor: str
    days: int
    per_day: int
    settings: Callable[[Path], dict[str, Any]]
    #: (world) -> list of tranches; each reveal(i) makes tranche i visible to the API
    setup: Callable[[Sandbox, int], Callable[[int], int]]
    edit: Callable[[Sandbox, int], str] | None


def _tranches(n_total: int, share: float = 0.01) -> int:
    return max(1, round(n_total * share))


def _cloudpos_setup(box: Sandbox, repeats: int) -> Callable[[int], int]:
    from posbridge.sandboxes.cloudpos_reads import OrderIndex

    s = box.state
    full = list(s.world.orders)
    k = _tranches(len(full))
    visible = len(full) - k * repeats
    full_index = s.orders

    def show(upto: int) -> None:
        with s.lock:
            s.world.orders = full[:upto]
            view = OrderIndex([])
            view.orders = full[:upto]
            view.tickets = full_index.tickets[:upto]
            view.blobs = full_index.blobs[:upto]
            view.dates = {
                d: (lo, min(hi, upto)) for d, (lo, hi) in full_index.dates.items() if lo < upto
            }
            s.orders = view

    show(visible)

    def reveal(i: int) -> int:
        show(visible + k * (i + 1))
        return k

    return reveal


def _cloudpos_edit(box: Sandbox, i: int) -> str:
    products = list(box.state.world.products.values())
    with box.state.lock:
        for p in products[i * 3 : i * 3 + 3]:
            p.price += Decimal("0.10")
            p.modtime += 60
    return "3 product prices"


def _avapos_setup(box: Sandbox, repeats: int) -> Callable[[int], int]:
    s = box.state
    full = list(s.world.facturas)
    k = _tranches(len(full))
    visible = len(full) - k * repeats
    s.world.facturas[:] = full[:visible]

    def reveal(i: int) -> int:
        with s.lock:
            s.world.facturas[:] = full[: visible + k * (i + 1)]
        return k

    return reveal


def _avapos_edit(box: Sandbox, i: int) -> str:
    """Tips added to three invoices of the last day (inside the 3-day overlap)."""
    with box.state.lock:
        for f in box.state.world.facturas[-(10 + i * 3) : -(7 + i * 3)]:
            f.propina += Decimal(1)
            f.total += Decimal(1)
            last = f.pagos[-1]
            f.pagos[-1] = last.__class__(last.formapago, last.valor + Decimal(1))
    return "3 invoice tips"


def _icash_setup(box: Sandbox, repeats: int) -> Callable[[int], int]:
    s = box.state
    sold = [
        o
        for o in s.world.operations
        if o.type in ("Sell", "ReturnClient") and o.status == "NORMAL" and o.completed
    ]
    sold.sort(key=lambda o: (o.completed, o.id))
    k = _tranches(len(sold))
    held = sold[len(sold) - k * repeats :]
    hidden = {o.id for o in held}
    everything = list(s.world.operations)

    def show(ids: set[int]) -> None:
        with s.lock:
            s.world.operations[:] = [o for o in everything if o.id not in ids]
            s.operations = {o.id: o for o in s.world.operations}

    show(hidden)

    def reveal(i: int) -> int:
        show({o.id for o in held[k * (i + 1) :]})
        return k

    return reveal


def _smartnow_setup(box: Sandbox, repeats: int) -> Callable[[int], int]:
    s = box.state
    txs = s.world.tables["revenuetransaction"]
    pays = s.world.tables["paymenttransaction"]
    all_txs, all_pays = dict(txs), dict(pays)
    ids = sorted(txs)
    k = _tranches(len(ids))
    held = ids[len(ids) - k * repeats :]

    def show(hidden: set[int]) -> None:
        with s.lock:
            txs.clear()
            txs.update({i: t for i, t in all_txs.items() if i not in hidden})
            pays.clear()
            pays.update(
                {i: p for i, p in all_pays.items() if int(p["revenuetransaction"]) not in hidden}
            )

    show(set(held))

    def reveal(i: int) -> int:
        show(set(held[k * (i + 1) :]))
        return k

    return reveal


def _smartnow_edit(box: Sandbox, i: int) -> str:
    """The newest active device event resolved (a resolution edits an old log)."""
    from posbridge.sandboxes.smartnow_world import utc_z

    with box.state.lock:
        active = [r for r in box.state.world.tables["log"].values() if r["state"] == "active"]
        for row in active[-1:]:
            row.update(state="resolved", duration=600, resolvedAt=utc_z(box.state.clock.now()))
    return "1 device event resolved"


def _wservice_setup(box: Sandbox, repeats: int) -> Callable[[int], int]:
    s = box.state
    docs = s.world.documents
    everything = dict(docs)
    ids = sorted(docs)
    k = _tranches(len(ids))
    held = ids[len(ids) - k * repeats :]

    def show(hidden: set[int]) -> None:
        with s.lock:
            docs.clear()
            docs.update({i: d for i, d in everything.items() if i not in hidden})

    show(set(held))

    def reveal(i: int) -> int:
        show(set(held[k * (i + 1) :]))
        return k

    return reveal


CASES: dict[str, Case] = {
    "cloudpos": Case(
        "cloudpos",
        30,
        1200,
        lambda _tmp: {},
        _cloudpos_setup,
        _cloudpos_edit,
    ),
    "avapos": Case(
        "avapos",
        30,
        400,
        lambda _tmp: {},
        _avapos_setup,
        _avapos_edit,
    ),
    "icash": Case(
        "icash",
        30,
        600,
        lambda tmp: {"state_dir": str(tmp)},
        _icash_setup,
        None,
    ),
    "smartnow": Case(
        "smartnow",
        30,
        500,
        lambda _tmp: {},
        _smartnow_setup,
        _smartnow_edit,
    ),
    "wservice": Case(
        "wservice",
        30,
        200,
        lambda _tmp: {},
        _wservice_setup,
        None,
    ),
}


def _world(vendor: str, days: int, per_day: int) -> Any:
    if vendor == "cloudpos":
        from posbridge.sandboxes.world import generate_world

        return generate_world("be_hospitality", seed=7, days=days, orders_per_day=per_day)
    if vendor == "avapos":
        from posbridge.sandboxes.avapos_world import generate_avapos_world

        return generate_avapos_world(seed=7, days=days, orders_per_day=per_day)
    if vendor == "icash":
        from posbridge.sandboxes.icash_gen import generate_icash_world

        return generate_icash_world(seed=7, days=days, orders_per_day=per_day)
    if vendor == "smartnow":
        from posbridge.sandboxes.smartnow_gen import generate_smartnow_world

        return generate_smartnow_world(seed=7, days=days, orders_per_day=per_day)
    from posbridge.sandboxes.wservice_world import generate_wservice_world

    return generate_wservice_world(seed=7, days=days, orders_per_day=per_day)


def _sandbox(vendor: str, world: Any) -> Sandbox:
    from posbridge.sandboxes import SANDBOXES

    clock = Clock(world.timezone, frozen=world.as_of)
    return SANDBOXES[vendor](world=world, clock=clock)


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Sync:
    """One measured sync."""

    seconds: float
    wire: int
    result: RunResult

    def streams(self) -> dict[str, dict[str, int]]:
        return {
            s.name: {
                "requests": s.requests,
                "fetched": s.fetched,
                "written": s.inserted + s.updated + s.deleted,
            }
            for s in self.result.streams
        }


def _sync(engine: SyncEngine, meter: WireMeter) -> Sync:
    before = meter.count
    started = time.perf_counter()
    result = engine.run("bench")
    seconds = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"sync failed: {result.status}: {result.error}")
    return Sync(seconds, meter.count - before, result)


def _summary(runs: list[Sync]) -> dict[str, Any]:
    """Median time of the runs; requests and records of the first run, and of each."""
    mid = sorted(r.seconds for r in runs)[len(runs) // 2]
    first = runs[0]
    return {
        "seconds_median": round(mid, 3),
        "seconds_runs": [round(r.seconds, 3) for r in runs],
        "requests": first.result.requests,
        "requests_on_wire": first.wire,
        "requests_on_wire_runs": [r.wire for r in runs],
        "written": sum(v["written"] for v in first.streams().values()),
        "written_runs": [sum(v["written"] for v in r.streams().values()) for r in runs],
        "fetched": sum(v["fetched"] for v in first.streams().values()),
        "streams": first.streams(),
    }


@contextmanager
def _served(box: Sandbox) -> Iterator[tuple[str, WireMeter]]:
    meter = WireMeter(box.app)
    with SandboxServer(meter) as server:
        yield server.url + box.base_path, meter


def run_vendor(case: Case, days: int, per_day: int) -> dict[str, Any]:
    world = _world(case.vendor, days, per_day)
    box = _sandbox(case.vendor, world)
    reveal = case.setup(box, REPEATS)
    with tempfile.TemporaryDirectory() as tmp, _served(box) as (url, meter):
        store = Store.open(f"sqlite:///{tmp}/bench.db", Vault(os.urandom(32)))
        try:
            store.add_connection(
                "bench", case.vendor, url, box.credentials, case.settings(Path(tmp))
            )
            engine = SyncEngine(store, clock=box.state.clock.now, workers=0)
            first = _sync(engine, meter)
            orders = store.count("order", store.get_connection("bench").id)
            quiet = []
            for _ in range(REPEATS):
                box.state.clock.advance(60)
                quiet.append(_sync(engine, meter))
            new, added, edits = [], 0, ""
            for i in range(REPEATS):
                box.state.clock.advance(60)
                added = reveal(i)
                if case.edit is not None:
                    edits = case.edit(box, i)
                new.append(_sync(engine, meter))
        finally:
            store.close()
    return {
        "vendor": case.vendor,
        "world": {"days": days, "orders_per_day": per_day, "orders_after_full_sync": orders},
        "full_sync": {
            "seconds": round(first.seconds, 3),
            "requests": first.result.requests,
            "requests_on_wire": first.wire,
        },
        "nothing_new": _summary(quiet),
        "one_percent_new": {"orders_added": added, "edits": edits or None, **_summary(new)},
    }


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true", help="3 days x 100 orders (smoke run)")
    parser.add_argument("--days", type=int, default=0, help="override every world's days")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "incremental.json")
    args = parser.parse_args()
    rows = []
    load_before = _load()
    for name in args.vendors.split(","):
        case = CASES[name]
        days = 3 if args.quick else (args.days or case.days)
        per_day = 100 if args.quick else case.per_day
        print(f"{name}: {days} d x {per_day}/d ...", flush=True)
        rows.append(run_vendor(case, days, per_day))
    out = {"uptime_before": load_before, "uptime_after": _load(), "vendors": rows}
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print()
    print(
        "| vendor | world | full sync: req / s | nothing new: req (wire) / s | "
        "1% new: orders / req (wire) / s / written |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        w, f, q, n = r["world"], r["full_sync"], r["nothing_new"], r["one_percent_new"]
        print(
            f"| {r['vendor']} | {w['days']} d x {w['orders_per_day']}/d "
            f"({w['orders_after_full_sync']:,} orders) | {f['requests']} / {f['seconds']} | "
            f"{q['requests']} ({q['requests_on_wire']}) / {q['seconds_median']} | "
            f"{n['orders_added']} / {n['requests']} ({n['requests_on_wire']}) / "
            f"{n['seconds_median']} / {n['written']} |"
        )
    for r in rows:
        print(f"\n{r['vendor']}: requests per stream (nothing new | 1% new), fetched, written")
        q, n = r["nothing_new"]["streams"], r["one_percent_new"]["streams"]
        for stream in q:
            print(
                f"  {stream:18} {q[stream]['requests']:>4} | {n[stream]['requests']:>4}   "
                f"fetched {q[stream]['fetched']:>6} | {n[stream]['fetched']:>6}   "
                f"written {q[stream]['written']:>4} | {n[stream]['written']:>4}"
            )


if __name__ == "__main__":
    main()
