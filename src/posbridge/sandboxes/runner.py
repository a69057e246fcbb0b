"""Serve an ASGI app on real loopback from a background thread.

Tests, the demo and `posbridge sandbox` all need a vendor sandbox listening on a real
socket (clients must exercise their actual HTTP stack), without a subprocess.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from posbridge.sandboxes.faults import InjectedDisconnect

__all__ = ["SandboxServer"]


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
