"""Model-based chaos (RELIABILITY scenario 30): a Hypothesis state machine drives a vendor's world
and posbridge's sync together, and the store must converge to the world.

Rules: the merchant's day changes the world (new sales, catalogue and customer edits,
deletions; `model_worlds.py`), posbridge syncs, and syncs crash part way (a fault knob of
the sandbox is armed after a random number of committed pages, so the rest of the run
meets resets, 5xx, HTML pages or truncated bodies until its retries give up). Invariants:
no (connection, source id) is ever stored twice; after every successful sync the store
equals the world (`posbridge.testing.world_differences`), and every record the vendor
deleted after posbridge had stored it is kept, soft-deleted, not dropped.

One sandbox per vendor serves every example (reset between examples); each example syncs
into a fresh connection of one store, on SQLite and PostgreSQL. CI runs a few examples
(`POSBRIDGE_MODEL_PROFILE=model-ci`, the default); for a long run:

    POSBRIDGE_MODEL_PROFILE=model-long .venv/bin/python -m pytest tests/sync/test_model.py -p no:randomly

(500 examples of up to 12 steps per vendor and database).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from model_worlds import MODELS, VendorModel

from posbridge.sandboxes import SANDBOXES, Sandbox
from posbridge.sandboxes.clock import Clock
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store, StoredRecord
from posbridge.sync.engine import RunResult, StreamOutcome, SyncEngine
from posbridge.testing import duplicate_keys, world_differences

settings.register_profile(
    "model-ci",
    max_examples=12,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "model-long",
    max_examples=500,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("POSBRIDGE_MODEL_PROFILE", "model-ci")

#: fault knobs that make every request fail in its own way while armed
CRASH_KNOBS = ("reset_next", "fail_next", "html_next", "truncate_next")


class _Scene:
    """The shared sandbox of one vendor, its start moment, and the store examples sync into."""

    def __init__(self, model: VendorModel, box: Sandbox, url: str, store: Store, tmp: Path) -> None:
        self.model, self.box, self.url, self.store, self.tmp = model, box, url, store, tmp
        self.start = box.state.clock.local()
        self.examples = 0


@pytest.fixture
def scene(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[_Scene]:
    model = MODELS[request.param]
    first = SANDBOXES[model.vendor](seed=7, **model.world)
    clock = Clock(str(first.state.clock.tz), frozen=first.state.clock.local())
    box = SANDBOXES[model.vendor](seed=7, clock=clock, **model.world)
    with SandboxServer(box.app) as server:
        yield _Scene(model, box, server.url + box.base_path, store, tmp_path)


def _stored(store: Store, kind: str, cid: str, *, include_deleted: bool) -> dict[str, StoredRecord]:
    """Source id → stored record (read to the end: an abandoned PostgreSQL cursor warns)."""
    records = store.records(kind, cid, include_deleted=include_deleted)
    return {r.record.source_id: r for r in records}


def _machine(scene: _Scene) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one vendor's scene."""
    state, store, model = scene.box.state, scene.store, scene.model

    class SyncModel(RuleBasedStateMachine):
        @initialize(seed=st.integers(0, 2**32 - 1))
        def fresh_world_and_connection(self, seed: int) -> None:
            """Each example: the generated world again, a new connection, nothing synced."""
            state.reset()
            state.clock.set(scene.start)
            scene.examples += 1
            self.name = f"ex{scene.examples}"
            self.rng = random.Random(seed)
            extra = {"state_dir": str(scene.tmp / "nonces")} if model.vendor == "icash" else {}
            store.add_connection(
                self.name, model.vendor, scene.url, scene.box.credentials, model.settings | extra
            )
            self.cid = store.get_connection(self.name).id
            self.synced = False  # the last sync ended ok and nothing changed since
            self.must_be_soft_deleted: set[tuple[str, str]] = set()

        def _sync(self, crash_after: int | None = None, knob: str = "") -> RunResult:
            pages = [0]

            def progress(_name: str, _stream: str, _n: int, _totals: StreamOutcome) -> None:
                pages[0] += 1
                if crash_after is not None and pages[0] == crash_after:
                    state.faults.update(**{knob: 1000})

            engine = SyncEngine(store, clock=state.clock.now, progress=progress)
            try:
                return engine.run(self.name)
            finally:
                state.faults.reset()

        @rule(name=st.sampled_from(sorted(model.mutations)))
        def mutate(self, name: str) -> None:
            """The merchant changes the world."""
            with state.lock:
                removed = model.mutations[name](state, self.rng)
            if removed is not None:
                kind, sid = removed
                if sid in _stored(store, kind, self.cid, include_deleted=False):
                    self.must_be_soft_deleted.add(removed)
            self.synced = False

        @rule()
        def sync(self) -> None:
            """A sync with no fault ends ok and leaves the store equal to the world."""
            result = self._sync()
            assert result.ok, (result.status, result.error)
            self.synced = True

        @rule(after_pages=st.integers(1, 40), knob=st.sampled_from(CRASH_KNOBS))
        def crashed_sync(self, after_pages: int, knob: str) -> None:
            """A sync whose vendor starts failing after some pages; it may end failed or partial."""
            result = self._sync(after_pages, knob)
            assert result.status in ("ok", "partial", "failed"), result.status
            self.synced = self.synced and result.ok

        @invariant()
        def nothing_is_stored_twice(self) -> None:
            assert duplicate_keys(store, self.cid) == []

        @precondition(lambda self: self.synced)
        @invariant()
        def a_clean_sync_converges(self) -> None:
            assert world_differences(store, self.cid, state.world, vendor=model.vendor) == []
            for kind, sid in self.must_be_soft_deleted:
                row = _stored(store, kind, self.cid, include_deleted=True).get(sid)
                assert row is not None, f"{kind} {sid} dropped instead of soft-deleted"
                assert row.deleted_at is not None, f"{kind} {sid} still live"

    return SyncModel


@pytest.mark.parametrize("scene", sorted(MODELS), indirect=True)
def test_store_converges_to_the_world_under_random_changes_and_crashes(scene: _Scene) -> None:
    """Random programs of world changes, syncs and crashed syncs; every clean sync converges."""
    run_state_machine_as_test(_machine(scene), settings=settings.get_profile(PROFILE))
    assert scene.examples >= 1
