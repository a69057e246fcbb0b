"""A virtual CloudPOS day driven by the real planner never exceeds the vendor's quota."""

from __future__ import annotations

from posbridge.store.repo import Store
from posbridge.testing.budget_day import percentile, simulate_day


def test_planner_keeps_a_day_within_a_tight_quota(store: Store) -> None:
    """With 80 requests a day (25 kept for writes) the planner stretches every cadence:
    the sandbox counts at most 80 requests on the day, refuses none, and orders still land
    (each within the stretched order interval of when it happened)."""
    day = simulate_day(store, history_days=1, orders_per_day=120, daily_limit=80, plan_every=300)
    assert 0 < day.requests_on_day <= 80
    assert day.refused == 0
    assert day.syncs > 0
    assert day.orders_in_day > 0
    assert day.orders_landed >= day.orders_in_day * 0.9
    assert percentile(day.order_ages_s, 100) <= day.planned["orders"] + 300
    assert all(age >= 0 for age in day.order_ages_s)
