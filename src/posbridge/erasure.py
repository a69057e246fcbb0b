"""Erase one customer's personal data (GDPR Art. 17) and keep the sales intact.

The customer row keeps its ids and its raw hash, and loses every personal field; its raw
payload becomes `{"erased_at": …}`. Every other record of the connection that names the
customer (orders, invoices, vouchers, reservations: `customer_source_id`) and the
customer's quarantined payloads have the customer's personal values (names, e-mail,
phone, street, national number, VAT number, loyalty tags) replaced by `[erased]` in their
normalized data, raw payload and API document; amounts, lines and payments are untouched,
so every total and report stays what it was.

The POS still holds the customer: erase it there too. Because the raw hash is kept, a
later sync skips the vendor's unchanged record; if the vendor changes it, it comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa

from posbridge.errors import UsageError
from posbridge.model import Customer
from posbridge.store.repo import Store
from posbridge.store.tables import RECORD_TABLES, quarantine

__all__ = ["ERASED", "Erasure", "erase_customer"]

ERASED = "[erased]"
#: fields of Customer that identify a person
_PERSONAL = (
    "name",
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "street",
    "national_id",
)
#: values shorter than this are not searched for in other records (too likely elsewhere)
_MIN_VALUE = 3


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure changed."""

    customer_id: str
    records_scrubbed: int
    erased_at: datetime


def _values(customer: Customer) -> list[str]:
    values = [getattr(customer, f) for f in _PERSONAL]
    values += [t.tag_id for t in customer.loyalty_tags]
    found = {v for v in values if isinstance(v, str) and len(v.strip()) >= _MIN_VALUE}
    return sorted(found, key=len, reverse=True)  # "Van Damme Elien" before "Van Damme"


def _scrub(text: str | None, values: list[str]) -> str | None:
    """`text` (JSON) with each value replaced, as it appears JSON-escaped."""
    if text is None:
        return None
    for value in values:
        escaped = msgspec.json.encode(value).decode()[1:-1]
        text = text.replace(escaped, ERASED)
    return text


def erase_customer(store: Store, customer_id: str, connection_ids: list[str]) -> Erasure:
    """Erase a customer (by posbridge id) of one of `connection_ids`; UsageError if unknown."""
    customers = RECORD_TABLES["customer"]
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        row = conn.execute(
            sa.select(customers.c.row_id, customers.c.connection_id, customers.c.source_id)
            .add_columns(customers.c.data)
            .where(customers.c.id == customer_id, customers.c.connection_id.in_(connection_ids))
        ).first()
        if row is None:
            raise UsageError(f"no customer {customer_id!r}")
        record = msgspec.json.decode(row.data, type=Customer)
        values = _values(record)
        erased = msgspec.structs.replace(record, **dict.fromkeys(_PERSONAL), loyalty_tags=[])
        conn.execute(
            customers.update()
            .where(customers.c.row_id == row.row_id)
            .values(
                data=msgspec.json.encode(erased).decode(),
                raw=msgspec.json.encode({"erased_at": now.isoformat()}).decode(),
                doc=None,
                updated_at=now,
            )
        )
        scrubbed = 1
        for object_type, table in RECORD_TABLES.items():
            if object_type == "customer" or not values:
                continue
            named = conn.execute(
                sa.select(table.c.row_id, table.c.data, table.c.raw, table.c.doc).where(
                    table.c.connection_id == row.connection_id,
                    table.c.customer_source_id == row.source_id,
                )
            ).all()
            for r in named:
                conn.execute(
                    table.update()
                    .where(table.c.row_id == r.row_id)
                    .values(
                        data=_scrub(r.data, values),
                        raw=_scrub(r.raw, values),
                        doc=_scrub(r.doc, values),
                    )
                )
            scrubbed += len(named)
        held = conn.execute(
            sa.select(quarantine.c.id, quarantine.c.raw).where(
                quarantine.c.connection_id == row.connection_id,
                quarantine.c.object_type == "customer",
                quarantine.c.source_id == row.source_id,
            )
        ).all()
        for q in held:
            conn.execute(
                quarantine.update()
                .where(quarantine.c.id == q.id)
                .values(raw=msgspec.json.encode({"erased_at": now.isoformat()}).decode())
            )
        scrubbed += len(held)
    return Erasure(customer_id, scrubbed, now)
