"""Vendor sandboxes: faithful local servers of each POS vendor's API.

`SANDBOXES` maps a vendor slug to a factory taking keyword arguments (`seed`, `days`,
`orders_per_day`, `daily_limit`, ...) and returning a `Sandbox`; serve its `app` with
`posbridge.sandboxes.runner.SandboxServer`. Factories import their vendor module on
first use, so importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp

__all__ = ["SANDBOXES", "Sandbox"]


@dataclass(slots=True)
class Sandbox:
    """A ready-to-serve vendor sandbox.

    `state` is the vendor's state object (world, clock, faults, quota counters, blocked
    IPs, request log); `credentials` are what a connector needs to log in; clients call
    `server.url + base_path`.
    """

    vendor: str
    app: ASGIApp
    state: Any
    credentials: dict[str, str]
    base_path: str = "/api/"


def _cloudpos(**options: Any) -> Sandbox:
    from posbridge.sandboxes.cloudpos import create_sandbox

    return create_sandbox(**options)


def _avapos(**options: Any) -> Sandbox:
    from posbridge.sandboxes.avapos import create_sandbox

    return create_sandbox(**options)


def _icash(**options: Any) -> Sandbox:
    from posbridge.sandboxes.icash import create_sandbox

    return create_sandbox(**options)


def _wservice(**options: Any) -> Sandbox:
    from posbridge.sandboxes.wservice import create_sandbox

    return create_sandbox(**options)


def _smartnow(**options: Any) -> Sandbox:
    from posbridge.sandboxes.smartnow import create_sandbox

    return create_sandbox(**options)


#: vendor slug → sandbox factory (one line per vendor).
SANDBOXES: dict[str, Callable[..., Sandbox]] = {
    "cloudpos": _cloudpos,
    "avapos": _avapos,
    "icash": _icash,
    "wservice": _wservice,
    "smartnow": _smartnow,
}
