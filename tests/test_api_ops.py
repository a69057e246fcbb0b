"""Operations: Prometheus `/metrics` and `/v1/ops/queue`, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from posbridge.api import create_app
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine


def test_metrics_and_queue(store: Store) -> None:
    """After a sync, /metrics counts it per vendor; the queue shows the pending first sync."""
    box = create_sandbox(seed=3, days=1, orders_per_day=5)
    with SandboxServer(box.app) as sandbox:
        store.add_connection("shop", "cloudpos", sandbox.url + box.base_path, box.credentials)
        postgres = store.engine.dialect.name == "postgresql"
        account = create_account(store, "A")
        assign_connection(store, "shop", account)
        key = create_api_key(store, account)
        with (
            SandboxServer(create_app(store)) as api,
            httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}) as client,
        ):
            queue = client.get("/v1/ops/queue").json()
            assert queue["backend"] == ("procrastinate" if postgres else "embedded")
            # On PostgreSQL, creating the connection enqueued its first sync (same transaction).
            assert queue["queued"] == (1 if postgres else 0)
            assert client.get("/v1/ops/queue", headers={"Authorization": ""}).status_code == 401
            assert SyncEngine(store).run("shop").ok
            text = client.get("/metrics").text
    assert 'posbridge_syncs_total{status="ok",vendor="cloudpos"} 1.0' in text
    assert 'posbridge_vendor_requests_total{vendor="cloudpos"}' in text
    assert "posbridge_records_written_total" in text
    assert 'posbridge_quota_used{vendor="cloudpos"}' in text
    assert "posbridge_sync_duration_seconds_count 1.0" in text
    assert ("posbridge_job_latency_seconds" in text) == postgres
