"""Per-day revenue rollups: what reports read instead of millions of line rows.

A page's new orders add their contributions (computed by the mapping worker,
`rows.order_contributions`) to the rollups in the page's own transaction. A page that
changes or soft-deletes orders marks their (connection, business day) dirty instead
(`mark_days_dirty`); `refresh` takes the dirty marks and recomputes those days whole from
the orders, lines and payments. The sync
engine refreshes at the end of each run and every report refreshes its connections first,
so a report is never stale, and a crash between the two only leaves marks to redo.

Taking the marks is a `DELETE … RETURNING` *before* the recomputation in the same
transaction: a page committed after the recomputation read its day leaves a new mark
behind, never a stale total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from posbridge.store.rows import ADJUSTMENTS, NO_DAY, local_zone
from posbridge.store.tables import (
    RECORD_TABLES,
    order_lines,
    order_payments,
    rollup_dirty,
    rollup_hours,
    rollup_payments,
    rollup_products,
    rollup_rates,
    rollup_sales,
)
from posbridge.store.types import IsoDate

__all__ = ["ADJUSTMENTS", "NO_DAY", "ROLLUPS", "mark_days_dirty", "refresh"]

orders = RECORD_TABLES["order"]

ROLLUPS = (rollup_sales, rollup_rates, rollup_products, rollup_payments, rollup_hours)
_DAYS_PER_STATEMENT = 62


def mark_days_dirty(conn: sa.Connection, connection_id: str, days: Iterable[date | None]) -> None:
    """Queue these business days of a connection for recomputation (caller's transaction)."""
    values = [{"connection_id": connection_id, "business_date": d or NO_DAY} for d in set(days)]
    if not values:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(rollup_dirty).on_conflict_do_nothing(), values)


def refresh(engine: sa.Engine, connection_ids: Sequence[str] | None = None) -> int:
    """Recompute every dirty day (of these connections); returns how many were redone."""
    scope = [] if connection_ids is None else [rollup_dirty.c.connection_id.in_(connection_ids)]
    with engine.connect() as conn:
        if conn.execute(sa.select(sa.literal(1)).where(*scope).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        taken = conn.execute(
            sa.delete(rollup_dirty)
            .where(*scope)
            .returning(rollup_dirty.c.connection_id, rollup_dirty.c.business_date)
        ).all()
        by_connection: dict[str, list[date]] = defaultdict(list)
        for connection_id, day in taken:
            by_connection[connection_id].append(day)
        for connection_id, days in by_connection.items():
            days.sort()
            for start in range(0, len(days), _DAYS_PER_STATEMENT):
                _recompute(conn, connection_id, days[start : start + _DAYS_PER_STATEMENT])
    return len(taken)


def _day() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(orders.c.business_date, sa.literal(NO_DAY, IsoDate()))


def _micros(column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.type_coerce(column, sa.BigInteger)), 0)


def _text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """NULL keys roll up under '' (key columns are part of the primary key)."""
    return sa.func.coalesce(column, "")


def _recompute(conn: sa.Connection, connection_id: str, days: list[date]) -> None:
    for table in ROLLUPS:
        conn.execute(
            sa.delete(table).where(
                table.c.connection_id == connection_id, table.c.business_date.in_(days)
            )
        )
    dated = [d for d in days if d != NO_DAY]
    in_days = [orders.c.business_date.in_(dated)] if dated else []
    if NO_DAY in days:
        in_days.append(orders.c.business_date.is_(None))
    live = sa.and_(
        orders.c.connection_id == connection_id, orders.c.deleted_at.is_(None), sa.or_(*in_days)
    )
    lines = order_lines.join(orders, order_lines.c.order_row == orders.c.row_id)
    head = [orders.c.connection_id, _day(), _text(orders.c.currency)]
    count = sa.func.count(sa.distinct(orders.c.row_id))
    line_sums = [
        _micros(order_lines.c.net),
        _micros(order_lines.c.tax),
        _micros(order_lines.c.gross),
    ]
    dims = [
        _text(orders.c.location_source_id),
        _text(orders.c.device_source_id),
        _text(orders.c.employee_source_id),
    ]
    # Per order: its line gross and VAT. Revenue is the ticket's own total (service
    # charges, tips, order discounts and rounding included); VAT is the lines' VAT.
    per_order = (
        sa.select(
            order_lines.c.order_row,
            _micros(order_lines.c.tax).label("tax"),
            _micros(order_lines.c.gross).label("gross"),
        )
        .where(order_lines.c.connection_id == connection_id)
        .group_by(order_lines.c.order_row)
        .subquery()
    )
    tickets = orders.outerjoin(per_order, per_order.c.order_row == orders.c.row_id)
    total = _micros(orders.c.total_gross)
    vat = _micros(per_order.c.tax)
    _insert(
        conn,
        rollup_sales,
        sa.select(*head, *dims, count, total - vat, vat, total).select_from(tickets),
        live,
    )
    rate = sa.type_coerce(order_lines.c.tax_rate, sa.BigInteger)
    _insert(conn, rollup_rates, sa.select(*head, rate, count, *line_sums).select_from(lines), live)
    # What the ticket totals beyond its lines has no VAT rate: one row of its own, so the
    # rates add up to the revenue.
    beyond = sa.type_coerce(orders.c.total_gross, sa.BigInteger) - sa.func.coalesce(
        per_order.c.gross, 0
    )
    adjustment = sa.func.coalesce(sa.func.sum(beyond), 0)
    _insert(
        conn,
        rollup_rates,
        sa.select(
            *head,
            sa.literal(ADJUSTMENTS, sa.BigInteger),
            count,
            adjustment,
            sa.literal(0),
            adjustment,
        )
        .select_from(tickets)
        .where(beyond != 0),
        live,
        keys=3,
    )
    item = _text(order_lines.c.item_source_id)
    quantity = _micros(order_lines.c.quantity)
    _insert(
        conn,
        rollup_products,
        sa.select(*head, item, count, quantity, *line_sums)
        .select_from(lines)
        .where(order_lines.c.component == 0),
        live,
    )
    paid = order_payments.join(orders, order_payments.c.order_row == orders.c.row_id)
    method = order_payments.c.method
    amount = _micros(order_payments.c.amount)
    _insert(conn, rollup_payments, sa.select(*head, method, count, amount).select_from(paid), live)
    _insert_hours(conn, connection_id, live)


def _insert(
    conn: sa.Connection,
    table: sa.Table,
    select: sa.Select[Any],
    where: Any,
    keys: int | None = None,
) -> None:
    """INSERT … SELECT … GROUP BY the key columns (the first `keys`, default all of them)."""
    group = list(select.selected_columns)[: keys or len(table.primary_key.columns)]
    columns = [c.name for c in table.columns]
    conn.execute(sa.insert(table).from_select(columns, select.where(where).group_by(*group)))


class _Zone(msgspec.Struct):
    source_timezone: str | None = None


_zone_of = msgspec.json.Decoder(_Zone).decode


def _insert_hours(conn: sa.Connection, connection_id: str, live: Any) -> None:
    """Order totals by local weekday and hour (the time zone is per order, so in Python)."""
    acc: dict[tuple[date, str, int, int], list[int]] = defaultdict(lambda: [0, 0])
    rows = conn.execute(
        sa.select(
            _day(),
            _text(orders.c.currency),
            orders.c.occurred_at,
            sa.type_coerce(orders.c.total_gross, sa.BigInteger),
            orders.c.data,
        ).where(live, orders.c.occurred_at.is_not(None))
    )
    for day, currency, occurred_at, gross, data in rows:
        name = _zone_of(data).source_timezone
        zone = local_zone(name) if name else None
        local = occurred_at.astimezone(zone) if zone else occurred_at
        totals = acc[(day, currency, local.weekday(), local.hour)]
        totals[0] += 1
        totals[1] += int(gross or 0)
    if acc:
        conn.execute(
            sa.insert(rollup_hours),
            [
                {
                    "connection_id": connection_id,
                    "business_date": day,
                    "currency": currency,
                    "weekday": weekday,
                    "hour": hour,
                    "orders": n,
                    "gross": gross,
                }
                for (day, currency, weekday, hour), (n, gross) in acc.items()
            ],
        )
