"""Database failures a user can fix, told apart from bugs: disk full, read-only, unavailable.

SQLite and PostgreSQL report them differently (an extended result code, an SQLSTATE, a
dropped connection); `storage_error` turns each into one `StoreError` subclass whose message
says what is wrong and what to do, so the CLI prints a line instead of a traceback and the
engine stops the run instead of failing stream after stream against a dead database.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from posbridge.errors import DatabaseFull, DatabaseReadOnly, DatabaseUnavailable, StoreError

__all__ = ["storage_error"]

#: PostgreSQL SQLSTATEs: disk full, out of memory/resources, read-only transaction
_PG_FULL = {"53100", "53200", "53000"}
_PG_READ_ONLY = {"25006"}
#: admin/crash shutdown, cannot connect now, and every connection exception (class 08)
_PG_DOWN_PREFIX = ("57P", "08")


def _where(engine: Engine | None) -> str:
    if engine is None:
        return "the database"
    if engine.dialect.name == "sqlite":
        return f"the SQLite file {engine.url.database}"
    return f"the PostgreSQL database at {engine.url.host}:{engine.url.port or 5432}"


def storage_error(exc: BaseException, engine: Engine | None = None) -> StoreError | None:
    """The `StoreError` a database exception (wrapped by SQLAlchemy or straight from the
    driver) stands for, or None if it is not one of them."""
    # SQLAlchemy wraps driver errors; the bulk writes call the driver directly (unwrapped).
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if not isinstance(orig, sqlite3.Error | psycopg.Error):
        return None
    where = _where(engine)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        primary = None if code is None else code & 0xFF
        if primary == sqlite3.SQLITE_FULL:
            return DatabaseFull(
                f"{where} cannot grow: the disk is full ({orig}). Free space on that disk "
                "or move the database (--database-url), then run the command again; "
                "every page committed before this is kept, the failed one was rolled back"
            )
        if primary == sqlite3.SQLITE_READONLY:
            return DatabaseReadOnly(
                f"{where} is read-only ({orig}). Make the file, its folder and the disk "
                "writable for this user (e.g. remount the disk read-write), then run the "
                "command again"
            )
        if primary == sqlite3.SQLITE_CANTOPEN:
            return DatabaseReadOnly(
                f"cannot open {where} for writing ({orig}): its folder or disk is missing or "
                "read-only (SQLite needs to create -wal/-shm files beside it). Make it "
                "writable, then run the command again"
            )
        return None
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate in _PG_FULL:
        return DatabaseFull(
            f"{where} is out of disk space ({orig}). Free space on the server, "
            "then run the command again; committed pages are kept"
        )
    if sqlstate in _PG_READ_ONLY:
        return DatabaseReadOnly(
            f"{where} refuses writes ({orig}): it is a read-only replica or in read-only "
            "mode. Point --database-url at the primary, then run the command again"
        )
    down = sqlstate.startswith(_PG_DOWN_PREFIX) or (
        isinstance(orig, psycopg.OperationalError) and not sqlstate  # no answer at all
    )
    if invalidated or down:
        first_line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return DatabaseUnavailable(
            f"{where} is unavailable ({first_line}). "
            "Check that the server is running and reachable, then run the command again; "
            "every page committed before this is kept"
        )
    return None
