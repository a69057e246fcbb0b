"""Opening the store: engine set-up per dialect and migrations to the current head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from posbridge.errors import StoreError
from posbridge.store.dberrors import storage_error

__all__ = ["create_db_engine", "include_name", "migrate", "schema_is_current"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (status, export, the API) run during a sync; NORMAL is durable
    # against a process crash, which is what the page+cursor transaction relies on.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 32 MB page cache: the hot index pages of a large orders table stay in memory while
    # syncing (64 MB measured no faster, 16 MB 10% slower; bench/README.md).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint every 64 MB of WAL instead of 4 MB: a bulk sync pays for far fewer
    # checkpoints (each one an fsync); readers are unaffected.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite tuned for concurrent readers and crash safety."""
    try:
        engine = sa.create_engine(url, future=True)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"database driver for {url.split(':')[0]!r} is not installed: {exc.name}"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if database and database.startswith("file:") and engine.url.query.get("uri"):
            database = database[len("file:") :]  # an SQLite URI (`?mode=ro&uri=true`)
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.exists():
                raise StoreError(f"folder {parent} for the database does not exist")
    return engine


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic compares only our tables: the job queue's (procrastinate_*) are not ours."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def _alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    try:
        if schema_is_current(engine):  # the common case: skip loading the migration scripts
            return
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except OperationalError as exc:
        problem = storage_error(exc, engine)
        if problem is not None:
            raise problem from None
        raise StoreError(f"cannot open or migrate the database: {exc.orig}") from None


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return current == head
