"""A sync killed with SIGKILL at random points resumes to exactly the world, for every vendor.

One store holds a connection to each of the five vendor sandboxes; `posbridge sync` syncs
them one after the other and is killed at seeded random points of that run. The kill
point is a request count: the test watches the sandboxes' own request logs (they run in
this process) and kills the process once the run has made that many vendor requests, so
a kill lands mid-run whatever the machine's speed. Requests answer after a small latency,
so kills land both between requests and inside page transactions. The vendor order
rotates with the seed, so each vendor is first (and killed mid-run) for some seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from posbridge.sandboxes import SANDBOXES, Sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.crypto import Vault, load_or_create_key
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences


@dataclass(frozen=True)
class Scene:
    """One vendor's part: world size, connection settings, per-request latency."""

    vendor: str
    world: dict[str, int] = field(default_factory=lambda: {"days": 3, "orders_per_day": 40})
    settings: dict[str, Any] = field(default_factory=dict)
    latency_ms: int = 2


def _scenes(seed: int) -> list[Scene]:
    """The five vendors, rotated by the seed; CloudPOS pages alternate between 20 and 250.

    Pages of 250 are mapped by a worker process, pages of 20 in-process: both paths.
    """
    page = 20 if seed % 2 else 250
    scenes = [
        Scene("cloudpos", {"days": 4, "orders_per_day": 100}, {"page_size": page, "lookback": 5}),
        Scene("avapos", settings={"window_days": 3 + seed % 5, "history_days": 40}),
        Scene("icash"),
        Scene("wservice", latency_ms=1),
        Scene("smartnow", settings={"page_size": 20}),
    ]
    turn = seed % len(scenes)
    return scenes[turn:] + scenes[:turn]


def _cli(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "posbridge", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _settings(scene: Scene, tmp_path: Path, tag: str) -> dict[str, Any]:
    """iCash keeps its nonce counter in a file; give each iCash connection its own directory."""
    extra = {"state_dir": str(tmp_path / f"nonces-{tag}")} if scene.vendor == "icash" else {}
    return scene.settings | extra


def _requests_of_one_sync(scenes: Sequence[Scene], seed: int, tmp_path: Path) -> list[int]:
    """Vendor requests of an uninterrupted first sync of the same worlds (in-process, SQLite)."""
    store = Store.open(f"sqlite:///{tmp_path / 'twin.db'}", Vault(b"t" * 32))
    made = []
    for scene in scenes:
        box = SANDBOXES[scene.vendor](seed=seed, **scene.world)
        with SandboxServer(box.app) as server:
            url = server.url + box.base_path
            settings = _settings(scene, tmp_path, "twin")
            store.add_connection(scene.vendor, scene.vendor, url, box.credentials, settings)
            assert SyncEngine(store).run(scene.vendor).ok
            made.append(len(box.state.request_log))
    store.close()
    return made


def _kill_after(proc: subprocess.Popen[bytes], boxes: Sequence[Sandbox], requests: int) -> bool:
    """SIGKILL `proc` once the sandboxes answered `requests` more requests; False if it ended first."""

    def made() -> int:
        return sum(len(b.state.request_log) for b in boxes)

    target = made() + requests
    while proc.poll() is None:
        if made() >= target:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    assert proc.returncode == 0
    return False


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_sigkill_at_random_points_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str, seed: int
) -> None:
    """Kill `posbridge sync` of all five vendors at seeded random points; the store equals each world.

    No record lost, none doubled, on SQLite and PostgreSQL.
    """
    rng = random.Random(seed)
    scenes = _scenes(seed)
    per_vendor = _requests_of_one_sync(scenes, seed, tmp_path)
    env = {**os.environ, "POSBRIDGE_DATABASE_URL": db_url, "POSBRIDGE_SECRET_KEY": "crash-test"}
    store = Store.open(db_url, Vault(load_or_create_key("crash-test", tmp_path / "unused.key")))
    boxes = []
    with ExitStack() as stack:
        for n, scene in enumerate(scenes):  # connection names sort in the scenes' order
            box = SANDBOXES[scene.vendor](seed=seed, **scene.world)
            box.state.faults.update(latency_ms=scene.latency_ms)
            server = stack.enter_context(SandboxServer(box.app))
            url = server.url + box.base_path
            settings = _settings(scene, tmp_path, "shop")
            store.add_connection(
                f"{n}-{scene.vendor}", scene.vendor, url, box.credentials, settings
            )
            boxes.append(box)
        log = tmp_path / "stderr.log"
        kills = 0
        for attempt in range(3):  # kill a few runs at random points...
            # The first kill lands inside the first vendor's sync; later ones anywhere.
            point = (
                rng.randint(2, per_vendor[0] - 1)
                if attempt == 0
                else rng.randint(1, sum(per_vendor))
            )
            kills += _kill_after(_cli(env, log, "sync"), boxes, point)
        final = _cli(env, log, "sync")  # ...then let one finish
        assert final.wait(timeout=180) == 0, log.read_text()
    assert kills >= 1
    for n, (scene, box) in enumerate(zip(scenes, boxes, strict=True)):
        cid = store.get_connection(f"{n}-{scene.vendor}").id
        assert duplicate_keys(store, cid) == [], scene.vendor
        assert world_differences(store, cid, box.state.world, vendor=scene.vendor) == [], (
            scene.vendor
        )
    store.close()
