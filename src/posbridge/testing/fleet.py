"""Many small sandboxes on one port, for the fleet test and bench/bench_fleet.py.

Every registered vendor (`SANDBOXES`) takes its turn, so a vendor added later joins
the fleet test without a change here. Each sandbox is one vendor account (one
credential) behind `/<name>/`, metered: `meter.peak[name]` is the most requests that
account ever had in flight at once, `meter.total[name]` how many it answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Scope

from posbridge.app import connect
from posbridge.sandboxes import SANDBOXES, Sandbox
from posbridge.sandboxes.runner import ConcurrencyMeter, SandboxServer, metered, mount
from posbridge.store.repo import Store
from posbridge.testing import WORLD_CHECKS

__all__ = ["Fleet", "FleetMember", "fleet_sandboxes"]

#: CloudPOS's documented daily quota; every fleet account gets it
DAILY_LIMIT = 500


@dataclass(slots=True)
class FleetMember:
    """One account of the fleet: its connection name, vendor, sandbox and URL."""

    name: str
    vendor: str
    sandbox: Sandbox
    url: str


@dataclass(slots=True)
class Fleet:
    """Running sandboxes, the meter counting their requests, and their members."""

    members: list[FleetMember]
    meter: ConcurrencyMeter
    server: SandboxServer
    vendors: list[str] = field(default_factory=list)

    def connect_all(self, store: Store) -> list[str]:
        """Create one connection per member (no check call: the sandboxes are known)."""
        ids = []
        for m in self.members:
            values = dict(m.sandbox.credentials) | {"daily_limit": str(DAILY_LIMIT)}
            ids.append(connect(store, m.vendor, m.name, m.url, values, check=False).id)
        return ids

    def differences(self, store: Store) -> dict[str, list[str]]:
        """Per member, every difference between its world and the store (empty = equal)."""
        out: dict[str, list[str]] = {}
        for m in self.members:
            row = store.get_connection(m.name)
            diff = WORLD_CHECKS[m.vendor](store, row.id, m.sandbox.state.world, skip=())
            if diff:
                out[m.name] = diff
        return out


def _constant(key: str) -> Callable[[Scope], str]:
    """The identity of a sandbox that serves one account: every request is that account."""
    return lambda _scope: key


@contextmanager
def fleet_sandboxes(
    count: int,
    *,
    days: int = 2,
    orders_per_day: int = 4,
    latency_ms: int = 0,
    seed: int = 100,
    **options: Any,
) -> Iterator[Fleet]:
    """Start `count` sandboxes, round-robin over every registered vendor, on one server."""
    vendors = sorted(SANDBOXES)
    meter = ConcurrencyMeter()
    members: list[FleetMember] = []
    apps = {}
    for i in range(count):
        vendor = vendors[i % len(vendors)]
        sandbox = SANDBOXES[vendor](
            seed=seed + i,
            days=days,
            orders_per_day=orders_per_day,
            daily_limit=DAILY_LIMIT,
            **options,
        )
        faults = getattr(sandbox.state, "faults", None)
        if latency_ms and faults is not None:
            faults.update(latency_ms=latency_ms)
        name = f"f{i:03d}-{vendor}"
        apps[name] = metered(sandbox.app, meter, _constant(name))
        members.append(FleetMember(name, vendor, sandbox, ""))
    with SandboxServer(mount(apps)) as server:
        for m in members:
            m.url = f"{server.url}/{m.name}{m.sandbox.base_path}"
        yield Fleet(members, meter, server, vendors)
