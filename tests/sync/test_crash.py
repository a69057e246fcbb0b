"""A sync killed with SIGKILL at random points resumes to exactly the world."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault, load_or_create_key
from posbridge.store.repo import Store
from posbridge.testing import duplicate_keys, world_differences


def _cli(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "posbridge", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "page_size"), [(11, 20), (12, 20), (13, 250), (14, 250)])
def test_sigkill_at_random_points_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str, seed: int, page_size: int
) -> None:
    """Kill `posbridge sync` repeatedly mid-run; the final store equals the world, no duplicates.

    Pages of 250 are mapped by a worker process, pages of 20 in-process: both paths; on
    SQLite and PostgreSQL.
    """
    box = create_sandbox(seed=seed, days=5, orders_per_day=120)
    box.state.faults.update(latency_ms=80)
    db = db_url
    env = {**os.environ, "POSBRIDGE_DATABASE_URL": db, "POSBRIDGE_SECRET_KEY": "crash-test"}
    rng = random.Random(seed)
    with SandboxServer(box.app) as server:
        url = server.url + box.base_path
        sets = [
            f"--set=licname={box.credentials['licname']}",
            f"--set=token={box.credentials['token']}",
            f"--set=page_size={page_size}",
            "--set=lookback=5",
        ]
        log = tmp_path / "stderr.log"
        connect = _cli(env, log, "connect", "cloudpos", "--name", "shop", "--base-url", url, *sets)
        assert connect.wait(timeout=60) == 0, log.read_text()
        kills = 0
        for attempt in range(rng.randint(2, 4)):  # kill a few runs at random points...
            proc = _cli(env, log, "sync", "shop")
            # The first kill always lands mid-run (start-up takes ~0.5 s, the run > 2 s).
            limit = rng.uniform(0.8, 1.4) if attempt == 0 else rng.uniform(0.8, 4.0)
            try:
                code = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
            assert code == 0, log.read_text()
        final = _cli(env, log, "sync", "shop")  # ...then let one finish
        assert final.wait(timeout=180) == 0, log.read_text()
    assert kills >= 1
    store = Store.open(db, Vault(load_or_create_key("crash-test", tmp_path / "unused.key")))
    cid = store.get_connection("shop").id
    assert duplicate_keys(store, cid) == []
    assert world_differences(store, cid, box.state.world) == []
    store.close()
