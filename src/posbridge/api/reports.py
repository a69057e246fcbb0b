"""Revenue reports computed in SQL over the order line components and payments.

Money columns are integer millionths, so every SUM is exact on SQLite and PostgreSQL
alike; results are grouped per currency (amounts of different currencies never add up).
Days are business days (`orders.business_date`); weeks and months roll days up.
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
from posbridge.store.scaled import from_micros
from posbridge.store.tables import RECORD_TABLES, order_lines, order_payments

__all__ = ["GROUPS", "ReportRow", "revenue"]

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


def _micros(column: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.type_coerce(column, sa.BigInteger)), 0)


def revenue(
    store: Store,
    connection_ids: Sequence[str],
    group_by: Group,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[ReportRow]:
    """Net, VAT and gross revenue of live orders, grouped, per currency, largest first."""
    where: list[sa.ColumnElement[bool]] = [
        orders.c.connection_id.in_(connection_ids),
        orders.c.deleted_at.is_(None),
    ]
    if date_from is not None:
        where.append(orders.c.business_date >= date_from)
    if date_to is not None:
        where.append(orders.c.business_date <= date_to)
    if group_by == "payment_method":
        key = order_payments.c.method
        q = (
            sa.select(
                key,
                orders.c.currency,
                sa.func.count(sa.distinct(orders.c.row_id)),
                _micros(order_payments.c.amount),
            )
            .select_from(order_payments.join(orders, order_payments.c.order_row == orders.c.row_id))
            .where(*where)
            .group_by(key, orders.c.currency)
        )
        with store.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = [ReportRow(k, c, n, None, None, from_micros(int(g))) for k, c, n, g in rows]
        return sorted(out, key=lambda r: (r.currency or "", -r.gross))
    keys: dict[str, Any] = {
        "day": orders.c.business_date,
        "week": orders.c.business_date,
        "month": orders.c.business_date,
        "location": orders.c.location_source_id,
        "device": orders.c.device_source_id,
        "employee": orders.c.employee_source_id,
        "connection": orders.c.connection_id,
        "vat_rate": order_lines.c.tax_rate,
        "product": order_lines.c.item_source_id,
    }
    key = keys[group_by]
    if group_by == "product":
        where.append(order_lines.c.component == 0)
    q = (
        sa.select(
            key,
            orders.c.currency,
            sa.func.count(sa.distinct(orders.c.row_id)),
            _micros(order_lines.c.net),
            _micros(order_lines.c.tax),
            _micros(order_lines.c.gross),
        )
        .select_from(order_lines.join(orders, order_lines.c.order_row == orders.c.row_id))
        .where(*where)
        .group_by(key, orders.c.currency)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    if group_by in ("week", "month"):
        return _roll_up(rows, group_by)
    labels = _labels(store, connection_ids, group_by, [_key(r[0], group_by) for r in rows])
    result = [
        ReportRow(
            _key(k, group_by),
            c,
            n,
            from_micros(int(net)),
            from_micros(int(vat)),
            from_micros(int(gross)),
            labels.get(_key(k, group_by) or ""),
        )
        for k, c, n, net, vat, gross in rows
    ]
    if group_by == "day":
        return sorted(result, key=lambda r: (r.currency or "", r.key or ""))
    return sorted(result, key=lambda r: (r.currency or "", -r.gross))


def _key(value: Any, group_by: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):  # a rate: 21, 5.5
        return f"{value.normalize():f}"
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
        year, week, _ = d.isocalendar()
        bucket = f"{year}-W{week:02d}" if group_by == "week" else f"{d:%Y-%m}"
        totals = acc[(bucket, currency)]
        for i, value in enumerate((n, net, vat, gross)):
            totals[i] += int(value)
    return [
        ReportRow(k, c, t[0], from_micros(t[1]), from_micros(t[2]), from_micros(t[3]))
        for (k, c), t in sorted(acc.items(), key=lambda kv: (kv[0][1] or "", kv[0][0]))
    ]
