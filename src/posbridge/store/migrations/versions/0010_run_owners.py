"""run owners: which process or queue job runs a sync, to find runs that died

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:30:00

A worker killed mid-sync leaves its run `running` for ever. Recording the owner (the
job queue's job and worker ids, or the host and pid of an in-process sync) lets the
recovery pass and `posbridge status` mark such runs `interrupted`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("worker_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
    op.create_index("ix_sync_runs_status", "sync_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sync_runs_status", "sync_runs")
    with op.batch_alter_table("sync_runs") as batch:
        for column in ("pid", "host", "worker_id", "job_id"):
            batch.drop_column(column)
