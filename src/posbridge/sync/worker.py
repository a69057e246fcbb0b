"""Map and prepare pages in a worker process, so a sync uses a second core.

One process is CPU-bound under the GIL (perf-limits §6). Mapping a page and building its
rows is pure: it takes the page's raw bytes and returns picklable rows. The sync process
keeps the HTTP reads, the transactions and the order of commits; the worker does the
rest. Used for large pages of streams whose connector declares a `decode` function.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import msgspec

from posbridge.errors import PosbridgeError
from posbridge.model import Record
from posbridge.store.pii import mask_pans, mask_pans_in
from posbridge.store.rows import PreparedTable, RowBuilder

__all__ = ["MappedPage", "PageSpec", "new_pool", "prepare_page", "warm_up"]

_MAPPING_ERRORS = (
    PosbridgeError,
    ValueError,
    KeyError,
    TypeError,
    ArithmeticError,
    AttributeError,
    msgspec.DecodeError,
)
_encode = msgspec.json.encode


@dataclass(frozen=True, slots=True)
class PageSpec:
    """Everything needed to prepare a page away from the engine (module-level callables only)."""

    connection_id: str
    dialect: str
    object_type: str
    source_key: str
    to_model: Callable[[Mapping[str, Any]], Record]
    decode: Callable[[bytes], Mapping[str, Any]] | None
    related: Callable[[Record], Sequence[Record]] | None
    now: datetime
    mapping_version: str = "1"


@dataclass(slots=True)
class MappedPage:
    """A page ready to commit: prepared rows per table, quarantine entries, page state."""

    fetched: int
    state: dict[str, Any]
    tables: list[PreparedTable] = field(default_factory=list)
    good_ids: list[str] = field(default_factory=list)
    bad: list[tuple[str | None, str, str, bytes]] = field(default_factory=list)


@cache
def _writer(dialect: str, mapping_version: str) -> RowBuilder:
    # The mapping version salts the change hash: after a mapping change, records whose raw
    # bytes did not change are still re-mapped and rewritten instead of skipped.
    return RowBuilder(dialect, hash_salt=mapping_version.encode())


def prepare_page(
    spec: PageSpec,
    records: Sequence[Mapping[str, Any]] | None,
    raws: list[bytes],
    state: dict[str, Any],
) -> MappedPage:
    """Map every record (failures become quarantine entries) and build all rows."""
    if records is None and spec.decode is None:
        raise ValueError(f"a page of {spec.object_type} records came neither decoded nor decodable")
    page = MappedPage(fetched=len(raws), state=state)
    good: list[tuple[Record, bytes]] = []
    related: dict[tuple[str, str], tuple[Record, bytes]] = {}
    for index, original in enumerate(raws):
        raw_dict: Any = None
        # Card numbers are masked before anything is mapped or kept (store/pii.py).
        raw = mask_pans(original)
        try:
            if records is None:
                raw_dict = spec.decode(raw)  # type: ignore[misc]
            elif raw is original:
                raw_dict = records[index]
            else:
                raw_dict = mask_pans_in(records[index])
            record = spec.to_model(raw_dict)
        except _MAPPING_ERRORS as exc:
            sid = raw_dict.get(spec.source_key) if isinstance(raw_dict, dict) else None
            kind = exc.kind if isinstance(exc, PosbridgeError) else "MappingError"
            text = (
                exc.message if isinstance(exc, PosbridgeError) else f"{type(exc).__name__}: {exc}"
            )
            page.bad.append((None if sid is None else str(sid), kind, text, raw))
            continue
        good.append((record, raw))
        if spec.related is not None:
            for extra in spec.related(record):
                related[(extra.object_type, extra.source_id)] = (extra, _encode(extra))
    writer = _writer(spec.dialect, spec.mapping_version)
    page.good_ids = [r.source_id for r, _ in good]
    page.tables.append(writer.prepare(spec.connection_id, spec.object_type, good, spec.now))
    by_type: dict[str, list[tuple[Record, bytes]]] = {}
    for (otype, _sid), item in related.items():
        by_type.setdefault(otype, []).append(item)
    for otype, items in by_type.items():
        page.tables.append(writer.prepare(spec.connection_id, otype, items, spec.now))
    return page


def warm_up() -> None:
    """Import the mapping code before the first page arrives (spawned workers start cold)."""
    import posbridge.connectors  # noqa: F401  # the import is the point


def _init_worker() -> None:
    # A worker only maps pages: thousands of short-lived objects per page. Collecting the
    # young generation every 100k allocations (not 700) and freezing the import-time heap
    # cut its time per order by ~30% (bench/README.md).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def new_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes started fresh (spawn): the sync process has threads and sockets."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    )
