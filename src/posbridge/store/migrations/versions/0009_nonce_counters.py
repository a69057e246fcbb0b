"""nonce counters: iCash nonces shared by every process through the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00

Workers on many machines share one iCash API key, so its strictly increasing nonce can
no longer live in a per-machine file. One row per (API key, warehouse), keyed by a
SHA-256 of both (the key itself is a credential and never stored in clear).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posbridge.store.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nonce_counters",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("last_nonce", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nonce_counters")
