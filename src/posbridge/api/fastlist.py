"""The hot path of `GET /v1/{resource}`: plain pages answered before FastAPI's routing.

A list page of pre-encoded documents costs ~0.5 ms of database and splicing; FastAPI's
routing and parameter solving cost about as much again (perf-limits §3 measured FastAPI
at half of Starlette's rate on the same bytes). The common request — `limit`,
`starting_after`, `connection`, no `include` — is answered here with the very functions
the FastAPI route uses; anything else (other filters, bad input, a wrong key, an unknown
cursor) falls through to the route, which validates it and answers the documented
problem. The route stays the one documented in the OpenAPI schema.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from posbridge.export import EXPORTABLE
from posbridge.store.accounts import KeyCache, TenantScopes
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES

__all__ = ["FastList", "cursor_row", "list_response"]

_PLAIN = frozenset({"limit", "starting_after", "connection"})


@lru_cache(maxsize=64)
def _cursor_statement(table: sa.Table) -> sa.Select[Any]:
    return sa.select(table.c.row_id, table.c.connection_id).where(table.c.id == sa.bindparam("id"))


def cursor_row(store: Store, object_type: str, record_id: str, scope: list[str]) -> int | None:
    """The row of a cursor record when it is one of these connections', else None."""
    table = RECORD_TABLES[object_type]
    with store.engine.connect() as conn:
        found = conn.execute(_cursor_statement(table), {"id": record_id}).first()
    return int(found[0]) if found is not None and found[1] in scope else None


def list_response(docs: list[str], limit: int) -> Response:
    """A list envelope around pre-encoded documents (one more than `limit` means more)."""
    has_more = len(docs) > limit
    # every document starts with {"id":"<id>", and ids hold no quotes
    last = '"' + docs[limit - 1][7 : docs[limit - 1].index('"', 7)] + '"' if has_more else "null"
    body = "".join(
        (
            '{"object":"list","data":[',
            ",".join(docs[:limit]),
            '],"has_more":',
            "true" if has_more else "false",
            ',"next_starting_after":',
            last,
            "}",
        )
    )
    return Response(body.encode(), media_type="application/json")


class FastList:
    """ASGI middleware answering plain list pages; everything else goes to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        keys: KeyCache,
        scopes: TenantScopes,
        max_limit: int,
    ) -> None:
        self.app = app
        self.store = store
        self.keys = keys
        self.scopes = scopes
        self.max_limit = max_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = self._answer(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if not path.startswith("/v1/") or path.count("/") != 2:
            return None
        object_type = EXPORTABLE.get(path[4:])
        if object_type is None:
            return None
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs) or not params.keys() <= _PLAIN:
            return None
        limit_text = params.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= self.max_limit:
            return None
        account = self._account(scope)
        if account is None:
            return None
        ids = self.scopes(account)
        if "connection" in params:
            ids = [c for c in ids if c == params["connection"]]
        after = None
        if "starting_after" in params:
            after = cursor_row(self.store, object_type, params["starting_after"], ids)
            if after is None:
                return None
        limit = int(limit_text)
        docs = self.store.page_documents(object_type, ids, after_row=after, limit=limit + 1)
        return None if docs is None else list_response(docs, limit)

    def _account(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                kind, _, key = value.decode("latin-1").partition(" ")
                return self.keys.account(key.strip()) if kind.lower() == "bearer" else None
        return None
