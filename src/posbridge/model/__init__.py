"""The normalized model: one shape for what every POS knows."""

from __future__ import annotations

from posbridge.model.base import Record
from posbridge.model.catalog import Category, Modifier, Price, Product, TaxRate
from posbridge.model.operations import (
    DeviceEvent,
    JournalEntry,
    JournalLine,
    Report,
    Reservation,
    Shift,
    StockMovement,
    StockMovementLine,
    Voucher,
)
from posbridge.model.parties import Customer, Employee, LoyaltyTag
from posbridge.model.places import Device, Location, Table
from posbridge.model.sales import (
    FiscalRef,
    Invoice,
    InvoiceLine,
    LineModifier,
    Order,
    OrderLine,
    Payment,
    PaymentType,
    TaxTotal,
)

__all__ = [
    "MODELS",
    "Category",
    "Customer",
    "Device",
    "DeviceEvent",
    "Employee",
    "FiscalRef",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalLine",
    "LineModifier",
    "Location",
    "LoyaltyTag",
    "Modifier",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentType",
    "Price",
    "Product",
    "Record",
    "Report",
    "Reservation",
    "Shift",
    "StockMovement",
    "StockMovementLine",
    "Table",
    "TaxRate",
    "TaxTotal",
    "Voucher",
    "table_name",
]


def table_name(object_type: str) -> str:
    """Plural table (and stream) name of an object type: `order` → `orders`."""
    special = {
        "category": "categories",
        "device_event": "device_events",
        "journal_entry": "journal_entries",
        "tax_rate": "tax_rates",
    }
    return special.get(object_type, object_type + "s")


#: object type name -> model class; the store has one table per entry.
MODELS: dict[str, type[Record]] = {
    m.object_type: m
    for m in (
        Location,
        Device,
        Employee,
        Category,
        TaxRate,
        Product,
        Modifier,
        Customer,
        PaymentType,
        Order,
        Invoice,
        StockMovement,
        Voucher,
        Reservation,
        Report,
        Table,
        Shift,
        DeviceEvent,
        JournalEntry,
    )
}
