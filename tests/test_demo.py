"""`posbridge demo`: after one run the store equals every sandbox world, and a rerun is clean."""

from __future__ import annotations

from posbridge.demo import demo_sandboxes, run_demo
from posbridge.store.repo import Store
from posbridge.testing import duplicate_keys, world_differences
from posbridge.verify import verify_connection


def test_demo_store_equals_every_world_and_verifies(store: Store) -> None:
    """The demo syncs each sandbox completely: world == store, every Z day verified, idempotent."""
    with demo_sandboxes(days=6, orders_per_day=80) as endpoints:
        summary = run_demo(store, endpoints)
        assert all(r.ok for r in summary.results)
        for vendor, endpoint in endpoints.items():
            row = store.get_connection(f"demo-{vendor}")
            assert (
                world_differences(store, row.id, endpoint.sandbox.state.world, vendor=vendor) == []
            )
            checks = list(verify_connection(store, row))
            assert all(c.verified for c in checks)
        assert summary.orders >= len(endpoints["cloudpos"].sandbox.state.world.orders)
        assert summary.revenue_by_method
        assert summary.top_products
        again = run_demo(store, endpoints)  # a second demo re-points and finds nothing new
        assert all(s.inserted == 0 for r in again.results for s in r.streams)
        for vendor in endpoints:
            assert duplicate_keys(store, store.get_connection(f"demo-{vendor}").id) == []
