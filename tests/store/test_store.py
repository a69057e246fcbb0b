"""The store: exact money, encrypted credentials, keyed upserts, state and quarantine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
import pytest
import sqlalchemy as sa

from posbridge.errors import StoreError, SyncError
from posbridge.model import Order, OrderLine, Payment, Product, TaxTotal
from posbridge.store.crypto import Vault, load_or_create_key
from posbridge.store.db import schema_is_current
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES, connections
from posbridge.store.types import from_micros, to_micros

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _order(source_id: str, total: str = "12.34") -> Order:
    gross = Decimal(total)
    return Order(
        source_id=source_id,
        number=source_id,
        occurred_at=NOW,
        source_timezone="Europe/Brussels",
        business_date=date(2026, 11, 1),
        currency="EUR",
        total_gross=gross,
        total_net=gross - Decimal("2.14"),
        total_tax=Decimal("2.14"),
        lines=[
            OrderLine(
                line_no=1,
                quantity=Decimal(1),
                unit_price_gross=gross,
                tax_rate=Decimal(21),
                gross=gross,
                net=gross - Decimal("2.14"),
                tax=Decimal("2.14"),
            )
        ],
        payments=[Payment(method="cash", vendor_method="cash", amount=gross, currency="EUR")],
        taxes=[
            TaxTotal(
                rate=Decimal(21), net=gross - Decimal("2.14"), tax=Decimal("2.14"), gross=gross
            )
        ],
    )


def test_micros_are_exact_and_refuse_precision_loss() -> None:
    """Money survives the integer encoding exactly, and 7 decimals are refused, not rounded."""
    for text in ("0.01", "-3.10", "12345678.123456", "0"):
        assert from_micros(to_micros(Decimal(text))) == Decimal(text)
    with pytest.raises(ValueError, match="more than 6 decimals"):
        to_micros(Decimal("0.0000001"))


def test_migrations_reach_head(store: Store) -> None:
    """Opening a store migrates it to the newest schema, and reopening is a no-op."""
    assert schema_is_current(store.engine)
    again = Store.open(str(store.engine.url.render_as_string(hide_password=False)), store.vault)
    assert schema_is_current(again.engine)
    again.close()


def test_credentials_are_encrypted_and_bound_to_their_row(store: Store) -> None:
    """The token never appears in the row, and a ciphertext moved to another row fails."""
    a = store.add_connection("a", "cloudpos", "http://x/", {"token": "canary-secret-123"})
    b = store.add_connection("b", "cloudpos", "http://x/", {"token": "other"})
    with store.engine.connect() as conn:
        blob = conn.execute(
            sa.select(connections.c.credentials).where(connections.c.id == a.id)
        ).scalar_one()
    assert b"canary-secret-123" not in blob
    assert store.credentials(a) == {"token": "canary-secret-123"}
    with store.engine.begin() as conn:
        conn.execute(connections.update().where(connections.c.id == b.id).values(credentials=blob))
    with pytest.raises(StoreError, match="cannot be decrypted"):
        store.credentials(b)


def test_duplicate_connection_name_is_a_clear_error(store: Store) -> None:
    """A second connection with the same name says to pick another name."""
    store.add_connection("shop", "cloudpos", "http://x/", {})
    with pytest.raises(SyncError, match="exists already"):
        store.add_connection("shop", "cloudpos", "http://x/", {})


def test_upsert_is_keyed_and_skips_unchanged(store: Store) -> None:
    """The same page twice writes once; a changed raw record updates in place, children replaced."""
    cid = store.add_connection("s", "cloudpos", "http://x/", {}).id
    page = [(_order("1"), b'{"id":1}'), (_order("2"), b'{"id":2}')]
    with store.engine.begin() as conn:
        first = store.writer.write(conn, cid, "order", page, NOW)
    with store.engine.begin() as conn:
        second = store.writer.write(conn, cid, "order", page, NOW)
    with store.engine.begin() as conn:
        third = store.writer.write(
            conn, cid, "order", [(_order("2", "20.00"), b'{"id":2,"x":1}')], NOW
        )
    assert (first.inserted, second.unchanged, third.updated) == (2, 2, 1)
    stored = {r.record.source_id: r.record for r in store.records("order", cid)}
    assert len(stored) == 2
    assert stored["2"].total_gross == Decimal("20.00")
    with store.engine.connect() as conn:
        lines = conn.exec_driver_sql("SELECT COUNT(*) FROM order_lines").scalar_one()
    assert lines == 2


def test_page_that_repeats_a_record_keeps_one(store: Store) -> None:
    """A record repeated within a page is stored once, with its last version."""
    cid = store.add_connection("s", "cloudpos", "http://x/", {}).id
    page = [(_order("1"), b'{"v":1}'), (_order("1", "9.99"), b'{"v":2}')]
    with store.engine.begin() as conn:
        store.writer.write(conn, cid, "order", page, NOW)
    (only,) = list(store.records("order", cid))
    assert only.record.total_gross == Decimal("9.99")
    assert only.raw == {"v": 2}


def test_mark_missing_soft_deletes_and_revives(store: Store) -> None:
    """Records absent from a full read are soft-deleted and come back when they reappear."""
    cid = store.add_connection("s", "cloudpos", "http://x/", {}).id
    items = [(Product(source_id=str(i), name=f"p{i}"), f'{{"id":{i}}}'.encode()) for i in range(3)]
    with store.engine.begin() as conn:
        store.writer.write(conn, cid, "product", items, NOW)
        gone = store.writer.mark_missing(conn, cid, "product", {"0", "1"}, NOW)
    assert gone == 1
    assert store.count("product", cid) == 2
    with store.engine.begin() as conn:
        store.writer.write(conn, cid, "product", items[2:], NOW)
    assert store.count("product", cid) == 3


def test_sqlite_money_columns_are_integers(sqlite_url: str, vault: Vault) -> None:
    """SQLite stores money as integers, so SUM() in SQL is exact (no REAL affinity)."""
    s = Store.open(sqlite_url, vault)
    cid = s.add_connection("s", "cloudpos", "http://x/", {}).id
    with s.engine.begin() as conn:
        s.writer.write(
            conn,
            cid,
            "order",
            [(_order(str(i), "0.10"), b"{}" + str(i).encode()) for i in range(3)],
            NOW,
        )
    with s.engine.connect() as conn:
        kind, total = conn.exec_driver_sql(
            "SELECT typeof(total_gross), SUM(total_gross) FROM orders"
        ).one()
    assert kind == "integer"
    assert from_micros(total) == Decimal("0.30")
    s.close()


def test_key_file_is_created_private(tmp_path: object) -> None:
    """Without a secret, a random key is generated once into a 0600 file and reused."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "k.key"
    key = load_or_create_key(None, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_or_create_key(None, path) == key
    assert load_or_create_key("pass", path) != key


def test_state_and_quarantine_round_trip(store: Store) -> None:
    """Stream state and quarantined records are stored and resolved."""
    cid = store.add_connection("s", "cloudpos", "http://x/", {}).id
    with store.engine.begin() as conn:
        store.put_state(conn, cid, "orders", {"last_id": 7}, NOW, records=3)
        store.quarantine(
            conn, cid, "orders", "order", "9", "MappingError", "bad", b'{"id":9}', None, NOW
        )
    assert store.stream_states(cid)["orders"]["state"] == {"last_id": 7}
    assert store.quarantined_ids(cid, "orders") == {"9"}
    with store.engine.begin() as conn:
        store.resolve_quarantined(conn, cid, "orders", ["9"], NOW)
    assert store.quarantined(cid) == []
    assert msgspec.json.decode(b"{}") == {}
    assert RECORD_TABLES["order"].name == "orders"


def test_migrations_match_the_table_definitions(store: Store) -> None:
    """The migrated schema has no drift from tables.py (a schema change needs a migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from posbridge.store.db import include_name
    from posbridge.store.tables import metadata

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        assert compare_metadata(context, metadata) == []
