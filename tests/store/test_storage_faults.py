"""Storage faults under `posbridge sync`: a full disk and a read-only disk (SQLite).

Both run the real CLI in a subprocess against a CloudPOS sandbox and assert what a user
sees (one line saying what is wrong and what to fix, no traceback, a non-zero exit), what
the store keeps (no half-written page, no duplicate) and that a rerun after the fix ends
with the store equal to the world.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault, load_or_create_key
from posbridge.store.repo import Store
from posbridge.testing import duplicate_keys, world_differences

#: runs the CLI with SQLite's page limit installed on every connection (test code only):
#: SQLite then fails a write exactly as on a full disk, with SQLITE_FULL
CAPPED_CLI = """
import os, sys
import sqlalchemy as sa

LIMIT = int(os.environ["TEST_MAX_PAGE_COUNT"])


@sa.event.listens_for(sa.engine.Engine, "connect")
def _cap(dbapi_connection, _record):
    dbapi_connection.execute(f"PRAGMA max_page_count={LIMIT}")


from posbridge.cli import main

sys.argv = ["posbridge", *sys.argv[1:]]
main()
"""


def _env(db: Path) -> dict[str, str]:
    """The CLI's environment for an SQLite store at `db`."""
    return {
        **os.environ,
        "POSBRIDGE_DATABASE_URL": f"sqlite:///{db}",
        "POSBRIDGE_SECRET_KEY": "storage",
    }


def _run(env: dict[str, str], *args: str, capped: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", CAPPED_CLI] if capped else [sys.executable, "-m", "posbridge"]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _connect(env: dict[str, str], box: Sandbox, url: str) -> None:
    done = _run(
        env,
        "connect",
        "cloudpos",
        "--name",
        "shop",
        "--base-url",
        url,
        f"--set=licname={box.credentials['licname']}",
        f"--set=token={box.credentials['token']}",
        "--set=page_size=20",
        "--set=lookback=5",
    )
    assert done.returncode == 0, done.stderr


def _open(db: Path) -> Store:
    return Store.open(f"sqlite:///{db}", Vault(load_or_create_key("storage", db.parent / "k")))


def _half_written(store: Store, box: Sandbox) -> list[str]:
    """Stored orders that differ from the world (a partial order, lines missing) and
    duplicate keys; orders not synced yet are expected after a failed run."""
    cid = store.get_connection("shop").id
    diffs = world_differences(store, cid, box.state.world)
    partial = [d for d in diffs if d.startswith("order ") and not d.endswith(" missing")]
    return duplicate_keys(store, cid) + partial


def test_disk_full_mid_sync_says_what_to_fix_and_a_rerun_completes(tmp_path: Path) -> None:
    """The disk fills up in the middle of a sync: one clear line (no traceback), exit 2,
    the run recorded as failed, every committed page whole; after space is freed the rerun
    ends with the store equal to the world.

    The full disk is SQLite's own `PRAGMA max_page_count` (installed from test code on each
    connection the CLI opens): the write then fails with the genuine SQLITE_FULL a full
    disk gives, portably (no mount privileges needed in CI). A full sync of this world
    needs ~420 more pages; 150 runs out part-way.
    """
    db = tmp_path / "store.db"
    env = _env(db)
    box = create_sandbox(seed=21, days=3, orders_per_day=80)
    with SandboxServer(box.app) as server:
        _connect(env, box, server.url + box.base_path)
        with sqlite3.connect(db) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        env["TEST_MAX_PAGE_COUNT"] = str(pages + 150)
        full = _run(env, "sync", "shop", capped=True)
        assert full.returncode == 2, full.stderr
        assert "Traceback" not in full.stderr
        message = " ".join(full.stderr.split())
        assert "the disk is full" in message
        assert "Free space on that disk" in message
        store = _open(db)
        try:
            stored = len(list(store.records("order", store.get_connection("shop").id)))
            assert 0 < stored < len(box.state.world.orders)  # it stopped part-way
            assert _half_written(store, box) == []
            with store.engine.connect() as conn:
                run = conn.exec_driver_sql(
                    "SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1"
                ).one()
            assert run.status == "failed"
            assert "disk is full" in run.error
        finally:
            store.close()
        rerun = _run(env, "sync", "shop")
        assert rerun.returncode == 0, rerun.stderr
    store = _open(db)
    try:
        cid = store.get_connection("shop").id
        assert duplicate_keys(store, cid) == []
        assert world_differences(store, cid, box.state.world) == []
    finally:
        store.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """A 16 MB tmpfs of its own (True) when this process may mount, else a plain folder."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield disk, mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], check=False)


def _remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


def test_read_only_database_says_what_to_fix_and_a_rerun_completes(
    small_disk: tuple[Path, bool],
) -> None:
    """A database on a disk that went read-only: one clear line, exit 2, nothing written;
    once it is writable again the sync ends with the store equal to the world.

    We run as root, so `chmod` would not stop a write. Where this process may mount (root
    with CAP_SYS_ADMIN, as here), the database lives on its own tmpfs that is remounted
    read-only — what the kernel does to a disk after I/O errors. Elsewhere the same
    database is opened read-only through SQLite's URI (`mode=ro`), which refuses writes
    for root too.
    """
    disk, mounted = small_disk
    db = disk / "store.db"
    env = _env(db)
    box = create_sandbox(seed=22, days=2, orders_per_day=40)
    with SandboxServer(box.app) as server:
        _connect(env, box, server.url + box.base_path)
        if mounted:
            _remount(disk, "ro")
            refused = _run(env, "sync", "shop")
            _remount(disk, "rw")
        else:
            ro_env = env | {"POSBRIDGE_DATABASE_URL": f"sqlite:///file:{db}?mode=ro&uri=true"}
            refused = _run(ro_env, "sync", "shop")
        assert refused.returncode == 2, refused.stderr
        assert "Traceback" not in refused.stderr
        message = " ".join(refused.stderr.split())
        assert "read-only" in message
        assert "writable" in message
        store = _open(db)
        try:
            assert list(store.records("order", store.get_connection("shop").id)) == []
        finally:
            store.close()
        rerun = _run(env, "sync", "shop")
        assert rerun.returncode == 0, rerun.stderr
    store = _open(db)
    try:
        cid = store.get_connection("shop").id
        assert world_differences(store, cid, box.state.world) == []
    finally:
        store.close()
