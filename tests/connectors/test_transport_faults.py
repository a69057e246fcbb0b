"""Hangs, stalled bodies and Retry-After, injected through the sandbox's fault knobs.

Timing is asserted only on the sandbox's own record of when requests arrived (the
`arrivals` it keeps by its clock), never on how long the test took.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import stamina

from conftest import served
from posbridge.connectors.http import RetryPolicy
from posbridge.sandboxes import Sandbox
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine
from posbridge.testing import duplicate_keys, world_differences

#: small enough to keep a hang test to about a second, large enough for a loaded machine
FAST = RetryPolicy(attempts=3, request_timeout=0.5, wait_initial=0.01, wait_jitter=0.01)


@pytest.fixture
def box(store: Store) -> Iterator[Sandbox]:
    """A small CloudPOS world on loopback, connected as `shop`."""
    sandbox = create_sandbox(seed=5, days=2, orders_per_day=40)
    with served(store, sandbox, "cloudpos", {"page_size": 20, "lookback": 5}):
        yield sandbox


@pytest.fixture
def real_backoff() -> Iterator[None]:
    """Let stamina sleep its backoffs and honour Retry-After (conftest turns both off)."""
    stamina.set_testing(False)
    yield
    stamina.set_testing(True, attempts=3)


def _arrivals(box: Sandbox) -> list[Any]:
    return list(box.state.faults.arrivals)


@pytest.mark.parametrize("knob", ["hang_next", "stall_next"])
def test_a_transient_hang_times_out_and_the_sync_completes(
    store: Store, box: Sandbox, knob: str
) -> None:
    """Two requests that hang (or stall mid-body) time out; the third attempt gets through."""
    box.state.faults.update(**{knob: 2})
    result = SyncEngine(store, retry=FAST).run("shop")
    assert result.ok, result.error
    cid = store.get_connection("shop").id
    assert world_differences(store, cid, box.state.world) == []
    assert duplicate_keys(store, cid) == []
    assert box.state.faults.hang_next == box.state.faults.stall_next == 0
    assert len(_arrivals(box)) == result.requests  # every attempt reached the vendor, counted


@pytest.mark.parametrize("knob", ["hang_next", "stall_next"])
def test_a_persistent_hang_fails_the_stream_with_a_network_error(
    store: Store, box: Sandbox, knob: str
) -> None:
    """A vendor that never answers: capped attempts, a NetworkError naming the timeout, the
    connection stays usable, other streams sync, and the next run completes."""
    box.state.faults.update(**{knob: 1000})
    engine = SyncEngine(store, retry=FAST)
    result = engine.run("shop", streams=["orders"])
    assert result.status == "failed"
    (orders,) = result.streams
    assert orders.error_kind == "NetworkError"
    assert orders.error == "cloudpos: timed out (ReadTimeout)"
    assert orders.requests == 3 == len(_arrivals(box))  # stamina's test cap: 3 attempts
    row = store.get_connection("shop")
    assert row.status == "ok"  # transient: no attention needed, not parked
    assert store.stream_states(row.id)["orders"]["last_error"] == orders.error
    assert store.count("order", row.id) == 0
    box.state.faults.update(**{knob: 0})
    again = engine.run("shop")
    assert again.ok, again.error
    assert world_differences(store, row.id, box.state.world) == []


def test_backoff_grows_between_retries(store: Store, box: Sandbox, real_backoff: None) -> None:
    """Retries of failing requests wait at least the exponential backoff (plus jitter)."""
    policy = RetryPolicy(attempts=4, wait_initial=0.1, wait_max=0.3, wait_jitter=0.05)
    box.state.faults.update(fail_next=3, fail_status=503)
    result = SyncEngine(store, retry=policy).run("shop", streams=["products"])
    assert result.ok, result.error
    arrivals = _arrivals(box)
    assert len(arrivals) == 4
    gaps = [b - a for a, b in pairwise(arrivals)]
    floors = [0.1, 0.2, 0.3]  # 0.1·2ⁿ, capped at wait_max
    assert all(g >= timedelta(seconds=f) for g, f in zip(gaps, floors, strict=True)), gaps


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_retry_after_is_honoured_in_both_forms(
    store: Store, box: Sandbox, real_backoff: None, form: str
) -> None:
    """A 429 with Retry-After (delay-seconds or HTTP-date): no request before that time."""
    box.state.faults.update(rate_limit_next=1, retry_after=1, retry_after_form=form)
    policy = RetryPolicy(wait_initial=0.01, wait_jitter=0.01)
    result = SyncEngine(store, retry=policy).run("shop", streams=["products"])
    assert result.ok, result.error
    first, second = _arrivals(box)
    assert second - first >= timedelta(seconds=1)
    cid = store.get_connection("shop").id
    assert store.count("product", cid) == len(box.state.world.products)


def test_a_long_retry_after_date_parks_the_connection(store: Store, box: Sandbox) -> None:
    """An HTTP-date an hour away is not slept in a worker: one request, connection deferred."""
    box.state.faults.update(rate_limit_next=5, retry_after=3600, retry_after_form="date")
    engine = SyncEngine(store)
    started = datetime.now(UTC)
    result = engine.run("shop", streams=["products", "customers"])
    assert result.status == "deferred"
    assert len(_arrivals(box)) == 1
    (products,) = result.streams
    assert products.error_kind == "RateLimited"
    assert "the vendor asks to wait 36" in (products.error or "")
    row = store.get_connection("shop")
    assert row.status == "deferred"
    assert row.deferred_until is not None
    assert row.deferred_until - started >= timedelta(seconds=3599)
    assert engine.run("shop").status == "deferred"
    assert len(_arrivals(box)) == 1  # nothing sent while parked
