"""Resume from every checkpoint (scenario 3): crash right after each committed cursor.

`crash_after_commit.py` syncs one connection per k and kills its process right after the
k-th transaction that wrote a stream state became durable, for every k a run has. Each
crashed connection is then synced again (every stream) and must equal the world, with no
duplicate, and the resumed read must not start the paged stream over.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox as cloudpos_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.sandboxes.smartnow import create_sandbox as smartnow_sandbox
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences

SCRIPT = Path(__file__).with_name("crash_after_commit.py")
CRASHED = 75

CASES: dict[str, tuple[Callable[[], Sandbox], dict[str, Any], list[str]]] = {
    "cloudpos": (
        lambda: cloudpos_sandbox(seed=21, days=2, orders_per_day=15),
        {"page_size": 10, "lookback": 3},
        ["orders", "z_reports"],
    ),
    "smartnow": (
        lambda: smartnow_sandbox(seed=22, days=2, orders_per_day=12),
        {"page_size": 8},
        ["orders", "device_events"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("vendor", sorted(CASES))
def test_a_crash_after_any_checkpoint_resumes_to_the_world(
    store: Store, db_url: str, tmp_path: Path, vendor: str
) -> None:
    """For every k: die right after the k-th checkpoint, rerun, store == world, no doubles."""
    make, settings, streams = CASES[vendor]
    box = make()
    with SandboxServer(box.app) as server:
        job = {
            "db": db_url,
            "vendor": vendor,
            "base_url": server.url + box.base_path,
            "credentials": box.credentials,
            "settings": settings,
            "streams": streams,
            "prefix": vendor,
        }
        path = tmp_path / "job.json"
        path.write_text(json.dumps(job))
        done = subprocess.run(
            [sys.executable, str(SCRIPT), str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["checkpoints"] >= 6  # pages of both streams and their ends
        assert set(report["exits"].values()) == {CRASHED}, report
        for name in report["exits"]:
            cid = store.get_connection(name).id
            resumed = SyncEngine(store).run(name)
            assert resumed.ok, (name, resumed.error)
            assert world_differences(store, cid, box.state.world, vendor=vendor) == [], name
            assert duplicate_keys(store, cid) == [], name
