"""Completeness per business day: what was synced against what the POS says it closed.

A day is *verified* only when the POS closed it (a Z report, shift or fiscal closure)
and every closure of the day agrees with the synced orders — count, totals, payments by
method and VAT by rate (`posbridge.verify`). A day with sales but no closure is listed
as unverified with that reason, never silently counted as complete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from posbridge.store.repo import Store
from posbridge.store.rollups import NO_DAY, refresh
from posbridge.store.scaled import from_micros
from posbridge.store.tables import rollup_sales
from posbridge.verify import ClosureCheck, verify_connection

__all__ = ["closure_document", "reconcile"]


def closure_document(c: ClosureCheck) -> dict[str, Any]:
    """One closure check as an API document (amounts as Decimal, encoded as strings)."""
    return {
        "object": "closure",
        "report": c.report,
        "kind": c.kind,
        "business_date": c.business_date.isoformat() if c.business_date else None,
        "location": c.location,
        "device": c.device,
        "first_ticket": c.first_ticket,
        "last_ticket": c.last_ticket,
        "verified": c.verified,
        "expected_count": c.expected_count,
        "actual_count": c.actual_count,
        "expected_gross": c.expected_gross,
        "actual_gross": c.actual_gross,
        "expected_net": c.expected_net,
        "actual_net": c.actual_net,
        "expected_payments": c.expected_payments,
        "actual_payments": c.actual_payments,
        "expected_taxes": {str(k): v for k, v in c.expected_taxes.items()},
        "actual_taxes": {str(k): v for k, v in c.actual_taxes.items()},
        "missing_tickets": c.missing_tickets,
        "differences": c.differences(),
    }


def reconcile(
    store: Store,
    connection_ids: Sequence[str],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[dict[str, Any]]:
    """One entry per connection and business day with sales or a closure, oldest first."""
    refresh(store.engine, connection_ids)
    out: list[dict[str, Any]] = []
    for connection_id in connection_ids:
        row = store.get_connection(connection_id)
        closures: dict[date, list[ClosureCheck]] = defaultdict(list)
        for check in verify_connection(store, row, date_from=date_from, date_to=date_to):
            if check.business_date is not None:
                closures[check.business_date].append(check)
        synced = _synced_days(store, connection_id, date_from, date_to)
        for day in sorted(set(closures) | set(synced)):
            checks = closures.get(day, [])
            orders, gross = synced.get(day, (0, 0))
            verified = bool(checks) and all(c.verified for c in checks)
            if verified:
                reason = None
            elif not checks:
                reason = "the POS reports no closure for this day"
            else:
                reason = "; ".join(d for c in checks for d in c.differences())
            out.append(
                {
                    "object": "reconciliation_day",
                    "connection_id": connection_id,
                    "connection": row.name,
                    "business_date": day.isoformat(),
                    "orders": orders,
                    "gross": from_micros(gross),
                    "verified": verified,
                    "reason": reason,
                    "closures": [closure_document(c) for c in checks],
                }
            )
    return out


def _synced_days(
    store: Store, connection_id: str, date_from: date | None, date_to: date | None
) -> dict[date, tuple[int, int]]:
    """business day → (orders, gross in millionths) from the rollups."""
    t = rollup_sales
    q = (
        sa.select(t.c.business_date, sa.func.sum(t.c.orders), sa.func.sum(t.c.gross))
        .where(t.c.connection_id == connection_id, t.c.business_date != NO_DAY)
        .group_by(t.c.business_date)
    )
    if date_from is not None:
        q = q.where(t.c.business_date >= date_from)
    if date_to is not None:
        q = q.where(t.c.business_date <= date_to)
    with store.engine.connect() as conn:
        return {day: (int(n), int(g)) for day, n, g in conn.execute(q)}
