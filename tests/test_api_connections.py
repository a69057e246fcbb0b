"""Managing connections through the API: credentials in, never out; scoped to the tenant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from posbridge.api import create_app
from posbridge.fleet import run_due_jobs
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import create_account, create_api_key
from posbridge.store.repo import Store


@dataclass
class Setup:
    """Two tenants' API clients and a sandbox to connect to."""

    a: httpx.Client
    b: httpx.Client
    box: Sandbox
    vendor_url: str
    store: Store


@pytest.fixture
def setup(store: Store) -> Iterator[Setup]:
    """A served API, two tenants, and a CloudPOS sandbox on loopback."""
    box = create_sandbox(seed=9, days=2, orders_per_day=30)
    keys = [create_api_key(store, create_account(store, n)) for n in ("A", "B")]
    with SandboxServer(box.app) as vendor, SandboxServer(create_app(store)) as api:
        clients = [
            httpx.Client(
                base_url=api.url + "/v1", headers={"Authorization": f"Bearer {k}"}, timeout=60
            )
            for k in keys
        ]
        yield Setup(clients[0], clients[1], box, vendor.url + box.base_path, store)
        for c in clients:
            c.close()


def _sync(s: Setup, cid: str) -> dict[str, Any]:
    """Sync now by API: in-process on SQLite; on PostgreSQL the answer is the queued job
    (202), which one in-process worker pass runs; then the run it made."""
    answer = s.a.post(f"/connections/{cid}/sync")
    if answer.status_code == 200:
        body: dict[str, Any] = answer.json()
        return body
    assert answer.status_code == 202, answer.text
    run_due_jobs(s.store)
    job = s.a.get(answer.headers["location"].removeprefix("/v1")).json()
    assert job["status"] == "succeeded", job
    run: dict[str, Any] = job["runs"][-1]
    return run


def _create(s: Setup, name: str = "shop", token: str | None = None) -> httpx.Response:
    settings = dict(s.box.credentials)
    if token is not None:
        settings["token"] = token
    return s.a.post(
        "/connections",
        json={"vendor": "cloudpos", "name": name, "base_url": s.vendor_url, "settings": settings},
    )


def test_create_sync_inspect_and_delete(setup: Setup) -> None:
    """A connection created by API syncs, shows runs, never returns its token, and deletes cleanly."""
    created = _create(setup)
    assert created.status_code == 201
    body = created.json()
    assert setup.box.credentials["token"] not in created.text
    cid = body["id"]
    assert setup.a.post(f"/connections/{cid}/test").json()["ok"] is True
    run = _sync(setup, cid)
    assert run["status"] == "ok"
    assert setup.a.get("/orders", params={"limit": 1}).json()["data"]
    runs = setup.a.get(f"/connections/{cid}/runs").json()["data"]
    assert runs[0]["status"] == "ok"
    assert setup.a.delete(f"/connections/{cid}").status_code == 204
    assert setup.a.get("/orders").json()["data"] == []
    assert setup.a.get(f"/connections/{cid}").status_code == 404


def test_bad_credentials_are_refused_and_not_stored(setup: Setup) -> None:
    """A wrong token gets 422 with the vendor's code after one call; nothing is stored."""
    response = _create(setup, token="wrong")
    assert response.status_code == 422
    assert response.json()["vendor_code"] == 1002
    assert len(setup.box.state.request_log) == 1
    assert setup.a.get("/connections").json()["data"] == []


def test_duplicates_and_unknown_vendors_are_clear_400s(setup: Setup) -> None:
    """A reused name or an unknown vendor answers 400 problem+json saying what to fix."""
    assert _create(setup).status_code == 201
    again = _create(setup)
    assert again.status_code == 400
    assert "exists already" in again.json()["title"]
    unknown = setup.a.post("/connections", json={"vendor": "nope", "name": "x"})
    assert unknown.status_code == 400


def test_other_tenant_cannot_touch_a_connection(setup: Setup) -> None:
    """Every connection route answers 404 to another tenant."""
    cid = _create(setup).json()["id"]
    for method, path in (
        ("GET", ""),
        ("POST", "/test"),
        ("POST", "/sync"),
        ("GET", "/runs"),
        ("GET", "/quarantine"),
        ("POST", "/quarantine/replay"),
        ("DELETE", ""),
    ):
        assert setup.b.request(method, f"/connections/{cid}{path}").status_code == 404
    patch = setup.b.patch(f"/connections/{cid}", json={"settings": {"licname": "x", "token": "y"}})
    assert patch.status_code == 404


def test_quarantine_is_listed_and_replayable(setup: Setup) -> None:
    """Quarantined records show their reason and raw record; a replay reports what still fails."""
    setup.box.state.faults.update(
        malformed_orders={setup.box.state.world.orders[1].ticket}, malformed_kind="missing_field"
    )
    cid = _create(setup).json()["id"]
    _sync(setup, cid)
    (entry,) = setup.a.get(f"/connections/{cid}/quarantine").json()["data"]
    assert entry["reason"]
    assert entry["raw"]
    replay = setup.a.post(f"/connections/{cid}/quarantine/replay").json()
    assert replay["fixed"] == 0
    assert len(replay["still_failing"]) == 1


def test_closures_and_passthrough(setup: Setup) -> None:
    """Closures verify every Z day; passthrough answers a raw vendor function, budgeted."""
    cid = _create(setup).json()["id"]
    _sync(setup, cid)
    closures = setup.a.get(f"/connections/{cid}/closures").json()["data"]
    assert closures
    assert all(c["verified"] for c in closures)
    before = len(setup.box.state.request_log)
    raw = setup.a.post(f"/connections/{cid}/passthrough", json={"operation": "get-xreport"})
    assert raw.status_code == 200
    assert "data" in raw.json()["response"]
    assert len(setup.box.state.request_log) == before + 1
    bad = setup.a.post(f"/connections/{cid}/passthrough", json={"operation": "drop-tables"})
    assert bad.status_code == 400
