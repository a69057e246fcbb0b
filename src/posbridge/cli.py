"""`posbridge`: the command line. Parses arguments, calls the library, renders with Rich.

Every expected failure is a `PosbridgeError` whose message says what to fix; `main`
prints it without a traceback and exits 2 (usage) or 1 (a sync that failed).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from posbridge.errors import PosbridgeError, UsageError
from posbridge.settings import AppSettings

app = typer.Typer(
    help="posbridge: one API over many point-of-sale systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="POSBRIDGE_DATABASE_URL",
        help="SQLAlchemy URL of the store (default: sqlite:///posbridge.db).",
    ),
]


def _settings(database_url: str | None) -> AppSettings:
    settings = AppSettings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


#: stores a command opened, closed when it ends (their pools hold database connections)
_OPEN_STORES: list[Any] = []


@app.callback()
def _root(ctx: typer.Context) -> None:
    ctx.call_on_close(_close_stores)


def _close_stores() -> None:
    while _OPEN_STORES:
        _OPEN_STORES.pop().close()


def _store(database_url: str | None) -> Any:
    from posbridge.app import open_store

    store = open_store(_settings(database_url))
    _OPEN_STORES.append(store)
    return store


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects key=value, got {pair!r}")
        values[key.strip()] = value
    return values


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} expects a date like 2026-11-01, got {value!r}") from None


@app.command()
def sandbox(
    vendor: Annotated[str, typer.Argument(help="Vendor slug, e.g. cloudpos.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    seed: Annotated[int, typer.Option(help="World seed (same seed, same world).")] = 1,
    days: Annotated[int, typer.Option(help="Days of history.")] = 28,
    orders_per_day: Annotated[int, typer.Option(help="Average orders per day.")] = 120,
    daily_limit: Annotated[int, typer.Option(help="Requests per day per licence.")] = 500,
) -> None:
    """Serve a vendor sandbox until stopped; the first stdout line is JSON for scripts."""
    from posbridge.sandboxes import SANDBOXES
    from posbridge.sandboxes.runner import SandboxServer

    factory = SANDBOXES.get(vendor)
    if factory is None:
        raise UsageError(f"no sandbox for {vendor!r}; available: {', '.join(sorted(SANDBOXES))}")
    box = factory(seed=seed, days=days, orders_per_day=orders_per_day, daily_limit=daily_limit)
    server = SandboxServer(box.app, host=host, port=port).start()
    line = {
        "vendor": vendor,
        "base_url": server.url + box.base_path,
        "credentials": box.credentials,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    stop = threading.Event()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@app.command(name="connect")
def connect_cmd(
    vendor: Annotated[str, typer.Argument(help="Vendor slug, e.g. cloudpos.")],
    name: Annotated[str, typer.Option("--name", help="Name of the connection.")],
    base_url: Annotated[
        str | None, typer.Option(help="Vendor API URL (sandbox or production).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Setting key=value (repeatable).")
    ] = None,
    update: Annotated[
        bool, typer.Option(help="Replace the credentials of an existing connection.")
    ] = False,
    check: Annotated[bool, typer.Option(help="Make one authenticated call before saving.")] = True,
    account: Annotated[
        str | None, typer.Option(help="Account (tenant) that owns the connection in the API.")
    ] = None,
    database_url: DbOption = None,
) -> None:
    """Add a connection; credentials are checked with one call and stored encrypted."""
    from posbridge.app import connect

    store = _store(database_url)
    values = _parse_sets(set_ or [])
    if vendor == "wservice":  # the receiver's Basic credentials, generated once
        from posbridge.connectors.wservice.ini import ini_lines, with_receiver_credentials

        values = with_receiver_credentials(values)
    row = connect(store, vendor, name, base_url, values, check=check, update=update)
    if account is not None:
        from posbridge.store.accounts import assign_connection

        assign_connection(store, row.name, account)
    console.print(f"[green]connected[/] {row.name} ({row.vendor}) → {row.base_url}")
    if vendor == "wservice":
        console.print("paste into WService.ini (the receiver password is shown only now):")
        sys.stdout.write(ini_lines(row.id, values))


@app.command()
def sync(
    names: Annotated[list[str] | None, typer.Argument(help="Connections (default: all).")] = None,
    full: Annotated[bool, typer.Option(help="Ignore stored cursors and read everything.")] = False,
    stream: Annotated[
        list[str] | None, typer.Option(help="Only these streams (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Backfill from this date (keeps state).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Backfill up to this date (inclusive).")] = None,
    watch: Annotated[
        bool, typer.Option(help="Keep polling due streams within each vendor's budget (Ctrl+C).")
    ] = False,
    database_url: DbOption = None,
) -> None:
    """Sync connections; exits 1 when any connection failed."""
    from posbridge.sync.engine import SyncEngine, default_workers

    since_d, until_d = _date(since, "--since"), _date(until, "--until")
    store = _store(database_url)
    targets = names or [c.name for c in store.list_connections()]
    if not targets:
        raise UsageError("no connections yet; add one with `posbridge connect`")
    with _progress() as (progress_fn, _):
        engine = SyncEngine(store, progress=progress_fn, workers=default_workers())
        results = [
            engine.run(n, streams=stream, full=full, since=since_d, until=until_d) for n in targets
        ]
    _print_results(results)
    if watch:
        _watch(store, lambda: targets)
        return
    if any(r.status not in ("ok", "deferred") for r in results):
        raise typer.Exit(1)


@app.command()
def status(database_url: DbOption = None) -> None:
    """Connections: health, freshness, budget used today, quarantine, records."""
    from posbridge.app import connection_status

    store = _store(database_url)
    table = Table(
        "connection",
        "vendor",
        "status",
        "last sync",
        "orders fresh",
        "budget today",
        "orders poll",
        "quarantined",
        "records",
    )
    for row in store.list_connections():
        st = connection_status(store, row)
        fresh = "-" if st.freshness is None else _ago(st.freshness.total_seconds())
        budget = f"{st.budget_used}" + (f" / {st.budget_limit}" if st.budget_limit else "")
        poll = st.planned.get("orders")
        status_text = st.status + (f": {st.reason}" if st.reason and st.status != "ok" else "")
        table.add_row(
            st.name,
            st.vendor,
            status_text,
            "-" if st.last_sync is None else f"{st.last_sync:%Y-%m-%d %H:%M}",
            fresh,
            budget,
            "-" if poll is None else _ago(poll.total_seconds()),
            str(st.quarantined),
            str(sum(st.records.values())),
        )
    console.print(table)
    _print_runs(store)
    _print_queue(store)


def _print_runs(store: Any) -> None:
    """Runs in progress and runs interrupted in the last day (a killed worker's)."""
    import sqlalchemy as sa

    from posbridge.store.tables import connections, sync_runs

    store.interrupt_dead_runs()
    since = datetime.now(UTC) - timedelta(days=1)
    r, c = sync_runs.c, connections.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.name, r.id, r.status, r.started_at, r.job_id, r.worker_id, r.error)
            .select_from(sync_runs.join(connections, r.connection_id == c.id))
            .where(
                (r.status == "running") | ((r.status == "interrupted") & (r.started_at >= since))
            )
            .order_by(r.id.desc())
            .limit(20)
        ).all()
    if not rows:
        return
    runs = Table("connection", "run", "status", "started", "job / worker", "reason", title="Runs")
    for row in rows:
        owner = "-" if row.job_id is None else f"{row.job_id} / {row.worker_id}"
        runs.add_row(
            row.name,
            str(row.id),
            row.status,
            f"{row.started_at:%Y-%m-%d %H:%M:%S}",
            owner,
            row.error or "",
        )
    console.print(runs)


def _print_queue(store: Any) -> None:
    from posbridge.fleet import queue_stats

    stats = queue_stats(store)
    if stats["backend"] != "procrastinate":
        return
    console.print(f"job queue: {stats['queued']} waiting, {len(stats['running'])} running")
    workers = Table("worker", "last heartbeat", "alive", "running jobs", title="Workers")
    for w in stats["workers"]:
        workers.add_row(
            str(w["id"]),
            f"{w['age_seconds']} s ago",
            "yes" if w["alive"] else "no",
            str(w["running"]),
        )
    console.print(workers)


@app.command()
def worker(
    concurrency: Annotated[
        int,
        typer.Option(envvar="POSBRIDGE_WORKER_CONCURRENCY", help="Syncs in flight at once."),
    ] = 20,
    plan_every: Annotated[
        int,
        typer.Option(envvar="POSBRIDGE_WORKER_PLAN_EVERY", help="Seconds between planner passes."),
    ] = 30,
    heartbeat: Annotated[
        float, typer.Option(envvar="POSBRIDGE_WORKER_HEARTBEAT", help="Seconds between heartbeats.")
    ] = 10.0,
    stalled_after: Annotated[
        float,
        typer.Option(
            envvar="POSBRIDGE_WORKER_STALLED_AFTER",
            help="A worker silent this long is dead; its jobs run again.",
        ),
    ] = 30.0,
    graceful_timeout: Annotated[
        float,
        typer.Option(
            envvar="POSBRIDGE_WORKER_GRACEFUL_TIMEOUT",
            help="On SIGTERM, running syncs get this long to finish.",
        ),
    ] = 60.0,
    name: Annotated[
        str | None, typer.Option(envvar="POSBRIDGE_WORKER_NAME", help="Name in logs.")
    ] = None,
    log_json: Annotated[
        bool, typer.Option(envvar="POSBRIDGE_LOG_JSON", help="One JSON object per log line.")
    ] = False,
    database_url: DbOption = None,
) -> None:
    """Run sync jobs from the PostgreSQL job queue (start N of these, on any machines)."""
    from posbridge.fleet import FleetOptions, run_worker
    from posbridge.logs import setup_logging

    setup_logging(json=log_json)
    store = _store(database_url)
    options = FleetOptions(
        concurrency=concurrency,
        plan_every=plan_every,
        heartbeat=heartbeat,
        stalled_after=stalled_after,
        recover_every=max(1, int(stalled_after / 3)),
        graceful_timeout=graceful_timeout,
        name=name,
    )
    run_worker(store, options)


@app.command()
def export(
    what: Annotated[
        str, typer.Argument(help="ORDERS, PRODUCTS, CUSTOMERS, INVOICES, VOUCHERS, SHIFTS, ...")
    ],
    format: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet.")] = "jsonl",
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    raw: Annotated[bool, typer.Option(help="Include the vendor's raw record.")] = False,
    personal_data: Annotated[
        bool, typer.Option(help="Include national register numbers (masked by default).")
    ] = False,
    database_url: DbOption = None,
) -> None:
    """Export normalized records (decimals as strings, lines and payments nested)."""
    from posbridge.export import Format, export_records, resolve_object_type

    if format not in ("jsonl", "csv", "parquet"):
        raise UsageError(f"--format must be jsonl, csv or parquet, not {format!r}")
    store = _store(database_url)
    object_type = resolve_object_type(what)
    cid = store.get_connection(connection).id if connection else None
    count = export_records(
        store,
        object_type,
        cast(Format, format),
        out or sys.stdout,
        connection_id=cid,
        include_raw=raw,
        personal=personal_data,
    )
    if out is not None:
        err.print(f"wrote {count} {what.lower()} to {out}")


@app.command()
def verify(
    name: Annotated[str | None, typer.Argument(help="Connection (default: all).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First business date.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last business date.")] = None,
    database_url: DbOption = None,
) -> None:
    """Check synced orders against the POS's closures; exits 1 on any difference."""
    from posbridge.verify import verify_connection

    store = _store(database_url)
    rows = [store.get_connection(name)] if name else store.list_connections()
    bad = 0
    total = 0
    for row in rows:
        for check in verify_connection(
            store, row, date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to")
        ):
            total += 1
            if check.verified:
                continue
            bad += 1
            console.print(
                f"[red]✗[/] {row.name} {check.kind} {check.report} ({check.business_date}, "
                f"{check.scope}): " + "; ".join(check.differences())
            )
    console.print(f"{total - bad} of {total} days verified" + ("" if bad else " [green]✓[/]"))
    if bad:
        raise typer.Exit(1)


account_app = typer.Typer(help="Tenants of the REST API.", no_args_is_help=True)
key_app = typer.Typer(help="API keys of a tenant.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(key_app, name="key")


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Argument(help="A name for the tenant.")],
    connection: Annotated[
        list[str] | None, typer.Option(help="Put these connections under the account.")
    ] = None,
    locale: Annotated[
        str, typer.Option(help="Dashboard locale: nl-BE, nl-NL, it-IT, bg-BG, sq-AL, es-EC, en.")
    ] = "en",
    database_url: DbOption = None,
) -> None:
    """Create a tenant (account) and print its id."""
    from posbridge.store.accounts import assign_connection, create_account

    store = _store(database_url)
    account_id = create_account(store, name, locale)
    for name_ in connection or []:
        assign_connection(store, name_, account_id)
    sys.stdout.write(account_id + "\n")


@key_app.command("create")
def key_create(
    account: Annotated[str, typer.Argument(help="Account id (from `posbridge account create`).")],
    database_url: DbOption = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from posbridge.store.accounts import create_api_key

    sys.stdout.write(create_api_key(_store(database_url), account) + "\n")


@key_app.command("list")
def key_list(
    account: Annotated[str, typer.Argument(help="Account id.")],
    database_url: DbOption = None,
) -> None:
    """List an account's keys by id and public prefix (never the key)."""
    from posbridge.store.accounts import list_api_keys

    table = Table("id", "prefix", "created", "revoked")
    for k in list_api_keys(_store(database_url), account):
        revoked = k["revoked_at"]
        table.add_row(
            str(k["id"]), f"{k['prefix']}…", str(k["created_at"])[:19], str(revoked or "")[:19]
        )
    console.print(table)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id (from `posbridge key list`).")],
    database_url: DbOption = None,
) -> None:
    """Revoke an API key; a running API stops accepting it within 5 seconds."""
    from posbridge.store.accounts import revoke_api_key

    revoke_api_key(_store(database_url), key_id)
    console.print(f"revoked {key_id}")


@app.command("erase-customer")
def erase_customer_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer's posbridge id (cus_…).")],
    database_url: DbOption = None,
) -> None:
    """Erase one customer's personal data from records, raw payloads and API documents;
    sales and totals are kept. Erase it in the POS too, or a change there brings it back."""
    from posbridge.erasure import erase_customer

    store = _store(database_url)
    done = erase_customer(store, customer_id, [c.id for c in store.list_connections()])
    console.print(f"erased {done.customer_id}: {done.records_scrubbed} records scrubbed")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    database_url: DbOption = None,
) -> None:
    """Serve the REST API (`/v1`, OpenAPI at `/openapi.json`) until stopped."""
    import uvicorn

    from posbridge.api import create_app

    store = _store(database_url)
    stop = threading.Event()
    threading.Thread(target=_deliver_webhooks, args=(store, stop), daemon=True).start()
    console.print(f"posbridge API on http://{host}:{port}/v1 (OpenAPI: /openapi.json)")
    try:
        uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _deliver_webhooks(store: Any, stop: threading.Event) -> None:
    """Background delivery of queued webhook events while the API serves."""

    from posbridge.netguard import guarded_client
    from posbridge.webhooks import deliver_due

    with guarded_client() as client:
        while not stop.is_set():
            try:
                deliver_due(store, client)
            except Exception:  # a broken receiver or database blip must not kill the loop
                logging.getLogger("posbridge.webhooks").exception("webhook delivery pass failed")
            stop.wait(2.0)


@app.command()
def quarantine(
    name: Annotated[str | None, typer.Argument(help="Connection (default: all).")] = None,
    replay: Annotated[
        bool, typer.Option(help="Map the kept raw records again and store those that map now.")
    ] = False,
    database_url: DbOption = None,
) -> None:
    """List quarantined records with their reasons, or replay them after a fix."""
    from posbridge.sync.replay import replay_quarantine

    store = _store(database_url)
    rows = [store.get_connection(name)] if name else store.list_connections()
    for row in rows:
        if replay:
            result = replay_quarantine(store, row.name)
            console.print(
                f"{row.name}: {result.fixed} replayed into the store, "
                f"{len(result.still_failing)} still quarantined"
            )
            continue
        table = Table("stream", "source id", "kind", "reason", "since", title=row.name)
        for entry in store.quarantined(row.id):
            table.add_row(
                entry["stream"],
                str(entry["source_id"]),
                entry["error_kind"],
                entry["reason"],
                f"{entry['created_at']:%Y-%m-%d %H:%M}",
            )
        console.print(table)


@app.command()
def demo(
    once: Annotated[bool, typer.Option(help="Exit after the summary.")] = False,
    api_port: Annotated[int, typer.Option(help="Port of the REST API (0: any free port).")] = 8000,
    database_url: DbOption = None,
) -> None:
    """Start every sandbox in-process, connect, sync with progress and summarize; then serve
    the REST API and keep polling (unless --once)."""
    from posbridge.demo import demo_sandboxes, run_demo
    from posbridge.verify import verify_connection

    store = _store(database_url)
    with demo_sandboxes() as endpoints:
        with _progress() as (progress_fn, _):
            summary = run_demo(
                store,
                endpoints,
                progress=progress_fn,
                on_connect=lambda n, u: console.print(f"sandbox {n} at {u}"),
            )
        _print_results(summary.results)
        console.print(f"\n[bold]{summary.orders}[/] orders, {summary.lines} lines")
        pay = Table("payment method", "currency", "revenue", title="Revenue by payment type")
        for method, currency, amount in summary.revenue_by_method:
            pay.add_row(method, currency, f"{amount:,.2f}")
        console.print(pay)
        top = Table("product", "quantity", "revenue", title="Top products")
        for product, qty, gross in summary.top_products:
            top.add_row(product, f"{qty.normalize():f}", f"{gross:,.2f}")
        console.print(top)
        for row in store.list_connections():
            checks = list(verify_connection(store, row))
            ok = sum(c.verified for c in checks)
            if checks:
                console.print(f"verify {row.name}: {ok} of {len(checks)} days verified")
            else:
                console.print(
                    f"verify {row.name}: the vendor reports no closures to verify against"
                )
        if once:
            return
        _serve_demo_api(store, api_port)
        console.print("the sandboxes keep serving and posbridge keeps them in sync")
        _watch(
            store, lambda: [c.name for c in store.list_connections() if c.name.startswith("demo-")]
        )


def _serve_demo_api(store: Any, port: int) -> None:
    """Serve the REST API for a demo tenant that owns every demo connection."""
    from posbridge.api import create_app
    from posbridge.sandboxes.runner import SandboxServer
    from posbridge.store.accounts import assign_connection, create_account, create_api_key

    demo_rows = [row for row in store.list_connections() if row.name.startswith("demo-")]
    # A rerun keeps the tenant of the first run; only the key is new (keys are shown once).
    account = next((r.account_id for r in demo_rows if r.account_id), None)
    account = account or create_account(store, "demo")
    for row in demo_rows:
        assign_connection(store, row.name, account)
    key = create_api_key(store, account)
    server = SandboxServer(create_app(store), port=port).start()
    threading.Thread(target=_deliver_webhooks, args=(store, threading.Event()), daemon=True).start()
    console.print(
        f"REST API at {server.url}/v1 (OpenAPI {server.url}/openapi.json)", soft_wrap=True
    )
    console.print(
        f"  try: curl -H 'Authorization: Bearer {key}' {server.url}/v1/reports/revenue",
        soft_wrap=True,
        markup=False,
    )


def _watch(store: Any, names: Any) -> None:
    """Run the in-process scheduler until Ctrl+C, one line per run that did something."""
    from posbridge.sync.engine import SyncEngine, default_workers
    from posbridge.sync.scheduler import run_scheduled

    stop = threading.Event()

    def report(result: Any) -> None:
        done = ", ".join(f"{s.name} +{s.inserted}/~{s.updated}" for s in result.streams)
        console.print(f"{result.connection}: {result.status} ({result.requests} requests) {done}")

    console.print("polling due streams within each vendor's daily budget; Ctrl+C to stop")
    engine = SyncEngine(store, workers=default_workers())
    try:
        run_scheduled(engine, names, stop, on_result=report)
    except KeyboardInterrupt:
        stop.set()


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class _progress:
    """Rich progress bars fed by the engine's per-page callback."""

    def __enter__(self) -> tuple[Any, Progress]:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:>8.0f} records"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
            disable=not err.is_terminal,
        )
        self.tasks: dict[tuple[str, str], Any] = {}
        self.progress.__enter__()

        def on_page(connection: str, stream: str, n: int, _outcome: Any) -> None:
            key = (connection, stream)
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(f"{connection} · {stream}", total=None)
            self.progress.advance(self.tasks[key], n)

        return on_page, self.progress

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


def _print_results(results: list[Any]) -> None:
    table = Table(
        "connection",
        "stream",
        "status",
        "fetched",
        "new",
        "changed",
        "quarantined",
        "deleted",
        "requests",
        title="Sync",
    )
    for result in results:
        if not result.streams:
            table.add_row(result.connection, "-", result.status, "", "", "", "", "", "")
        for s in result.streams:
            if s.status == "skipped":
                continue
            colour = "green" if s.status == "ok" else "red"
            table.add_row(
                result.connection,
                s.name,
                f"[{colour}]{s.status}[/]",
                str(s.fetched),
                str(s.inserted),
                str(s.updated),
                str(s.quarantined),
                str(s.deleted),
                str(s.requests),
            )
    console.print(table)
    for result in results:
        if result.status != "ok" and result.error:
            err.print(f"[yellow]{result.connection}[/]: {result.status} — {result.error}")


def main() -> None:
    """Entry point: run the app, turning expected failures into one clear line."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs at INFO; CloudPOS and AvaPOS carry secrets in the query.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        app(standalone_mode=False)
    except PosbridgeError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        sys.exit(2)
    except SQLAlchemyError as exc:
        from posbridge.store.dberrors import storage_error

        problem = storage_error(exc)
        if problem is not None:
            err.print(f"[red]error:[/] {problem.message}")
            sys.exit(2)
        err.print(
            f"[red]error:[/] database problem: {getattr(exc, 'orig', exc)} "
            "(check --database-url / POSBRIDGE_DATABASE_URL)"
        )
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        import click

        from posbridge.store.dberrors import storage_error

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        problem = storage_error(exc)  # a driver error that SQLAlchemy did not wrap
        if problem is not None:
            err.print(f"[red]error:[/] {problem.message}")
            sys.exit(2)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
