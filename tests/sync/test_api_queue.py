"""API "sync now" with workers: a queued job (202 + a link), one per connection while it
waits, run by a `posbridge worker` process; `/v1/ops/queue` shows it running and the
worker's heartbeat. PostgreSQL only (SQLite syncs in-process: tests/test_api_connections.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from posbridge.api import create_app
from posbridge.app import open_store
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.settings import AppSettings
from posbridge.store.accounts import assign_connection, create_account, create_api_key

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("db_url", ["postgres"], indirect=True),  # PostgreSQL only
]

SECRET = "api-queue-test-secret"


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 60  # a hang guard, not a speed assertion
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_sync_now_queues_one_job_that_a_worker_runs(db_url: str, tmp_path: Path) -> None:
    store = open_store(AppSettings(database_url=db_url, secret_key=SECRET))  # type: ignore[arg-type]
    box = create_sandbox(seed=4, days=2, orders_per_day=20)
    box.state.faults.update(latency_ms=150)  # slow enough to watch the job run
    with SandboxServer(box.app) as vendor:
        row = store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        account = create_account(store, "A")
        assign_connection(store, "shop", account)
        key = create_api_key(store, account)
        with (
            SandboxServer(create_app(store)) as api,
            httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as client,
        ):
            first = client.post(f"/v1/connections/{row.id}/sync")
            second = client.post(f"/v1/connections/{row.id}/sync")
            assert first.status_code == second.status_code == 202
            job = first.json()
            # the connection's first sync was waiting already (queued with it): that job
            assert job["new"] is False
            assert second.json()["id"] == job["id"]
            assert job["status"] == "todo"
            assert first.headers["location"] == job["url"]
            assert client.get("/v1/ops/queue").json()["queued"] == 1
            assert client.get(job["url"]).json()["runs"] == []

            env = os.environ | {
                "POSBRIDGE_DATABASE_URL": db_url,
                "POSBRIDGE_SECRET_KEY": SECRET,
                "POSBRIDGE_WORKER_HEARTBEAT": "1",
                "POSBRIDGE_WORKER_STALLED_AFTER": "5",
            }
            with (tmp_path / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "posbridge", "worker", "--name", "w0"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            try:

                def running() -> dict[str, Any] | None:
                    queue: dict[str, Any] = client.get("/v1/ops/queue").json()
                    mine = [j for j in queue["running"] if j["connection_id"] == row.id]
                    return queue if mine and queue["workers"] else None

                queue = _until(running, "the job to run on the worker")
                (busy,) = queue["running"]
                assert busy["job_id"] == job["id"]
                assert busy["task"] == "posbridge.sync"
                (w,) = queue["workers"]
                assert w["alive"] is True
                assert w["running"] >= 1  # with its housekeeping jobs (plan, recover)
                assert w["age_seconds"] < 5
                assert busy["worker_id"] == w["id"]

                def finished() -> dict[str, Any] | None:
                    doc: dict[str, Any] = client.get(job["url"]).json()
                    return doc if doc["status"] in ("succeeded", "failed") else None

                done = _until(finished, "the job to finish")
                assert done["status"] == "succeeded", done
                (run,) = done["runs"]
                assert run["status"] == "ok"
                assert client.get("/v1/orders", params={"limit": 1}).json()["data"]
                # a new job (or one the planner queued since, moved up to now)
                again = client.post(f"/v1/connections/{row.id}/sync")
                assert again.status_code == 202
                assert again.json()["id"] != job["id"]
                assert again.json()["status"] in ("todo", "doing", "succeeded")
            finally:
                worker.send_signal(signal.SIGTERM)
                code = worker.wait(timeout=60)
            assert code == 0, (tmp_path / "worker.log").read_text()[-2000:]
            assert client.get("/v1/ops/queue").json()["workers"] == []
            other = client.get(f"/v1/connections/{row.id}/sync_jobs/999999")
            assert other.status_code == 404
    store.close()
