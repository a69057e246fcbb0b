"""Tenants (accounts) and their API keys.

A key is shown once, when created; the store keeps only its SHA-256, so a database dump
does not give API access. Keys carry a short public prefix to tell them apart in lists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from posbridge.errors import UsageError
from posbridge.store.repo import Store
from posbridge.store.tables import accounts, api_keys, connections

__all__ = [
    "LOCALES",
    "KeyCache",
    "TenantScopes",
    "account_for_key",
    "assign_connection",
    "check_locale",
    "create_account",
    "create_api_key",
    "get_account",
    "list_api_keys",
    "revoke_api_key",
    "set_locale",
]

KEY_PREFIX = "pbk_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


#: locales the dashboard formats for (the five vendors' markets and English)
LOCALES = ("nl-BE", "nl-NL", "it-IT", "bg-BG", "sq-AL", "es-EC", "en")


def check_locale(locale: str) -> str:
    """A supported locale, or a UsageError naming them."""
    if locale not in LOCALES:
        raise UsageError(f"unsupported locale {locale!r}; choose one of: {', '.join(LOCALES)}")
    return locale


def create_account(store: Store, name: str, locale: str = "en") -> str:
    """A new tenant; returns its id."""
    account_id = "acc_" + secrets.token_hex(8)
    with store.engine.begin() as conn:
        conn.execute(
            accounts.insert().values(
                id=account_id,
                name=name,
                locale=check_locale(locale),
                created_at=datetime.now(UTC),
            )
        )
    return account_id


def get_account(store: Store, account_id: str) -> dict[str, str | None]:
    """An account's id, name and locale."""
    with store.engine.connect() as conn:
        row = conn.execute(accounts.select().where(accounts.c.id == account_id)).one()
    return {"id": row.id, "name": row.name, "locale": row.locale or "en"}


def set_locale(store: Store, account_id: str, locale: str) -> None:
    """Change how the dashboard formats this tenant's amounts and dates."""
    with store.engine.begin() as conn:
        conn.execute(
            accounts.update().where(accounts.c.id == account_id).values(locale=check_locale(locale))
        )


def create_api_key(store: Store, account_id: str) -> str:
    """A new API key for an account, returned in clear exactly once."""
    with store.engine.connect() as conn:
        if (
            conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first()
            is None
        ):
            raise UsageError(
                f"no account {account_id!r}; create one with `posbridge account create`"
            )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(
            api_keys.insert().values(
                id="key_" + secrets.token_hex(8),
                account_id=account_id,
                key_hash=_digest(key),
                prefix=key[:12],
                created_at=datetime.now(UTC),
            )
        )
    return key


def account_for_key(store: Store, key: str) -> str | None:
    """The account a live key belongs to, or None."""
    digest = _digest(key)
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(api_keys.c.account_id, api_keys.c.key_hash).where(
                api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return str(row.account_id)


def list_api_keys(store: Store, account_id: str) -> list[dict[str, object]]:
    """An account's keys: id, public prefix, created, revoked (never the key itself)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            api_keys.select()
            .where(api_keys.c.account_id == account_id)
            .order_by(api_keys.c.created_at)
        ).all()
    return [
        {"id": r.id, "prefix": r.prefix, "created_at": r.created_at, "revoked_at": r.revoked_at}
        for r in rows
    ]


def revoke_api_key(store: Store, key_id: str) -> None:
    """Revoke a key by its id; it stops working (within a running API's 5 s key cache)."""
    with store.engine.begin() as conn:
        done = conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
    if not done:
        raise UsageError(f"no live API key {key_id!r}; see `posbridge key list ACCOUNT`")


class KeyCache:
    """`account_for_key` remembered for a few seconds per key digest (API hot path).

    A key revoked in the database stops working within `ttl` seconds in a running API
    process; unknown keys are not cached, so a new key works at once.
    """

    def __init__(self, store: Store, ttl: float = 5.0) -> None:
        self.store = store
        self.ttl = ttl
        self._known: dict[str, tuple[str, float]] = {}

    def account(self, key: str) -> str | None:
        digest = _digest(key)
        now = time.monotonic()
        hit = self._known.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        account = account_for_key(self.store, key)
        if account is None:
            self._known.pop(digest, None)
        else:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[digest] = (account, now + self.ttl)
        return account


class TenantScopes:
    """Each account's connection ids, remembered for `ttl` seconds (API hot path).

    The API forgets an account's entry when it creates or deletes one of its connections;
    a connection assigned from another process (the CLI) shows within `ttl` seconds.
    """

    def __init__(self, store: Store, ttl: float = 2.0) -> None:
        self.store = store
        self.ttl = ttl
        self._known: dict[str, tuple[list[str], float]] = {}

    def __call__(self, account_id: str) -> list[str]:
        now = time.monotonic()
        hit = self._known.get(account_id)
        if hit is not None and hit[1] > now:
            return list(hit[0])
        with self.store.engine.connect() as conn:
            ids = list(
                conn.execute(
                    sa.select(connections.c.id).where(connections.c.account_id == account_id)
                ).scalars()
            )
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[account_id] = (ids, now + self.ttl)
        return list(ids)

    def forget(self, account_id: str) -> None:
        """Drop the remembered scope (after a connection of the account changed)."""
        self._known.pop(account_id, None)


def assign_connection(store: Store, connection_name: str, account_id: str) -> None:
    """Put a connection under an account (its records become visible to that tenant)."""
    row = store.get_connection(connection_name)
    with store.engine.begin() as conn:
        if (
            conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first()
            is None
        ):
            raise UsageError(
                f"no account {account_id!r}; create one with `posbridge account create`"
            )
        conn.execute(
            connections.update().where(connections.c.id == row.id).values(account_id=account_id)
        )
