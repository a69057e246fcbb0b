"""Replay quarantined records through the current mapping, after a fix.

A quarantined record keeps the vendor's exact bytes. Once the mapping is fixed (a new
posbridge) or the reason no longer applies, replaying maps those bytes again — no vendor
request, no budget — and stores the records that now map, resolving their quarantine
entries in the same transaction. Records that still fail stay quarantined with the new
reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from posbridge.store.repo import Store
from posbridge.sync.engine import build_connector
from posbridge.sync.worker import PageSpec, prepare_page

__all__ = ["ReplayResult", "replay_quarantine"]

_json = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)


@dataclass(slots=True)
class ReplayResult:
    """What a replay did: records stored now, and those still failing with why."""

    fixed: int = 0
    still_failing: list[tuple[str, str | None, str]] = field(default_factory=list)


def replay_quarantine(store: Store, name: str) -> ReplayResult:
    """Map every unresolved quarantined record of a connection again; store those that map."""
    row = store.get_connection(name)
    connector = build_connector(store, row)
    try:
        streams = {s.name: s for s in connector.streams()}
    finally:
        connector.http.close()
    result = ReplayResult()
    now = datetime.now(UTC)
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for entry in store.quarantined(row.id):
        by_stream.setdefault(entry["stream"], []).append(entry)
    for stream_name, entries in by_stream.items():
        stream = streams.get(stream_name)
        if stream is None:
            for e in entries:
                result.still_failing.append(
                    (stream_name, e["source_id"], "stream no longer exists")
                )
            continue
        spec = PageSpec(
            row.id,
            store.engine.dialect.name,
            stream.model.object_type,
            stream.source_key,
            stream.to_model,
            stream.decode or _json.decode,
            stream.related,
            now,
            connector.mapping_version,
        )
        for entry in entries:  # one by one: each quarantine row is resolved by its own id
            mapped = prepare_page(spec, None, [entry["raw"].encode()], {})
            if mapped.bad:
                sid, kind, reason, _raw = mapped.bad[0]
                result.still_failing.append((stream_name, sid, reason))
                with store.engine.begin() as conn:
                    store.resolve_quarantine_entry(conn, entry["id"], now, still=(kind, reason))
                continue
            with store.engine.begin() as conn:
                for table in mapped.tables:
                    store.writer.apply(conn, row.id, table)
                store.resolve_quarantine_entry(conn, entry["id"], now)
            result.fixed += 1
    return result
