"""People: customers and employees."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from posbridge.model.base import Record

__all__ = ["Customer", "Employee", "LoyaltyTag"]


class LoyaltyTag(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A loyalty card, key fob or barcode that identifies a customer at the till."""

    tag_id: str
    tag_type: str | None = None
    family_id: str | None = None


class Customer(Record, frozen=True, kw_only=True):
    """A customer or company.

    `national_id` is personal data (e.g. a Belgian rijksregisternummer): the store keeps
    it, the API masks it unless asked for, logs never show it.
    """

    object_type: ClassVar[str] = "customer"
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    vat_number: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    zipcode: str | None = None
    town: str | None = None
    country: str | None = None
    national_id: str | None = None
    loyalty_tags: list[LoyaltyTag] = msgspec.field(default_factory=list)


class Employee(Record, frozen=True, kw_only=True):
    """A user, cashier or operator of the POS."""

    object_type: ClassVar[str] = "employee"
    name: str
    username: str | None = None
    role: str | None = None
    is_admin: bool = False
    email: str | None = None
    national_id: str | None = None
