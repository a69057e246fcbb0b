"""Serve an ASGI app on real loopback from a background thread.

Tests, the demo and `posbridge sandbox` all need a vendor sandbox listening on a real
socket (clients must exercise their actual HTTP stack), without a subprocess.
`ConcurrencyMeter` counts requests in flight per credential (the evidence that no two
workers ever sync one connection at once); `mount` serves many sandboxes on one port.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from posbridge.sandboxes.faults import InjectedDisconnect

__all__ = ["ConcurrencyMeter", "SandboxServer", "metered", "mount"]


class _DropInjectedDisconnects(logging.Filter):
    """Keeps uvicorn from logging the tracebacks of deliberate `reset_next` faults."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDisconnect))


_FILTER = _DropInjectedDisconnects()


class SandboxServer:
    """uvicorn in a daemon thread; a context manager that starts and stops it.

    `port=0` picks a free port; read the real one from `.port` or `.url` after `start`.
    uvicorn's own `Date` header is off: sandboxes stamp `Date` from their own clock.
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """`http://host:port` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, serve in the background and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        logging.getLogger("uvicorn.error").addFilter(_FILTER)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            date_header=False,
            lifespan="off",
            access_log=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sandbox server did not start on {self.url}")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit, force it after `timeout / 2`, and close the socket."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout / 2)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout / 2)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ConcurrencyMeter:
    """Requests in flight per credential identity: now, the most ever, and in total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total: dict[str, int] = {}

    def enter(self, key: str) -> None:
        """A request of `key` started."""
        with self._lock:
            now = self.current.get(key, 0) + 1
            self.current[key] = now
            self.peak[key] = max(self.peak.get(key, 0), now)
            self.total[key] = self.total.get(key, 0) + 1

    def leave(self, key: str) -> None:
        """A request of `key` finished (answered, failed or dropped)."""
        with self._lock:
            self.current[key] -= 1


def _sandbox_control(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/_sandbox/")


def metered(
    app: ASGIApp, meter: ConcurrencyMeter, identity: Callable[[Scope], str | None]
) -> ASGIApp:
    """Wrap a sandbox so `meter` counts its vendor requests per `identity(scope)`.

    `identity` names the credential a request uses (a vendor reads it from its auth
    header or body; a sandbox serving one account can return a constant); None = skip.
    """

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        key = identity(scope) if scope["type"] == "http" and not _sandbox_control(scope) else None
        if key is None:
            await app(scope, receive, send)
            return
        meter.enter(key)
        try:
            await app(scope, receive, send)
        finally:
            meter.leave(key)

    return counted


def mount(apps: Mapping[str, ASGIApp]) -> ASGIApp:
    """One ASGI app serving each of `apps` under `/<prefix>` (the prefix is stripped).

    Lets a test or a benchmark run hundreds of sandboxes on one port and one thread.
    """

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = str(scope.get("path", ""))
        prefix, _, rest = path.lstrip("/").partition("/")
        target = apps.get(prefix)
        if target is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such sandbox"})
            return
        inner = "/" + rest
        child = dict(scope, path=inner, raw_path=inner.encode())
        await target(child, receive, send)

    return dispatch
