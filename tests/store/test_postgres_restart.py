"""A PostgreSQL server restarted or stopped in the middle of a sync (a private cluster).

The shared test server cannot be restarted under other tests, so this test starts its own
cluster (initdb + pg_ctl, 127.0.0.1 and a free port, in a temporary folder) and skips
when the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from posbridge.errors import DatabaseUnavailable
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import StreamOutcome, SyncEngine
from posbridge.testing import duplicate_keys, world_differences


def _bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@dataclass
class Cluster:
    """A private PostgreSQL server: its URL and how to restart or stop it."""

    url: str
    data: Path
    pg_ctl: str
    prefix: list[str]
    options: str

    def start(self) -> None:
        self.ctl("-o", self.options, "-l", str(self.data.parent / "log"), "start")

    def ctl(self, *args: str) -> None:
        # No pipes: the server inherits pg_ctl's output and would hold them open forever.
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-w", "-t", "30", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def started_at(self) -> object:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql("SELECT pg_postmaster_start_time()").scalar_one()
        finally:
            engine.dispose()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """initdb a cluster in a temporary folder and start it on 127.0.0.1 only (trust auth).

    PostgreSQL refuses to run as root: as root it runs as the `postgres` user instead.
    """
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="posbridge-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    c = Cluster(url, data, pg_ctl, prefix, options)
    c.start()
    try:
        yield c
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_restart_mid_sync_retries_the_page_and_a_stop_is_a_clear_error(
    cluster: Cluster,
) -> None:
    """A restart (`pg_ctl restart -m fast`) between two pages of orders: the next page's
    commit finds its connection gone, is retried on a new one and the sync ends ok, equal to
    the world. A server that stays down fails the run with `DatabaseUnavailable` saying what
    to check; after the server is back a rerun ends equal to the world, nothing doubled."""
    box = create_sandbox(seed=23, days=2, orders_per_day=80)
    store = Store.open(cluster.url, Vault(b"k" * 32))
    settings = {"page_size": 20, "lookback": 5}
    before = cluster.started_at()
    fired: list[str] = []

    def restart_once(_conn: str, stream: str, _n: int, outcome: StreamOutcome) -> None:
        if stream == "orders" and outcome.fetched == 60 and not fired:
            fired.append("restart")
            cluster.ctl("-m", "fast", "restart")

    def stop_once(_conn: str, stream: str, _n: int, outcome: StreamOutcome) -> None:
        if stream == "orders" and outcome.fetched == 60 and not fired:
            fired.append("stop")
            cluster.ctl("-m", "fast", "stop")

    try:
        with SandboxServer(box.app) as vendor:
            url = vendor.url + box.base_path
            first = store.add_connection("shop", "cloudpos", url, box.credentials, settings)
            result = SyncEngine(store, progress=restart_once).run("shop")
            assert fired == ["restart"]
            assert cluster.started_at() != before  # the server really restarted mid-sync
            assert result.status == "ok", result.error
            assert duplicate_keys(store, first.id) == []
            assert world_differences(store, first.id, box.state.world) == []

            second = store.add_connection("shop2", "cloudpos", url, box.credentials, settings)
            fired.clear()
            with pytest.raises(DatabaseUnavailable) as stopped:
                SyncEngine(store, progress=stop_once).run("shop2")
            assert fired == ["stop"]
            assert "is unavailable" in stopped.value.message
            assert "Check that the server is running" in stopped.value.message
            cluster.start()
            rerun = SyncEngine(store).run("shop2")
            assert rerun.status == "ok", rerun.error
            assert duplicate_keys(store, second.id) == []
            assert world_differences(store, second.id, box.state.world) == []
    finally:
        store.close()
