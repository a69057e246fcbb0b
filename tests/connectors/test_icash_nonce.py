"""iCash nonces: the documented signature, and a nonce that only grows across processes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from posbridge.connectors.icash.wire import NonceFile, sign
from posbridge.sandboxes.icash import create_sandbox
from posbridge.sandboxes.runner import SandboxServer

_CHILD = """
import sys
from posbridge.connectors.http import VendorClient
from posbridge.connectors.icash import ICash, ICashSettings

url, api_key, secret, warehouse, user, state_dir, calls = sys.argv[1:]
settings = ICashSettings(api_key=api_key, secret_key=secret, warehouse_id=warehouse,
                         user_id=user, state_dir=state_dir)
with VendorClient(url, vendor="icash") as http:
    conn = ICash(settings, http)
    for _ in range(int(calls)):
        conn.call("get-pay-types")
"""

_LOOPING_CHILD = """
import sys
from pathlib import Path
from posbridge.connectors.icash.wire import NonceFile

nonces = NonceFile(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    with nonces.hold():
        pass
"""


def test_signature_matches_the_documented_vector() -> None:
    """The vendor-notes test vector signs to the documented 64 upper-case hex characters."""
    assert (
        sign("demo_secret_key_0001", 1552989761, 785, "demo_api_key_0001")
        == "13FA31961C4465607D89B5092ECCABB8A3C1505D14BF2F9062B0C31992042FEB"
    )


def test_nonce_survives_a_restart(tmp_path: Path) -> None:
    """A new counter on the same file continues above the last nonce handed out."""
    path = tmp_path / "n"
    with NonceFile(path).hold() as first:
        pass
    path.write_text(str(first + 10_000))  # as if many requests ran in the last seconds
    with NonceFile(path).hold() as after_restart:
        assert after_restart == first + 10_001


@pytest.mark.slow
def test_a_process_killed_while_taking_a_nonce_leaves_a_valid_counter(tmp_path: Path) -> None:
    """SIGKILL at random points of `hold()` never leaves an empty or smaller counter.

    Regression: the file was truncated before the new nonce was written; a kill between the
    two (most kills, on a disk where the truncate waits for the last fsync) left it empty,
    the next process restarted at the unix time, below nonces already sent, and the vendor
    refused every request with "Invalid nonce" (found by the crash test of every vendor).
    """
    path, rng, last = tmp_path / "nonce", random.Random(7), 0
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", _LOOPING_CHILD, str(path)], stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.005, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        text = path.read_text().strip()
        assert text.isdigit(), f"counter file holds {text!r} after a kill"
        assert int(text) >= last
        last = int(text)
    with NonceFile(path).hold() as after:
        assert after == last + 1 or after == int(time.time())


def test_two_processes_never_send_a_reused_or_smaller_nonce(tmp_path: Path) -> None:
    """Two connector processes sharing one connection take turns: every nonce is new and above the last."""
    box = create_sandbox(seed=2, days=1, orders_per_day=5)
    c = box.credentials
    with SandboxServer(box.app) as server:
        args = [
            server.url + box.base_path,
            c["api_key"],
            c["secret_key"],
            c["warehouse_id"],
            c["user_id"],
            str(tmp_path),
            "40",
        ]
        procs = [subprocess.Popen([sys.executable, "-c", _CHILD, *args]) for _ in range(2)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
    log = list(box.state.request_log)
    assert len(log) == 2 * 41  # each process: one login + 40 calls
    assert all(e.error == "" for e in log), {e.error for e in log}
    nonces = [int(e.nonce) for e in log]
    assert nonces == sorted(nonces)
    assert len(set(nonces)) == len(nonces)


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
