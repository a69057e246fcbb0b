"""The write hot path: pages of normalized records with their raw payloads.

SQLAlchemy Core costs 3x the DBAPI's own executemany on this path (perf-limits §2), so
rows are built as tuples and written with the driver cursor of the caller's SQLAlchemy
connection — inside the caller's transaction, which also stores the stream cursor.
Unchanged records (same raw hash) are skipped before any write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
import sqlalchemy as sa

from posbridge.model import Order, OrderLine, Record
from posbridge.store.tables import RECORD_TABLES, table_name
from posbridge.store.types import iso_utc, to_micros

__all__ = ["PageWrite", "RecordWriter", "record_id"]

_encode = msgspec.json.Encoder(decimal_format="string").encode

_INDEXED = (
    "source_updated_at",
    "occurred_at",
    "business_date",
    "location_source_id",
    "device_source_id",
    "customer_source_id",
    "employee_source_id",
    "number",
    "kind",
    "status",
    "currency",
    "total_gross",
)
_COLUMNS = (
    "id",
    "connection_id",
    "source_id",
    "hash",
    "data",
    "raw",
    *_INDEXED,
    "first_seen_at",
    "updated_at",
    "deleted_at",
)
_UPDATED = [c for c in _COLUMNS if c not in ("id", "connection_id", "source_id", "first_seen_at")]
# Indexed columns some models call differently.
_ALIASES = {
    "occurred_at": ("occurred_at", "opened_at", "starts_at"),
    "business_date": ("business_date", "issued_on", "entry_date"),
}


@lru_cache(maxsize=64)
def _plan(model: type[Record]) -> tuple[str | None, ...]:
    """Per model: which attribute feeds each indexed column (None: the model has none)."""
    fields = set(model.__struct_fields__)
    plan: list[str | None] = []
    for column in _INDEXED:
        names = _ALIASES.get(column, (column,))
        plan.append(next((n for n in names if n in fields), None))
    return tuple(plan)


def record_id(connection_id: str, object_type: str, source_id: str) -> str:
    """posbridge's stable id of a record: the same vendor record always gets the same id."""
    digest = hashlib.blake2b(
        f"{connection_id}\x1f{object_type}\x1f{source_id}".encode(), digest_size=12
    ).hexdigest()
    return f"{object_type[:3]}_{digest}"


@dataclass(slots=True)
class PageWrite:
    """What one page did to the store."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class RecordWriter:
    """Upserts pages of (record, raw bytes) for one dialect, keyed on (connection, source id)."""

    def __init__(self, dialect: str, *, hash_salt: bytes = b"") -> None:
        self.dialect = dialect
        self.hash_salt = hash_salt
        self._ph = "?" if dialect == "sqlite" else "%s"
        self._ts: Callable[[datetime], Any] = iso_utc if dialect == "sqlite" else (lambda v: v)
        self._day: Callable[[date], Any] = (
            (lambda d: d.isoformat()) if dialect == "sqlite" else (lambda d: d)
        )
        self._sql: dict[str, str] = {}
        self._line_tails: dict[int, tuple[OrderLine, tuple[Any, ...]]] = {}

    # -- SQL text, built once per table -------------------------------------------------
    def _upsert_sql(self, table: str) -> str:
        sql = self._sql.get(table)
        if sql is None:
            marks = ", ".join([self._ph] * len(_COLUMNS))
            sets = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
            sql = (
                f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({marks}) "
                f"ON CONFLICT (connection_id, source_id) DO UPDATE SET {sets}"
            )
            self._sql[table] = sql
        return sql

    def _existing(
        self, cursor: Any, table: str, connection_id: str, source_ids: Sequence[str]
    ) -> dict[str, tuple[str, object, int]]:
        """source id → (hash, deleted_at, row_id) of the page's records already stored."""
        found: dict[str, tuple[str, object, int]] = {}
        for start in range(0, len(source_ids), 500):
            chunk = source_ids[start : start + 500]
            marks = ", ".join([self._ph] * len(chunk))
            cursor.execute(
                f"SELECT source_id, hash, deleted_at, row_id FROM {table} "
                f"WHERE connection_id = {self._ph} AND source_id IN ({marks})",
                (connection_id, *chunk),
            )
            for source_id, digest, deleted_at, row_id in cursor.fetchall():
                found[source_id] = (digest, deleted_at, row_id)
        return found

    # -- the hot path ---------------------------------------------------------------------
    def write(
        self,
        conn: sa.Connection,
        connection_id: str,
        object_type: str,
        items: Iterable[tuple[Record, bytes]],
        now: datetime,
    ) -> PageWrite:
        """Upsert one page in the caller's transaction; skip records whose raw is unchanged."""
        table = table_name(object_type)
        salt = self.hash_salt
        latest: dict[str, tuple[Record, bytes, str]] = {}
        for record, raw in items:  # a page that repeats a record keeps its last version
            digest = hashlib.blake2b(raw + salt, digest_size=16).hexdigest()
            latest[record.source_id] = (record, raw, digest)
        result = PageWrite()
        if not latest:
            return result
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        existing = self._existing(cursor, table, connection_id, list(latest))
        ts_now = self._ts(now)
        rows: list[tuple[Any, ...]] = []
        changed_rows: list[int] = []
        fresh: list[str] = []
        written: list[tuple[str, Record]] = []
        for source_id, (record, raw, digest) in latest.items():
            prior = existing.get(source_id)
            if prior is not None and prior[0] == digest and prior[1] is None:
                result.unchanged += 1
                continue
            if prior is None:
                result.inserted += 1
                fresh.append(source_id)
            else:
                result.updated += 1
                changed_rows.append(prior[2])
            rid = record_id(connection_id, object_type, source_id)
            rows.append(self._row(rid, connection_id, record, raw, digest, ts_now))
            written.append((source_id, record))
        if rows:
            cursor.executemany(self._upsert_sql(table), rows)
            if object_type == "order":
                row_ids = {sid: prior[2] for sid, prior in existing.items()}
                row_ids |= {
                    sid: v[2]
                    for sid, v in self._existing(cursor, table, connection_id, fresh).items()
                }
                self._write_order_children(
                    cursor, connection_id, changed_rows, [(row_ids[sid], r) for sid, r in written]
                )
        return result

    def _row(
        self, rid: str, connection_id: str, record: Record, raw: bytes, digest: str, ts_now: Any
    ) -> tuple[Any, ...]:
        values: list[Any] = [
            rid,
            connection_id,
            record.source_id,
            digest,
            _encode(record).decode(),
            raw.decode(),
        ]
        for attr in _plan(type(record)):
            value = None if attr is None else getattr(record, attr)
            if value is None:
                values.append(None)
            elif isinstance(value, datetime):
                values.append(self._ts(value))
            elif isinstance(value, date):
                values.append(self._day(value))
            elif isinstance(value, Decimal):
                values.append(to_micros(value))
            else:
                values.append(value)
        values += (ts_now, ts_now, None)
        return tuple(values)

    def _write_order_children(
        self,
        cursor: Any,
        connection_id: str,
        changed: list[int],
        written: list[tuple[int, Record]],
    ) -> None:
        ph = self._ph
        for table in ("order_lines", "order_payments", "order_taxes"):
            for start in range(0, len(changed), 500):
                chunk = changed[start : start + 500]
                cursor.execute(
                    f"DELETE FROM {table} WHERE order_row IN ({', '.join([ph] * len(chunk))})",
                    chunk,
                )
        lines: list[tuple[Any, ...]] = []
        payments: list[tuple[Any, ...]] = []
        taxes: list[tuple[Any, ...]] = []
        m = to_micros
        add_line, add_payment, add_tax = lines.append, payments.append, taxes.append
        tails = self._line_tails
        if len(tails) > 100_000:
            tails.clear()
        for rid, record in written:
            assert isinstance(record, Order)
            for line in record.lines:
                # Mapping shares identical line objects between orders: convert each once.
                cached = tails.get(id(line))
                if cached is None or cached[0] is not line:
                    cached = (
                        line,
                        (
                            line.line_no,
                            connection_id,
                            line.product_source_id,
                            line.name,
                            m(line.quantity),
                            m(line.unit_price_gross),
                            m(line.tax_rate),
                            m(line.gross),
                            m(line.net),
                            m(line.tax),
                            len(line.modifiers),
                        ),
                    )
                    tails[id(line)] = cached
                add_line((rid, *cached[1]))
            for seq, payment in enumerate(record.payments, 1):
                add_payment(
                    (
                        rid,
                        seq,
                        connection_id,
                        payment.method,
                        payment.vendor_method,
                        m(payment.amount),
                        payment.currency,
                    )
                )
            for tax in record.taxes:
                add_tax((rid, m(tax.rate), connection_id, m(tax.net), m(tax.tax), m(tax.gross)))
        if lines:
            cursor.executemany(
                "INSERT INTO order_lines (order_row, line_no, connection_id, product_source_id, "
                "name, quantity, unit_price_gross, tax_rate, gross, net, tax, modifier_count) "
                f"VALUES ({', '.join([ph] * 12)})",
                lines,
            )
        if payments:
            cursor.executemany(
                "INSERT INTO order_payments (order_row, seq, connection_id, method, "
                f"vendor_method, amount, currency) VALUES ({', '.join([ph] * 7)})",
                payments,
            )
        if taxes:
            cursor.executemany(
                "INSERT INTO order_taxes (order_row, rate, connection_id, net, tax, gross) "
                f"VALUES ({', '.join([ph] * 6)})",
                taxes,
            )

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
            sa.select(table.c.source_id).where(
                table.c.connection_id == connection_id, table.c.deleted_at.is_(None)
            )
        ).scalars()
        gone = [sid for sid in live if sid not in seen]
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
