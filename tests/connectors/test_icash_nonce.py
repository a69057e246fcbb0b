"""iCash nonces: the documented signature, and one counter in the store for every client.

Reliability scenario 14: many processes share one API key through the store's counter,
clients with skewed clocks still send increasing nonces, an old per-machine counter file
is continued once, and "Invalid nonce" resynchronises and retries once, never a storm.
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from posbridge.app import connect
from posbridge.connectors.icash import ICash
from posbridge.connectors.icash.wire import legacy_nonce_path, nonce_scope, sign
from posbridge.errors import VendorError
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.icash import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.store.tables import nonce_counters
from posbridge.sync.engine import build_connector

_CHILD = """
import sys
from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import build_connector

url, name, calls = sys.argv[1:]
store = Store.open(url, Vault(b"k" * 32))
conn = build_connector(store, store.get_connection(name))
for _ in range(int(calls)):
    conn.call("get-pay-types")
conn.http.close()
store.close()
"""


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    """An iCash sandbox whose clock reads real time (the nonce floor is unix time)."""
    box = create_sandbox(seed=2, days=1, orders_per_day=5)
    with SandboxServer(box.app) as server:
        _set_server_clock(server.url, 0)
        yield box, server.url


def _set_server_clock(url: str, ahead: float) -> None:
    moment = datetime.fromtimestamp(time.time() + ahead, UTC)
    httpx.post(f"{url}/_sandbox/clock", json={"set": moment.isoformat()}).raise_for_status()


def _connect(store: Store, box: Sandbox, url: str, **extra: str) -> str:
    values = dict(box.credentials) | extra
    return connect(store, "icash", "bg", url + box.base_path, values, check=False).id


def _icash(store: Store, name: str = "bg") -> ICash:
    connector = build_connector(store, store.get_connection(name))
    assert isinstance(connector, ICash)
    return connector


def _foreign_login(box: Sandbox, url: str, nonce: int) -> None:
    """Another program using the same API key (outside posbridge's store) signs a call."""
    c = box.credentials
    fields = {
        "api_key": c["api_key"],
        "nonce": str(nonce),
        "signature": sign(c["secret_key"], nonce, c["warehouse_id"], c["api_key"]),
        "WareHouseID": c["warehouse_id"],
        "UserID": c["user_id"],
    }
    answer = httpx.post(f"{url}{box.base_path}login", data=fields).json()
    assert answer["status"] == 1, answer


def _nonces(box: Sandbox) -> list[int]:
    log = list(box.state.request_log)
    assert all(e.error == "" for e in log), [e.error for e in log]
    return [int(e.nonce) for e in log]


def _strictly_increasing(values: list[int]) -> bool:
    return all(b > a for a, b in itertools.pairwise(values))


def test_signature_matches_the_documented_vector() -> None:
    """The vendor-notes test vector signs to the documented 64 upper-case hex characters."""
    assert (
        sign("demo_secret_key_0001", 1552989761, 785, "demo_api_key_0001")
        == "13FA31961C4465607D89B5092ECCABB8A3C1505D14BF2F9062B0C31992042FEB"
    )


def test_many_processes_share_one_key_through_the_store(
    db_url: str, served: tuple[Sandbox, str]
) -> None:
    """Three worker processes on one key: the sandbox sees every nonce once, in order."""
    box, url = served
    store = Store.open(db_url, Vault(b"k" * 32))
    _connect(store, box, url)
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, db_url, "bg", "15"]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    nonces = _nonces(box)
    assert len(nonces) == 3 * 16  # each process: one login + 15 calls
    assert _strictly_increasing(nonces)
    assert store.nonces.last(
        nonce_scope(box.credentials["api_key"], box.credentials["warehouse_id"])
    ) == max(nonces)
    store.close()


def test_the_api_key_is_never_stored_in_clear(db_url: str, served: tuple[Sandbox, str]) -> None:
    box, url = served
    store = Store.open(db_url, Vault(b"k" * 32))
    _connect(store, box, url)
    client = _icash(store)
    client.call("get-pay-types")
    client.http.close()
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(nonce_counters)).all()
    assert len(rows) == 1
    assert box.credentials["api_key"] not in repr(rows)
    store.close()


def test_an_old_counter_file_is_continued_once(
    db_url: str, served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    """Upgrading from the per-machine file: the store's counter starts above its value."""
    box, url = served
    c = box.credentials
    legacy = legacy_nonce_path(tmp_path, c["api_key"], c["warehouse_id"])
    old = int(time.time()) + 50_000  # many requests per second ran the file ahead of time
    legacy.write_text(str(old))
    store = Store.open(db_url, Vault(b"k" * 32))
    _connect(store, box, url, state_dir=str(tmp_path))
    for _ in range(2):  # a new process each time; the file is read once only
        client = _icash(store)
        client.call("get-pay-types")
        client.http.close()
        legacy.write_text("7")  # the store's counter is the truth from now on
    assert _nonces(box) == [old + 1, old + 2, old + 3, old + 4]  # login + call, twice
    store.close()


def test_clients_with_skewed_clocks_still_send_increasing_nonces(
    db_url: str, served: tuple[Sandbox, str]
) -> None:
    """A client 6 min ahead of the server and one 6 min behind, in turn and at once."""
    box, url = served
    store = Store.open(db_url, Vault(b"k" * 32))
    _connect(store, box, url)
    ahead, behind = _icash(store), _icash(store)
    ahead.nonces.clock = lambda: time.time() + 360
    behind.nonces.clock = lambda: time.time() - 360
    for _ in range(3):
        ahead.call("get-pay-types")
        behind.call("get-pay-types")
    assert _nonces(box)[0] >= int(time.time()) + 359  # the ahead clock set the pace

    def hammer(client: ICash) -> None:
        for _ in range(10):
            client.call("get-pay-types")

    threads = [threading.Thread(target=hammer, args=(c,)) for c in (ahead, behind)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nonces = _nonces(box)
    assert len(nonces) == 2 + 6 + 20
    assert _strictly_increasing(nonces)
    assert ahead.auth.resyncs == behind.auth.resyncs == 0
    ahead.http.close()
    behind.http.close()
    store.close()


def test_invalid_nonce_resyncs_to_the_server_clock_and_retries_once(
    db_url: str, served: tuple[Sandbox, str]
) -> None:
    """Our clock is 10 min behind the server's and another program of the key signs with
    the server's time: the first nonce is refused, the retry above the server's clock
    passes, and everything after it goes through first time."""
    box, url = served
    _set_server_clock(url, 600)
    _foreign_login(box, url, int(time.time()) + 600)
    store = Store.open(db_url, Vault(b"k" * 32))
    cid = _connect(store, box, url)
    client = _icash(store)
    for _ in range(3):
        client.call("get-pay-types")
    log = list(box.state.request_log)
    assert [e.error for e in log] == ["", "Invalid nonce"] + [""] * 4
    assert client.auth.resyncs == 1
    assert _strictly_increasing([int(e.nonce) for e in log if not e.error])
    assert store.get_connection(cid).status == "ok"  # no lockout
    client.http.close()
    store.close()


def test_a_second_refusal_is_a_clear_error_not_a_retry_storm(
    db_url: str, served: tuple[Sandbox, str]
) -> None:
    """Another program ran the key's nonce far ahead: two requests, then an error that
    names the clock skew; the HTTP layer does not retry it."""
    box, url = served
    _set_server_clock(url, 600)
    _foreign_login(box, url, int(time.time()) + 100_000)
    store = Store.open(db_url, Vault(b"k" * 32))
    _connect(store, box, url)
    client = _icash(store)
    with pytest.raises(VendorError, match="refused the nonce again") as caught:
        client.call("get-pay-types")
    assert caught.value.vendor_code == "invalid_nonce"
    assert "600 s behind" in caught.value.message or "599 s behind" in caught.value.message
    assert [e.error for e in box.state.request_log] == ["", "Invalid nonce", "Invalid nonce"]
    client.http.close()
    store.close()


def test_sandbox_refuses_a_nonce_that_does_not_grow() -> None:
    """Replaying a nonce gets the envelope error "Invalid nonce" with the nonce echoed as a string."""
    box = create_sandbox(seed=2, days=1, orders_per_day=5)
    c = box.credentials
    fields = {
        "api_key": c["api_key"],
        "nonce": "500",
        "signature": sign(c["secret_key"], 500, c["warehouse_id"], c["api_key"]),
        "WareHouseID": c["warehouse_id"],
        "UserID": c["user_id"],
    }
    with SandboxServer(box.app) as server, httpx.Client(base_url=server.url) as client:
        first = client.post("/clientapi/v1/login", data=fields).json()
        again = client.post("/clientapi/v1/login", data=fields).json()
    assert first["status"] == 1
    assert len(first["data"]["session_id"]) == 32
    assert again == {"nonce": "500", "status": 0, "error_message": "Invalid nonce"}
