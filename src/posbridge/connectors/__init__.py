"""Vendor connectors: one line per vendor in REGISTRY."""

from __future__ import annotations

from posbridge.connectors.base import Connector
from posbridge.connectors.cloudpos import CloudPOS

__all__ = ["REGISTRY"]

#: vendor slug → connector class
REGISTRY: dict[str, type[Connector]] = {
    CloudPOS.vendor: CloudPOS,
}
