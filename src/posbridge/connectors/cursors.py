"""Reading a stream's stored cursor: valid, or a `CursorError` that says what is there.

A cursor is JSON in the store; a hand edit, a bug or a restore can leave anything in it.
`int("abc")` in a fetch would end the stream as an "internal error" with a traceback, and
a guess (start over, skip ahead) could re-read a year or skip data. Every connector reads
its cursor fields through these helpers instead; the engine turns the `CursorError` into
a failed stream naming the stream and `posbridge sync NAME --stream S --full`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from posbridge.errors import CursorError

__all__ = ["date_cursor", "id_cursor", "optional_id_cursor", "time_cursor"]

T = TypeVar("T")


def id_cursor(state: Mapping[str, Any], key: str) -> int:
    """A non-negative integer id (0 when absent)."""
    value = state.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CursorError(f"the stored cursor {key}={value!r} is not a record id")
    return value


def optional_id_cursor(state: Mapping[str, Any], key: str) -> int | None:
    """A non-negative integer id, or None when absent or null."""
    return None if state.get(key) is None else id_cursor(state, key)


def time_cursor(state: Mapping[str, Any], key: str, fmt: str) -> datetime | None:
    """A naive vendor-local timestamp in `fmt` (None when absent or empty)."""
    example = datetime(2026, 1, 31, 23, 59, 0).strftime(fmt)
    return _parsed(state, key, lambda v: datetime.strptime(v, fmt), f"a timestamp like {example!r}")


def date_cursor(state: Mapping[str, Any], key: str) -> date | None:
    """An ISO day (None when absent or empty)."""
    return _parsed(state, key, date.fromisoformat, "a day (YYYY-MM-DD)")


def _parsed(state: Mapping[str, Any], key: str, parse: Callable[[str], T], what: str) -> T | None:
    """A string cursor field through `parse`; None when absent or empty."""
    value = state.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return parse(value)
        except ValueError:
            pass
    raise CursorError(f"the stored cursor {key}={value!r} is not {what}")
