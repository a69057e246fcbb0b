"""Plan polling within a vendor's daily request budget.

Streams that must stay fresh (priority 0, e.g. orders) get whatever the budget leaves
after every other stream is read at its own cadence and the write reserve is kept back;
if the budget cannot even cover the cadences, every interval is stretched evenly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from posbridge.connectors.base import Limits, Stream

__all__ = ["plan_intervals"]

DAY = timedelta(days=1)


def plan_intervals(limits: Limits, streams: Sequence[Stream]) -> dict[str, timedelta]:
    """How often each stream is polled so that one day's polls fit `limits.per_day`.

    Each poll is counted as one request (the id-range and list streams need one when
    nothing new arrived; a backlog is caught up in the same poll with more).
    """
    if not streams:
        return {}
    if limits.per_day is None:
        return {s.name: s.every for s in streams}
    available = max(1, limits.per_day - limits.write_reserve)
    fresh = [s for s in streams if s.priority == 0]
    rest = [s for s in streams if s.priority != 0]
    rest_cost = sum(DAY / s.every for s in rest)
    leftover = available - rest_cost
    if fresh and leftover >= len(fresh):
        per_stream = leftover / len(fresh)
        plan = {s.name: max(s.every, DAY / per_stream) for s in fresh}
        plan |= {s.name: s.every for s in rest}
        return plan
    # Not even the cadences fit: stretch everything by the same factor.
    total = rest_cost + sum(DAY / s.every for s in fresh)
    factor = total / available
    return {s.name: s.every * factor for s in streams}
