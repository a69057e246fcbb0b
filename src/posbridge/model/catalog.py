"""What is sold: categories, products with prices and barcodes, modifiers, tax rates."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

import msgspec

from posbridge.model.base import Record

__all__ = ["Category", "Modifier", "Price", "Product", "TaxRate"]


class Category(Record, frozen=True, kw_only=True):
    """A product group (CloudPOS category, WService department, AvaPOS categoria)."""

    object_type: ClassVar[str] = "category"
    name: str
    parent_source_id: str | None = None
    tax_rate: Decimal | None = None


class TaxRate(Record, frozen=True, kw_only=True):
    """A VAT rate in percent (`21`, never `0.21` or `1.21`)."""

    object_type: ClassVar[str] = "tax_rate"
    name: str
    rate: Decimal
    country: str | None = None
    code: str | None = None


class Price(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One price of a product on one price list."""

    amount: Decimal
    currency: str
    includes_tax: bool = True
    price_list: str = "default"
    location_source_id: str | None = None


class Modifier(Record, frozen=True, kw_only=True):
    """An option added to a product line (CloudPOS subproduct, SmartNow flavour/extra)."""

    object_type: ClassVar[str] = "modifier"
    name: str
    price: Decimal | None = None
    currency: str | None = None
    tax_rate: Decimal | None = None
    stock_quantity: Decimal | None = None
    group: str | None = None
    product_source_ids: list[str] = msgspec.field(default_factory=list)


class Product(Record, frozen=True, kw_only=True):
    """A sellable item with its prices, barcodes, tax rate, stock and modifier groups."""

    object_type: ClassVar[str] = "product"
    name: str
    category_source_id: str | None = None
    sku: str | None = None
    barcodes: list[str] = msgspec.field(default_factory=list)
    prices: list[Price] = msgspec.field(default_factory=list)
    cost_price: Decimal | None = None
    tax_rate: Decimal | None = None
    stock_quantity: Decimal | None = None
    unit: str | None = None
    is_open_price: bool = False
    modifier_groups: list[Literal["popup", "menu", "flavour", "extra"]] = msgspec.field(
        default_factory=list
    )
    modifier_source_ids: list[str] = msgspec.field(default_factory=list)
    active: bool = True
