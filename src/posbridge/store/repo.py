"""The store's repository: connections, stream state, budgets, runs, quarantine, reads.

Everything except the record hot path (`records.py`) goes through SQLAlchemy Core here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from posbridge.errors import StoreError, SyncError
from posbridge.model import MODELS, LineModifier, OrderLine, Payment, Record
from posbridge.store.crypto import Vault
from posbridge.store.db import create_db_engine, migrate
from posbridge.store.nonces import NonceCounters
from posbridge.store.owners import current_owner, interrupt_dead_runs
from posbridge.store.paging import Filter, PageShape, page_params, page_statement
from posbridge.store.queue import enqueue_sync, has_job_queue
from posbridge.store.records import RecordWriter
from posbridge.store.tables import (
    RECORD_TABLES,
    connections,
    order_lines,
    order_payments,
    quarantine,
    request_budget,
    stream_state,
    sync_runs,
)

__all__ = ["ConnectionRow", "Store", "StoredRecord"]

#: version of the JSON layout in stream_state.state; bump with a migration function.
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """A configured vendor connection (credentials stay encrypted until asked for)."""

    id: str
    name: str
    vendor: str
    base_url: str
    status: str
    status_reason: str | None
    deferred_until: datetime | None
    settings: dict[str, Any]
    credentials_version: int
    created_at: datetime
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A normalized record as stored, with its store metadata and raw vendor payload."""

    id: str
    connection_id: str
    record: Record
    raw: dict[str, Any]
    first_seen_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def _order_children(
    conn: sa.Connection, row_ids: list[int]
) -> dict[int, tuple[list[OrderLine], list[Payment]]]:
    """Rebuild orders' lines (from their components) and payments from the child tables."""
    out: dict[int, tuple[list[OrderLine], list[Payment]]] = {r: ([], []) for r in row_ids}
    if not row_ids:
        return out
    lc, pc = order_lines.c, order_payments.c
    parts: dict[tuple[int, int], list[Any]] = {}
    for r in conn.execute(
        sa.select(order_lines)
        .where(lc.order_row.in_(row_ids))
        .order_by(lc.order_row, lc.line_no, lc.component)
    ):
        parts.setdefault((r.order_row, r.line_no), []).append(r)
    for (row_id, line_no), comps in parts.items():
        base, mods = comps[0], comps[1:]
        modifiers = [
            LineModifier(
                name=c.name,
                modifier_source_id=c.item_source_id,
                unit_price_gross=c.unit_price_gross,
                tax_rate=c.tax_rate,
                gross=c.gross,
                net=c.net,
                tax=c.tax,
            )
            for c in mods
        ]
        out[row_id][0].append(
            OrderLine(
                line_no=line_no,
                product_source_id=base.item_source_id,
                name=base.name,
                quantity=base.quantity,
                unit_price_gross=base.unit_price_gross,
                tax_rate=base.tax_rate,
                discount=base.discount,
                gross=sum((c.gross for c in comps), Decimal(0)),
                net=sum((c.net for c in comps), Decimal(0)),
                tax=sum((c.tax for c in comps), Decimal(0)),
                modifiers=modifiers,
            )
        )
    for r in conn.execute(
        sa.select(order_payments).where(pc.order_row.in_(row_ids)).order_by(pc.order_row, pc.seq)
    ):
        out[r.order_row][1].append(
            Payment(
                method=r.method,
                vendor_method=r.vendor_method,
                amount=r.amount,
                currency=r.currency,
                card_brand=r.card_brand,
                is_change=bool(r.is_change),
                tip=r.tip,
            )
        )
    return {k: v for k, v in out.items() if v[0] or v[1]}


def _table(object_type: str) -> sa.Table:
    if object_type not in RECORD_TABLES:
        raise SyncError(f"unknown object type {object_type!r}; known: {', '.join(RECORD_TABLES)}")
    return RECORD_TABLES[object_type]


def record_select(table: sa.Table) -> sa.Select[Any]:
    """The columns a StoredRecord is built from."""
    return sa.select(
        table.c.row_id,
        table.c.id,
        table.c.connection_id,
        table.c.data,
        table.c.raw,
        table.c.first_seen_at,
        table.c.updated_at,
        table.c.deleted_at,
    )


def materialize(
    conn: sa.Connection, object_type: str, rows: Sequence[Any]
) -> Iterator[StoredRecord]:
    """Decode stored rows into records; orders get their lines and payments back."""
    decoder = _decoder(object_type)
    children = _order_children(conn, [r.row_id for r in rows]) if object_type == "order" else {}
    for r in rows:
        record = decoder.decode(r.data)
        if r.row_id in children:
            lines, payments = children[r.row_id]
            record = msgspec.structs.replace(record, lines=lines, payments=payments)
        yield StoredRecord(
            id=r.id,
            connection_id=r.connection_id,
            record=record,
            raw=msgspec.json.decode(r.raw),
            first_seen_at=r.first_seen_at,
            updated_at=r.updated_at,
            deleted_at=r.deleted_at,
        )


@cache
def _decoder(object_type: str) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(MODELS[object_type])


def _now() -> datetime:
    return datetime.now(UTC)


def _dialect_insert(conn: sa.Connection) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if conn.dialect.name == "postgresql":
        return pg_insert
    return sqlite_insert


class Store:
    """One database: opened, migrated, and the only way the rest of posbridge touches it."""

    def __init__(self, engine: Engine, vault: Vault) -> None:
        self.engine = engine
        self.vault = vault
        self.writer = RecordWriter(engine.dialect.name)
        self.nonces = NonceCounters(engine)

    @classmethod
    def open(cls, url: str, vault: Vault) -> Store:
        """Open (and migrate) the database at `url`."""
        engine = create_db_engine(url)
        migrate(engine)
        return cls(engine, vault)

    def close(self) -> None:
        """Dispose of pooled connections."""
        self.engine.dispose()

    # -- connections ----------------------------------------------------------------------
    def add_connection(
        self,
        name: str,
        vendor: str,
        base_url: str,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any] | None = None,
    ) -> ConnectionRow:
        """Create a connection with its credentials encrypted to its own id."""
        cid = "con_" + secrets.token_hex(8)
        now = _now()
        blob = self.vault.encrypt(msgspec.json.encode(dict(credentials)), context=cid)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    connections.insert().values(
                        id=cid,
                        name=name,
                        vendor=vendor,
                        base_url=base_url,
                        credentials=blob,
                        credentials_version=1,
                        settings=msgspec.json.encode(dict(settings or {})).decode(),
                        status="ok",
                        created_at=now,
                        updated_at=now,
                    )
                )
                if has_job_queue(conn):  # its first sync commits with it (or neither does)
                    enqueue_sync(conn, cid)
        except IntegrityError:
            raise SyncError(
                f"a connection named {name!r} exists already; pick another --name"
            ) from None
        return self.get_connection(name)

    def update_credentials(
        self, name: str, credentials: Mapping[str, str], base_url: str | None = None
    ) -> None:
        """Replace credentials; clears a needs-attention state caused by the old ones."""
        row = self.get_connection(name)
        blob = self.vault.encrypt(msgspec.json.encode(dict(credentials)), context=row.id)
        values: dict[str, Any] = {
            "credentials": blob,
            "status": "ok",
            "status_reason": None,
            "credentials_version": row.credentials_version + 1,
            "updated_at": _now(),
        }
        if base_url:
            values["base_url"] = base_url
        with self.engine.begin() as conn:
            conn.execute(connections.update().where(connections.c.id == row.id).values(**values))

    def _to_row(self, r: sa.Row[Any]) -> ConnectionRow:
        return ConnectionRow(
            id=r.id,
            name=r.name,
            vendor=r.vendor,
            base_url=r.base_url,
            status=r.status,
            status_reason=r.status_reason,
            deferred_until=r.deferred_until,
            settings=msgspec.json.decode(r.settings),
            credentials_version=r.credentials_version,
            created_at=r.created_at,
            account_id=r.account_id,
        )

    def get_connection(self, name_or_id: str) -> ConnectionRow:
        """A connection by name or id; a clear error naming the known ones otherwise."""
        with self.engine.connect() as conn:
            r = conn.execute(
                connections.select().where(
                    sa.or_(connections.c.name == name_or_id, connections.c.id == name_or_id)
                )
            ).first()
        if r is None:
            known = ", ".join(c.name for c in self.list_connections()) or "none yet"
            raise SyncError(
                f"no connection named {name_or_id!r} (known: {known}); "
                "create one with `posbridge connect`"
            )
        return self._to_row(r)

    def list_connections(self) -> list[ConnectionRow]:
        """All connections, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(connections.select().order_by(connections.c.name)).all()
        return [self._to_row(r) for r in rows]

    def credentials(self, row: ConnectionRow) -> dict[str, str]:
        """Decrypt a connection's credentials (only the connector factory asks)."""
        with self.engine.connect() as conn:
            blob = conn.execute(
                sa.select(connections.c.credentials).where(connections.c.id == row.id)
            ).scalar_one()
        result: dict[str, str] = msgspec.json.decode(self.vault.decrypt(blob, context=row.id))
        return result

    def delete_connection(self, connection_id: str) -> None:
        """Delete a connection and, through the foreign keys, everything synced from it."""
        with self.engine.begin() as conn:
            conn.execute(connections.delete().where(connections.c.id == connection_id))

    def set_status(
        self,
        connection_id: str,
        status: str,
        reason: str | None = None,
        deferred_until: datetime | None = None,
    ) -> None:
        """Record the connection's health: ok, needs_attention, deferred, locked."""
        with self.engine.begin() as conn:
            conn.execute(
                connections.update()
                .where(connections.c.id == connection_id)
                .values(
                    status=status,
                    status_reason=reason,
                    deferred_until=deferred_until,
                    updated_at=_now(),
                )
            )

    # -- stream state and budget -----------------------------------------------------------
    def stream_states(self, connection_id: str) -> dict[str, dict[str, Any]]:
        """Every stream's stored state row, keyed by stream name."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                stream_state.select().where(stream_state.c.connection_id == connection_id)
            ).all()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r.state_version > STATE_VERSION:
                raise StoreError(
                    f"stream state of {r.stream!r} was written by a newer posbridge "
                    f"(state version {r.state_version}); upgrade posbridge"
                )
            out[r.stream] = {
                "state": msgspec.json.decode(r.state),
                "last_success_at": r.last_success_at,
                "last_attempt_at": r.last_attempt_at,
                "last_error": r.last_error,
                "records_total": r.records_total,
            }
        return out

    def put_state(
        self,
        conn: sa.Connection,
        connection_id: str,
        stream: str,
        state: Mapping[str, Any] | None,
        now: datetime,
        *,
        success: bool = False,
        error: str | None = None,
        records: int = 0,
    ) -> None:
        """Upsert a stream's state inside the caller's transaction (with the page)."""
        values: dict[str, Any] = {"last_attempt_at": now, "last_error": error}
        if state is not None:
            values["state"] = msgspec.json.encode(dict(state)).decode()
            values["state_version"] = STATE_VERSION
        if success:
            values["last_success_at"] = now
        updated = conn.execute(
            stream_state.update()
            .where(stream_state.c.connection_id == connection_id, stream_state.c.stream == stream)
            .values(records_total=stream_state.c.records_total + records, **values)
        ).rowcount
        if not updated:
            values.setdefault("state", "{}")
            values["state_version"] = STATE_VERSION
            conn.execute(
                stream_state.insert().values(
                    connection_id=connection_id, stream=stream, records_total=records, **values
                )
            )

    def budget_used(self, connection_id: str, day: str) -> int:
        """Requests already spent on `day` (vendor-local date) by any worker."""
        with self.engine.connect() as conn:
            used = conn.execute(
                sa.select(request_budget.c.used).where(
                    request_budget.c.connection_id == connection_id, request_budget.c.day == day
                )
            ).scalar()
        return int(used or 0)

    def put_budget(self, conn: sa.Connection, connection_id: str, day: str, added: int) -> None:
        """Add `added` requests to the day's count in one atomic statement.

        An upsert that increments (never a read-then-write), so concurrent processes
        spending the same connection's budget on PostgreSQL lose no counts.
        """
        if added <= 0:
            return
        insert = _dialect_insert(conn)(request_budget).values(
            connection_id=connection_id, day=day, used=added
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[request_budget.c.connection_id, request_budget.c.day],
                set_={"used": request_budget.c.used + insert.excluded.used},
            )
        )

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, connection_id: str, trigger: str, now: datetime) -> int:
        """Open a sync run record, owned by the current queue job or process."""
        owner = current_owner()
        with self.engine.begin() as conn:
            run_id = conn.execute(
                sync_runs.insert().values(
                    connection_id=connection_id,
                    trigger=trigger,
                    status="running",
                    started_at=now,
                    requests=0,
                    summary="{}",
                    job_id=owner.job_id,
                    worker_id=owner.worker_id,
                    host=owner.host,
                    pid=owner.pid,
                )
            ).inserted_primary_key
        assert run_id is not None
        return int(run_id[0])

    def finish_run(
        self,
        run_id: int,
        status: str,
        requests: int,
        summary: Mapping[str, Any],
        error: str | None,
        now: datetime,
    ) -> None:
        """Close a sync run record with its per-stream summary."""
        with self.engine.begin() as conn:
            conn.execute(
                sync_runs.update()
                .where(sync_runs.c.id == run_id)
                .values(
                    status=status,
                    requests=requests,
                    finished_at=now,
                    error=error,
                    summary=msgspec.json.encode(dict(summary)).decode(),
                )
            )

    def interrupt_dead_runs(self, *, stalled_after: float | None = None) -> int:
        """Close the runs whose worker or process died as `interrupted` (store/owners.py)."""
        return interrupt_dead_runs(self.engine, stalled_after=stalled_after)

    def runs_of_job(self, job_id: int) -> list[dict[str, Any]]:
        """The runs a queued sync job made (more than one if a worker died under it)."""
        self.interrupt_dead_runs()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sync_runs.select().where(sync_runs.c.job_id == job_id).order_by(sync_runs.c.id)
            ).all()
        return [dict(r._mapping) for r in rows]

    def runs(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest sync runs of a connection (dead `running` ones shown `interrupted`)."""
        self.interrupt_dead_runs()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sync_runs.select()
                .where(sync_runs.c.connection_id == connection_id)
                .order_by(sync_runs.c.id.desc())
                .limit(limit)
            ).all()
        return [dict(r._mapping) | {"summary": msgspec.json.decode(r.summary)} for r in rows]

    # -- quarantine ------------------------------------------------------------------------
    def quarantine(
        self,
        conn: sa.Connection,
        connection_id: str,
        stream: str,
        object_type: str,
        source_id: str | None,
        error_kind: str,
        reason: str,
        raw: bytes,
        run_id: int | None,
        now: datetime,
    ) -> None:
        """Keep a record that could not be used, with why, in the caller's transaction."""
        if source_id is not None:
            conn.execute(
                quarantine.delete().where(
                    quarantine.c.connection_id == connection_id,
                    quarantine.c.stream == stream,
                    quarantine.c.source_id == source_id,
                )
            )
        conn.execute(
            quarantine.insert().values(
                connection_id=connection_id,
                stream=stream,
                object_type=object_type,
                source_id=source_id,
                error_kind=error_kind,
                reason=reason,
                raw=raw.decode(errors="replace"),
                run_id=run_id,
                created_at=now,
            )
        )

    def resolve_quarantined(
        self,
        conn: sa.Connection,
        connection_id: str,
        stream: str,
        source_ids: list[str],
        now: datetime,
    ) -> None:
        """Mark quarantined records resolved once they map (after a fix or a vendor edit)."""
        for start in range(0, len(source_ids), 500):
            conn.execute(
                quarantine.update()
                .where(
                    quarantine.c.connection_id == connection_id,
                    quarantine.c.stream == stream,
                    quarantine.c.source_id.in_(source_ids[start : start + 500]),
                    quarantine.c.resolved_at.is_(None),
                )
                .values(resolved_at=now)
            )

    def resolve_quarantine_entry(
        self,
        conn: sa.Connection,
        entry_id: int,
        now: datetime,
        still: tuple[str, str] | None = None,
    ) -> None:
        """Mark one quarantine row resolved, or (`still`) record why it still fails."""
        stmt = quarantine.update().where(quarantine.c.id == entry_id)
        if still is None:
            conn.execute(stmt.values(resolved_at=now))
        else:
            conn.execute(stmt.values(error_kind=still[0], reason=still[1], created_at=now))

    def quarantined(
        self, connection_id: str | None = None, *, unresolved: bool = True
    ) -> list[dict[str, Any]]:
        """Quarantined records, newest first."""
        q = quarantine.select().order_by(quarantine.c.id.desc())
        if connection_id:
            q = q.where(quarantine.c.connection_id == connection_id)
        if unresolved:
            q = q.where(quarantine.c.resolved_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q).all()]

    def quarantined_ids(self, connection_id: str, stream: str) -> set[str]:
        """Source ids of a stream's unresolved quarantined records."""
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(quarantine.c.source_id).where(
                        quarantine.c.connection_id == connection_id,
                        quarantine.c.stream == stream,
                        quarantine.c.resolved_at.is_(None),
                        quarantine.c.source_id.is_not(None),
                    )
                ).scalars()
            )

    # -- reads -----------------------------------------------------------------------------
    def records(
        self,
        object_type: str,
        connection_id: str | None = None,
        *,
        include_deleted: bool = False,
        batch: int = 2000,
    ) -> Iterator[StoredRecord]:
        """Stream stored records of one type, decoded back into the model."""
        table = _table(object_type)
        q = record_select(table)
        if connection_id:
            q = q.where(table.c.connection_id == connection_id)
        if not include_deleted:
            q = q.where(table.c.deleted_at.is_(None))
        q = q.order_by(table.c.connection_id, table.c.occurred_at, table.c.source_id)
        with self.engine.connect() as conn, self.engine.connect() as side:
            result = conn.execution_options(yield_per=batch).execute(q)
            for rows in result.partitions():
                yield from materialize(side, object_type, rows)

    def page(
        self,
        object_type: str,
        connection_ids: Sequence[str],
        filters: Sequence[Filter] = (),
        *,
        after_row: int | None,
        limit: int,
    ) -> list[tuple[int, StoredRecord]]:
        """One page of records of these connections in `row_id` order after a cursor."""
        q, params = self._page(object_type, "records", connection_ids, filters, after_row, limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q, params).all()
            return list(
                zip([r.row_id for r in rows], materialize(conn, object_type, rows), strict=True)
            )

    def page_documents(
        self,
        object_type: str,
        connection_ids: Sequence[str],
        filters: Sequence[Filter] = (),
        *,
        after_row: int | None,
        limit: int,
    ) -> list[str] | None:
        """A page of pre-encoded API documents (masked, no raw), or None if one lacks its body.

        Each stored body is spliced between its envelope fields: no record is decoded or
        built, which is what lets a list page of 100 orders with lines run at a thousand
        requests per second. Orders stored before bodies existed have none; the caller then
        builds the page from records.
        """
        q, params = self._page(object_type, "documents", connection_ids, filters, after_row, limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q, params).all()
        tail = f',"object":"{object_type}"}}'
        out = []
        for _row, rid, cid, text, first_seen, updated in rows:
            if text is None:  # an order stored before bodies existed
                return None
            out.append(
                f'{{"id":"{rid}","connection_id":"{cid}",{text[1:-1]},'
                f'"first_seen_at":"{first_seen}","updated_at":"{updated}"{tail}'
            )
        return out

    def _page(
        self,
        object_type: str,
        columns: Literal["records", "documents"],
        connection_ids: Sequence[str],
        filters: Sequence[Filter],
        after_row: int | None,
        limit: int,
    ) -> tuple[sa.Select[Any], dict[str, Any]]:
        _table(object_type)  # a clear error for an unknown type
        ids = list(dict.fromkeys(connection_ids))
        shape = PageShape(
            object_type,
            columns,
            self.engine.dialect.name,
            len(ids),
            after_row is not None,
            tuple((f.column, f.op) for f in filters),
        )
        return page_statement(shape), page_params(ids, filters, after_row, limit)

    def count(self, object_type: str, connection_id: str | None = None) -> int:
        """Live records of one type."""
        table = RECORD_TABLES[object_type]
        q = sa.select(sa.func.count()).select_from(table).where(table.c.deleted_at.is_(None))
        if connection_id:
            q = q.where(table.c.connection_id == connection_id)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())
