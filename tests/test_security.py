"""Secrets stay secret and the API refuses oversized bodies.

For every registered vendor the sandbox's secret credentials are connected, synced, shown
through the CLI and the API and logged at DEBUG; then the database file, the captured
logs and every answer are scanned for them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from posbridge.api import create_app
from posbridge.app import connect
from posbridge.connectors import REGISTRY
from posbridge.errors import PosbridgeError
from posbridge.sandboxes import SANDBOXES
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine


def _secret_keys(vendor: str) -> list[str]:
    fields = REGISTRY[vendor].Settings.model_fields
    return [name for name, f in fields.items() if f.annotation is SecretStr]


@pytest.mark.parametrize("vendor", sorted(SANDBOXES))
def test_secrets_are_never_stored_in_clear_logged_printed_or_answered(
    vendor: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The vendor secret is nowhere in the database file, the DEBUG log, the CLI's output or
    any API answer — after a connect, a sync, a failed login and a status."""
    keys = _secret_keys(vendor)
    assert keys, f"{vendor} declares no SecretStr setting"
    db = tmp_path / "secure.db"
    url = f"sqlite:///{db}"
    store = Store.open(url, Vault(b"s" * 32))
    box = SANDBOXES[vendor](seed=5, days=2, orders_per_day=10)
    secrets = [box.credentials[k] for k in keys if box.credentials.get(k)]
    assert secrets
    assert all(len(s) >= 6 for s in secrets)
    caplog.set_level(logging.DEBUG)
    with SandboxServer(box.app) as server:
        base = server.url + box.base_path
        connect(store, vendor, "shop", base, box.credentials)
        assert SyncEngine(store).run("shop").ok
        wrong = dict(box.credentials) | {k: "wrong-" + box.credentials[k] for k in keys}
        with pytest.raises(PosbridgeError) as failed:
            connect(store, vendor, "bad", base, wrong)
        assert not any(s in str(failed.value) for s in secrets)
        account = create_account(store, "A")
        assign_connection(store, "shop", account)
        key = create_api_key(store, account)
        with (
            SandboxServer(create_app(store)) as api,
            httpx.Client(
                base_url=api.url + "/v1", headers={"Authorization": f"Bearer {key}"}
            ) as http,
        ):
            cid = store.get_connection("shop").id
            answers = [
                http.get("/connections").text,
                http.get(f"/connections/{cid}").text,
                http.get(f"/connections/{cid}/runs").text,
                http.post(f"/connections/{cid}/test").text,
                http.get("/orders", params={"include": "raw", "limit": 5}).text,
            ]
    store.close()
    env = {**os.environ, "POSBRIDGE_DATABASE_URL": url, "POSBRIDGE_LOG_LEVEL": "DEBUG"}
    cli = [
        subprocess.run(
            [sys.executable, "-m", "posbridge", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for args in (["status"], ["sync", "shop"], ["export", "connections"])
    ]
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for secret in secrets:
        assert secret.encode() not in files, f"{vendor} secret in the database file"
        assert secret not in caplog.text, f"{vendor} secret in the log"
        assert all(secret not in a for a in answers), f"{vendor} secret in an API answer"
        assert all(secret not in r.stdout + r.stderr for r in cli), f"{vendor} secret in CLI"


@pytest.fixture
def api(store: Store) -> Iterator[httpx.Client]:
    account = create_account(store, "A")
    key = create_api_key(store, account)
    with (
        SandboxServer(create_app(store, max_body_bytes=10_000)) as server,
        httpx.Client(
            base_url=server.url + "/v1", headers={"Authorization": f"Bearer {key}"}
        ) as http,
    ):
        yield http


def test_oversized_bodies_are_refused_declared_or_streamed(api: httpx.Client) -> None:
    """A body over the limit is a 413 problem, whether its length is declared or chunked;
    a body within it goes through."""
    big = b'{"url": "http://x/", "events": ["order.created"], "pad": "' + b"x" * 20_000 + b'"}'
    declared = api.post("/webhooks", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["type"].endswith("payload_too_large")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = api.post("/webhooks", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    small = api.post("/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["order.created"]})
    assert small.status_code == 201


def test_a_revoked_key_stops_working(db_url: str) -> None:
    """`posbridge key list` shows ids and prefixes only; `key revoke` makes the API answer 401."""
    from typer.testing import CliRunner

    from posbridge.cli import app as cli

    url = db_url
    env = {"POSBRIDGE_DATABASE_URL": url, "POSBRIDGE_SECRET_KEY": "k", "COLUMNS": "200"}
    store = Store.open(url, Vault(b"k" * 32))
    account = create_account(store, "A")
    key = create_api_key(store, account)
    runner = CliRunner()
    listed = runner.invoke(cli, ["key", "list", account], env=env)
    assert listed.exit_code == 0, listed.output
    assert key[:12] in listed.output
    assert key not in listed.output
    (key_id,) = [w for w in listed.output.split() if w.startswith("key_")]
    with SandboxServer(create_app(store)) as api:
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(api.url + "/v1/account", headers=headers).status_code == 200
    revoked = runner.invoke(cli, ["key", "revoke", key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    again = runner.invoke(cli, ["key", "revoke", key_id], env=env)
    assert again.exit_code != 0  # the CLI entry point prints this UsageError's message
    assert "no live API key" in str(again.exception)
    with SandboxServer(create_app(store)) as api:
        assert httpx.get(api.url + "/v1/account", headers=headers).status_code == 401
    store.close()
