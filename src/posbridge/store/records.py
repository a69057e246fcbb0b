"""The write hot path: pages of normalized records with their raw payloads.

SQLAlchemy Core costs 3x the DBAPI's own executemany on this path (perf-limits §2), so
rows are built as tuples and written with the driver cursor of the caller's SQLAlchemy
connection — inside the caller's transaction, which also stores the stream cursor.
Unchanged records (same raw hash) are skipped before any write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from posbridge.model import Record
from posbridge.store.rollups import mark_days_dirty
from posbridge.store.rows import COLUMNS, UPDATED, PreparedTable, RowBuilder, record_id
from posbridge.store.tables import RECORD_TABLES, ROLLUP_TABLES, table_name

__all__ = ["PageWrite", "PreparedTable", "RecordWriter", "record_id"]

_CHILD_TABLES = ("order_lines", "order_payments")
_CHILD_COLUMNS = {
    "order_lines": (
        "order_row",
        "line_no",
        "component",
        "connection_id",
        "item_source_id",
        "name",
        "quantity",
        "unit_price_gross",
        "tax_rate",
        "discount",
        "gross",
        "net",
        "tax",
    ),
    "order_payments": (
        "order_row",
        "seq",
        "connection_id",
        "method",
        "vendor_method",
        "amount",
        "currency",
        "card_brand",
        "is_change",
        "tip",
    ),
}
_ZERO = Decimal(0)
_DAY = COLUMNS.index("business_date")


@dataclass(slots=True)
class PageWrite:
    """What one page did to the store."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (record id, is new) of every record written, for change events
    written: list[tuple[str, bool]] = field(default_factory=list)


class RecordWriter:
    """Upserts pages of (record, raw bytes) for one dialect, keyed on (connection, source id)."""

    def __init__(self, dialect: str, *, hash_salt: bytes = b"") -> None:
        self.dialect = dialect
        self._ph = "?" if dialect == "sqlite" else "%s"
        self._sql: dict[str, str] = {}
        self.rows = RowBuilder(dialect, hash_salt=hash_salt)

    # -- SQL text, built once per table -------------------------------------------------
    def _upsert_sql(self, table: str) -> str:
        sql = self._sql.get(table)
        if sql is None:
            marks = ", ".join([self._ph] * len(COLUMNS))
            sets = ", ".join(f"{c} = excluded.{c}" for c in UPDATED)
            sql = (
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
                f"ON CONFLICT (connection_id, source_id) DO UPDATE SET {sets}"
            )
            self._sql[table] = sql
        return sql

    def _existing(
        self, cursor: Any, table: str, connection_id: str, source_ids: Sequence[str]
    ) -> dict[str, tuple[str, object, int, object]]:
        """source id → (hash, deleted_at, row_id, business_date) of the page's stored records."""
        found: dict[str, tuple[str, object, int, object]] = {}
        for start in range(0, len(source_ids), 500):
            chunk = source_ids[start : start + 500]
            marks = ", ".join([self._ph] * len(chunk))
            cursor.execute(
                f"SELECT source_id, hash, deleted_at, row_id, business_date FROM {table} "
                f"WHERE connection_id = {self._ph} AND source_id IN ({marks})",
                (connection_id, *chunk),
            )
            for source_id, digest, deleted_at, row_id, day in cursor.fetchall():
                found[source_id] = (digest, deleted_at, row_id, day)
        return found

    def _mark_dirty(self, cursor: Any, connection_id: str, days: Iterable[object]) -> None:
        """Queue the rollups of these business days for recomputation (same transaction)."""
        none = date.min.isoformat() if self.dialect == "sqlite" else date.min
        rows = [(connection_id, none if d is None else d) for d in set(days)]
        if rows:
            cursor.executemany(
                f"INSERT INTO rollup_dirty (connection_id, business_date) "
                f"VALUES ({self._ph}, {self._ph}) ON CONFLICT DO NOTHING",
                rows,
            )

    # -- the hot path ---------------------------------------------------------------------
    def prepare(
        self,
        connection_id: str,
        object_type: str,
        items: Iterable[tuple[Record, bytes]],
        now: datetime,
    ) -> PreparedTable:
        """Build a page's rows (see `RowBuilder.prepare`)."""
        return self.rows.prepare(connection_id, object_type, items, now)

    def apply(self, conn: sa.Connection, connection_id: str, prepared: PreparedTable) -> PageWrite:
        """Upsert prepared rows in the caller's transaction; unchanged raw hashes are skipped."""
        result = PageWrite()
        if not prepared.rows:
            return result
        table = table_name(prepared.object_type)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        existing = self._existing(cursor, table, connection_id, list(prepared.rows))
        rows: list[tuple[Any, ...]] = []
        changed_rows: list[int] = []
        fresh: list[str] = []
        written: list[str] = []
        days: list[object] = []
        for source_id, row in prepared.rows.items():
            prior = existing.get(source_id)
            if prior is not None and prior[0] == row[3] and prior[1] is None:
                result.unchanged += 1
                continue
            if prior is None:
                result.inserted += 1
                fresh.append(source_id)
            else:  # a changed order: its old and new days are recomputed from the rows
                result.updated += 1
                changed_rows.append(prior[2])
                days += (prior[3], row[_DAY])
            rows.append(row)
            written.append(source_id)
            result.written.append((row[0], prior is None))
        if rows:
            cursor.executemany(self._upsert_sql(table), rows)
            if prepared.children:
                row_ids = {sid: prior[2] for sid, prior in existing.items()}
                row_ids |= {
                    sid: v[2]
                    for sid, v in self._existing(cursor, table, connection_id, fresh).items()
                }
                self._write_children(cursor, changed_rows, prepared, row_ids, written)
            if prepared.object_type == "order":
                if result.updated or result.unchanged:
                    # A page mixing new and known orders: recompute its days whole later.
                    days += prepared.days
                else:  # only new orders (a first sync, new sales): add the page's sums
                    self._add_to_rollups(cursor, connection_id, prepared)
                self._mark_dirty(cursor, connection_id, days)
        return result

    def _add_to_rollups(self, cursor: Any, connection_id: str, prepared: PreparedTable) -> None:
        """A page of new orders adds its sums to the day rollups in this transaction."""
        by_table: dict[str, list[tuple[Any, ...]]] = {}
        for (rollup, key), totals in prepared.rollups.items():
            by_table.setdefault(rollup, []).append((connection_id, *key, *totals))
        for rollup, batch in by_table.items():
            cursor.executemany(self._rollup_sql(rollup), batch)

    def _rollup_sql(self, rollup: str) -> str:
        sql = self._sql.get(rollup)
        if sql is None:
            table = ROLLUP_TABLES[rollup]
            keys = [c.name for c in table.primary_key.columns]
            sums = [c.name for c in table.columns if c.name not in keys]
            columns = keys + sums
            marks = ", ".join([self._ph] * len(columns))
            add = ", ".join(f"{c} = {rollup}.{c} + excluded.{c}" for c in sums)
            sql = (
                f"INSERT INTO {rollup} ({', '.join(columns)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {add}"
            )
            self._sql[rollup] = sql
        return sql

    def write(
        self,
        conn: sa.Connection,
        connection_id: str,
        object_type: str,
        items: Iterable[tuple[Record, bytes]],
        now: datetime,
    ) -> PageWrite:
        """prepare + apply in one go (small pages, derived records, tests)."""
        return self.apply(conn, connection_id, self.prepare(connection_id, object_type, items, now))

    def _write_children(
        self,
        cursor: Any,
        changed: list[int],
        prepared: PreparedTable,
        row_ids: dict[str, int],
        written: list[str],
    ) -> None:
        ph = self._ph
        for table in _CHILD_TABLES:
            for start in range(0, len(changed), 500):
                chunk = changed[start : start + 500]
                cursor.execute(
                    f"DELETE FROM {table} WHERE order_row IN ({', '.join([ph] * len(chunk))})",
                    chunk,
                )
        batches: tuple[list[tuple[Any, ...]], ...] = ([], [])
        for sid in written:
            row_id = row_ids[sid]
            for index, tail in prepared.children.get(sid, ()):
                batches[index].append((row_id, *tail))
        for table, batch in zip(_CHILD_TABLES, batches, strict=True):
            if batch:
                cursor.executemany(self._child_sql(table, len(batch[0])), batch)

    def _child_sql(self, table: str, width: int) -> str:
        key = f"child:{table}"
        sql = self._sql.get(key)
        if sql is None:
            columns = _CHILD_COLUMNS[table]
            assert len(columns) == width
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([self._ph] * width)})"
            self._sql[key] = sql
        return sql

    def mark_missing(
        self,
        conn: sa.Connection,
        connection_id: str,
        object_type: str,
        seen: set[str],
        now: datetime,
    ) -> int:
        """Soft-delete live records a complete full read did not return; returns the count."""
        table = RECORD_TABLES[object_type]
        live = conn.execute(
            sa.select(table.c.source_id, table.c.business_date).where(
                table.c.connection_id == connection_id, table.c.deleted_at.is_(None)
            )
        ).all()
        gone = [sid for sid, _day in live if sid not in seen]
        if gone and object_type == "order":
            mark_days_dirty(conn, connection_id, {day for sid, day in live if sid not in seen})
        for start in range(0, len(gone), 500):
            conn.execute(
                table.update()
                .where(
                    table.c.connection_id == connection_id,
                    table.c.source_id.in_(gone[start : start + 500]),
                )
                .values(deleted_at=now, updated_at=now)
            )
        return len(gone)
