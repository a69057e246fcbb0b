"""The WService document webhook: new documents pushed to `WebhookDocUrl`.

Configured like the `[midware]` section of WService.ini. After the first configuration
it starts from the last issued document, checks every `interval` seconds (5 by default),
sends each new document not in `DocTypeExcluded` as one JSON POST (the read shape; the
payload is INFERRED), and saves the id in `WebhookDocLastIDMov` only when the answer is
a success: it contains `WebhookDocSuccessKey`, or — without a key — is not empty.
Setting `last_id` lower replays history. It runs as a daemon thread owned by the sandbox.
"""

from __future__ import annotations

import configparser
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from posbridge.connectors.wservice.codes import DEFAULT_EXCLUDED

__all__ = ["WebhookConfig", "WebhookPusher"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WebhookConfig:
    """The `[midware]` webhook parameters; `last_id` None = not configured yet."""

    url: str = ""
    username: str = ""
    password: str = ""
    success_key: str = ""
    last_id: int | None = None
    excluded: tuple[str, ...] = tuple(DEFAULT_EXCLUDED)
    interval: float = 5.0

    @classmethod
    def from_ini(cls, text: str, interval: float = 5.0) -> WebhookConfig:
        """Read the `[midware]` section of a WService.ini text (keys case-insensitive)."""
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        sec = parser["midware"] if parser.has_section("midware") else {}
        last = str(sec.get("webhookdoclastidmov", "")).strip()
        raw_excluded = sec.get("doctypeexcluded")
        excluded = (
            tuple(DEFAULT_EXCLUDED)
            if raw_excluded is None
            else tuple(t.strip().upper() for t in str(raw_excluded).split(",") if t.strip())
        )
        return cls(
            url=str(sec.get("webhookdocurl", "")).strip(),
            username=str(sec.get("webhookdocbasicauthusername", "")).strip(),
            password=str(sec.get("webhookdocbasicauthpassword", "")).strip(),
            success_key=str(sec.get("webhookdocsuccesskey", "")).strip(),
            last_id=int(last) if last else None,
            excluded=excluded,
            interval=interval,
        )

    def to_ini(self) -> str:
        """The section as WService would save it (with the advanced cursor)."""
        lines = ["[midware]", f"WebhookDocUrl={self.url}"]
        if self.username:
            lines.append(f"WebhookDocBasicAuthUsername={self.username}")
            lines.append(f"WebhookDocBasicAuthPassword={self.password}")
        if self.success_key:
            lines.append(f"WebhookDocSuccessKey={self.success_key}")
        if self.last_id is not None:
            lines.append(f"WebhookDocLastIDMov={self.last_id}")
        lines.append("DocTypeExcluded=" + ",".join(self.excluded))
        return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Delivery:
    """One push attempt: the document id and whether it counted as delivered."""

    idmovement: int
    ok: bool
    detail: str = ""


@dataclass
class WebhookPusher:
    """Polls the documents and pushes the new ones; `start`/`stop` own one thread."""

    config: WebhookConfig
    #: (id, documenttype, JSON body) of every document after the given id, in id order
    documents: Callable[[int], list[tuple[int, str, bytes]]]
    top_id: Callable[[], int]
    deliveries: list[Delivery] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Begin polling (from the last issued document when no cursor is configured)."""
        if self._thread is not None:
            return
        if self.config.last_id is None:
            self.config.last_id = self.top_id()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wservice-webhook", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and wait for the thread (a push in flight finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def replay_from(self, last_id: int) -> None:
        """Rewrite WebhookDocLastIDMov: documents after `last_id` are sent again."""
        with self._lock:
            self.config.last_id = last_id

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a bug must not kill the loop silently forever
                log.exception("webhook poll failed")
            self._stop.wait(self.config.interval)

    def poll_once(self) -> int:
        """Push pending documents in id order; stop at the first failure. Returns pushes."""
        if not self.config.url:
            return 0
        sent = 0
        auth = (
            httpx.BasicAuth(self.config.username, self.config.password)
            if self.config.username
            else None
        )
        with self._lock:
            expected = self.config.last_id or 0
        with httpx.Client(timeout=10.0, auth=auth) as client:
            for idm, dtype, body in self.documents(expected):
                if self._stop.is_set():
                    break
                ok, detail = True, "excluded"
                if dtype not in self.config.excluded:
                    ok, detail = self._push(client, body)
                    self.deliveries.append(Delivery(idm, ok, detail))
                if not ok:
                    break
                with self._lock:
                    if self.config.last_id != expected:
                        break  # `replay_from` moved the cursor: the next poll starts there
                    self.config.last_id = expected = idm
                sent += detail != "excluded"
        return sent

    def _push(self, client: httpx.Client, body: bytes) -> tuple[bool, str]:
        try:
            response = client.post(
                self.config.url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            return False, type(exc).__name__
        text = response.text
        if self.config.success_key:
            return self.config.success_key in text, f"HTTP {response.status_code}"
        return bool(text.strip()), f"HTTP {response.status_code}"


def describe(pusher: WebhookPusher | None) -> dict[str, Any]:
    """JSON-ready status for `/_sandbox/webhook`."""
    if pusher is None:
        return {"configured": False}
    return {
        "configured": True,
        "running": pusher.running,
        "ini": pusher.config.to_ini(),
        "last_id": pusher.config.last_id,
        "delivered": sum(1 for d in pusher.deliveries if d.ok),
        "failed": sum(1 for d in pusher.deliveries if not d.ok),
    }
