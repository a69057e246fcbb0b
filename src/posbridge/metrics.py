"""Prometheus metrics read from the database at scrape time.

Workers on many machines write every run, page and request count to the store; the
process serving `/metrics` (`posbridge serve`) is usually none of them. So the numbers
come from the database, not from in-process counters: one scrape of any API process
sees the whole fleet, and nothing is lost when a worker dies. Labels are vendors and
classes, never tenants or connections (no tenant data leaves through metrics).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from posbridge.store.queue import has_job_queue
from posbridge.store.repo import Store
from posbridge.store.tables import connections, request_budget, stream_state, sync_runs

__all__ = ["StoreCollector", "render"]

#: run-duration histogram buckets, in seconds
BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class StoreCollector(Collector):
    """Syncs, records, requests, errors by class, quota used, job and run latency."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        c, r = connections.c, sync_runs.c
        now = datetime.now(UTC)
        with self.store.engine.connect() as conn:
            syncs = CounterMetricFamily(
                "posbridge_syncs", "Sync runs by vendor and outcome", labels=["vendor", "status"]
            )
            requests = CounterMetricFamily(
                "posbridge_vendor_requests", "Requests sent to vendors by syncs", labels=["vendor"]
            )
            sent_by_vendor: Counter[str] = Counter()
            for vendor, status, count, sent in conn.execute(
                sa.select(c.vendor, r.status, sa.func.count(), sa.func.sum(r.requests))
                .select_from(sync_runs.join(connections, r.connection_id == c.id))
                .group_by(c.vendor, r.status)
            ):
                syncs.add_metric([vendor, status], count)
                sent_by_vendor[vendor] += int(sent or 0)
            for vendor, sent in sorted(sent_by_vendor.items()):
                requests.add_metric([vendor], sent)
            yield syncs
            yield requests

            records = CounterMetricFamily(
                "posbridge_records_written", "Records inserted or updated", labels=["vendor"]
            )
            for vendor, total in conn.execute(
                sa.select(c.vendor, sa.func.sum(stream_state.c.records_total))
                .select_from(stream_state.join(connections, stream_state.c.connection_id == c.id))
                .group_by(c.vendor)
            ):
                records.add_metric([vendor], int(total or 0))
            yield records

            errors: Counter[tuple[str, str]] = Counter()
            for vendor, summary in conn.execute(
                sa.select(c.vendor, r.summary)
                .select_from(sync_runs.join(connections, r.connection_id == c.id))
                .where(r.status.not_in(["ok", "running", "idle"]))
            ):
                for stream in msgspec.json.decode(summary).values():
                    if stream.get("error_kind"):
                        errors[(vendor, stream["error_kind"])] += 1
            failures = CounterMetricFamily(
                "posbridge_sync_errors",
                "Failed stream reads by error class (errors.py taxonomy)",
                labels=["vendor", "error_class"],
            )
            for (vendor, kind), count in sorted(errors.items()):
                failures.add_metric([vendor, kind], count)
            yield failures

            quota = GaugeMetricFamily(
                "posbridge_quota_used",
                "Vendor requests counted against today's quota (newest day per connection)",
                labels=["vendor"],
            )
            newest = (
                sa.select(
                    request_budget.c.connection_id, sa.func.max(request_budget.c.day).label("day")
                )
                .group_by(request_budget.c.connection_id)
                .subquery()
            )
            rb = request_budget.c
            used: Counter[str] = Counter()
            for vendor, count in conn.execute(
                sa.select(c.vendor, rb.used)
                .select_from(
                    request_budget.join(
                        newest,
                        sa.and_(rb.connection_id == newest.c.connection_id, rb.day == newest.c.day),
                    ).join(connections, rb.connection_id == c.id)
                )
                .where(rb.day >= (now - timedelta(days=1)).date().isoformat())
            ):
                used[vendor] += int(count)
            for vendor, count in sorted(used.items()):
                quota.add_metric([vendor], count)
            yield quota

            durations = [
                (f - s).total_seconds()
                for s, f in conn.execute(
                    sa.select(r.started_at, r.finished_at).where(
                        r.finished_at.is_not(None), r.started_at >= now - timedelta(days=1)
                    )
                )
            ]
            yield _histogram(
                "posbridge_sync_duration_seconds", "Sync run duration (last 24 h)", durations
            )
            if has_job_queue(conn):
                yield from _queue_metrics(conn)


def _histogram(name: str, doc: str, values: list[float]) -> HistogramMetricFamily:
    cumulative = [(str(b), float(sum(1 for v in values if v <= b))) for b in BUCKETS]
    cumulative.append(("+Inf", float(len(values))))
    hist = HistogramMetricFamily(name, doc)
    hist.add_metric([], cumulative, sum_value=sum(values))
    return hist


def _queue_metrics(conn: sa.Connection) -> Iterator[Metric]:
    jobs = GaugeMetricFamily("posbridge_jobs", "Jobs in the queue by state", labels=["state"])
    for state, count in conn.execute(
        sa.text(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing') GROUP BY status"
        )
    ):
        jobs.add_metric([state], count)
    yield jobs
    workers = GaugeMetricFamily(
        "posbridge_workers_alive", "Workers with a heartbeat in the last 60 s"
    )
    workers.add_metric(
        [],
        conn.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_workers "
                "WHERE last_heartbeat > now() - interval '60 seconds'"
            )
        ).scalar_one(),
    )
    yield workers
    waits = [
        float(w)
        for (w,) in conn.execute(
            sa.text(
                "SELECT extract(epoch FROM s.at - d.at) FROM procrastinate_events s"
                " JOIN procrastinate_events d ON d.job_id = s.job_id AND d.type = 'deferred'"
                " WHERE s.type = 'started' AND s.at > now() - interval '1 day'"
            )
        )
    ]
    yield _histogram(
        "posbridge_job_latency_seconds",
        "From enqueue (or the scheduled time) to a worker starting the job (last 24 h)",
        waits,
    )


def render(store: Store) -> bytes:
    """The Prometheus text exposition of the store's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return generate_latest(registry)
