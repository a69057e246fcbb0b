"""The fleet: 3 `posbridge worker` processes on PostgreSQL sync ≥ 50 sandbox accounts.

Every registered vendor takes part (`posbridge.testing.fleet`). Checked: every store
equals its world with no duplicates, no account ever had two requests in flight at once
(the sandboxes meter it per credential; each account is one connection, and the job
lock serializes a connection's jobs), no run of a connection overlapped another, and
every account stayed within its daily request budget. Then again with one worker
SIGKILLed mid-run: its jobs are found stalled, run again elsewhere, same final store.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from posbridge.app import open_store
from posbridge.fleet import queue_stats
from posbridge.settings import AppSettings
from posbridge.store.repo import Store
from posbridge.store.tables import stream_state, sync_runs
from posbridge.sync.engine import build_connector
from posbridge.testing import duplicate_keys
from posbridge.testing.fleet import Fleet, fleet_sandboxes

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["postgres"], indirect=True),  # PostgreSQL only
]

CONNECTIONS = 51
SECRET = "fleet-test-secret"


@pytest.fixture
def pg_store(db_url: str) -> Iterator[tuple[str, Store]]:
    """A store in a PostgreSQL schema of its own, keyed like the workers' settings."""
    store = open_store(AppSettings(database_url=db_url, secret_key=SECRET))  # type: ignore[arg-type]
    yield db_url, store
    store.close()


def _start_workers(url: str, count: int, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    env = os.environ | {
        "POSBRIDGE_DATABASE_URL": url,
        "POSBRIDGE_SECRET_KEY": SECRET,
        "POSBRIDGE_WORKER_CONCURRENCY": "6",
        "POSBRIDGE_WORKER_HEARTBEAT": "1",
        "POSBRIDGE_WORKER_STALLED_AFTER": "3",
        "POSBRIDGE_WORKER_GRACEFUL_TIMEOUT": "20",
        "POSBRIDGE_LOG_JSON": "1",
        "POSBRIDGE_LOG_LEVEL": os.environ.get("FLEET_LOG_LEVEL", "WARNING"),
        # where an old iCash nonce file would be read from (the counters live in the store)
        "POSBRIDGE_ICASH_STATE_DIR": str(tmp_path / "icash-state"),
    }
    workers = []
    for i in range(count):
        with (tmp_path / f"worker{i}.log").open("wb") as log:  # the child keeps its own fd
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "posbridge", "worker", "--name", f"w{i}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return workers


def _synced(store: Store, ids: list[str]) -> set[str]:
    """Connections whose every stream has succeeded (by any run: a killed run may have
    committed its last stream and died before closing its run record)."""
    expected: dict[str, set[str]] = {}
    done: set[str] = set()
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(stream_state.c.connection_id, stream_state.c.stream).where(
                stream_state.c.last_success_at.is_not(None)
            )
        ).all()
    succeeded: dict[str, set[str]] = {}
    for cid, stream in rows:
        succeeded.setdefault(cid, set()).add(stream)
    for cid in ids:
        row = store.get_connection(cid)
        if row.vendor not in expected:
            connector = build_connector(store, row)
            expected[row.vendor] = {s.name for s in connector.streams()}
            connector.http.close()
        if expected[row.vendor] <= succeeded.get(cid, set()):
            done.add(cid)
    return done


def _sync_jobs_left(store: Store) -> int:
    """Sync jobs waiting or running (housekeeping jobs come and go every second)."""
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'posbridge.sync'"
                    " AND status IN ('todo', 'doing')"
                )
            ).scalar_one()
        )


def _wait_until_synced(
    store: Store, ids: list[str], workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    deadline = time.monotonic() + 120  # a hang guard, not a performance assertion
    while time.monotonic() < deadline:
        if len(_synced(store, ids)) == len(ids) and not _sync_jobs_left(store):
            return
        dead = [w for w in workers if w.poll() is not None and w.returncode != -signal.SIGKILL]
        if dead:
            logs = "\n".join(p.read_text()[-2000:] for p in tmp_path.glob("worker*.log"))
            pytest.fail(f"a worker exited with {dead[0].returncode}:\n{logs}")
        time.sleep(0.2)
    with store.engine.connect() as conn:
        runs = conn.execute(
            sa.select(sync_runs.c.connection_id, sync_runs.c.status, sync_runs.c.error).where(
                sync_runs.c.connection_id.not_in(_synced(store, ids))
            )
        ).all()
        jobs = conn.execute(
            sa.text(
                "SELECT id, task_name, status, lock, attempts, worker_id, scheduled_at, args "
                "FROM procrastinate_jobs WHERE status IN ('todo', 'doing') OR task_name LIKE "
                "'%recover' ORDER BY id DESC LIMIT 20"
            )
        ).all()
        workers_ = conn.execute(sa.text("SELECT * FROM procrastinate_workers")).all()
    pytest.fail(f"{len(_synced(store, ids))} of {len(ids)} synced; {runs}; {jobs}; {workers_}")


def _wait_until_no_run_is_running(store: Store) -> None:
    deadline = time.monotonic() + 60  # a hang guard: recovery runs every second here
    while time.monotonic() < deadline:
        with store.engine.connect() as conn:
            running = conn.execute(
                sa.select(sa.func.count()).where(sync_runs.c.status == "running")
            ).scalar_one()
        if not running:
            return
        time.sleep(0.2)
    pytest.fail(f"{running} runs still running after the kill was recovered")


def _stop(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)  # graceful: finish running jobs, then exit
    return [w.wait(timeout=30) for w in workers]


def _check(store: Store, fleet: Fleet, ids: list[str]) -> None:
    assert fleet.differences(store) == {}
    for cid in ids:
        assert duplicate_keys(store, cid) == []
    assert max(fleet.meter.peak.values()) <= 1, fleet.meter.peak
    assert set(fleet.meter.peak) == {m.name for m in fleet.members}
    for m in fleet.members:  # within every vendor's daily budget
        row = store.get_connection(m.name)
        connector = build_connector(store, row)
        limit = connector.effective_limits().per_day
        connector.http.close()
        assert limit is None or fleet.meter.total[m.name] <= limit, m.name
    with store.engine.connect() as conn:  # no two runs of one connection overlapped
        runs = conn.execute(
            sa.select(sync_runs.c.connection_id, sync_runs.c.started_at, sync_runs.c.finished_at)
            # an interrupted run's finished_at is when its death was noticed, not its end
            .where(sync_runs.c.finished_at.is_not(None), sync_runs.c.status != "interrupted")
            .order_by(sync_runs.c.connection_id, sync_runs.c.started_at)
        ).all()
    for a, b in itertools.pairwise(runs):
        if a.connection_id == b.connection_id:
            assert b.started_at >= a.finished_at, (a, b)


def test_three_workers_sync_the_fleet(pg_store: tuple[str, Store], tmp_path: Path) -> None:
    url, store = pg_store
    with fleet_sandboxes(CONNECTIONS, latency_ms=5) as fleet:
        assert {m.vendor for m in fleet.members} == set(fleet.vendors)
        ids = fleet.connect_all(store)  # each creation enqueues its first sync (same tx)
        workers = _start_workers(url, 3, tmp_path)
        try:
            _wait_until_synced(store, ids, workers, tmp_path)
        finally:
            codes = _stop(workers)
        assert codes == [0, 0, 0]
        _check(store, fleet, ids)
        assert queue_stats(store)["workers"] == []  # each unregistered on SIGTERM


def test_a_killed_worker_changes_nothing(pg_store: tuple[str, Store], tmp_path: Path) -> None:
    url, store = pg_store
    with fleet_sandboxes(CONNECTIONS, latency_ms=5) as fleet:
        ids = fleet.connect_all(store)
        workers = _start_workers(url, 3, tmp_path)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # kill while it is mid-job
                stats = queue_stats(store)
                busy = {job["worker_id"] for job in stats["running"]}
                if len(busy) == len(workers) and len(_synced(store, ids)) >= 3:
                    break  # every worker is mid-job
                time.sleep(0.05)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            _wait_until_synced(store, ids, workers[1:], tmp_path)
            _wait_until_no_run_is_running(store)  # the live workers' recovery closes them
            shown = subprocess.run(
                [sys.executable, "-m", "posbridge", "status"],
                env=os.environ
                | {"POSBRIDGE_DATABASE_URL": url, "POSBRIDGE_SECRET_KEY": SECRET, "COLUMNS": "300"},
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        finally:
            _stop(workers)
        _check(store, fleet, ids)
        with store.engine.connect() as conn:  # the dead worker's runs never finished...
            dead = conn.execute(
                sa.select(sync_runs).where(sync_runs.c.status == "interrupted")
            ).all()
            ok = conn.execute(sa.select(sync_runs).where(sync_runs.c.status == "ok")).all()
        assert dead, "the killed worker's runs are marked interrupted"
        for run in dead:  # ...each says why, and a later run (the job run again) completed
            assert run.finished_at is not None
            assert f"worker {run.worker_id}" in run.error, run.error
            assert any(w in run.error for w in ("heartbeating", "gone", "re-queued", "retried"))
            later = any(
                r.connection_id == run.connection_id and r.started_at > run.started_at for r in ok
            )
            # or the dead run had committed every stream and died before closing itself:
            # then the job run again found nothing due (an `idle` run leaves no row)
            states = store.stream_states(run.connection_id).values()
            finished = all(
                s["last_success_at"] is not None and s["last_success_at"] >= run.started_at
                for s in states
            )
            assert later or finished, run
        assert "interrupted" in shown
        assert f"worker {dead[0].worker_id}" in shown
        api_runs = store.runs(dead[0].connection_id)
        assert "interrupted" in {r["status"] for r in api_runs}
