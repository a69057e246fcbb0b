"""Exports: lossless JSONL, flat CSV and Parquet, with personal data masked by default."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq

from posbridge.export import export_records
from posbridge.sandboxes.cloudpos import create_sandbox
from posbridge.sandboxes.runner import SandboxServer
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine


def _synced(store: Store) -> str:
    box = create_sandbox(seed=4, days=2, orders_per_day=30)
    with SandboxServer(box.app) as server:
        store.add_connection("shop", "cloudpos", server.url + box.base_path, box.credentials)
        assert SyncEngine(store).run("shop").ok
    return store.get_connection("shop").id


def test_jsonl_keeps_decimals_as_strings_and_nests_lines(store: Store) -> None:
    """JSONL orders carry decimal strings, nested lines and payments, and optionally raw."""
    cid = _synced(store)
    out = io.StringIO()
    count = export_records(store, "order", "jsonl", out, connection_id=cid, include_raw=True)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(docs) == store.count("order", cid)
    first = docs[0]
    assert isinstance(first["total_gross"], str)
    assert first["lines"][0]["quantity"]
    assert first["payments"][0]["amount"]
    assert first["raw"]["dbid"]


def test_national_numbers_are_masked_unless_asked(store: Store) -> None:
    """Employees' national register numbers are masked in exports unless explicitly requested."""
    cid = _synced(store)
    masked, clear = io.StringIO(), io.StringIO()
    export_records(store, "employee", "jsonl", masked, connection_id=cid, include_raw=True)
    export_records(
        store, "employee", "jsonl", clear, connection_id=cid, include_raw=True, personal=True
    )
    masked_docs = [json.loads(x) for x in masked.getvalue().splitlines()]
    clear_docs = [json.loads(x) for x in clear.getvalue().splitlines()]
    assert any(d.get("national_id") for d in clear_docs)
    assert all(d.get("national_id") in (None, "***") for d in masked_docs)
    assert all(d["raw"].get("secnr") in (None, "", "***") for d in masked_docs)


def test_csv_and_parquet_hold_every_record(store: Store, tmp_path: Path) -> None:
    """CSV and Parquet exports have one row per product with the money as exact text."""
    cid = _synced(store)
    n = export_records(store, "product", "csv", tmp_path / "p.csv", connection_id=cid)
    with (tmp_path / "p.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert n == len(rows) == store.count("product", cid)
    m = export_records(store, "product", "parquet", tmp_path / "p.parquet", connection_id=cid)
    table = pq.read_table(tmp_path / "p.parquet")
    assert m == table.num_rows == n
