"""Outbound requests to tenant-chosen URLs go to public addresses only (SSRF, OWASP API7).

A tenant sets where webhooks are delivered; without a guard that URL could point at the
cloud metadata service (169.254.169.254), at localhost or at the private network the
server sits in. `check_url` refuses such targets when the URL is set, and
`guarded_client` refuses them again at connect time: it resolves the host itself, checks
every address and connects to the address it checked, so a DNS answer that changes after
the first check (DNS rebinding) cannot slip through. `POSBRIDGE_ALLOW_LOOPBACK_TARGETS=1`
allows loopback for local sandboxes and demos; private, link-local and metadata addresses
stay refused.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from posbridge.errors import UsageError

__all__ = ["OutboundPolicy", "TargetRefused", "check_url", "guarded_client"]

_ENV = "POSBRIDGE_ALLOW_LOOPBACK_TARGETS"


class TargetRefused(UsageError):
    """The URL resolves to an address posbridge does not send to."""


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which non-public addresses may be reached (none by default)."""

    allow_loopback: bool = False

    @classmethod
    def from_env(cls) -> OutboundPolicy:
        """The policy of this process: `POSBRIDGE_ALLOW_LOOPBACK_TARGETS=1` allows loopback."""
        return cls(allow_loopback=os.environ.get(_ENV, "").strip().lower() in ("1", "true"))

    def refusal(self, address: str) -> str | None:
        """Why `address` is refused, or None if it may be reached."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return None if self.allow_loopback else f"{ip} is a loopback address (set {_ENV}=1)"
        if ip.is_link_local:
            return f"{ip} is link-local (cloud metadata services live there)"
        if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
            return f"{ip} is a private or reserved address"
        return None


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"cannot resolve {host!r}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _check(host: str, addresses: Iterable[str], policy: OutboundPolicy) -> None:
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise TargetRefused(f"refusing to send to {host}: {reason}")


def check_url(url: str, policy: OutboundPolicy | None = None) -> None:
    """Raise `TargetRefused` unless every address of the URL's host may be reached."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the url must be http(s)://host/…")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    _check(parts.hostname, _addresses(parts.hostname, port), policy or OutboundPolicy.from_env())


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects to the checked address (no second DNS lookup)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _addresses(host, port)
        try:
            _check(host, addresses, self._policy)
        except TargetRefused as exc:
            raise httpcore.ConnectError(exc.message) from None
        return self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not an outbound target")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_client(policy: OutboundPolicy | None = None, *, timeout: float = 10) -> httpx.Client:
    """An httpx client that only connects to addresses the policy allows; no redirects."""
    transport = httpx.HTTPTransport()
    # httpx exposes no network backend option; its pool is httpcore's, which takes one.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=_GuardedBackend(policy or OutboundPolicy.from_env()),
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
