"""job queue: procrastinate's schema on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:00:00

The distributed workers' job queue (procrastinate) lives in the same PostgreSQL schema
as the store, so a job can be enqueued in the transaction that caused it. Its tables
are created from the installed procrastinate's own schema file; a procrastinate upgrade
that ships SQL migrations gets an Alembic migration applying them. SQLite has no job
queue (the embedded scheduler runs in-process), so this is a no-op there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    # The raw DBAPI cursor: the schema file is many statements and contains `%`.
    with bind.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in ("events", "periodic_defers", "jobs", "workers"):
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
    op.execute(
        """
        DO $$ DECLARE f record; BEGIN
          FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   WHERE p.proname LIKE 'procrastinate%' AND p.pronamespace = current_schema()::regnamespace
          LOOP EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE'; END LOOP;
        END $$
        """
    )
    for typ in ("job_to_defer_v1", "job_event_type", "job_status"):
        op.execute(f"DROP TYPE IF EXISTS procrastinate_{typ} CASCADE")
