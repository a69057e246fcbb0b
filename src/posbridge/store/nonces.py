"""Strictly increasing counters shared through the database (iCash nonces).

Every process, on any machine, that signs requests with one iCash API key must send
nonces the server sees in increasing order. `NonceCounters.hold(scope, floor)` hands
out max(last + 1, floor) and keeps a lock until the caller's request is answered, so a
second process waits its turn:

- PostgreSQL: a session advisory lock on the scope, on a connection of its own. The new
  value commits at once (autocommit), so a process killed mid-request never lets the
  same nonce be handed out again; its lock ends with its session.
- SQLite (one machine): a `BEGIN IMMEDIATE` transaction, the database's write lock, from
  the read until after the answer. Other writers wait meanwhile (`busy_timeout`), the
  price of the guarantee on the embedded database. A process killed mid-request rolls
  its value back; the server then refuses the repeated nonce once ("Invalid nonce") and
  the client's resync moves past it.

Scopes are hashes chosen by the caller: an API key is a credential and is never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from posbridge.store.tables import nonce_counters

__all__ = ["NonceCounters"]

log = logging.getLogger("posbridge.nonces")

#: first key of PostgreSQL's two-key advisory locks: posbridge nonce counters ("nonc")
_LOCK_SPACE = 0x6E6F6E63


def _lock_key(scope: str) -> int:
    """A signed 32-bit advisory-lock key from the scope's first hex digits."""
    value = int(scope[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


class NonceCounters:
    """The store's nonce counters: `hold()` one for the duration of a request."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, scope: str, floor: int, seed: Callable[[], int] | None = None) -> Iterator[int]:
        """The next nonce of `scope`, at least `floor`, locked until the block ends.

        `seed()` gives the starting value when the scope has no row yet (the upgrade
        path from the old per-machine counter file); it is read under the lock, once.
        """
        if self.engine.dialect.name == "postgresql":
            with self._hold_postgres(scope, floor, seed) as nonce:
                yield nonce
        else:
            with self._hold_sqlite(scope, floor, seed) as nonce:
                yield nonce

    @contextmanager
    def _hold_postgres(
        self, scope: str, floor: int, seed: Callable[[], int] | None
    ) -> Iterator[int]:
        key = {"space": _LOCK_SPACE, "key": _lock_key(scope)}
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(sa.text("SELECT pg_advisory_lock(:space, :key)"), key)
            try:
                nonce = _bump(conn, scope, floor, seed)
                yield nonce
            finally:
                try:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:space, :key)"), key)
                except DBAPIError:  # a broken session holds no lock any more
                    conn.invalidate()

    @contextmanager
    def _hold_sqlite(self, scope: str, floor: int, seed: Callable[[], int] | None) -> Iterator[int]:
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                nonce = _bump(conn, scope, floor, seed)
                yield nonce
            finally:
                # Commit whatever the request's fate: the nonce may have reached the server.
                conn.exec_driver_sql("COMMIT")

    def last(self, scope: str) -> int | None:
        """The last nonce handed out for `scope` (None before the first)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(nonce_counters.c.last_nonce).where(nonce_counters.c.scope == scope)
            ).scalar_one_or_none()
        return None if value is None else int(value)


def _bump(conn: sa.Connection, scope: str, floor: int, seed: Callable[[], int] | None) -> int:
    """Read, advance and write one counter; the caller holds the scope's lock."""
    table = nonce_counters
    last = conn.execute(
        sa.select(table.c.last_nonce).where(table.c.scope == scope)
    ).scalar_one_or_none()
    now = datetime.now(UTC)
    if last is None:
        start = seed() if seed is not None else 0
        nonce = max(start + 1, floor)
        conn.execute(table.insert().values(scope=scope, last_nonce=nonce, updated_at=now))
        if start:
            log.info("nonce counter %s… continues the old counter file", scope[:8])
    else:
        nonce = max(int(last) + 1, floor)
        conn.execute(
            table.update().where(table.c.scope == scope).values(last_nonce=nonce, updated_at=now)
        )
    return nonce
