"""Test helper process: sync a connection and die right after its k-th checkpoint commit.

Run by `test_checkpoints.py` as `python crash_after_commit.py JOB.json`. It imports
posbridge once, then forks one child per k: the child connects `prefix-k`, installs a
SQLAlchemy commit hook and syncs. When a transaction that wrote a stream state (a page and
its cursor, or a stream's end) commits for the k-th time, the hook commits it on the
driver and calls `os._exit` — a crash exactly after that checkpoint, with no cleanup.
The first child runs without a crash and reports how many checkpoints a run has; the
script prints `{"checkpoints": K, "exits": {name: code}}`. Test code only: nothing of
this lives in src/.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from posbridge.store.crypto import Vault
from posbridge.store.repo import Store
from posbridge.sync.engine import SyncEngine

CRASHED = 75
KEY = b"k" * 32


def _arm(crash_at: int | None, counted: list[int]) -> None:
    """Count checkpoint commits; die after number `crash_at` is durable."""

    def mark(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.lstrip()[:40].upper()
        if "STREAM_STATE" in statement.upper() and head.startswith(("INSERT", "UPDATE")):
            conn.info["checkpoint"] = True

    def commit(conn: Connection) -> None:
        if not conn.info.pop("checkpoint", False):
            return
        counted[0] += 1
        if counted[0] == crash_at:
            conn.connection.dbapi_connection.commit()  # type: ignore[union-attr]
            os._exit(CRASHED)

    def rollback(conn: Connection) -> None:
        conn.info.pop("checkpoint", None)

    sa.event.listen(sa.Engine, "before_cursor_execute", mark)
    sa.event.listen(sa.Engine, "commit", commit)
    sa.event.listen(sa.Engine, "rollback", rollback)


def _child(job: dict[str, Any], name: str, crash_at: int | None) -> None:
    counted = [0]
    store = Store.open(job["db"], Vault(KEY))
    store.add_connection(name, job["vendor"], job["base_url"], job["credentials"], job["settings"])
    _arm(crash_at, counted)
    result = SyncEngine(store).run(name, streams=job["streams"])
    if not result.ok:
        print(result.error, file=sys.stderr)
        os._exit(1)
    print(json.dumps({"checkpoints": counted[0]}), flush=True)
    os._exit(0)


def _fork(job: dict[str, Any], name: str, crash_at: int | None) -> tuple[int, str]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.dup2(write, 1)
        try:
            _child(job, name, crash_at)
        except BaseException:
            traceback.print_exc()
        os._exit(2)
    os.close(write)
    with os.fdopen(read) as out:
        text = out.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), text


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    prefix = job["prefix"]
    code, text = _fork(job, f"{prefix}-ref", None)
    if code != 0:
        raise SystemExit(f"reference run failed with {code}")
    checkpoints = int(json.loads(text)["checkpoints"])
    exits = {}
    for k in range(1, checkpoints + 1):
        exits[f"{prefix}-{k}"] = _fork(job, f"{prefix}-{k}", k)[0]
    print(json.dumps({"checkpoints": checkpoints, "exits": exits}))


if __name__ == "__main__":
    main()
