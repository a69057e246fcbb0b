"""Scenario 16: the process dies at every step of an outbox write; scenario 17's 409.

A child process runs one write through `submit_command` and exits hard (`os._exit`, no
clean-up, like SIGKILL) at a step boundary. The crash hook is installed by this test's
child script around the outbox functions; nothing in `src/` knows about it. The client
then retries with the same Idempotency-Key, as the API tells it to, and the CloudPOS
sandbox's products are counted: each write reaches the vendor once, or — when the outbox
cannot know whether it did — the retry is answered `outcome_unknown` and is never resent.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from posbridge.api import create_app
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.accounts import assign_connection, create_account, create_api_key
from posbridge.store.repo import Store
from posbridge.store.tables import outbox
from posbridge.sync.outbox import STALE_AFTER, submit_command

PRODUCT = {"name": "Cuberdon", "category_source_id": "1", "price": "3.20", "tax_rate": "6"}
CRASHED = 17

#: one write in a child process that exits hard at the step named in argv[3]
CHILD = """
import os, sys
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync import outbox

url, account, step = sys.argv[1:4]
PRODUCT = {"name": "Cuberdon", "category_source_id": "1", "price": "3.20", "tax_rate": "6"}
send = outbox._send


def crash():
    os._exit(17)


def crash_before_send(*args, **kwargs):
    crash()  # the outbox row is committed; nothing was sent


def crash_after_send(*args, **kwargs):
    send(*args, **kwargs)  # the vendor has it; its answer is never recorded
    crash()


if step == "before_send":
    outbox._send = crash_before_send
elif step == "after_send":
    outbox._send = crash_after_send
store = Store.open(url, Vault(b"k" * 32))
row = store.get_connection("shop")
outbox.submit_command(store, account, row, "create_product", PRODUCT, "key-1")
crash()  # "after_record": the outcome is committed; the client never got the answer
"""


@dataclass
class Shop:
    store: Store
    box: Sandbox
    account: str
    url: str

    def made(self) -> int:
        """Products the vendor holds from this test (its ground truth)."""
        return sum(p.name == PRODUCT["name"] for p in self.box.state.world.products.values())


@pytest.fixture
def shop(store: Store, db_url: str) -> Iterator[Shop]:
    box = create_sandbox(seed=31, days=1, orders_per_day=5)
    with SandboxServer(box.app) as vendor:
        store.add_connection("shop", "cloudpos", vendor.url + box.base_path, box.credentials)
        account = create_account(store, "A")
        assign_connection(store, "shop", account)
        yield Shop(store, box, account, db_url)


def _crash_at(shop: Shop, step: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, shop.url, shop.account, step],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == CRASHED, child.stderr


def _retry(shop: Shop) -> tuple[int, dict[str, object]]:
    row = shop.store.get_connection("shop")
    outcome = submit_command(shop.store, shop.account, row, "create_product", PRODUCT, "key-1")
    return outcome.status, outcome.body


def _age_pending_rows(store: Store) -> None:
    """Let the outbox's staleness window pass (the dead writer's row is 'old' now)."""
    with store.engine.begin() as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.status == "pending")
            .values(updated_at=datetime.now(UTC) - STALE_AFTER - timedelta(seconds=1))
        )


@pytest.mark.slow
@pytest.mark.parametrize(("step", "reached"), [("before_send", 0), ("after_send", 1)])
def test_crash_before_the_outcome_is_recorded_is_never_resent(
    shop: Shop, step: str, reached: int
) -> None:
    """Killed before sending, or after the vendor created it but before the answer was
    stored: the row stays pending. A retry meanwhile answers 409 (in progress); once the
    row is stale it answers 502 `outcome_unknown` for an operator — and neither retry ever
    sends it again, so the vendor holds exactly what it had at the crash (0 or 1)."""
    _crash_at(shop, step)
    assert shop.made() == reached
    status, body = _retry(shop)
    assert status == 409
    assert str(body["type"]).endswith("request_in_progress")
    _age_pending_rows(shop.store)
    status, body = _retry(shop)
    assert status == 502
    assert str(body["type"]).endswith("outcome_unknown")
    assert "operator" in str(body["title"])
    assert shop.made() == reached
    with shop.store.engine.connect() as conn:
        rows = conn.execute(outbox.select()).all()
    assert [r.status for r in rows] == ["pending"]  # one row: the retries added none


@pytest.mark.slow
def test_crash_after_the_outcome_is_recorded_replays_it(shop: Shop) -> None:
    """Killed after the outcome was committed but before the client heard it: the retry
    replays the stored 201 and the vendor holds exactly one product."""
    _crash_at(shop, "after_record")
    status, body = _retry(shop)
    assert status == 201
    assert body["command"] == "create_product"
    assert body["source_id"]
    assert shop.made() == 1
    again = _retry(shop)
    assert again == (status, body)
    assert shop.made() == 1


def test_concurrent_identical_writes_make_one_vendor_object(shop: Shop) -> None:
    """Two clients send the same write with one Idempotency-Key at the same moment (the
    vendor is slow, so the first is still in flight): one 201, one 409, one product."""
    shop.box.state.faults.update(latency_ms=400)
    key = create_api_key(shop.store, shop.account)
    cid = shop.store.get_connection("shop").id
    barrier = threading.Barrier(2)
    answers: list[int] = []

    with SandboxServer(create_app(shop.store)) as api:

        def post() -> None:
            with httpx.Client(base_url=api.url, timeout=60) as client:
                barrier.wait()
                answer = client.post(
                    "/v1/products",
                    params={"wait": "true"},
                    json={"connection_id": cid} | PRODUCT,
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "same"},
                )
                answers.append(answer.status_code)

        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(answers) == [201, 409]
    assert shop.made() == 1
