"""`posbridge demo`: every vendor sandbox in-process, connected, synced and summarized.

Zero configuration: the sandboxes listen on loopback ports of their own, the store is
the default SQLite file, and a second run finds its connections and only refreshes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from posbridge.app import connect
from posbridge.errors import SyncError
from posbridge.sandboxes import SANDBOXES, Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES, order_lines, order_payments
from posbridge.store.types import from_micros
from posbridge.sync.engine import ProgressFn, RunResult, SyncEngine, default_workers

__all__ = ["DemoEndpoint", "DemoSummary", "demo_sandboxes", "run_demo", "summarize"]

#: generous licence for the demo so repeated runs never hit the real 500/day
DEMO_DAILY_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo prints after syncing."""

    results: list[RunResult]
    orders: int
    lines: int
    revenue_by_method: list[tuple[str, str, Decimal]]
    top_products: list[tuple[str, Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class DemoEndpoint:
    """A running demo sandbox: where it listens, how to log in, and its world."""

    url: str
    credentials: dict[str, str]
    sandbox: Sandbox


@contextmanager
def demo_sandboxes(
    seed: int = 1, days: int = 28, orders_per_day: int = 120
) -> Iterator[dict[str, DemoEndpoint]]:
    """Start every registered sandbox on loopback; yields vendor → its endpoint."""
    with ExitStack() as stack:
        out: dict[str, DemoEndpoint] = {}
        for vendor, factory in SANDBOXES.items():
            sandbox = factory(
                seed=seed, days=days, orders_per_day=orders_per_day, daily_limit=DEMO_DAILY_LIMIT
            )
            server = stack.enter_context(SandboxServer(sandbox.app))
            out[vendor] = DemoEndpoint(
                server.url + sandbox.base_path, dict(sandbox.credentials), sandbox
            )
        yield out


def run_demo(
    store: Store,
    endpoints: dict[str, DemoEndpoint],
    progress: ProgressFn | None = None,
    on_connect: Callable[[str, str], None] | None = None,
) -> DemoSummary:
    """Connect (or re-point) one `demo-<vendor>` connection per sandbox and sync all."""
    names = []
    existing = {c.name for c in store.list_connections()}
    for vendor, endpoint in endpoints.items():
        name = f"demo-{vendor}"
        values = endpoint.credentials | {"daily_limit": str(DEMO_DAILY_LIMIT)}
        connect(store, vendor, name, endpoint.url, values, update=name in existing)
        if on_connect:
            on_connect(name, endpoint.url)
        names.append(name)
    if not names:
        raise SyncError("no sandboxes are registered")
    engine = SyncEngine(store, progress=progress, workers=default_workers())
    results = engine.run_many(names, trigger="demo")
    return summarize(store, results)


def summarize(store: Store, results: list[RunResult]) -> DemoSummary:
    """Orders, revenue by payment method and top products, computed in SQL."""
    orders = RECORD_TABLES["order"]
    products = RECORD_TABLES["product"]
    live = orders.c.deleted_at.is_(None)
    with store.engine.connect() as conn:
        n_orders = conn.execute(
            sa.select(sa.func.count()).select_from(orders).where(live)
        ).scalar_one()
        n_lines = conn.execute(
            sa.select(sa.func.count())
            .select_from(order_lines.join(orders, order_lines.c.order_row == orders.c.row_id))
            .where(live, order_lines.c.component == 0)
        ).scalar_one()
        amount = sa.func.sum(sa.type_coerce(order_payments.c.amount, sa.BigInteger))
        by_method = conn.execute(
            sa.select(order_payments.c.vendor_method, order_payments.c.currency, amount)
            .select_from(order_payments.join(orders, order_payments.c.order_row == orders.c.row_id))
            .where(live)
            .group_by(order_payments.c.vendor_method, order_payments.c.currency)
            .order_by(amount.desc())
        ).all()
        qty = sa.func.sum(sa.type_coerce(order_lines.c.quantity, sa.BigInteger))
        gross = sa.func.sum(sa.type_coerce(order_lines.c.gross, sa.BigInteger))
        top = conn.execute(
            sa.select(
                sa.func.coalesce(products.c.number, order_lines.c.item_source_id),
                order_lines.c.item_source_id,
                qty,
                gross,
                sa.func.max(products.c.data),
            )
            .select_from(
                order_lines.join(orders, order_lines.c.order_row == orders.c.row_id).outerjoin(
                    products,
                    sa.and_(
                        products.c.connection_id == order_lines.c.connection_id,
                        products.c.source_id == order_lines.c.item_source_id,
                    ),
                )
            )
            .where(live, order_lines.c.component == 0)
            .group_by(order_lines.c.item_source_id, products.c.number)
            .order_by(gross.desc())
            .limit(10)
        ).all()
    import msgspec

    top_products = []
    for _num, sid, q, g, data in top:
        name = msgspec.json.decode(data)["name"] if data else f"product {sid}"
        top_products.append((name, from_micros(int(q or 0)), from_micros(int(g or 0))))
    return DemoSummary(
        results=results,
        orders=int(n_orders),
        lines=int(n_lines),
        revenue_by_method=[(m, c, from_micros(int(a or 0))) for m, c, a in by_method],
        top_products=top_products,
    )
