"""Test helpers shipped with posbridge: compare a synced store with a sandbox world.

`world_differences` is the oracle of the "store equals the world" tests: it lists every
difference (missing, extra, duplicated or unequal records, to the cent) instead of
stopping at the first, so a failing test says everything that is wrong. Each vendor adds
its oracle as `testing/<vendor>.py` and one line in `WORLD_CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from posbridge.store.repo import Store
from posbridge.testing import avapos, cloudpos, icash, smartnow, wservice
from posbridge.testing.keys import duplicate_keys

__all__ = ["WORLD_CHECKS", "duplicate_keys", "world_differences"]

#: vendor slug → oracle(store, connection id, world, skip=ids expected missing)
WORLD_CHECKS: dict[str, Callable[..., list[str]]] = {
    "cloudpos": cloudpos.world_differences,
    "avapos": avapos.world_differences,
    "icash": icash.world_differences,
    "wservice": wservice.world_differences,
    "smartnow": smartnow.world_differences,
}


def world_differences(
    store: Store,
    connection_id: str,
    world: Any,
    *,
    vendor: str = "cloudpos",
    skip_tickets: Iterable[Any] = (),
) -> list[str]:
    """Every difference between a vendor's sandbox world and the store (empty = equal)."""
    return WORLD_CHECKS[vendor](store, connection_id, world, skip=skip_tickets)
