"""The schema: connections, sync state and runs, quarantine, and one table per object type.

Every normalized object table has the same shape: the upsert key (connection_id,
source_id) — the object type is the table — the normalized record as JSON (`data`), the
vendor's record exactly as received (`raw`), a `hash` of the raw record that makes
re-reading unchanged records a no-op, and a few indexed columns that the API and
reports filter on. Orders keep their lines (one row per product or modifier component)
and payments in child tables, so revenue and VAT reports run as SQL aggregates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from posbridge.model import MODELS, table_name
from posbridge.store.types import IsoDate, ScaledDecimal, UTCDateTime

__all__ = [
    "RECORD_TABLES",
    "ROLLUP_TABLES",
    "accounts",
    "api_keys",
    "connections",
    "metadata",
    "nonce_counters",
    "order_lines",
    "order_payments",
    "outbox",
    "quarantine",
    "request_budget",
    "rollup_dirty",
    "rollup_hours",
    "rollup_payments",
    "rollup_products",
    "rollup_rates",
    "rollup_sales",
    "stream_state",
    "sync_runs",
    "table_name",
    "webhook_deliveries",
    "webhook_events",
    "webhook_subscriptions",
]


def _connection_fk(**options: Any) -> Column[str]:
    """The owning connection: deleting a connection deletes everything synced from it."""
    return Column(
        "connection_id", String(40), ForeignKey("connections.id", ondelete="CASCADE"), **options
    )


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # How the dashboard formats amounts and dates for this tenant (BCP 47, e.g. nl-BE).
    Column("locale", String(10)),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "account_id",
        String(40),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # sha256 of the key: keys are shown once and never stored in clear
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

connections = Table(
    "connections",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id", ondelete="CASCADE"), index=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("vendor", String(40), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("credentials", LargeBinary, nullable=False),
    Column("credentials_version", Integer, nullable=False, default=1),
    Column("settings", Text, nullable=False, default="{}"),
    Column("status", String(32), nullable=False, default="ok"),
    Column("status_reason", Text),
    Column("deferred_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    # Every write is recorded here before it is sent; the idempotency key is per account.
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    _connection_fk(nullable=False, index=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("command", String(80), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("response", Text),
    Column("http_status", Integer),
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("account_id", "idempotency_key"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "account_id",
        String(40),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("secret", LargeBinary, nullable=False),  # encrypted, bound to the subscription id
    Column("active", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime(), nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    # The durable event log: ids grow, so deliveries per subscription keep event order.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "account_id",
        String(40),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("type", String(60), nullable=False),
    Column("object_id", String(200)),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        String(40),
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "event_id", Integer, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False
    ),
    Column("status", String(20), nullable=False),  # pending, delivered
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime()),
    Index("ix_webhook_deliveries_due", "status", "subscription_id", "event_id"),
)

stream_state = Table(
    "stream_state",
    metadata,
    _connection_fk(primary_key=True),
    Column("stream", String(60), primary_key=True),
    Column("state", Text, nullable=False, default="{}"),
    Column("state_version", Integer, nullable=False, default=1),
    Column("last_success_at", UTCDateTime()),
    Column("last_attempt_at", UTCDateTime()),
    Column("last_error", Text),
    Column("records_total", BigInteger, nullable=False, default=0),
)

request_budget = Table(
    "request_budget",
    metadata,
    _connection_fk(primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("used", Integer, nullable=False, default=0),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _connection_fk(nullable=False, index=True),
    Column("trigger", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("requests", Integer, nullable=False, default=0),
    Column("summary", Text, nullable=False, default="{}"),
    Column("error", Text),
    # the owner, to find runs whose process died (migration 0010): a queue job and its
    # worker, or the host and pid of an in-process sync
    Column("job_id", BigInteger),
    Column("worker_id", BigInteger),
    Column("host", String(255)),
    Column("pid", Integer),
    Index("ix_sync_runs_status", "status"),
)

#: one strictly increasing counter per scope (an iCash API key + warehouse, hashed)
nonce_counters = Table(
    "nonce_counters",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("last_nonce", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _connection_fk(nullable=False, index=True),
    Column("stream", String(60), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("source_id", String(200)),
    Column("error_kind", String(60), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("run_id", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    UniqueConstraint("connection_id", "stream", "source_id"),
)


#: BIGINT identity on PostgreSQL; INTEGER PRIMARY KEY (the rowid itself) on SQLite.
_ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


def _record_table(object_type: str) -> Table:
    name = table_name(object_type)
    return Table(
        name,
        metadata,
        # An integer key grows with inserts, so child rows land at the end of their b-trees
        # (random text keys made child inserts 3x slower); `id` is the stable public id.
        Column("row_id", _ROW_ID, primary_key=True, autoincrement=True),
        Column("id", String(40), nullable=False, unique=True),
        _connection_fk(nullable=False),
        Column("source_id", String(200), nullable=False),
        Column("hash", String(32), nullable=False),
        Column("data", Text, nullable=False),
        Column("raw", Text, nullable=False),
        # The API document body, pre-encoded at write time when it differs from `data`
        # (orders with their lines and payments, parties with personal data masked): list
        # pages then splice bytes instead of rebuilding records (perf-limits §3).
        Column("doc", Text),
        Column("source_updated_at", UTCDateTime()),
        Column("occurred_at", UTCDateTime()),
        Column("business_date", IsoDate()),
        Column("location_source_id", String(200)),
        Column("device_source_id", String(200)),
        Column("customer_source_id", String(200)),
        Column("employee_source_id", String(200)),
        Column("number", String(100)),
        Column("kind", String(40)),
        Column("status", String(40)),
        Column("currency", String(3)),
        Column("total_gross", ScaledDecimal()),
        Column("first_seen_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("deleted_at", UTCDateTime()),
        UniqueConstraint("connection_id", "source_id"),
        Index(f"ix_{name}_connection_occurred", "connection_id", "occurred_at"),
        # API lists page in row order per connection: an index walk that stops at the limit.
        Index(f"ix_{name}_connection_row", "connection_id", "row_id"),
        Index(f"ix_{name}_connection_updated", "connection_id", "updated_at"),
    )


#: object type → its table, one per normalized model.
RECORD_TABLES: dict[str, Table] = {t: _record_table(t) for t in MODELS}

order_lines = Table(
    "order_lines",
    metadata,
    # One row per line component: 0 is the product part, 1..n its modifiers, each with its
    # own VAT rate, so revenue and VAT by rate are plain SUMs; a line's totals are the sum of
    # its components. The order's `data` JSON omits lines and payments: they live here.
    Column(
        "order_row", BigInteger, ForeignKey("orders.row_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("line_no", Integer, primary_key=True),
    Column("component", Integer, primary_key=True),
    Column("connection_id", String(40), nullable=False),
    Column("item_source_id", String(200)),
    Column("name", Text),
    Column("quantity", ScaledDecimal(), nullable=False),
    Column("unit_price_gross", ScaledDecimal(), nullable=False),
    Column("tax_rate", ScaledDecimal(), nullable=False),
    Column("discount", ScaledDecimal(), nullable=False),
    Column("gross", ScaledDecimal(), nullable=False),
    Column("net", ScaledDecimal(), nullable=False),
    Column("tax", ScaledDecimal(), nullable=False),
    sqlite_with_rowid=False,
)

order_payments = Table(
    "order_payments",
    metadata,
    Column(
        "order_row", BigInteger, ForeignKey("orders.row_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("seq", Integer, primary_key=True),
    Column("connection_id", String(40), nullable=False),
    Column("method", String(40), nullable=False),
    Column("vendor_method", String(100), nullable=False),
    Column("amount", ScaledDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_brand", String(60)),
    Column("is_change", Integer, nullable=False, default=0),
    Column("tip", ScaledDecimal(), nullable=False),
    sqlite_with_rowid=False,
)


# -- per-day revenue rollups -------------------------------------------------------------
# Reports read these instead of scanning millions of line rows. A page that writes or
# deletes orders marks their (connection, business day) dirty in its own transaction;
# `store/rollups.py` recomputes dirty days after a sync and before any report, so a
# report is never stale. Orders without a business day roll up under `date.min`.


def _rollup(name: str, *keys: Column[Any], sums: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        _connection_fk(nullable=False, primary_key=True),
        Column("business_date", IsoDate(), primary_key=True),
        Column("currency", String(3), primary_key=True),
        *keys,
        Column("orders", Integer, nullable=False),
        *(Column(s, BigInteger, nullable=False) for s in sums),
    )


_LINE_SUMS = ("net", "tax", "gross")
rollup_dirty = Table(
    "rollup_dirty",
    metadata,
    _connection_fk(nullable=False, primary_key=True),
    Column("business_date", IsoDate(), primary_key=True),
)
#: line totals (integer millionths) per day, location, device and employee
rollup_sales = _rollup(
    "rollup_sales",
    Column("location_source_id", String(200), primary_key=True),
    Column("device_source_id", String(200), primary_key=True),
    Column("employee_source_id", String(200), primary_key=True),
    sums=_LINE_SUMS,
)
rollup_rates = _rollup(
    "rollup_rates", Column("tax_rate", BigInteger, primary_key=True), sums=_LINE_SUMS
)
rollup_products = _rollup(
    "rollup_products",
    Column("item_source_id", String(200), primary_key=True),
    sums=("quantity", *_LINE_SUMS),
)
rollup_payments = _rollup(
    "rollup_payments", Column("method", String(40), primary_key=True), sums=("amount",)
)
#: order totals per local weekday (0 = Monday) and hour, for the heat map
rollup_hours = _rollup(
    "rollup_hours",
    Column("weekday", Integer, primary_key=True),
    Column("hour", Integer, primary_key=True),
    sums=("gross",),
)

#: rollup table name → table (the record writer adds new orders to them)
ROLLUP_TABLES: dict[str, Table] = {
    t.name: t for t in (rollup_sales, rollup_rates, rollup_products, rollup_payments, rollup_hours)
}
