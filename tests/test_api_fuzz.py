"""Schemathesis against the API's own OpenAPI document: no 5xx for any generated request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from conftest import postgres_schema_url
from posbridge.api import create_app
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine

KEY: dict[str, str] = {}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The API over a synced store (SQLite and PostgreSQL), loaded by schemathesis."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("fuzz") / "store.db"
        urls: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        urls = postgres_schema_url()
    url = next(urls)
    store = Store.open(url, Vault(b"f" * 32))
    box = create_sandbox(seed=13, days=2, orders_per_day=10)
    with SandboxServer(box.app) as vendor:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        SyncEngine(store).run("shop")
    account = create_account(store, "fuzz")
    assign_connection(store, "shop", account)
    KEY["value"] = create_api_key(store, account)
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(store))
    store.close()
    next(urls, None)  # drops the PostgreSQL schema


def test_no_server_errors(api_schema: Any) -> None:
    """Whatever input the OpenAPI document allows, every operation answers without a 5xx."""
    headers = {"Authorization": f"Bearer {KEY['value']}", "Idempotency-Key": "fuzz"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
