"""The in-process scheduler: poll every connection's due streams within its budget.

The planner (`planner.py`) turns a connector's daily quota into an interval per stream;
each tick runs the sync job function (`posbridge.jobs.sync_connection`, the same one the
distributed workers run) per connection, which reads only the streams whose interval has
passed and makes no request at all when none has. Deferred (quota) and needs-attention
connections are skipped by the engine itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from posbridge.jobs import sync_connection
from posbridge.sync.engine import RunResult, SyncEngine

__all__ = ["run_scheduled"]


def run_scheduled(
    engine: SyncEngine,
    connections: Callable[[], list[str]],
    stop: threading.Event,
    *,
    tick: float = 15.0,
    on_result: Callable[[RunResult], None] | None = None,
) -> None:
    """Sync due streams of every connection each `tick` seconds until `stop` is set."""
    while not stop.is_set():
        for name in connections():
            if stop.is_set():
                break
            result = sync_connection(engine.store, name, engine=engine)
            if on_result is not None and result.status != "idle":
                on_result(result)
        stop.wait(tick)
