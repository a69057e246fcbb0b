"""Alembic environment: runs on the connection posbridge hands it (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from posbridge.store.db import include_name
from posbridge.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a misconfigured caller
    raise RuntimeError("posbridge migrations run through posbridge.store.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
