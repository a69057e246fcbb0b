"""Export normalized records as JSONL, CSV or Parquet.

JSONL is the lossless form: one record per line, decimals as strings, lines and
payments nested. CSV flattens the top level (nested lists become JSON text). Parquet
holds the same columns as CSV, typed as text for money so no decimal is rounded.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import msgspec

from posbridge.errors import UsageError
from posbridge.model import MODELS
from posbridge.store.repo import Store, StoredRecord
from posbridge.store.rows import PERSONAL_FIELDS, mask_personal
from posbridge.store.scaled import iso_utc
from posbridge.store.tables import table_name

__all__ = [
    "EXPORTABLE",
    "PERSONAL_FIELDS",
    "Format",
    "export_records",
    "record_document",
    "resolve_object_type",
]

Format = Literal["jsonl", "csv", "parquet"]
#: accepted names (plural table names, case-insensitive) → object type
EXPORTABLE: dict[str, str] = {table_name(t): t for t in MODELS}

_to_builtins = msgspec.to_builtins


def resolve_object_type(name: str) -> str:
    """`ORDERS`, `orders` or `order` → `order`; a clear error otherwise."""
    key = name.strip().lower()
    if key in EXPORTABLE:
        return EXPORTABLE[key]
    if key in MODELS:
        return key
    raise UsageError(f"cannot export {name!r}; choose one of: {', '.join(sorted(EXPORTABLE))}")


def record_document(item: StoredRecord, include_raw: bool, personal: bool) -> dict[str, Any]:
    """A stored record as a JSON-able document; national numbers masked unless `personal`."""
    doc: dict[str, Any] = {"id": item.id, "connection_id": item.connection_id}
    doc |= _to_builtins(item.record)
    doc["first_seen_at"] = iso_utc(item.first_seen_at)
    doc["updated_at"] = iso_utc(item.updated_at)
    if include_raw:
        doc["raw"] = dict(item.raw)
    if not personal:  # national register numbers leave the store only when asked for
        mask_personal(doc)
        if include_raw:
            mask_personal(doc["raw"])
    return doc


def _documents(
    store: Store, object_type: str, connection_id: str | None, include_raw: bool, personal: bool
) -> Iterator[dict[str, Any]]:
    for item in store.records(object_type, connection_id):
        yield record_document(item, include_raw, personal)


def _flat(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (msgspec.json.encode(v).decode() if isinstance(v, (list, dict)) else v)
        for k, v in doc.items()
    }


def export_records(
    store: Store,
    object_type: str,
    fmt: Format,
    out: Path | IO[str] | None,
    *,
    connection_id: str | None = None,
    include_raw: bool = False,
    personal: bool = False,
) -> int:
    """Write every live record of a type; returns how many were written.

    National register numbers are masked unless `personal` is set.
    """
    docs = _documents(store, object_type, connection_id, include_raw, personal)
    if fmt == "parquet":
        if out is None or not isinstance(out, Path):
            raise UsageError("parquet needs a file: pass --out PATH")
        return _parquet(docs, out)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as fh:
            return _text(docs, fmt, fh)
    assert out is not None
    return _text(docs, fmt, out)


def _text(docs: Iterator[dict[str, Any]], fmt: Format, fh: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        encoder = msgspec.json.Encoder()
        for doc in docs:
            fh.write(encoder.encode(doc).decode())
            fh.write("\n")
            count += 1
        return count
    writer: csv.DictWriter[str] | None = None
    buffered: list[dict[str, Any]] = []
    # Column set = union over the first 1000 rows (models omit unset defaults).
    for doc in docs:
        buffered.append(_flat(doc))
        if len(buffered) == 1000:
            break
    fields = list(dict.fromkeys(k for d in buffered for k in d))
    writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in buffered:
        writer.writerow(row)
        count += 1
    for doc in docs:
        writer.writerow(_flat(doc))
        count += 1
    return count


def _parquet(docs: Iterator[dict[str, Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_flat(d) for d in docs]
    fields = list(dict.fromkeys(k for r in rows for k in r))
    columns = {
        f: [
            None if r.get(f) is None else str(r[f]) if not isinstance(r.get(f), bool) else r[f]
            for r in rows
        ]
        for f in fields
    }
    table = pa.table({f: pa.array(v) for f, v in columns.items()})
    pq.write_table(table, path)
    return len(rows)
