"""Column types that keep money exact and instants in UTC on SQLite and PostgreSQL alike.

SQLite's NUMERIC affinity silently turns decimals into floats, so money columns are
BIGINT holding millionths (`MICROS`): exact, summable in SQL on both engines, and wide
enough (±9.2 trillion) for any POS. Timestamps are ISO-8601 UTC text on SQLite and
`timestamptz` on PostgreSQL; the hot path in `records.py` writes the same encodings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from posbridge.store.scaled import MICROS, from_micros, iso_utc, to_micros

__all__ = ["MICROS", "IsoDate", "ScaledDecimal", "UTCDateTime", "from_micros", "to_micros"]


class ScaledDecimal(TypeDecorator[Decimal]):
    """Exact decimal stored as BIGINT millionths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_micros(int(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC instant: ISO text on SQLite (sorts correctly), timestamptz elsewhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: posbridge stores aware UTC instants only")
        value = value.astimezone(UTC)
        return iso_utc(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


class IsoDate(TypeDecorator[date]):
    """A calendar date: ISO text on SQLite, DATE elsewhere."""

    impl = Date
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(10))
        return dialect.type_descriptor(Date())

    def process_bind_param(self, value: date | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.isoformat() if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        if value is None:
            return None
        return date.fromisoformat(value) if isinstance(value, str) else value
