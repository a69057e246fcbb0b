"""SmartNow list conventions, implemented once for every list operation.

`limit` (1..100, default 100), `skip` (≥ 0), `where[<col>][<op>]=<value>` with the
Waterline modifiers (`<`, `<=`, `>`, `>=`, `!=`, `in`, `nin`, `contains`, `startsWith`,
`endsWith`; `where[col]=v` is equality; `in`/`nin` take bracket arrays
`where[col][in][]=a&where[col][in][]=b` or a comma list), `sort` (`col`, `col ASC`,
`col DESC`, comma-separated), `useArchive` (older rows only when true), and bracket arrays
for filters (`locations[]=2&locations[]=47`). Bad input raises `ApiError(400)`.
Decisions are written down in docs/smartnow-wire.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OPERATORS", "ApiError", "ListQuery", "array", "parse_list_query", "run_list"]

MAX_LIMIT = 100
_WHERE = re.compile(r"^where\[([A-Za-z_][A-Za-z0-9_]*)\](?:\[([^\]]+)\])?(\[\])?$")
_TRUE = ("1", "true", "True")
_FALSE = ("0", "false", "False", "")


class ApiError(Exception):
    """An error answer: HTTP status and the `{message}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, wanted: Any) -> bool:
        return value is not None and op(value, wanted)

    return check


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda v, w: v == w,
    "<": _cmp(lambda v, w: v < w),
    "<=": _cmp(lambda v, w: v <= w),
    ">": _cmp(lambda v, w: v > w),
    ">=": _cmp(lambda v, w: v >= w),
    "!=": lambda v, w: v != w,
    "in": lambda v, w: v in w,
    "nin": lambda v, w: v not in w,
    "contains": lambda v, w: isinstance(v, str) and w.lower() in v.lower(),
    "startsWith": lambda v, w: isinstance(v, str) and v.lower().startswith(w.lower()),
    "endsWith": lambda v, w: isinstance(v, str) and v.lower().endswith(w.lower()),
}
_TEXT_OPS = ("contains", "startsWith", "endsWith")


@dataclass(slots=True)
class ListQuery:
    """A parsed list request."""

    limit: int = MAX_LIMIT
    skip: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    where: list[tuple[str, str, Any]] = field(default_factory=list)
    use_archive: bool = False


def array(items: Sequence[tuple[str, str]], name: str) -> list[int]:
    """A bracket array of integers (`locations[]=2&locations[]=47`; `locations=2` too)."""
    values = [v for k, v in items if k in (name + "[]", name)]
    out = []
    for value in values:
        for part in value.split(","):
            if not part.strip().lstrip("-").isdigit():
                raise ApiError(400, f"{name} must be an array of integers")
            out.append(int(part))
    return out


def flag(value: str | None, name: str) -> bool:
    """A boolean query parameter (`true`/`false`/`1`/`0`)."""
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise ApiError(400, f"{name} must be a boolean")


def _int(value: str, name: str, low: int, high: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ApiError(400, f"{name} must be {bound}")
    return number


def parse_list_query(items: Sequence[tuple[str, str]]) -> ListQuery:
    """Parse the query items of a list request (syntax only; columns checked later)."""
    q = ListQuery()
    grouped: dict[tuple[str, str], list[str]] = {}
    for key, value in items:
        if key == "limit":
            q.limit = _int(value, "limit", 1, MAX_LIMIT)
        elif key == "skip":
            q.skip = _int(value, "skip", 0)
        elif key == "sort":
            q.sort += _sort(value)
        elif key == "useArchive":
            q.use_archive = flag(value, "useArchive")
        elif key.startswith("where"):
            match = _WHERE.match(key)
            if not match:
                raise ApiError(400, f"invalid filter {key!r}")
            col, op = match.group(1), match.group(2) or "="
            if op not in OPERATORS:
                raise ApiError(400, f"unknown operator {op!r}")
            grouped.setdefault((col, op), []).append(value)
    for (col, op), values in grouped.items():
        if op in ("in", "nin"):
            q.where.append((col, op, [p for v in values for p in v.split(",") if p != ""]))
        else:
            q.where += [(col, op, v) for v in values]
    return q


def _sort(value: str) -> list[tuple[str, bool]]:
    out = []
    for part in value.split(","):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].upper() not in ("ASC", "DESC")):
            raise ApiError(400, f"invalid sort {value!r}")
        out.append((bits[0], len(bits) == 2 and bits[1].upper() == "DESC"))
    return out


def _coerce(sample: Any, raw: Any, col: str) -> Any:
    if isinstance(raw, list):
        return [_coerce(sample, r, col) for r in raw]
    if raw == "null":
        return None
    if isinstance(sample, int):
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"where[{col}] must be an integer") from None
    return raw


def run_list(
    rows: Iterable[Mapping[str, Any]],
    q: ListQuery,
    columns: Iterable[str],
    *,
    archived: Callable[[Mapping[str, Any]], bool] | None = None,
) -> list[Mapping[str, Any]]:
    """Filter, sort and page `rows` (already restricted to what the caller may see).

    `archived` tells which rows live in the archive: without `useArchive=true` they are
    left out. Default order is `id ASC`.
    """
    known = set(columns)
    for col, _op, _v in q.where:
        if col not in known:
            raise ApiError(400, f"unknown column {col!r} in where")
    for col, _desc in q.sort:
        if col not in known:
            raise ApiError(400, f"unknown sort column {col!r}")
    selected = [r for r in rows if q.use_archive or archived is None or not archived(r)]
    for col, op, raw in q.where:
        sample = next((r.get(col) for r in selected if r.get(col) is not None), None)
        if op in _TEXT_OPS and not isinstance(sample, str | None):
            raise ApiError(400, f"{op} needs a text column, {col!r} is not")
        wanted = _coerce(sample, raw, col)
        test = OPERATORS[op]
        selected = [r for r in selected if test(r.get(col), wanted)]
    for col, desc in reversed(q.sort or [("id", False)]):
        selected.sort(key=lambda r, c=col: _key(r.get(c)), reverse=desc)  # type: ignore[misc]
    return selected[q.skip : q.skip + q.limit]


def _key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))
