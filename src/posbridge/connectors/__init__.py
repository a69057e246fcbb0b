"""Vendor connectors: one line per vendor in REGISTRY."""

from __future__ import annotations

from posbridge.connectors.avapos import AvaPOS
from posbridge.connectors.base import Connector
from posbridge.connectors.cloudpos import CloudPOS
from posbridge.connectors.icash import ICash
from posbridge.connectors.smartnow import SmartNow
from posbridge.connectors.wservice import WService

__all__ = ["REGISTRY"]

#: vendor slug → connector class
REGISTRY: dict[str, type[Connector]] = {
    CloudPOS.vendor: CloudPOS,
    AvaPOS.vendor: AvaPOS,
    ICash.vendor: ICash,
    WService.vendor: WService,
    SmartNow.vendor: SmartNow,
}
