"""RFC 9457 problem details: every API error is `application/problem+json`."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from posbridge.errors import (
    PROBLEM_TYPE_BASE,
    ConfigError,
    PosbridgeError,
    QuotaExhausted,
    TransientError,
    UsageError,
    VendorError,
    VendorValidationError,
)

__all__ = ["ProblemError", "install_problem_handlers", "problem"]


class ProblemError(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self, status: int, kind: str, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(title)
        self.status, self.kind, self.title, self.detail, self.extra = (
            status,
            kind,
            title,
            detail,
            extra,
        )


def problem(
    status: int, kind: str, title: str, detail: str | None = None, **extra: Any
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body |= extra
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


#: taxonomy class → HTTP status, most specific first
_STATUS: tuple[tuple[type[PosbridgeError], int], ...] = (
    (UsageError, 400),
    (ConfigError, 422),
    (VendorValidationError, 422),
    (QuotaExhausted, 429),
    (TransientError, 503),
    (VendorError, 502),
)


def install_problem_handlers(app: FastAPI) -> None:
    """Turn every error the app can raise into a problem document (no HTML, no tracebacks)."""

    async def on_problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem(exc.status, exc.kind, exc.title, exc.detail, **exc.extra)

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return problem(422, "validation_error", "The request is not valid", errors=errors)

    async def on_http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, kind, str(exc.detail))

    async def on_posbridge(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PosbridgeError)
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
        extra: dict[str, Any] = {}
        if exc.vendor_code is not None:
            extra["vendor_code"] = exc.vendor_code
        return problem(status, exc.problem_kind, exc.message, **extra)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(PosbridgeError, on_posbridge)
