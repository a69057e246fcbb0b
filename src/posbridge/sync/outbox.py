"""Idempotent writes: record in the outbox, then send, then store the outcome.

Semantics follow the payment APIs (RELIABILITY.md §0.4): the same key with the same body
returns the first result; the same key with another body is refused (422); a key whose
first request is still in flight answers 409. A write whose vendor response was lost is
reconciled by the connector where the vendor allows it (CloudPOS documents are unique by
number); if the outcome stays unknown, the row is marked `unknown` for an operator and is
never sent again under that key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError

from posbridge.connectors.base import Command
from posbridge.errors import (
    PROBLEM_TYPE_BASE,
    ConfigError,
    PosbridgeError,
    QuotaExhausted,
    TransientError,
    UsageError,
    VendorError,
)
from posbridge.store.repo import ConnectionRow, Store
from posbridge.store.tables import outbox
from posbridge.sync.engine import budget_for, build_connector
from posbridge.sync.rehearsal import rehearse_in_sandbox

__all__ = ["WriteOutcome", "get_command", "list_commands", "submit_command"]

_encode = msgspec.json.Encoder(decimal_format="string").encode
#: a pending row older than this belongs to a process that died mid-write
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The HTTP status and JSON body a write answers with (replayed identically).

    `pending` is set when the write was accepted without waiting: the caller runs it
    (after answering 202) and the outcome lands in the outbox row.
    """

    status: int
    body: dict[str, Any]
    pending: Callable[[], None] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _problem(status: int, kind: str, title: str, **extra: Any) -> WriteOutcome:
    return WriteOutcome(
        status,
        {
            "type": PROBLEM_TYPE_BASE + kind,
            "title": title,
            "status": status,
            **extra,
        },
    )


def submit_command(
    store: Store,
    account_id: str,
    row: ConnectionRow,
    name: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    dry_run: bool = False,
    rehearse: bool = False,
    wait: bool = True,
) -> WriteOutcome:
    """Run one write command at most once per (account, idempotency key).

    `dry_run` validates and maps it and shows the vendor request without sending it;
    with `rehearse` the request is also sent to a local sandbox of the vendor. Without
    `wait` the write is accepted (202, status `pending`) and `WriteOutcome.pending` runs it.
    """
    request = {"command": name, "payload": payload, "dry_run": dry_run, "connection": row.id}
    if rehearse:
        request["rehearse"] = True
    request_hash = hashlib.sha256(_encode(request)).hexdigest()
    outbox_id = "cmd_" + secrets.token_hex(10)
    now = _now()
    try:
        with store.engine.begin() as conn:
            conn.execute(
                outbox.insert().values(
                    id=outbox_id,
                    account_id=account_id,
                    connection_id=row.id,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    command=name,
                    payload=_encode(payload).decode(),
                    status="pending",
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        return _replay(store, account_id, idempotency_key, request_hash)
    command = Command(name=name, payload=payload, reference=outbox_id)

    def run() -> WriteOutcome:
        outcome, status = _send(store, row, command, dry_run, rehearse)
        body = outcome.body | {"outbox_id": outbox_id}
        with store.engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == outbox_id)
                .values(
                    status=status,
                    response=_encode(body).decode(),
                    http_status=outcome.status,
                    error=body.get("title") if outcome.status >= 400 else None,
                    updated_at=_now(),
                )
            )
        return WriteOutcome(outcome.status, body)

    if wait or dry_run:
        return run()

    def run_later() -> None:
        run()

    accepted = get_command(store, account_id, outbox_id)
    assert accepted is not None
    return WriteOutcome(202, accepted, pending=run_later)


def get_command(store: Store, account_id: str, outbox_id: str) -> dict[str, Any] | None:
    """One outbox row of the account as a command resource (None if not the account's)."""
    with store.engine.connect() as conn:
        r = conn.execute(
            outbox.select().where(outbox.c.id == outbox_id, outbox.c.account_id == account_id)
        ).first()
    if r is None:
        return None
    return _command_document(r) | {
        "connection_id": r.connection_id,
        "result": None if r.response is None else msgspec.json.decode(r.response),
    }


def _command_document(r: Any) -> dict[str, Any]:
    return {
        "object": "command",
        "id": r.id,
        "command": r.command,
        "status": r.status,
        "http_status": r.http_status,
        "error": r.error,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


def _replay(store: Store, account_id: str, key: str, request_hash: str) -> WriteOutcome:
    with store.engine.connect() as conn:
        prior = conn.execute(
            outbox.select().where(
                outbox.c.account_id == account_id, outbox.c.idempotency_key == key
            )
        ).one()
    if prior.request_hash != request_hash:
        return _problem(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request",
            outbox_id=prior.id,
        )
    if prior.status == "pending":
        if _now() - prior.updated_at < STALE_AFTER:
            return _problem(
                409,
                "request_in_progress",
                "A request with this Idempotency-Key is still in progress",
                outbox_id=prior.id,
            )
        # The process that sent it died before recording the outcome: never resend blindly.
        return _problem(
            502,
            "outcome_unknown",
            "The first attempt with this Idempotency-Key "
            "never recorded an outcome; an operator must check the vendor",
            outbox_id=prior.id,
        )
    body: dict[str, Any] = msgspec.json.decode(prior.response)
    return WriteOutcome(int(prior.http_status), body)


def _send(
    store: Store, row: ConnectionRow, command: Command, dry_run: bool, rehearse: bool = False
) -> tuple[WriteOutcome, str]:
    connector = build_connector(store, row)
    budget = budget_for(store, row.id, connector, _now)
    connector.http.budget = budget
    try:
        if command.name not in {c.name for c in connector.capabilities()}:
            known = ", ".join(c.name for c in connector.capabilities()) or "none"
            return _problem(
                422,
                "unsupported_command",
                f"{row.vendor} cannot {command.name!r}",
                capabilities=known,
            ), "failed"
        if dry_run:
            preview = connector.preview(command)
            body: dict[str, Any] = {
                "object": "command_preview",
                "command": command.name,
                "dry_run": True,
                "request": preview,
            }
            if rehearse:
                body["rehearsal"] = rehearse_in_sandbox(row.vendor, command)
            return WriteOutcome(200, body), "succeeded"
        result = connector.execute(command)
        return WriteOutcome(
            201,
            {
                "object": "command_result",
                "command": command.name,
                "source_id": result.source_id,
                "response": msgspec.to_builtins(result.response),
            },
        ), "succeeded"
    except UsageError as exc:
        return _problem(422, "validation_error", exc.message), "failed"
    except QuotaExhausted as exc:
        return _problem(429, "quota_exhausted", exc.message), "failed"
    except TransientError as exc:
        # Sent, and no answer after retries: the vendor may or may not have it.
        return _problem(
            502,
            "outcome_unknown",
            "The vendor did not confirm this write; an operator must check it "
            f"before it is tried again ({exc.message})",
        ), "unknown"
    except (ConfigError, VendorError) as exc:
        return _problem(
            422 if isinstance(exc, ConfigError) else 502,
            exc.problem_kind,
            exc.message,
            vendor_code=exc.vendor_code,
        ), "failed"
    except PosbridgeError as exc:
        return _problem(502, exc.problem_kind, exc.message), "failed"
    finally:
        connector.http.close()
        if budget.day is not None:
            with store.engine.begin() as conn:
                store.put_budget(conn, row.id, budget.day.isoformat(), budget.unsaved())


def list_commands(store: Store, connection_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest outbox rows of a connection, with their status."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            outbox.select()
            .where(outbox.c.connection_id == connection_id)
            .order_by(outbox.c.created_at.desc())
            .limit(limit)
        ).all()
    return [_command_document(r) for r in rows]
