"""Where sales happen: locations, devices, tables."""

from __future__ import annotations

from typing import ClassVar, Literal

from posbridge.model.base import Record

__all__ = ["Device", "DeviceKind", "Location", "Table", "TableStatus"]

DeviceKind = Literal[
    "register", "vending_machine", "terminal", "printer", "kiosk", "fiscal_device", "other"
]
TableStatus = Literal["free", "occupied", "awaiting_payment", "unknown"]


class Location(Record, frozen=True, kw_only=True):
    """A shop, restaurant, store or vending site (CloudPOS establishment, ...)."""

    object_type: ClassVar[str] = "location"
    name: str
    timezone: str | None = None
    currency: str | None = None
    country: str | None = None
    street: str | None = None
    zipcode: str | None = None
    town: str | None = None
    parent_source_id: str | None = None


class Device(Record, frozen=True, kw_only=True):
    """A register, kassa, vending machine, terminal or printer."""

    object_type: ClassVar[str] = "device"
    name: str
    kind: DeviceKind = "register"
    location_source_id: str | None = None
    serial: str | None = None
    model: str | None = None
    status: str | None = None


class Table(Record, frozen=True, kw_only=True):
    """A restaurant table (or hotel room) that orders and reservations refer to."""

    object_type: ClassVar[str] = "table"
    name: str
    status: TableStatus = "unknown"
    seats: int | None = None
    location_source_id: str | None = None
