"""Revenue reports computed in SQL over the per-day rollups (`store/rollups.py`).

Rollups hold integer millionths summed from the order line components and payments, so
every SUM is exact on SQLite and PostgreSQL alike, and a report over a million lines
reads a few thousand rollup rows. Results are grouped per currency (amounts of different
currencies never add up). Days are business days; weeks and months roll days up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import msgspec
import sqlalchemy as sa

from posbridge.store.repo import Store
from posbridge.store.rollups import NO_DAY, refresh
from posbridge.store.scaled import from_micros
from posbridge.store.tables import (
    RECORD_TABLES,
    rollup_hours,
    rollup_payments,
    rollup_products,
    rollup_rates,
    rollup_sales,
)

__all__ = ["GROUPS", "HeatCell", "ReportRow", "heat_map", "revenue"]

Group = Literal[
    "day",
    "week",
    "month",
    "location",
    "device",
    "payment_method",
    "vat_rate",
    "product",
    "employee",
    "connection",
]
GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]

orders = RECORD_TABLES["order"]


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group of a revenue report, in one currency (`label`: the key's name, if any)."""

    key: str | None
    currency: str | None
    orders: int
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal
    label: str | None = None


def revenue(
    store: Store,
    connection_ids: Sequence[str],
    group_by: Group,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[ReportRow]:
    """Net, VAT and gross revenue of live orders, grouped, per currency, largest first."""
    refresh(store.engine, connection_ids)
    table, key = _SOURCES[group_by]
    column: Any = table.c[key]
    sums: list[Any] = (
        [table.c.amount] if table is rollup_payments else [table.c.net, table.c.tax, table.c.gross]
    )
    q = (
        sa.select(column, table.c.currency, sa.func.sum(table.c.orders), *map(_total, sums))
        .where(*_scope(table, connection_ids, date_from, date_to))
        .group_by(column, table.c.currency)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    if table is rollup_payments:
        out = [
            ReportRow(_key(k, group_by), c or None, int(n), None, None, from_micros(int(g)))
            for k, c, n, g in rows
        ]
        return sorted(out, key=lambda r: (r.currency or "", -r.gross))
    if group_by in ("week", "month"):
        return _roll_up(rows, group_by)
    keys = [_key(r[0], group_by) for r in rows]
    labels = _labels(store, connection_ids, group_by, keys)
    result = [
        ReportRow(
            k,
            c or None,
            int(n),
            from_micros(int(net)),
            from_micros(int(vat)),
            from_micros(int(gross)),
            labels.get(k or ""),
        )
        for k, (_, c, n, net, vat, gross) in zip(keys, rows, strict=True)
    ]
    if group_by == "day":
        return sorted(result, key=lambda r: (r.currency or "", r.key or ""))
    return sorted(result, key=lambda r: (r.currency or "", -r.gross))


@dataclass(frozen=True, slots=True)
class HeatCell:
    """Orders and gross of one local weekday (0 = Monday) and hour, in one currency."""

    weekday: int
    hour: int
    currency: str | None
    orders: int
    gross: Decimal


def heat_map(
    store: Store,
    connection_ids: Sequence[str],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[HeatCell]:
    """Hour × weekday in each order's local time (busy hours, staffing)."""
    refresh(store.engine, connection_ids)
    t = rollup_hours
    q = (
        sa.select(t.c.weekday, t.c.hour, t.c.currency, sa.func.sum(t.c.orders), _total(t.c.gross))
        .where(*_scope(t, connection_ids, date_from, date_to))
        .group_by(t.c.weekday, t.c.hour, t.c.currency)
        .order_by(t.c.currency, t.c.weekday, t.c.hour)
    )
    with store.engine.connect() as conn:
        return [
            HeatCell(int(w), int(h), c or None, int(n), from_micros(int(g)))
            for w, h, c, n, g in conn.execute(q)
        ]


#: report group → (rollup table, key column)
_SOURCES: dict[str, tuple[sa.Table, str]] = {
    "day": (rollup_sales, "business_date"),
    "week": (rollup_sales, "business_date"),
    "month": (rollup_sales, "business_date"),
    "location": (rollup_sales, "location_source_id"),
    "device": (rollup_sales, "device_source_id"),
    "employee": (rollup_sales, "employee_source_id"),
    "connection": (rollup_sales, "connection_id"),
    "vat_rate": (rollup_rates, "tax_rate"),
    "product": (rollup_products, "item_source_id"),
    "payment_method": (rollup_payments, "method"),
}


def _total(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(column), 0)


def _scope(
    table: sa.Table, connection_ids: Sequence[str], date_from: date | None, date_to: date | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [table.c.connection_id.in_(connection_ids)]
    if date_from is not None:
        where.append(table.c.business_date >= date_from)
    if date_to is not None:
        where.append(table.c.business_date <= date_to)
    return where


def _key(value: Any, group_by: str) -> str | None:
    if value is None or value == "" or value == NO_DAY:
        return None
    if group_by == "vat_rate":  # integer millionths of a percent: 21, 5.5
        return f"{from_micros(int(value)).normalize():f}"
    return value.isoformat() if isinstance(value, date) else str(value)


#: groups whose keys are vendor ids of records with a name
_NAMED = {"product": "product", "location": "location", "device": "device", "employee": "employee"}


def _labels(
    store: Store, connection_ids: Sequence[str], group_by: str, keys: Sequence[str | None]
) -> dict[str, str]:
    """Names of the grouped records (product names, location names, ...)."""
    object_type = _NAMED.get(group_by)
    wanted = [k for k in keys if k is not None]
    if object_type is None or not wanted:
        return {}
    table = RECORD_TABLES[object_type]
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.source_id, table.c.data).where(
                table.c.connection_id.in_(connection_ids), table.c.source_id.in_(wanted)
            )
        ).all()
    return {sid: str(msgspec.json.decode(data).get("name") or sid) for sid, data in rows}


def _roll_up(rows: Sequence[Any], group_by: str) -> list[ReportRow]:
    """Business days → ISO weeks (`2026-W44`) or months (`2026-10`)."""
    acc: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for day, currency, n, net, vat, gross in rows:
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        if d == NO_DAY:
            continue
        year, week, _ = d.isocalendar()
        bucket = f"{year}-W{week:02d}" if group_by == "week" else f"{d:%Y-%m}"
        totals = acc[(bucket, currency)]
        for i, value in enumerate((n, net, vat, gross)):
            totals[i] += int(value)
    return [
        ReportRow(k, c, t[0], from_micros(t[1]), from_micros(t[2]), from_micros(t[3]))
        for (k, c), t in sorted(acc.items(), key=lambda kv: (kv[0][1] or "", kv[0][0]))
    ]
