"""Writes through the API: idempotency keys, the outbox, dry runs, lost responses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from posbridge.api import create_app
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store


@dataclass
class Writer:
    """A tenant's API client, its CloudPOS connection id and the sandbox behind it."""

    client: httpx.Client
    other: httpx.Client
    cid: str
    box: Sandbox

    def calls(self, function: str) -> int:
        return sum(1 for e in self.box.state.request_log if e.function == function)


@pytest.fixture
def writer(store: Store) -> Iterator[Writer]:
    """An API over a store with one CloudPOS connection owned by tenant A."""
    box = create_sandbox(seed=10, days=2, orders_per_day=20)
    with SandboxServer(box.app) as vendor, SandboxServer(create_app(store)) as api:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        a, b = create_account(store, "A"), create_account(store, "B")
        assign_connection(store, "shop", a)
        clients = [
            httpx.Client(
                base_url=api.url + "/v1",
                timeout=60,
                headers={"Authorization": f"Bearer {create_api_key(store, t)}"},
            )
            for t in (a, b)
        ]
        yield Writer(clients[0], clients[1], store.get_connection("shop").id, box)
        for c in clients:
            c.close()


PRODUCT = {"name": "Speculoos", "category_source_id": "1", "price": "2.50", "tax_rate": "6"}


def _post(
    w: Writer,
    command: str,
    payload: dict[str, object],
    key: str | None,
    client: httpx.Client | None = None,
    **params: str,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return (client or w.client).post(
        f"/connections/{w.cid}/commands/{command}",
        json=payload,
        headers=headers,
        params={"wait": "true"} | params,
    )


def test_same_key_same_body_replays_the_first_result(writer: Writer) -> None:
    """A retried write with the same key returns the first result and creates nothing twice."""
    first = _post(writer, "create_product", PRODUCT, "k-1")
    again = _post(writer, "create_product", PRODUCT, "k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert writer.calls("post-product") == 1
    assert sum(p.name == "Speculoos" for p in writer.box.state.world.products.values()) == 1
    outbox = writer.client.get(f"/connections/{writer.cid}/commands").json()["data"]
    assert [c["status"] for c in outbox] == ["succeeded"]


def test_same_key_other_body_is_refused(writer: Writer) -> None:
    """Reusing a key for a different request answers 422 and sends nothing."""
    _post(writer, "create_product", PRODUCT, "k-2")
    other = _post(writer, "create_product", PRODUCT | {"price": "3.00"}, "k-2")
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency_key_reused")
    assert writer.calls("post-product") == 1


def test_missing_key_unsupported_and_invalid_writes(writer: Writer) -> None:
    """No key → 400; an unknown command or invalid payload → 422; nothing reaches the vendor."""
    assert _post(writer, "create_product", PRODUCT, None).status_code == 400
    unsupported = _post(writer, "launch_rocket", {}, "k-3")
    assert unsupported.status_code == 422
    assert unsupported.json()["type"].endswith("unsupported_command")
    invalid = _post(writer, "create_product", PRODUCT | {"tax_rate": "19"}, "k-4")
    assert invalid.status_code == 422
    assert writer.calls("post-product") == 0


def test_dry_run_shows_the_vendor_request_and_sends_nothing(writer: Writer) -> None:
    """dry_run=true answers with the exact vendor request; the sandbox sees no call."""
    preview = _post(
        writer,
        "create_web_order",
        {
            "customer_source_id": "1",
            "lines": [{"product_source_id": "1", "unit_price_gross": "2.50", "tax_rate": "21"}],
        },
        "k-5",
        dry_run="true",
    ).json()
    assert preview["request"]["function"] == "post-weborder"
    assert '"productvat":"1.21"' in preview["request"]["form"]["weborderdetail"]
    assert writer.calls("post-weborder") == 0


def test_lost_response_is_reconciled_without_a_second_invoice(writer: Writer) -> None:
    """The vendor stores the invoice but the connection drops; the retry finds it: one invoice."""
    writer.box.state.faults.update(reset_next=1)
    invoice = {
        "number": "F-77",
        "lines": [
            {"name": "Zaal", "quantity": "1", "tax_rate": "21", "unit_price_gross": "121.00"}
        ],
    }
    response = _post(writer, "create_invoice", invoice, "k-6")
    assert response.status_code == 201
    assert response.json()["response"]["reconciled"] is True
    assert sum(d.number == "F-77" for d in writer.box.state.world.documents) == 1


def test_another_tenant_cannot_write(writer: Writer) -> None:
    """Tenant B gets 404 for tenant A's connection, and its keys never collide with A's."""
    assert _post(writer, "create_product", PRODUCT, "k-7", client=writer.other).status_code == 404


def _typed(
    w: Writer, path: str, body: dict[str, object], key: str, **params: str
) -> httpx.Response:
    return w.client.post(path, json=body, headers={"Idempotency-Key": key}, params=params)


def test_typed_create_waits_or_is_accepted_and_polled(writer: Writer) -> None:
    """POST /v1/products creates through the connector's command: wait=true answers the
    result; without it a 202 command resource that a poll sees succeed."""
    body = {"connection_id": writer.cid} | PRODUCT
    done = _typed(writer, "/products", body, "t-1", wait="true")
    assert done.status_code == 201
    assert done.json()["command"] == "create_product"
    accepted = _typed(writer, "/products", body | {"name": "Mattentaart"}, "t-2")
    assert accepted.status_code == 202
    command = accepted.json()
    assert command["object"] == "command"
    for _ in range(200):  # the write runs after the 202 answer: poll for its outcome
        polled = writer.client.get(f"/commands/{command['id']}").json()
        if polled["status"] != "pending":
            break
        time.sleep(0.05)
    assert polled["status"] == "succeeded"
    assert polled["result"]["source_id"]
    names = [p.name for p in writer.box.state.world.products.values()]
    assert names.count("Speculoos") == names.count("Mattentaart") == 1
    assert writer.other.get(f"/commands/{command['id']}").status_code == 404


def test_typed_update_kind_and_unsupported_models(writer: Writer, store: Store) -> None:
    """An update addresses the stored record; `kind` picks the document command; a model the
    connector cannot write is a 422 naming what it can."""
    from posbridge.sync.engine import SyncEngine

    SyncEngine(store).run("shop", streams=["products"])
    product = writer.client.get("/products", params={"limit": 1}).json()["data"][0]
    updated = _typed(
        writer, f"/products/{product['id']}", PRODUCT | {"name": "Renamed"}, "t-3", wait="true"
    )
    assert updated.status_code == 201, updated.text
    assert updated.json()["command"] == "update_product"
    assert writer.box.state.world.products[int(product["source_id"])].name == "Renamed"
    note = {
        "connection_id": writer.cid,
        "kind": "credit_note",
        "number": "CN-1",
        "lines": [{"name": "Zaal", "quantity": "1", "tax_rate": "21", "unit_price_gross": "10"}],
    }
    credit = _typed(writer, "/invoices", note, "t-4", wait="true")
    assert credit.json()["command"] == "create_credit_note"
    journal = _typed(writer, "/journal_entries", {"connection_id": writer.cid}, "t-5")
    assert journal.status_code == 422
    assert "invoice" in journal.json()["detail"]
    unknown_kind = _typed(writer, "/vouchers", {"connection_id": writer.cid, "kind": "nft"}, "t-6")
    assert unknown_kind.status_code == 422
    assert "gift_voucher" in unknown_kind.json()["detail"]
    missing = _typed(writer, "/products", PRODUCT, "t-7")
    assert missing.status_code == 422
    assert (
        writer.other.post(
            f"/products/{product['id']}", json=PRODUCT, headers={"Idempotency-Key": "t-8"}
        ).status_code
        == 404
    )


def test_rehearsal_runs_against_a_sandbox_not_the_pos(writer: Writer) -> None:
    """dry_run + rehearse shows the vendor request and the answer of a local sandbox; the
    connection's own vendor sees nothing."""
    body = {"connection_id": writer.cid} | PRODUCT
    shown = _typed(writer, "/products", body, "t-9", dry_run="true", rehearse="true").json()
    assert shown["request"]["function"] == "post-product"
    assert shown["rehearsal"]["ok"] is True
    assert shown["rehearsal"]["source_id"]
    assert writer.calls("post-product") == 0
    refused = _typed(writer, "/products", body, "t-10", rehearse="true")
    assert refused.status_code == 422
