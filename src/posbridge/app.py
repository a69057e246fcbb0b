"""The library surface the CLI (and later the API) call: open, connect, sync, status.

The CLI is a thin skin over these functions; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import ValidationError

from posbridge.connectors import REGISTRY
from posbridge.connectors.base import Connector
from posbridge.connectors.http import RequestBudget, RetryPolicy
from posbridge.errors import UsageError
from posbridge.settings import AppSettings
from posbridge.store.crypto import Vault, load_or_create_key
from posbridge.store.repo import ConnectionRow, Store
from posbridge.sync.engine import build_connector
from posbridge.sync.planner import plan_intervals

__all__ = ["ConnectionStatus", "connect", "connection_status", "open_store", "parse_settings"]


def open_store(settings: AppSettings) -> Store:
    """Open the configured database with the configured (or generated) key."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    key = load_or_create_key(secret, settings.resolved_key_file())
    return Store.open(settings.database_url, Vault(key))


def parse_settings(
    vendor: str, values: Mapping[str, str]
) -> tuple[type[Connector], dict[str, Any]]:
    """Validate `--set key=value` pairs against the vendor's settings model."""
    cls = REGISTRY.get(vendor)
    if cls is None:
        raise UsageError(f"unknown vendor {vendor!r}; known: {', '.join(sorted(REGISTRY))}")
    try:
        model = cls.Settings.model_validate(dict(values))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fields = ", ".join(cls.Settings.model_fields)
        raise UsageError(f"invalid {vendor} settings — {problems} (settings: {fields})") from None
    return cls, model.model_dump(mode="json", exclude_unset=True) | dict(values)


def connect(
    store: Store,
    vendor: str,
    name: str,
    base_url: str | None,
    values: Mapping[str, str],
    *,
    check: bool = True,
    update: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> ConnectionRow:
    """Create (or update) a connection; with `check`, one authenticated call first.

    Secret fields go to the encrypted credentials, the rest to plain settings. The check
    runs before anything is stored, so bad credentials are never saved.
    """
    cls, _ = parse_settings(vendor, values)
    secret_fields = {
        n for n, f in cls.Settings.model_fields.items() if "SecretStr" in str(f.annotation)
    }
    credentials = {k: v for k, v in values.items() if k in secret_fields or k in _IDENTITY}
    options = {k: v for k, v in values.items() if k not in credentials}
    url = base_url or _default_url(cls)
    if check:
        probe = ConnectionRow(
            id="probe",
            name=name,
            vendor=vendor,
            base_url=url,
            status="ok",
            status_reason=None,
            deferred_until=None,
            settings=options,
            credentials_version=0,
            created_at=datetime.now(UTC),
        )
        connector = _probe_connector(cls, probe, credentials, transport)
        connector.use_counters(store.nonces)  # the check's nonce is the key's next one too
        try:
            connector.check()
        finally:
            connector.http.close()
    if update:
        store.update_credentials(name, credentials, base_url=url)
        return store.get_connection(name)
    return store.add_connection(name, vendor, url, credentials, options)


#: settings that identify the account travel with the secrets (encrypted together).
_IDENTITY = {"licname", "username", "user", "api_key", "key", "email"}


def _default_url(cls: type[Connector]) -> str:
    url = cls.default_base_url
    if not url:
        raise UsageError(f"{cls.vendor} has no public URL: pass --base-url")
    return url


def _probe_connector(
    cls: type[Connector],
    row: ConnectionRow,
    credentials: Mapping[str, str],
    transport: httpx.BaseTransport | None,
) -> Connector:
    from posbridge.connectors.http import VendorClient

    settings = cls.Settings.model_validate({**row.settings, **credentials})
    # One attempt only: a refused check must never become a second bad login.
    client = VendorClient(
        row.base_url, vendor=cls.vendor, retry=RetryPolicy(attempts=1), transport=transport
    )
    return cls(settings, client)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """What `posbridge status` shows for one connection."""

    name: str
    vendor: str
    status: str
    reason: str | None
    deferred_until: datetime | None
    last_sync: datetime | None
    freshness: timedelta | None
    budget_limit: int | None
    budget_used: int
    quarantined: int
    records: dict[str, int]
    planned: dict[str, timedelta]


def connection_status(
    store: Store, row: ConnectionRow, now: datetime | None = None
) -> ConnectionStatus:
    """Freshness, budget, quarantine and record counts of one connection."""
    now = now or datetime.now(UTC)
    connector = build_connector(store, row)
    try:
        streams = connector.streams()
        limits = connector.effective_limits()
    finally:
        connector.http.close()
    budget = RequestBudget(limit=limits.per_day, timezone=limits.quota_timezone)
    states = store.stream_states(row.id)
    successes = [s["last_success_at"] for s in states.values() if s["last_success_at"]]
    priority = [
        s["last_success_at"]
        for name, s in states.items()
        if name == "orders" and s["last_success_at"]
    ]
    last = max(successes) if successes else None
    fresh = (now - priority[0]) if priority else ((now - last) if last else None)
    counts = {s.name: int(states.get(s.name, {}).get("records_total", 0)) for s in streams}
    return ConnectionStatus(
        name=row.name,
        vendor=row.vendor,
        status=row.status,
        reason=row.status_reason,
        deferred_until=row.deferred_until,
        last_sync=last,
        freshness=fresh,
        budget_limit=limits.per_day,
        budget_used=store.budget_used(row.id, budget.local_day().isoformat()),
        quarantined=len(store.quarantined(row.id)),
        records=counts,
        planned=plan_intervals(limits, streams),
    )
