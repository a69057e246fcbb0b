"""The WService document webhook, end to end: the sandbox pushes to posbridge's receiver.

The pusher and the receiver talk real HTTP on loopback (uvicorn on a free port). The
receiver is restarted in the middle of the stream: nothing may be lost or doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from posbridge.api import create_app
from posbridge.api.receivers import RECEIVER_PATH
from posbridge.connectors.wservice.codes import DEFAULT_EXCLUDED
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.wservice import create_sandbox
from posbridge.sandboxes.wservice_webhook import WebhookConfig
from posbridge.store.accounts import assign_connection, create_account
from posbridge.store.repo import Store
from posbridge.store.tables import webhook_events
from posbridge.testing import duplicate_keys
from posbridge.testing.wservice import document_differences
from posbridge.webhooks import create_subscription

RECEIVER = {"receiver_user": "wservice", "receiver_password": "s3cret-push", "success_key": "OK-7"}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until `condition` holds (no duration is asserted; the timeout only stops a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = create_sandbox(seed=6, days=2, orders_per_day=6)
    yield sandbox
    sandbox.state.stop_webhook()


@pytest.fixture
def cid(store: Store, box: Sandbox) -> str:
    store.add_connection(
        "shop", "wservice", "http://127.0.0.1:9/api/", {**box.credentials, **RECEIVER}, {}
    )
    return store.get_connection("shop").id


def _config(url: str, **changes: object) -> WebhookConfig:
    base = WebhookConfig(
        url=url,
        username=RECEIVER["receiver_user"],
        password=RECEIVER["receiver_password"],
        success_key=RECEIVER["success_key"],
        last_id=0,
        excluded=(),
        interval=0.02,
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_push_history_through_a_receiver_restart(store: Store, box: Sandbox, cid: str) -> None:
    """History replayed from id 0 with the receiver down for a while: store == documents."""
    world = box.state.world
    top = max(world.documents)
    api = SandboxServer(create_app(store)).start()
    port = api.port
    url = api.url + RECEIVER_PATH.format(connection_id=cid)
    pusher = box.state.configure_webhook(_config(url))
    try:
        _wait(lambda: (pusher.config.last_id or 0) >= top // 3, "the first third")
        api.stop()
        if pusher.config.last_id == top:  # it outran the stop (a loaded machine): send again
            pusher.replay_from(top // 3)
        _wait(lambda: any(not d.ok for d in pusher.deliveries), "a failed push while down")
        stalled = pusher.config.last_id
        assert stalled is not None
        assert stalled < top
        api = SandboxServer(create_app(store), port=port).start()
        _wait(lambda: pusher.config.last_id == top, "the whole history")
    finally:
        box.state.stop_webhook()
        api.stop()
    assert document_differences(store, cid, world) == []
    assert duplicate_keys(store, cid) == []
    failed = [d.idmovement for d in pusher.deliveries if not d.ok]
    delivered = {d.idmovement for d in pusher.deliveries if d.ok}
    assert set(failed) <= delivered  # every failed push was later delivered


def test_replay_and_default_exclusions(store: Store, box: Sandbox, cid: str) -> None:
    """Default config starts at the last document and skips DocTypeExcluded; a replay
    re-sends history and stores nothing twice."""
    world = box.state.world
    with SandboxServer(create_app(store)) as api:
        url = api.url + RECEIVER_PATH.format(connection_id=cid)
        ini = (
            f"[midware]\nWebhookDocUrl={url}\nWebhookDocBasicAuthUsername=wservice\n"
            "WebhookDocBasicAuthPassword=s3cret-push\nWebhookDocSuccessKey=OK-7\n"
        )
        config = WebhookConfig.from_ini(ini, interval=0.02)
        assert config.excluded == tuple(DEFAULT_EXCLUDED)
        assert config.last_id is None
        pusher = box.state.configure_webhook(config)
        top = max(world.documents)
        assert pusher.config.last_id == top  # starts from the last issued document
        login = box.state.login(box.credentials["user"], box.credentials["password"])
        code = {"SessionCode": login["SessionCode"]}
        pid = min(world.products)
        row = [{"idproduct": pid, "qtymovement": 1}]
        box.state.handle(
            "POST",
            "setdocument",
            None,
            {},
            {**code, "documenttype": "CAR", "documentrows": row},
            None,
        )
        box.state.handle(
            "POST",
            "setdocument",
            None,
            {},
            {**code, "movementcodename": "VENDITA", "documentrows": row},
            None,
        )
        _wait(lambda: pusher.config.last_id == top + 2, "the two new documents")
        assert [d.idmovement for d in pusher.deliveries] == [top + 2]  # the CAR was excluded
        assert f"WebhookDocLastIDMov={top + 2}" in pusher.config.to_ini()
        pusher.replay_from(top - 5)
        _wait(lambda: len(pusher.deliveries) > 1 and pusher.config.last_id == top + 2, "replay")
        box.state.stop_webhook()
    assert duplicate_keys(store, cid) == []
    pushed = {d.idmovement for d in pusher.deliveries}
    stored = {
        r.record.source_id
        for t in ("order", "shift", "invoice", "stock_movement", "report")
        for r in store.records(t, cid)
    }
    assert stored == {str(i) for i in pushed}


def test_receiver_auth_success_key_and_quarantine(store: Store, box: Sandbox, cid: str) -> None:
    """Wrong credentials → 401; the same document twice → stored once; garbage is quarantined
    and still acknowledged with the success key (WService must not stall on it)."""
    account = create_account(store, "negozio")
    assign_connection(store, "shop", account)
    create_subscription(store, account, "http://127.0.0.1:9/hook", ["order.created"])
    doc_id = next(i for i, d in box.state.world.documents.items() if d["documenttype"] == "VEN")
    body = box.state.documents_after(doc_id - 1)[0][2]
    with SandboxServer(create_app(store)) as api, httpx.Client(base_url=api.url) as http:
        path = RECEIVER_PATH.format(connection_id=cid)
        auth = (RECEIVER["receiver_user"], RECEIVER["receiver_password"])
        assert http.post(path, content=body).status_code == 401
        assert http.post(path, content=body, auth=("wservice", "wrong")).status_code == 401
        assert (
            http.post(
                RECEIVER_PATH.format(connection_id="con_x"), content=body, auth=auth
            ).status_code
            == 404
        )
        for _ in range(2):
            answer = http.post(path, content=body, auth=auth)
            assert answer.status_code == 200
            assert "OK-7" in answer.text
        orders = list(store.records("order", cid))
        assert [o.record.source_id for o in orders] == [str(doc_id)]
        with store.engine.connect() as conn:
            events = conn.execute(sa.select(webhook_events.c.type)).scalars().all()
        assert events == ["order.created"]  # one event, although pushed twice
        for garbage in (
            b"not json",
            b'{"idmovement": 9, "documenttype": "ZZZ"}',
            b'{"idmovement": 10, "documenttype": "VEN", "documenttotal": "x"}',
        ):
            answer = http.post(path, content=garbage, auth=auth)
            assert answer.status_code == 200
            assert "OK-7" in answer.text
    reasons = [q["reason"] for q in store.quarantined(cid)]
    assert len(reasons) == 3


def test_connect_prints_the_ini_lines(
    db_url: str, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`posbridge connect wservice` stores generated receiver credentials and prints the
    [midware] lines with the receiver URL; the vendor password never appears."""
    from posbridge.cli import app

    monkeypatch.setenv("POSBRIDGE_DATABASE_URL", db_url)
    monkeypatch.setenv("POSBRIDGE_SECRET_KEY", "cli-test")
    with SandboxServer(box.app) as server:
        result = CliRunner().invoke(
            app,
            [
                "connect",
                "wservice",
                "--name",
                "negozio",
                "--base-url",
                server.url + "/api/",
                "--set",
                f"user={box.credentials['user']}",
                "--set",
                f"password={box.credentials['password']}",
                "--set",
                "receiver_url=https://posbridge.example.it",
            ],
        )
    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.splitlines() if "=" in line)
    assert lines["WebhookDocUrl"].startswith("https://posbridge.example.it/v1/receivers/wservice/")
    assert lines["WebhookDocBasicAuthUsername"] == "posbridge"
    assert len(lines["WebhookDocBasicAuthPassword"]) >= 24
    assert lines["WebhookDocSuccessKey"] == "POSBRIDGE-OK"
    assert lines["DocTypeExcluded"] == "VEA,BIL,SCA,COM,CAR"
    assert "[midware]" in result.output
    assert box.credentials["password"] not in result.output
