"""posbridge vs dlt per vendor, against the physical limit, and memory at 10x (issue 9).

For every vendor, one sandbox process (`--serve`: the vendor sandbox behind a request
counter, so requests are counted where they arrive, never by mocking our client) serves
one world; each case then runs in a fresh child process, so `ru_maxrss` is its own:

- posbridge: `SyncEngine(store, workers=1).run(streams=["orders"])` into a new SQLite file
  (orders with lines, payments, VAT, raw bytes, quarantine, rollups; the CLI's set-up);
- dlt: one `@dlt.resource` over the same endpoints and page sizes (`vendor_peers.py`),
  `pipeline.run(loader_file_format="parquet")` into a new DuckDB file (dlt's fastest
  set-up measured on this machine, perf-limits/RESULTS.md section 4);
- limit: the same responses captured once, then timed: JSON decode + flatten + one
  `executemany` per table into SQLite (WAL, synchronous=NORMAL, one transaction);
- profile: the posbridge case once more under cProfile (every thread of the sync
  process; the mapping worker's CPU is reported as a total);
- memory: a full sync (all streams) of the world and of a world `--scale` times larger.

Usage:

    .venv/bin/pip install -c requirements.lock -e '.[bench]'
    .venv/bin/python bench/bench_vendors.py                       # every vendor, 3 runs, 10x
    .venv/bin/python bench/bench_vendors.py --vendors cloudpos,icash --runs 1 --scale 5
    .venv/bin/python bench/bench_vendors.py --quick               # tiny worlds, 1 run, no files

Writes bench/results/vendors.json (not with --quick) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENDORS = ("cloudpos", "avapos", "icash", "smartnow", "wservice")

#: world per vendor (days, orders/day): each takes >= 1-2 s to sync orders on this machine
WORLDS: dict[str, tuple[int, int]] = {
    "cloudpos": (20, 1200),
    "avapos": (200, 120),
    "icash": (5, 160),  # its sandbox renders every operation for each page: O(n^2) per sync
    "smartnow": (4, 300),  # its sandbox scans the whole list for each page: O(n^2) per sync
    "wservice": (10, 300),
}
QUICK: dict[str, tuple[int, int]] = dict.fromkeys(VENDORS, (2, 20))

#: the largest page each vendor's API permits for orders (and where that is written down)
LARGEST_PAGE: dict[str, tuple[int | None, str]] = {
    "cloudpos": (5000, "no documented maximum; 5,000 ids is posbridge's ceiling (page_size)"),
    "avapos": (None, "no paging: one request per date window, none documented; 366-day windows"),
    "icash": (100, "`count` <= 100 (vendor document)"),
    "smartnow": (100, "`limit` <= 100 (vendor document)"),
    "wservice": (1, "documents are read one `iddocument` at a time (vendor document)"),
}


# -- sandbox process -------------------------------------------------------------------------
def serve(vendor: str, days: int, per_day: int) -> None:
    """Child: build the world, serve it behind a request counter until stdin closes."""
    from starlette.types import Receive, Scope, Send

    from posbridge.sandboxes import SANDBOXES
    from posbridge.sandboxes.runner import SandboxServer

    started = time.perf_counter()
    box = SANDBOXES[vendor](seed=1, days=days, orders_per_day=per_day, daily_limit=10**9)
    built = time.perf_counter() - started
    count = [0]

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/_bench/"):
            if scope["method"] == "POST":
                count[0] = 0
                # Every case is a new client with its own store, so its own nonce counter:
                # as if each had its own iCash API key, the server forgets the last nonce.
                if hasattr(box.state, "last_nonce"):
                    box.state.last_nonce = 0
            used = resource.getrusage(resource.RUSAGE_SELF)
            cpu = round(used.ru_utime + used.ru_stime, 3)
            body = json.dumps({"requests": count[0], "cpu_s": cpu}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            count[0] += 1
        await box.app(scope, receive, send)

    server = SandboxServer(counted).start()
    line = {
        "base_url": server.url + box.base_path,
        "control": server.url + "/_bench/requests",
        "credentials": box.credentials,
        "world_s": round(built, 2),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # the parent closes stdin (or dies): stop
    server.stop()


class Sandbox:
    """A `--serve` process and its request counter."""

    def __init__(self, vendor: str, days: int, per_day: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", vendor, str(days), str(per_day)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())
        #: iCash nonces must grow across every client of the key: one counter file for all
        self.state = tempfile.TemporaryDirectory(prefix="bench-vendors-")

    def meter(self, reset: bool = False) -> tuple[int, float]:
        """(requests since the last reset, CPU seconds the sandbox process used so far)."""
        import httpx

        answer = httpx.request("POST" if reset else "GET", self.info["control"]).json()
        return int(answer["requests"]), float(answer["cpu_s"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.state.cleanup()


# -- child cases -----------------------------------------------------------------------------
def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the mapping worker) so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _rss() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "peak_rss_mb": round(me.ru_maxrss / 1024, 1),
        "children_peak_rss_mb": round(kids.ru_maxrss / 1024, 1),
        "cpu_s": round(me.ru_utime + me.ru_stime, 2),
        "children_cpu_s": round(kids.ru_utime + kids.ru_stime, 2),
    }


def history_days(days: int) -> int:
    """AvaPOS reads back from today: reach the first day of a world that ends 2026-11-01."""
    from datetime import date

    return (date.today() - date(2026, 11, 1)).days + days + 2


def posbridge_settings(vendor: str, days: int, state_dir: str) -> dict[str, Any]:
    """posbridge's connection settings: defaults, plus what the bench world needs."""
    return {
        "cloudpos": {"page_size": 1000, "daily_limit": 10**9},
        "avapos": {"history_days": history_days(days)},
        "icash": {"state_dir": state_dir},
        "smartnow": {},
        "wservice": {},
    }[vendor]


def peer_options(vendor: str, days: int, state_dir: str) -> dict[str, Any]:
    """The same page sizes and windows for the dlt side (posbridge's defaults)."""
    return {
        "page_size": 1000,
        "history_days": history_days(days),
        "window_days": 14,
        "state_dir": state_dir,
        "miss_limit": 10,
    }


@contextlib.contextmanager
def _profiled(out: dict[str, Any]) -> Iterator[None]:
    """cProfile every thread started inside (fetch, commit, ...) and the calling one."""
    import cProfile
    import pstats

    profiles: list[cProfile.Profile] = []

    def start(*_: Any) -> None:
        sys.setprofile(None)
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()

    main = cProfile.Profile()
    threading.setprofile(start)
    main.enable()
    try:
        yield
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        stats = pstats.Stats(main)
        for prof in profiles:
            stats.add(prof)
        rows = []
        for (file, line, func), (_cc, calls, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
            if "threading.py" in file or func in ("<method 'acquire' of '_thread.lock' objects>",):
                continue
            short = file.split("site-packages/")[-1].split("src/")[-1]
            rows.append((tt, ct, calls, f"{short}:{line}({func})"))
        total = sum(r[0] for r in rows)
        out["profile_self_s_total"] = round(total, 2)
        out["profile_top_self"] = [
            {"self_s": round(tt, 3), "cum_s": round(ct, 3), "calls": n, "where": w}
            for tt, ct, n, w in sorted(rows, reverse=True)[:10]
        ]
        cum = [r for r in rows if "posbridge/" in r[3]]
        out["profile_top_cumulative"] = [
            {"cum_s": round(ct, 3), "self_s": round(tt, 3), "calls": n, "where": w}
            for tt, ct, n, w in sorted(cum, key=lambda r: -r[1])[:10]
        ]


def child_posbridge(args: Mapping[str, Any]) -> dict[str, Any]:
    """One sync into a new SQLite file: orders only, or every stream (`streams` None)."""
    from posbridge.store.crypto import Vault
    from posbridge.store.repo import Store
    from posbridge.sync.engine import SyncEngine

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db", Vault(os.urandom(32)))
        settings = posbridge_settings(args["vendor"], args["days"], args["state_dir"])
        store.add_connection(
            "bench", args["vendor"], args["base_url"], args["credentials"], settings
        )
        engine = SyncEngine(store, workers=1)
        profile = _profiled(out) if args.get("profile") else contextlib.nullcontext()
        cpu, started = _cpu(), time.perf_counter()
        with profile:
            result = engine.run("bench", streams=args["streams"])
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
        if not result.ok:
            raise SystemExit(f"posbridge sync failed: {result.error} {result.streams}")
        with store.engine.connect() as conn:
            sql = conn.exec_driver_sql
            lines = sql("SELECT COUNT(*) FROM order_lines WHERE component = 0").scalar_one()
            payments = sql("SELECT COUNT(*) FROM order_payments").scalar_one()
            quarantined = sql("SELECT COUNT(*) FROM quarantine").scalar_one()
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*")) / 1e6
        store.engine.dispose()
    orders = next(s for s in result.streams if s.name == "orders")
    records = sum(s.inserted + s.updated + s.unchanged for s in result.streams)
    return {
        **out,
        "streams": [s.name for s in result.streams],
        "orders": orders.inserted,
        "lines": lines,
        "payments": payments,
        "quarantined": quarantined,
        "records": records,
        "seconds": round(elapsed, 3),
        "run_cpu_s": round(cpu, 3),
        "orders_per_s": round(orders.inserted / elapsed),
        "cpu_us_per_order": round(cpu / max(orders.inserted, 1) * 1e6, 1),
        "requests_engine": result.requests,
        "db_mb": round(db_mb, 1),
        **_rss(),
    }


def child_dlt(args: Mapping[str, Any]) -> dict[str, Any]:
    """One dlt pipeline run (extract, normalize, load) into a new DuckDB file."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from vendor_peers import dlt_source

    with tempfile.TemporaryDirectory() as tmp:
        opts = peer_options(args["vendor"], args["days"], args["state_dir"])
        pipeline = dlt.pipeline(
            pipeline_name="peer",
            pipelines_dir=f"{tmp}/pipelines",
            dataset_name="pos",
            destination=dlt.destinations.duckdb(f"{tmp}/peer.duckdb"),
        )
        source = dlt_source(args["vendor"], args["base_url"], args["credentials"], opts)
        cpu, started = _cpu(), time.perf_counter()
        pipeline.run(source, loader_file_format="parquet")
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
        trace = pipeline.last_trace
        steps = {
            s.step: round((s.finished_at - s.started_at).total_seconds(), 2) for s in trace.steps
        }
        with pipeline.sql_client() as client:
            tables = [
                r[0]
                for r in client.execute_sql(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pos'"
                )
                if not r[0].startswith("_dlt")
            ]
            counts = {t: client.execute_sql(f"SELECT COUNT(*) FROM pos.{t}")[0][0] for t in tables}
    orders = counts.get(ORDER_TABLE[args["vendor"]], 0)
    return {
        "dlt": dlt.__version__,
        "tables": counts,
        "orders": orders,
        "rows": sum(counts.values()),
        "seconds": round(elapsed, 3),
        "run_cpu_s": round(cpu, 3),
        "orders_per_s": round(orders / elapsed),
        "cpu_us_per_order": round(cpu / max(orders, 1) * 1e6, 1),
        "steps_s": steps,
        **_rss(),
    }


#: the dlt table that holds one row per order
ORDER_TABLE = {
    "cloudpos": "orders",
    "avapos": "facturas",
    "icash": "operations",
    "smartnow": "revenuetransactions",
    "wservice": "documents",
}


def _flatten(
    table: str,
    recs: Sequence[dict[str, Any]],
    out: dict[str, list[tuple[Any, ...]]],
    cols: dict[str, list[str]],
) -> None:
    """Scalars to `table`, lists of objects to `table__key` (dlt's layout), row per item."""
    encode = _encode
    for rec in recs:
        row: list[Any] = []
        for key in cols[table]:
            value = rec.get(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                child = f"{table}__{key}"
                ccols = cols[child]
                out[child].extend(
                    tuple(
                        v if not isinstance(v, dict | list) else encode(v)
                        for v in map(item.get, ccols)
                    )
                    for item in value
                )
                row.append(None)
            elif isinstance(value, dict | list):
                row.append(encode(value))
            else:
                row.append(value)
        out[table].append(tuple(row))


def _encode(value: Any) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


def _columns(table: str, recs: Sequence[dict[str, Any]], cols: dict[str, list[str]]) -> None:
    mine = cols.setdefault(table, [])
    for rec in recs:
        for key, value in rec.items():
            if key not in mine:
                mine.append(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                _columns(f"{table}__{key}", value, cols)


def child_limit(args: Mapping[str, Any]) -> dict[str, Any]:
    """Capture the peer's responses once, then time decode + flatten + SQLite writes."""
    import sqlite3

    import msgspec
    from vendor_peers import pages, pick, records

    vendor = args["vendor"]
    with tempfile.TemporaryDirectory() as tmp:
        opts = peer_options(vendor, args["days"], args["state_dir"])
        started = time.perf_counter()
        bodies = list(pages(vendor, args["base_url"], args["credentials"], opts))
        fetch_s = time.perf_counter() - started
        cols: dict[str, list[str]] = {}
        for table, body in bodies:  # the schema is known up front (untimed)
            _columns(table, records(vendor, body), cols)
        cols = {t: names for t, names in cols.items() if names}
        runs = []
        for run in range(3):
            path = f"{tmp}/limit{run}.db"
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for table, names in cols.items():
                db.execute(f'CREATE TABLE "{table}" ({", ".join(f"[{c}]" for c in names)})')
            clock = time.process_time  # single-threaded: CPU time, robust on a loaded machine
            wall, t0 = time.perf_counter(), clock()
            docs = [(table, msgspec.json.decode(body)) for table, body in bodies]
            t1 = clock()
            rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in cols}
            for table, doc in docs:
                _flatten(table, pick(vendor, doc), rows, cols)
            t2 = clock()
            db.execute("BEGIN")
            for table, batch in rows.items():
                marks = ", ".join("?" * len(cols[table]))
                db.executemany(f'INSERT INTO "{table}" VALUES ({marks})', batch)
            db.execute("COMMIT")
            t3, wall = clock(), time.perf_counter() - wall
            db.close()
            del docs
            counts = {t: len(b) for t, b in rows.items()}
            runs.append((t3 - t0, t1 - t0, t2 - t1, t3 - t2, wall, counts))
    total, decode, flatten, write, wall, counts = sorted(runs, key=lambda r: r[0])[1]
    orders = counts[ORDER_TABLE[vendor]]
    return {
        "bodies": len(bodies),
        "body_mb": round(sum(len(b) for _, b in bodies) / 1e6, 1),
        "fetch_s": round(fetch_s, 3),
        "orders": orders,
        "rows": sum(counts.values()),
        "tables": counts,
        "cpu_s": round(total, 3),
        "seconds": round(wall, 3),
        "cpu_us_per_order": round(total / max(orders, 1) * 1e6, 1),
        "decode_s": round(decode, 3),
        "flatten_s": round(flatten, 3),
        "write_s": round(write, 3),
        "orders_per_s": round(orders / total),  # per CPU second
    }


def _child(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(args)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- orchestration ---------------------------------------------------------------------------
def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, plus every run's seconds and peak RSS."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    pick = dict(ordered[len(ordered) // 2])
    pick["runs_s"] = [r["seconds"] for r in runs]
    pick["runs_peak_rss_mb"] = [r["peak_rss_mb"] for r in runs]
    pick["runs_requests"] = [r["requests"] for r in runs]
    return pick


def _counted(box: Sandbox, kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    _, cpu = box.meter(reset=True)
    result = _child(kind, args)
    result["requests"], after = box.meter()
    result["sandbox_cpu_s"] = round(after - cpu, 2)
    return result


def bench_vendor(vendor: str, world: tuple[int, int], runs: int, scale: int) -> dict[str, Any]:
    days, per_day = world
    out: dict[str, Any] = {"vendor": vendor, "days": days, "orders_per_day": per_day}
    box = Sandbox(vendor, days, per_day)
    try:
        out["world_s"] = box.info["world_s"]
        base = {
            "vendor": vendor,
            "days": days,
            "base_url": box.info["base_url"],
            "credentials": box.info["credentials"],
            "state_dir": box.state.name,
        }
        ours, peer = [], []
        for _ in range(runs):  # alternate, so drift of the shared machine hits both
            ours.append(_counted(box, "posbridge", {**base, "streams": ["orders"]}))
            peer.append(_counted(box, "dlt", base))
        out["posbridge"], out["dlt"] = _median(ours), _median(peer)
        out["limit"] = _counted(box, "limit", base)
        if runs > 1 or scale > 1:
            prof = _counted(box, "posbridge", {**base, "streams": ["orders"], "profile": True})
            out["profile"] = {
                k: v
                for k, v in prof.items()
                if k.startswith(("profile", "cpu", "children_cpu", "seconds"))
            }
        full = _counted(box, "posbridge", {**base, "streams": None})
        out["full_1x"] = full
    finally:
        box.close()
    if scale > 1:
        big = Sandbox(vendor, days * scale, per_day)
        try:
            base = {
                "vendor": vendor,
                "days": days * scale,
                "base_url": big.info["base_url"],
                "credentials": big.info["credentials"],
                "state_dir": big.state.name,
            }
            out["full_scaled"] = {
                "scale": scale,
                "world_s": big.info["world_s"],
                **_counted(big, "posbridge", {**base, "streams": None}),
            }
            # the same orders stream on both sides, 10x: does either hold the world in memory?
            out["orders_scaled"] = _counted(big, "posbridge", {**base, "streams": ["orders"]})
            out["dlt_scaled"] = _counted(big, "dlt", base)
        finally:
            big.close()
    out["physical"] = physical(vendor, out)
    return out


def physical(vendor: str, out: Mapping[str, Any]) -> dict[str, Any]:
    """The fewest requests the API permits for these orders, vs what posbridge made."""
    page, note = LARGEST_PAGE[vendor]
    ours = out["posbridge"]
    orders = ours["orders"]
    if vendor == "cloudpos":  # + the Z reports call that finds the first ticket id
        minimum, how = math.ceil(orders / page) + 1, f"ceil({orders}/{page}) + 1 get-zreports"
        used = posbridge_settings(vendor, 0, "")["page_size"]
        how += f" ({math.ceil(orders / used) + 1} at the {used}-id windows both sides used)"
    elif vendor == "avapos":
        years = math.ceil(history_days(out["days"]) / 366)
        minimum, how = years, f"{years} window(s) of <= 366 days"
    elif vendor == "icash":  # + login
        minimum, how = math.ceil(orders / page) + 1, f"ceil({orders}/{page}) + 1 login"
    elif vendor == "smartnow":  # revenue and payment transactions, + login
        pays = out["dlt"]["tables"].get("paymenttransactions", 0)
        minimum = math.ceil(orders / page) + math.ceil(pays / page) + 1
        how = f"ceil({orders}/100) + ceil({pays} payments/100) + 1 login"
    else:  # every document id, + the misses that end the walk, + login
        docs = out["limit"]["bodies"]  # one body per existing document id
        minimum = docs + 10 + 1
        how = f"{docs} documents + 10 misses + 1 login"
    return {
        "largest_page": page,
        "note": note,
        "minimum_requests": minimum,
        "how": how,
        "posbridge_requests": ours["requests"],
        "dlt_requests": out["dlt"]["requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--scale", type=int, default=10, help="world multiple for the memory table")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="tiny worlds, 1 run, no scaling, no files"
    )
    parser.add_argument(
        "--out", type=Path, help="results file (default bench/results/vendors.json)"
    )
    parser.add_argument("--report", type=Path, help="print the tables of a results file and exit")
    parser.add_argument("--serve", nargs=3)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    if args.child:
        kind, payload = args.child
        fn = {"posbridge": child_posbridge, "dlt": child_dlt, "limit": child_limit}[kind]
        print(json.dumps(fn(json.loads(payload))))
        return
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return
    vendors = [v for v in args.vendors.split(",") if v]
    worlds = QUICK if args.quick else WORLDS
    runs, scale = (1, 1) if args.quick else (args.runs, args.scale)
    load = os.getloadavg()
    results = []
    for vendor in vendors:
        results.append(bench_vendor(vendor, worlds[vendor], runs, scale))
        print(f"{vendor}: done", file=sys.stderr, flush=True)
    doc = {
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "scale": scale,
        "vendors": results,
    }
    target = args.out or (None if args.quick else HERE / "results" / "vendors.json")
    if target is not None and target.exists():  # re-running some vendors keeps the others
        kept = json.loads(target.read_text())
        done = {v["vendor"] for v in results}
        others = [v for v in kept.get("vendors", []) if v["vendor"] not in done]
        if others:
            doc["vendors"] = sorted([*others, *results], key=lambda v: VENDORS.index(v["vendor"]))
            doc["earlier"] = {
                k: kept[k] for k in ("when", "load_before", "load_after") if k in kept
            }
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=2) + "\n")
    print(report(doc))


def _mb(r: Mapping[str, Any]) -> str:
    return f"{r['peak_rss_mb']:.0f} + {r['children_peak_rss_mb']:.0f}"


def _total_mb(r: Mapping[str, Any]) -> float:
    return float(r["peak_rss_mb"] + r["children_peak_rss_mb"])


def report(doc: Mapping[str, Any]) -> str:
    """The Markdown tables of bench/README.md."""
    out = [
        "| vendor | orders | wall s posbridge / dlt | dlt ÷ posbridge | CPU s posbridge / dlt "
        "| dlt ÷ posbridge | orders/s posbridge / dlt | peak MB posbridge (sync + worker) / dlt "
        "| dlt ÷ posbridge | requests posbridge / dlt |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in doc["vendors"]:
        ours, peer = v["posbridge"], v["dlt"]
        out.append(
            f"| {v['vendor']} | {ours['orders']:,} | {ours['seconds']:.2f} / {peer['seconds']:.2f} "
            f"| **{peer['seconds'] / ours['seconds']:.1f}x** "
            f"| {ours['run_cpu_s']:.2f} / {peer['run_cpu_s']:.2f} "
            f"| **{peer['run_cpu_s'] / ours['run_cpu_s']:.1f}x** "
            f"| {ours['orders_per_s']:,} / {peer['orders_per_s']:,} "
            f"| {_mb(ours)} / {_mb(peer)} | **{_total_mb(peer) / _total_mb(ours):.2f}x** "
            f"| {ours['requests']} / {peer['requests']} |"
        )
    out += [
        "",
        "| vendor | fewest requests the API permits | posbridge | dlt "
        "| limit: decode + flatten + write CPU s | limit CPU µs/order "
        "| posbridge CPU µs/order (sync + worker) | dlt CPU µs/order | posbridge ÷ limit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in doc["vendors"]:
        p, lim, ours, peer = v["physical"], v["limit"], v["posbridge"], v["dlt"]
        out.append(
            f"| {v['vendor']} | {p['minimum_requests']} = {p['how']} | {p['posbridge_requests']} "
            f"| {p['dlt_requests']} | {lim['decode_s']} + {lim['flatten_s']} + {lim['write_s']} "
            f"| {lim['cpu_us_per_order']} | {ours['cpu_us_per_order']} | {peer['cpu_us_per_order']} "
            f"| {ours['cpu_us_per_order'] / lim['cpu_us_per_order']:.1f}x |"
        )
    if doc["scale"] > 1:
        out += [
            "",
            f"| vendor | records 1x | s | MB (sync + worker) | records {doc['scale']}x | s "
            "| MB (sync + worker) | requests 1x / scaled |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for v in doc["vendors"]:
            one, big = v["full_1x"], v["full_scaled"]
            out.append(
                f"| {v['vendor']} | {one['records']:,} | {one['seconds']:.2f} | {_mb(one)} "
                f"| {big['records']:,} | {big['seconds']:.2f} | {_mb(big)} "
                f"| {one['requests']} / {big['requests']} |"
            )
        out += [
            "",
            f"| vendor (orders stream only) | orders 1x / {doc['scale']}x "
            f"| posbridge MB 1x / {doc['scale']}x (sync + worker) | dlt MB 1x / {doc['scale']}x "
            f"| posbridge s 1x / {doc['scale']}x | dlt s 1x / {doc['scale']}x |",
            "|---|---|---|---|---|---|",
        ]
        for v in doc["vendors"]:
            if "orders_scaled" not in v:
                continue
            a, b, c, d = v["posbridge"], v["orders_scaled"], v["dlt"], v["dlt_scaled"]
            out.append(
                f"| {v['vendor']} | {a['orders']:,} / {b['orders']:,} | {_mb(a)} / {_mb(b)} "
                f"| {_mb(c)} / {_mb(d)} | {a['seconds']:.2f} / {b['seconds']:.2f} "
                f"| {c['seconds']:.2f} / {d['seconds']:.2f} |"
            )
    for v in doc["vendors"]:
        prof = v.get("profile")
        if not prof:
            continue
        out += [
            "",
            f"{v['vendor']}: profile of the orders sync ({prof['seconds']:.2f} s wall; "
            f"{prof['profile_self_s_total']:.2f} s of self time in the sync process's threads, "
            f"worker CPU {prof['children_cpu_s']:.2f} s); top 10 by self time:",
            "",
            "| self s | cumulative s | calls | function |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {r['self_s']} | {r['cum_s']} | {r['calls']:,} | `{r['where']}` |"
            for r in prof["profile_top_self"]
        ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
