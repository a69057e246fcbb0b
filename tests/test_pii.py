"""Scenario 26: card numbers masked at ingest; one customer's personal data erased.

Both run a CloudPOS sandbox whose world carries the personal data (an invoice note with a
card number, an invoice naming its customer), sync it into SQLite and PostgreSQL, and
look at every place the data could remain: normalized `data`, `raw`, the pre-encoded
API document and the API's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from posbridge.api import create_app
from posbridge.cli import app as cli
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.pii import luhn_ok, mask_pans
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine

PAN = "4111 1111 1111 1111"
MASKED = "411111******1111"


@dataclass
class Synced:
    store: Store
    box: Sandbox
    cid: str
    api: httpx.Client
    other: httpx.Client

    def stored_text(self, table: str) -> str:
        """Every stored column that can hold a payload, of every row, as one text."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT data, raw, doc FROM {table}")).all()
        return " ".join(str(v) for r in rows for v in r)


def _named(box: Sandbox) -> tuple[Any, Any]:
    """The world's first invoice, made out to a person with a name and an e-mail."""
    world = box.state.world
    person = next(c for c in world.customers.values() if c.name and c.firstname and c.email)
    doc = world.documents[0]
    doc.customer_id = person.id
    return doc, person


@pytest.fixture
def synced(store: Store) -> Iterator[Synced]:
    """A CloudPOS world whose first invoice notes a card number and names its customer."""
    box = create_sandbox(seed=41, days=2, orders_per_day=30)
    doc, person = _named(box)
    doc.note = f"Zaal voor {person.firstname} {person.name}, {person.email}; kaart {PAN}"
    with SandboxServer(box.app) as vendor, SandboxServer(create_app(store)) as server:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        a, b = create_account(store, "A"), create_account(store, "B")
        assign_connection(store, "shop", a)
        result = SyncEngine(store).run("shop")
        assert result.status == "ok", result.error
        clients = [
            httpx.Client(
                base_url=server.url + "/v1",
                headers={"Authorization": f"Bearer {create_api_key(store, t)}"},
                timeout=30,
            )
            for t in (a, b)
        ]
        yield Synced(store, box, store.get_connection("shop").id, *clients)
        for c in clients:
            c.close()


def test_pan_masking_rule() -> None:
    """First 6 / last 4 of Luhn-valid 13–19 digit runs; barcodes, amounts, dates and
    Luhn-invalid runs are left alone."""
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    text = (
        b'{"a":"4111-1111-1111-1111","b":"amex 3782 822463 10005","c":4012888888881881,'
        b'"ean":"5412345678908","bad":"4111111111111112","amount":"4111111111111111.50",'
        b'"at":"2026-10-01 12:33:10","ms":1759943580123,"tag":"2548123887773"}'
    )
    assert mask_pans(text) == (
        b'{"a":"411111******1111","b":"amex 378282*****0005","c":401288******1881,'
        b'"ean":"5412345678908","bad":"4111111111111112","amount":"4111111111111111.50",'
        b'"at":"2026-10-01 12:33:10","ms":1759943580123,"tag":"2548123887773"}'
    )
    clean = b'{"no":"card here"}'
    assert mask_pans(clean) is clean


def test_card_numbers_are_masked_at_ingest_and_never_served(synced: Synced) -> None:
    """A card number in a vendor invoice note is stored and served as first 6 / last 4
    only: normalized record, raw payload copy, API document, `include=raw`."""
    stored = synced.stored_text("invoices")
    assert MASKED in stored
    assert PAN not in stored
    assert PAN.replace(" ", "") not in stored
    for params in ({}, {"include": "raw"}):
        body = synced.api.get("/invoices", params=params | {"limit": 100}).text
        assert MASKED in body
        assert PAN not in body
        assert PAN.replace(" ", "") not in body


def _revenue(s: Synced) -> object:
    return s.api.get("/reports/revenue", params={"group_by": "day"}).json()


def test_erasure_removes_a_customer_everywhere_and_keeps_the_sales(synced: Synced) -> None:
    """DELETE /v1/customers/{id}/personal-data: the customer's names, e-mail, phone, street
    and loyalty tag leave its row (data, raw, API document) and the invoice that names it;
    revenue and the number of orders are unchanged; another tenant gets a 404."""
    _, person = _named(synced.box)
    customer = synced.api.get("/customers", params={"limit": 500, "include": "raw"}).json()["data"]
    target = next(c for c in customer if c["source_id"] == str(person.id))
    revenue, orders = _revenue(synced), len(list(synced.store.records("order", synced.cid)))
    personal = [person.name, person.firstname, person.email, person.phone, person.street]
    assert all(v in synced.stored_text("customers") for v in personal)
    assert person.email in synced.stored_text("invoices")

    path = f"/customers/{target['id']}/personal-data"
    assert synced.other.delete(path).status_code == 404
    erased = synced.api.delete(path)
    assert erased.status_code == 200, erased.text
    assert erased.json()["records_scrubbed"] >= 2  # the customer and its invoice

    with synced.store.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT data, raw, doc FROM customers WHERE id = :id"), {"id": target["id"]}
        ).one()
    left = " ".join(str(v) for v in row)
    assert not [v for v in [*personal, person.tag_id] if v and v in left]
    invoices = synced.stored_text("invoices")
    assert person.email not in invoices
    assert f"{person.firstname} {person.name}" not in invoices
    assert "[erased]" in invoices
    served = synced.api.get(f"/customers/{target['id']}", params={"include": "raw"}).text
    assert person.email not in served
    assert person.name not in served
    assert _revenue(synced) == revenue
    assert len(list(synced.store.records("order", synced.cid))) == orders
    assert synced.api.delete("/customers/cus_nope/personal-data").status_code == 404


def test_erasure_from_the_cli(synced: Synced, db_url: str) -> None:
    """`posbridge erase-customer ID` does the same from the command line."""
    customers = list(synced.store.records("customer", synced.cid))
    customer = next(c for c in customers if c.record.email)  # type: ignore[attr-defined]
    email = customer.record.email  # type: ignore[attr-defined]
    done = CliRunner().invoke(
        cli,
        ["erase-customer", customer.id, "--database-url", db_url],
        env={"POSBRIDGE_SECRET_KEY": "k" * 32},
    )
    assert done.exit_code == 0, done.output
    assert "erased" in done.output
    assert email not in synced.stored_text("customers")
