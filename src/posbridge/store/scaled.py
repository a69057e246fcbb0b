"""Exact money as integer millionths, and the one text form of instants (no SQLAlchemy).

Pure helpers shared by the column types (`types.py`) and the row builder (`rows.py`,
which runs in worker processes that never import SQLAlchemy).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

__all__ = ["MICROS", "from_micros", "iso_utc", "to_micros"]

MICROS = 1_000_000
_SCALE = 6


@lru_cache(maxsize=65536)
def to_micros(value: Decimal) -> int:
    """Decimal → exact integer millionths; refuses values with more than 6 decimals.

    Cached: amounts repeat across rows (prices, rates, quantities) and Decimal caches its hash.
    """
    scaled = value.scaleb(_SCALE)
    as_int = int(scaled)
    if as_int != scaled:
        raise ValueError(f"{value} has more than {_SCALE} decimals and cannot be stored exactly")
    return as_int


@lru_cache(maxsize=65536)
def from_micros(value: int) -> Decimal:
    """Integer millionths → Decimal, normalized to at least 2 decimals for money."""
    dec = Decimal(value).scaleb(-_SCALE).normalize()
    exp = dec.as_tuple().exponent
    if isinstance(exp, int) and exp > -2:
        dec = dec.quantize(Decimal("0.01"))
    return dec


def iso_utc(value: datetime) -> str:
    """The one text encoding of instants on SQLite: `2026-11-01T12:00:00.000000+00:00`."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")
