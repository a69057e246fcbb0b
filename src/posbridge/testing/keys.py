"""Duplicate detection shared by every vendor's oracle."""

from __future__ import annotations

import sqlalchemy as sa

from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES

__all__ = ["duplicate_keys"]


def duplicate_keys(store: Store, connection_id: str) -> list[str]:
    """(table, source id) pairs stored more than once for a connection (must be none)."""
    out = []
    with store.engine.connect() as conn:
        for table in RECORD_TABLES.values():
            rows = conn.execute(
                sa.select(table.c.source_id, sa.func.count())
                .where(table.c.connection_id == connection_id)
                .group_by(table.c.source_id)
                .having(sa.func.count() > 1)
            ).all()
            out += [f"{table.name}:{sid} ×{n}" for sid, n in rows]
    return out
