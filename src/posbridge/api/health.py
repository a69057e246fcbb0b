"""A connection's health as the API and dashboard show it: freshness, quota, errors, writes.

Read from what the sync already records (stream state, the request budget, runs and the
quarantine), so looking costs no vendor request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from posbridge.errors import PosbridgeError
from posbridge.store.repo import ConnectionRow, Store
from posbridge.store.tables import quarantine
from posbridge.sync.engine import budget_for, build_connector

__all__ = ["connection_health"]


def connection_health(store: Store, row: ConnectionRow) -> dict[str, Any]:
    """Freshness per stream, today's quota, the last error and the connector's writes."""
    states = store.stream_states(row.id)
    successes = [s["last_success_at"] for s in states.values() if s["last_success_at"]]
    errors = {name: s["last_error"] for name, s in states.items() if s["last_error"]}
    runs = store.runs(row.id, limit=1)
    try:
        connector = build_connector(store, row)
    except PosbridgeError as exc:  # e.g. a vendor this posbridge no longer knows
        return {"error": exc.message}
    try:
        budget = budget_for(store, row.id, connector, lambda: datetime.now(UTC))
        capabilities = [c.name for c in connector.capabilities()]
    finally:
        connector.http.close()
    with store.engine.connect() as conn:
        quarantined = conn.execute(
            sa.select(sa.func.count())
            .select_from(quarantine)
            .where(quarantine.c.connection_id == row.id, quarantine.c.resolved_at.is_(None))
        ).scalar_one()
    return {
        "fresh_as_of": min(successes).isoformat() if successes else None,
        "last_sync_at": max(successes).isoformat() if successes else None,
        "streams": {
            name: {
                "last_success_at": s["last_success_at"].isoformat()
                if s["last_success_at"]
                else None,
                "last_error": s["last_error"],
                "records": s["records_total"],
            }
            for name, s in sorted(states.items())
        },
        "quota": {
            "day": budget.day.isoformat() if budget.day else None,
            "used": budget.used,
            "limit": budget.limit,
            "left": None if budget.limit is None else max(0, budget.limit - budget.used),
            "resets_at": budget.reset_at().isoformat(),
        },
        "last_run": (
            {
                "status": runs[0]["status"],
                "finished_at": runs[0]["finished_at"].isoformat()
                if runs[0]["finished_at"]
                else None,
                "error": runs[0]["error"],
            }
            if runs
            else None
        ),
        "stream_errors": errors,
        "quarantined": int(quarantined),
        "capabilities": capabilities,
    }
