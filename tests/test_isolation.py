"""Tenant isolation on every endpoint, generated from the OpenAPI document (not a hand list).

Tenant A owns a synced connection, a webhook, an event and a command. Tenant B calls every
operation of the API with A's ids in the path: nothing may succeed, and no answer may
carry any of A's ids. A new route with an unknown path parameter fails this test until
it is taught how to address A's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from posbridge.api import create_app
from posbridge.export import EXPORTABLE
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine


@dataclass
class Tenants:
    a: httpx.Client
    b: httpx.Client
    spec: dict[str, object]
    ids: dict[str, str]
    job: str


@pytest.fixture
def tenants(store: Store) -> Iterator[Tenants]:
    box = create_sandbox(seed=31, days=2, orders_per_day=10)
    with SandboxServer(box.app) as vendor, SandboxServer(create_app(store)) as api:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        assert SyncEngine(store).run("shop").ok
        a, b = create_account(store, "A"), create_account(store, "B")
        assign_connection(store, "shop", a)
        clients = [
            httpx.Client(
                base_url=api.url,
                timeout=60,
                headers={"Authorization": f"Bearer {create_api_key(store, t)}"},
            )
            for t in (a, b)
        ]
        ca = clients[0]
        cid = store.get_connection("shop").id
        hook = ca.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["order.created"]}
        ).json()
        command = ca.post(
            f"/v1/connections/{cid}/commands/create_product",
            json={"name": "X", "category_source_id": "1", "price": "1.00", "tax_rate": "6"},
            headers={"Idempotency-Key": "iso"},
            params={"dry_run": "true"},
        ).json()
        ids = {
            "connection_id": cid,
            "record_id": ca.get("/v1/orders", params={"limit": 1}).json()["data"][0]["id"],
            "customer_id": ca.get("/v1/customers", params={"limit": 1}).json()["data"][0]["id"],
            "webhook_id": hook["id"],
            "command_id": command["outbox_id"],
        }
        job = str(_first_job(store, cid))
        yield Tenants(ca, clients[1], ca.get("/openapi.json").json(), ids, job)
        for c in clients:
            c.close()


def _first_job(store: Store, connection_id: str) -> int:
    """The connection's first sync job (queued with it on PostgreSQL; none on SQLite)."""
    if store.engine.dialect.name != "postgresql":
        return 1
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT min(id) FROM procrastinate_jobs WHERE args->>'connection_id' = :c"),
                {"c": connection_id},
            ).scalar_one()
        )


def _operations(spec: dict[str, object]) -> list[tuple[str, str]]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def test_every_operation_refuses_another_tenants_objects(tenants: Tenants) -> None:
    """B gets a 4xx (never 2xx or 5xx) on every operation addressing A's objects, and no
    answer to B — list or not — mentions any of A's ids."""
    operations = _operations(tenants.spec)
    assert len(operations) >= 30
    # a job id is a small integer: a path parameter, not an id to look for in answers
    fill = tenants.ids | {"resource": "orders", "command": "create_product", "job_id": tenants.job}
    checked = 0
    for method, path in operations:
        params = [p[1:-1] for p in path.split("/") if p.startswith("{")]
        unknown = set(params) - set(fill)
        assert not unknown, f"{method} {path}: teach this test the path parameter {unknown}"
        url = path.format(**fill)
        response = tenants.b.request(
            method,
            url,
            json={"connection_id": tenants.ids["connection_id"]}
            if method in ("POST", "PATCH")
            else None,
            headers={"Idempotency-Key": f"b-{method}-{path}"},
        )
        assert response.status_code < 500, f"{method} {path}: {response.status_code}"
        if set(params) - {"resource"}:  # addresses one of A's objects
            assert 400 <= response.status_code < 500, f"{method} {path}: {response.status_code}"
        for value in tenants.ids.values():
            assert value not in response.text, f"{method} {path} shows A's {value}"
        checked += 1
    assert checked == len(operations)


def test_every_resource_lists_nothing_of_another_tenant(tenants: Tenants) -> None:
    """Every record resource lists A's records to A only (and A sees its own orders)."""
    for resource in sorted(EXPORTABLE):
        assert tenants.b.get(f"/v1/{resource}").json()["data"] == [], resource
    assert tenants.a.get("/v1/orders").json()["data"]
