"""WService connector over loopback: store equals world, sessions, verify, quarantine, writes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from posbridge.connectors.base import Command
from posbridge.connectors.wservice import WService
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.wservice import create_sandbox
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine, build_connector
from posbridge.testing import world_differences
from posbridge.verify import verify_connection


@pytest.fixture
def box() -> Sandbox:
    """A small Italian shop: 2 days, a few receipts a day."""
    return create_sandbox(seed=2, days=2, orders_per_day=6)


def _connect(store: Store, box: Sandbox, url: str) -> str:
    store.add_connection("shop", "wservice", url + box.base_path, box.credentials, {})
    return store.get_connection("shop").id


def test_sync_store_equals_world_and_rerun_is_quiet(store: Store, box: Sandbox) -> None:
    """Every document, department, product and prepaid card lands exactly once."""
    with SandboxServer(box.app) as server:
        cid = _connect(store, box, server.url)
        first = SyncEngine(store).run("shop")
        assert first.ok, [(s.name, s.error) for s in first.streams]
        assert world_differences(store, cid, box.state.world, vendor="wservice") == []
        again = SyncEngine(store).run("shop")
        assert again.ok
        assert all(s.inserted == 0 and s.updated == 0 for s in again.streams)
        # a new receipt after the sync is picked up from the document cursor
        code = box.state.login(box.credentials["user"], box.credentials["password"])
        box.state.handle(
            "POST",
            "setdocument",
            None,
            {},
            {
                "SessionCode": code["SessionCode"],
                "movementcodename": "VENDITA",
                "documentrows": [{"idproduct": min(box.state.world.products), "qtymovement": 1}],
            },
            None,
        )
        third = SyncEngine(store).run("shop")
        orders = next(s for s in third.streams if s.name == "orders")
        assert orders.inserted == 1
        assert world_differences(store, cid, box.state.world, vendor="wservice") == []


@pytest.fixture
def connector(box: Sandbox, db_url: str) -> Iterator[WService]:
    store = Store.open(db_url, Vault(b"k" * 32))
    with SandboxServer(box.app) as server:
        _connect(store, box, server.url)
        conn = build_connector(store, store.get_connection("shop"))
        assert isinstance(conn, WService)
        conn.auth.now = lambda: box.state.clock.now().timestamp()
        yield conn
        conn.http.close()
    store.close()


def test_session_is_renewed_before_it_expires(box: Sandbox, connector: WService) -> None:
    """Idle past `renew_after_minutes` (< 30): the connector logs in again before calling."""
    connector.call("GET", "departments", records="departments")
    assert connector.auth.logins == 1
    box.state.clock.advance(10 * 60)
    connector.call("GET", "departments", records="departments")
    assert connector.auth.logins == 1
    box.state.clock.advance(26 * 60)
    connector.call("GET", "departments", records="departments")
    assert connector.auth.logins == 2
    assert not [e for e in box.state.request_log if e.error]


def test_session_is_renewed_after_a_session_error(box: Sandbox, connector: WService) -> None:
    """Another login of the same user kills our session: one refusal, one re-login, success."""
    connector.call("GET", "departments", records="departments")
    box.state.login(box.credentials["user"], box.credentials["password"])
    raws = connector.call("GET", "products", records="products")
    assert raws
    assert connector.auth.logins == 2
    refused = [e for e in box.state.request_log if e.error]
    assert len(refused) == 1
    assert "scaduta" in refused[0].error


def test_verify_checks_each_fiscal_closure(store: Store, box: Sandbox) -> None:
    """Clean sync: every CHF verifies; a receipt missing from the store is flagged."""
    with SandboxServer(box.app) as server:
        cid = _connect(store, box, server.url)
        assert SyncEngine(store).run("shop").ok
        row = store.get_connection("shop")
        checks = list(verify_connection(store, row))
        closures = [d for d in box.state.world.documents.values() if d["documenttype"] == "CHF"]
        assert len(checks) == len(closures)
        assert all(c.verified for c in checks)
        victim = next(
            str(i) for i, d in box.state.world.documents.items() if d["documenttype"] == "VEN"
        )
        from posbridge.store.tables import RECORD_TABLES

        orders = RECORD_TABLES["order"]
        with store.engine.begin() as conn:
            conn.execute(
                orders.delete().where(orders.c.connection_id == cid, orders.c.source_id == victim)
            )
        flagged = [c for c in verify_connection(store, row) if not c.verified]
        assert len(flagged) == 1


def test_a_malformed_document_is_quarantined_not_fatal(store: Store, box: Sandbox) -> None:
    """A document with an unknown type and one with a bad amount are quarantined with reasons."""
    docs = box.state.world.documents
    ven = [i for i, d in docs.items() if d["documenttype"] == "VEN"]
    docs[ven[0]]["documenttotal"] = "sette"
    docs[ven[1]]["documentrows"][0]["vatpercentage"] = 140
    with SandboxServer(box.app) as server:
        cid = _connect(store, box, server.url)
        result = SyncEngine(store).run("shop")
        assert result.ok
        bad = store.quarantined(cid)
        assert {q["source_id"] for q in bad} == {str(ven[0]), str(ven[1])}
        diffs = world_differences(
            store, cid, box.state.world, vendor="wservice", skip_tickets=ven[:2]
        )
        assert diffs == []


# -- writes ------------------------------------------------------------------------------


def _load(reference: str, product_id: int) -> Command:
    return Command(
        name="create_document",
        reference=reference,
        payload={
            "documenttype": "CAR",
            "movementcodename": "FATFOR",
            "documenttransactionnumber": "DDT-7",
            "documentrows": [{"idproduct": product_id, "qtymovement": "4", "netprice": "2.5"}],
        },
    )


def test_lost_answer_then_retry_creates_one_document(box: Sandbox, connector: WService) -> None:
    """setdocument's answer is lost: the connector finds its document by the reference, and a
    retry of the whole command (the outbox) finds it again instead of loading stock twice."""
    world = box.state.world
    pid = min(world.products)
    before = world.products[pid].stock
    box.state.lose_response["setdocument"] = 1
    first = connector.execute(_load("outbox-9", pid))
    again = connector.execute(_load("outbox-9", pid))
    ours = [d for d in world.documents.values() if "posbridge:outbox-9" in str(d.get("notes"))]
    assert len(ours) == 1
    assert first.source_id == again.source_id == str(ours[0]["idmovement"])
    assert world.products[pid].stock == before + 4
    sets = [e for e in box.state.request_log if e.name == "setdocument"]
    assert len(sets) == 1


def test_catalogue_writes_and_deletes(box: Sandbox, connector: WService) -> None:
    """Department, product (twice: an upsert), prepaid card, sale document, product delete."""
    world = box.state.world
    dep = connector.execute(
        Command(
            name="upsert_department",
            payload={"departmentcode": 60, "departmentname": "GASTRONOMIA", "vatpercentage": "10"},
        )
    )
    payload = {
        "productcode": "GAS-1",
        "productname": "LASAGNE",
        "departmentcode": "60",
        "prices": [{"pricevalue": "6.90", "pricename": "LISTINO BASE"}],
        "barcodes": [{"barcode": ""}],
    }
    made = connector.execute(Command(name="upsert_product", payload=payload))
    same = connector.execute(Command(name="upsert_product", payload=payload))
    assert made.source_id == same.source_id
    product = world.products[int(made.source_id or 0)]
    assert product.iddepartment == int(dep.source_id or 0)
    assert product.prices[0]["pricevalue"] == Decimal("6.90")
    card = connector.execute(
        Command(
            name="upsert_prepaid_card",
            payload={
                "prepaidcode": "PP-1",
                "prepaidname": "REGALO",
                "validfrom": "2026-01-01",
                "validto": "2026-12-31",
                "prepaidbalance": "50",
            },
        )
    )
    assert world.prepaid[int(card.source_id or 0)].balance == Decimal(50)
    sale = connector.execute(
        Command(
            name="create_document",
            reference="outbox-s",
            payload={
                "movementcodename": "VENDITA",
                "documentrows": [{"idproduct": product.id, "qtymovement": "2"}],
            },
        )
    )
    assert world.documents[int(sale.source_id or 0)]["documenttotal"] == Decimal("13.80")
    gone = connector.execute(Command(name="delete_product", payload={"idproduct": product.id}))
    assert gone.source_id == str(product.id)
    assert product.id not in world.products
    preview = connector.preview(_load("outbox-p", 1))
    assert preview["body"]["notes"] == "posbridge:outbox-p"


def test_transient_faults_are_retried(db_url: str, box: Sandbox) -> None:
    """A 500 and a dropped connection mid-walk are retried: the store still equals the world."""
    store = Store.open(db_url, Vault(b"k" * 32))
    try:
        with SandboxServer(box.app) as server:
            cid = _connect(store, box, server.url)
            box.state.faults.update(fail_next=1, reset_next=1)
            assert SyncEngine(store).run("shop").ok
            assert box.state.faults.fail_next == 0
            assert box.state.faults.reset_next == 0
            assert world_differences(store, cid, box.state.world, vendor="wservice") == []
    finally:
        store.close()


def test_wrong_password_is_an_auth_error_without_retries(db_url: str, box: Sandbox) -> None:
    """A refused login stops at once (AuthError), with a single login attempt."""
    from posbridge.errors import AuthError

    store = Store.open(db_url, Vault(b"k" * 32))
    try:
        with SandboxServer(box.app) as server:
            creds = {**box.credentials, "password": "sbagliata"}
            store.add_connection("shop", "wservice", server.url + box.base_path, creds, {})
            connector = build_connector(store, store.get_connection("shop"))
            with pytest.raises(AuthError):
                connector.check()
            connector.http.close()
            assert [e.name for e in box.state.request_log] == ["login"]
    finally:
        store.close()
