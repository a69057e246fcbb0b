"""Structured logs: one JSON object per line, with the connection and run being worked on.

`bind(connection_id=..., run_id=...)` puts ids into a context variable for the current
thread (each job runs in its own worker thread), and every record logged inside the
block carries them. `setup_logging(json=True)` (or POSBRIDGE_LOG_JSON=1) switches the
root logger to the JSON formatter; otherwise logs stay human-readable.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["JsonFormatter", "bind", "setup_logging"]

_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "posbridge_log_context", default=None
)
#: attributes every LogRecord has; anything else was passed as `extra=` and is logged
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


@contextmanager
def bind(**ids: Any) -> Iterator[None]:
    """Add ids (connection_id, run_id, job_id, ...) to every log record in this block."""
    current = _CONTEXT.get() or {}
    token = _CONTEXT.set(current | {k: v for k, v in ids.items() if v is not None})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_CONTEXT.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, ids and extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(out, enc_hook=str).decode()


def setup_logging(*, json: bool | None = None, level: str | None = None) -> None:
    """Configure the root logger once per process (CLI entry points call this)."""
    if json is None:
        json = os.environ.get("POSBRIDGE_LOG_JSON", "").lower() in ("1", "true", "yes")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("POSBRIDGE_LOG_LEVEL", "INFO").upper())
