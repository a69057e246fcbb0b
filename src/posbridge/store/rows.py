"""Building store rows from normalized records: pure CPU, no database.

Split from `records.py` so a mapping worker process can prepare whole pages of rows
without importing SQLAlchemy (a worker starts ~0.1 s faster).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from posbridge.model import Order, OrderLine, Record
from posbridge.store.scaled import iso_utc, to_micros

__all__ = [
    "ADJUSTMENTS",
    "COLUMNS",
    "NO_DAY",
    "PERSONAL_FIELDS",
    "UPDATED",
    "PreparedTable",
    "RowBuilder",
    "api_body",
    "local_zone",
    "mask_personal",
    "record_id",
]

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
COLUMNS = (
    "id",
    "connection_id",
    "source_id",
    "hash",
    "data",
    "raw",
    "doc",
    *_INDEXED,
    "first_seen_at",
    "updated_at",
    "deleted_at",
)
UPDATED = [c for c in COLUMNS if c not in ("id", "connection_id", "source_id", "first_seen_at")]
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


@lru_cache(maxsize=256)
def _scope(connection_id: str, object_type: str) -> str:
    digest = hashlib.blake2b(
        f"{connection_id}\x1f{object_type}".encode(), digest_size=4
    ).hexdigest()
    return f"{object_type[:3]}_{digest}"


def record_id(connection_id: str, object_type: str, source_id: str) -> str:
    """posbridge's stable id of a record: the same vendor record always gets the same id.

    Short numeric vendor ids are kept, zero-padded, so ids of one connection sort like the
    vendor's own (new records land at the end of the unique index instead of at random
    places: 3x cheaper inserts on large tables); other ids are hashed.
    """
    if source_id.isdigit() and len(source_id) <= 18 and (source_id == "0" or source_id[0] != "0"):
        return f"{_scope(connection_id, object_type)}_{int(source_id):018d}"
    digest = hashlib.blake2b(
        f"{connection_id}\x1f{object_type}\x1f{source_id}".encode(), digest_size=12
    ).hexdigest()
    return f"{_scope(connection_id, object_type)}_h{digest}"


@dataclass(slots=True)
class PreparedTable:
    """A page's rows for one table, built ahead of the transaction (picklable).

    `rows` is keyed by source id (a repeated record keeps its last version); `children`
    holds each order's line/payment/tax rows without the parent's row id, which only the
    database knows.
    """

    object_type: str
    rows: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    children: dict[str, list[tuple[int, tuple[Any, ...]]]] = field(default_factory=dict)
    #: the page's orders summed into the per-day rollups: (rollup, key) → sums
    rollups: dict[tuple[str, tuple[Any, ...]], list[int]] = field(default_factory=dict)
    #: the business days (as stored) of the page's orders
    days: set[Any] = field(default_factory=set)


#: (rollup table, key columns after connection_id, integer sums after the key)
Contribution = tuple[str, tuple[Any, ...], tuple[int, ...]]
#: the business day orders without one roll up under
NO_DAY = date.min
#: the `tax_rate` key of order-level amounts beyond the lines (service, tips, discounts)
ADJUSTMENTS = -1


@lru_cache(maxsize=256)
def local_zone(name: str) -> ZoneInfo | None:
    """A cached zone by name; None for an unknown name (the hour then stays in UTC)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # an unknown zone name: the hour stays in UTC
        return None


def order_contributions(
    record: Order, day: Any, children: list[tuple[int, tuple[Any, ...]]]
) -> list[Contribution]:
    """What one order adds to each per-day rollup (the SQL recomputation in
    `store/rollups.py` computes the same from the stored rows)."""
    currency = record.currency or ""
    total = to_micros(record.total_gross)
    lines = [c for kind, c in children if kind == 0]
    vat = sum(c[11] for c in lines)
    out: list[Contribution] = [
        (
            "rollup_sales",
            (
                day,
                currency,
                record.location_source_id or "",
                record.device_source_id or "",
                record.employee_source_id or "",
            ),
            (1, total - vat, vat, total),
        )
    ]
    rates: dict[int, list[int]] = {}
    products: dict[str, list[int]] = {}
    for c in lines:
        r = rates.setdefault(c[7], [0, 0, 0])
        r[0] += c[10]
        r[1] += c[11]
        r[2] += c[9]
        if c[1] == 0:
            p = products.setdefault(c[3] or "", [0, 0, 0, 0])
            p[0] += c[5]
            p[1] += c[10]
            p[2] += c[11]
            p[3] += c[9]
    out += [("rollup_rates", (day, currency, rate), (1, *v)) for rate, v in rates.items()]
    beyond = total - sum(c[9] for c in lines)
    if beyond:
        out.append(("rollup_rates", (day, currency, ADJUSTMENTS), (1, beyond, 0, beyond)))
    out += [("rollup_products", (day, currency, item), (1, *v)) for item, v in products.items()]
    paid: dict[str, int] = {}
    for kind, c in children:
        if kind == 1:
            paid[c[2]] = paid.get(c[2], 0) + c[4]
    out += [("rollup_payments", (day, currency, m), (1, a)) for m, a in paid.items()]
    zone = local_zone(record.source_timezone) if record.source_timezone else None
    local = record.occurred_at.astimezone(zone) if zone else record.occurred_at
    out.append(("rollup_hours", (day, currency, local.weekday(), local.hour), (1, total)))
    return out


#: normalized and vendor fields that hold national register numbers (personal data).
PERSONAL_FIELDS = frozenset({"national_id", "secnr"})


def mask_personal(doc: dict[str, Any]) -> dict[str, Any]:
    """Mask national register numbers in place (they leave the store only when asked for)."""
    for key in PERSONAL_FIELDS & doc.keys():
        doc[key] = None if doc[key] in (None, "") else "***"
    return doc


def api_body(record: Record) -> bytes | None:
    """The API document of a record when it differs from its `data` column, else None."""
    if isinstance(record, Order):
        return _encode(record)
    if any(getattr(record, f, None) not in (None, "") for f in PERSONAL_FIELDS):
        return _encode(mask_personal(msgspec.to_builtins(record)))
    return None


def _slim(order: Order) -> Order:
    return msgspec.structs.replace(order, lines=[], payments=[])


def _line_components(connection_id: str, line: OrderLine) -> tuple[tuple[Any, ...], ...]:
    """Component 0 is the product part (line totals minus modifiers), then each modifier."""
    m = to_micros
    gross, net, tax = line.gross, line.net, line.tax
    mods = []
    for k, mod in enumerate(line.modifiers, 1):
        gross, net, tax = gross - mod.gross, net - mod.net, tax - mod.tax
        mods.append(
            (
                line.line_no,
                k,
                connection_id,
                mod.modifier_source_id,
                mod.name,
                m(line.quantity),
                m(mod.unit_price_gross),
                m(mod.tax_rate),
                0,
                m(mod.gross),
                m(mod.net),
                m(mod.tax),
            )
        )
    product = (
        line.line_no,
        0,
        connection_id,
        line.product_source_id,
        line.name,
        m(line.quantity),
        m(line.unit_price_gross),
        m(line.tax_rate),
        m(line.discount),
        m(gross),
        m(net),
        m(tax),
    )
    return (product, *mods)


#: how many converted shared lines a RowBuilder remembers
_LINE_TAILS = 8192


class RowBuilder:
    """Turns (record, raw bytes) pairs into the row tuples of one SQL dialect."""

    def __init__(self, dialect: str, *, hash_salt: bytes = b"") -> None:
        self.hash_salt = hash_salt
        self._ts: Callable[[datetime], Any] = iso_utc if dialect == "sqlite" else (lambda v: v)
        self._day: Callable[[date], Any] = (
            (lambda d: d.isoformat()) if dialect == "sqlite" else (lambda d: d)
        )
        self._line_tails: dict[int, tuple[OrderLine, str, tuple[Any, ...]]] = {}

    def prepare(
        self,
        connection_id: str,
        object_type: str,
        items: Iterable[tuple[Record, bytes]],
        now: datetime,
    ) -> PreparedTable:
        """Build every row of a page (pure CPU, no database; may run in a worker process)."""
        salt = self.hash_salt
        ts_now = self._ts(now)
        prepared = PreparedTable(object_type)
        orders: dict[str, Order] = {}
        for record, raw in items:  # a page that repeats a record keeps its last version
            digest = hashlib.blake2b(raw + salt, digest_size=16).hexdigest()
            sid = record.source_id
            rid = record_id(connection_id, object_type, sid)
            prepared.rows[sid] = self._row(rid, connection_id, record, raw, digest, ts_now)
            if isinstance(record, Order):
                prepared.children[sid] = self._order_children(connection_id, record)
                orders[sid] = record
        for sid, order in orders.items():  # a repeated order counts once, as its last version
            day = self._day(order.business_date or NO_DAY)
            prepared.days.add(day)
            for rollup, key, values in order_contributions(order, day, prepared.children[sid]):
                acc = prepared.rollups.get((rollup, key))
                if acc is None:
                    prepared.rollups[(rollup, key)] = list(values)
                else:
                    for i, v in enumerate(values):
                        acc[i] += v
        return prepared

    def _row(
        self, rid: str, connection_id: str, record: Record, raw: bytes, digest: str, ts_now: Any
    ) -> tuple[Any, ...]:
        # An order's lines and payments live in the child tables, not twice in `data`.
        slim = _slim(record) if isinstance(record, Order) else record
        values: list[Any] = [
            rid,
            connection_id,
            record.source_id,
            digest,
            _encode(slim).decode(),
            raw.decode(),
            None if (body := api_body(record)) is None else body.decode(),
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

    def _order_children(
        self, connection_id: str, record: Order
    ) -> list[tuple[int, tuple[Any, ...]]]:
        """(child table index, row without its order_row): line components and payments."""
        m = to_micros
        out: list[tuple[int, tuple[Any, ...]]] = []
        tails = self._line_tails
        # Each entry keeps its line alive. Lines are shared only through the mapping's own
        # caches (a hot set of thousands); where a vendor's lines are never shared, a big
        # bound only held every line of the sync: 100k entries made a worker grow by
        # ~80 MB with the world (bench/README.md, memory at 10×).
        if len(tails) > _LINE_TAILS:
            tails.clear()
        for line in record.lines:
            # Mapping shares identical line objects between orders: convert each once.
            # The rows carry the connection id, and mapping caches are shared between
            # connections: a cached conversion counts only for the same connection.
            cached = tails.get(id(line))
            if cached is None or cached[0] is not line or cached[1] != connection_id:
                cached = (line, connection_id, _line_components(connection_id, line))
                tails[id(line)] = cached
            out.extend((0, row) for row in cached[2])
        for seq, p in enumerate(record.payments, 1):
            out.append(
                (
                    1,
                    (
                        seq,
                        connection_id,
                        p.method,
                        p.vendor_method,
                        m(p.amount),
                        p.currency,
                        p.card_brand,
                        int(p.is_change),
                        m(p.tip),
                    ),
                )
            )
        return out
