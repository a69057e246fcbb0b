"""Fetch the next page while the current one is mapped and committed.

Ingest is CPU-bound in one process (perf-limits §6): overlapping the HTTP read and the
envelope decode of page n+1 with the mapping and upsert of page n gains ~20%. The
queue is bounded, so at most `depth` pages are held in memory; an error in the fetching
thread is re-raised in the consumer at the point the page would have arrived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["CommitThread", "InlineCommit", "Prefetcher"]

T = TypeVar("T")
_DONE = object()


class Prefetcher(Generic[T]):
    """Iterate `source` in a background thread, `depth` items ahead of the consumer."""

    def __init__(self, source: Iterator[T], depth: int = 2) -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="posbridge-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(_Failure(exc))
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item = self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.exc
                yield item  # type: ignore[misc]  # queue holds T, _DONE or _Failure
        finally:
            self.close()

    def close(self) -> None:
        """Stop the producer and wait for it (it finishes its current request)."""
        self._stop.set()
        self._thread.join(timeout=60)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class CommitThread(Generic[T]):
    """Run `commit` on every submitted item, in order, on one background thread.

    Mapping page n+1 (Python, holds the GIL) overlaps with committing page n (SQLite,
    which releases the GIL while it writes). Leaving the context drains what was
    submitted — pages fetched before an error are still committed — and re-raises a
    commit error. `submit` raises at once if an earlier commit failed.
    """

    def __init__(self, commit: Callable[[T], None], depth: int = 2) -> None:
        self._commit = commit
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="posbridge-commit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._commit(item)  # type: ignore[arg-type]  # queue holds T or _DONE
                except BaseException as exc:  # re-raised in the submitting thread
                    self._error = exc

    def submit(self, item: T) -> None:
        """Queue one item (blocks while `depth` items wait)."""
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def __enter__(self) -> CommitThread[T]:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None and exc is None:
            raise self._error


class InlineCommit(Generic[T]):
    """`CommitThread`'s interface without the thread: `submit` commits before returning.

    For callers that already overlap I/O elsewhere (a fleet worker runs many syncs at
    once), where a thread per sync only adds hand-offs under the GIL.
    """

    def __init__(self, commit: Callable[[T], None]) -> None:
        self._commit = commit

    def submit(self, item: T) -> None:
        self._commit(item)

    def __enter__(self) -> InlineCommit[T]:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        return None
