"""Cross-cutting fixtures: a fresh store per test on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import stamina

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store

POSTGRES_URL = os.environ.get("POSBRIDGE_TEST_POSTGRES_URL")
# Tests deliver webhooks to receivers on 127.0.0.1, as a local demo does; the SSRF tests
# pass their own strict policy (tests/test_ssrf.py).
os.environ.setdefault("POSBRIDGE_ALLOW_LOOPBACK_TARGETS", "1")


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    """Retries keep their attempt counts but do not sleep (stamina's testing switch)."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


def postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("POSBRIDGE_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file URL for tests that only make sense on the embedded default."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def vault() -> Vault:
    """A vault with a fixed test key."""
    return Vault(b"k" * 32)


@pytest.fixture
def store(db_url: str, vault: Vault) -> Iterator[Store]:
    """A migrated store on a fresh database (both engines)."""
    s = Store.open(db_url, vault)
    yield s
    s.close()


@contextmanager
def served(
    store: Store,
    sandbox: Sandbox,
    vendor: str,
    settings: Mapping[str, Any] | None = None,
    *,
    name: str = "shop",
) -> Iterator[str]:
    """Serve a sandbox on loopback and connect it to `store` as `name`; yields its URL."""
    with SandboxServer(sandbox.app) as server:
        store.add_connection(
            name, vendor, server.url + sandbox.base_path, sandbox.credentials, settings
        )
        yield server.url
