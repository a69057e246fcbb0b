"""Mappings as code: a declarative vendor-field → model-field map with named rules.

Each connector declares, per stream, which vendor field feeds which model field and by
which conversion rule. Simple records are mapped straight from the declaration
(`map_fields`); records with nested structure (orders, invoices) are mapped by code
whose every input is still declared here, so docs/connectors.md can be generated from
the declarations and a test can check the declaration against the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posbridge.errors import MappingError
from posbridge.model.money import normalize_rate

__all__ = ["RULES", "Field", "map_fields", "render_markdown"]


@dataclass(frozen=True, slots=True)
class Field:
    """One declared input: `vendor` field (`a[].b` for nested), `model` field, `rule`."""

    vendor: str
    model: str
    rule: str
    required: bool = False
    note: str = ""

    @property
    def nested(self) -> bool:
        """Nested and computed fields are documented here but mapped by code."""
        return "[]" in self.vendor or self.rule == "computed" or "." in self.model


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _id(v: Any) -> str | None:
    """Vendor ids; 0 and empty mean "none" in PHP-style APIs."""
    if v is None or v == "" or v == 0 or v == "0":
        return None
    if isinstance(v, bool):
        raise MappingError(f"id must be a number or string, got {v!r}")
    return str(v)


def _decimal(v: Any) -> Decimal:
    if isinstance(v, float):
        raise MappingError(f"float {v!r} where a decimal string was expected")
    if isinstance(v, bool) or v is None:
        raise MappingError(f"not a number: {v!r}")
    try:
        d = Decimal(v.strip() if isinstance(v, str) else v)
    except (InvalidOperation, TypeError, ValueError):
        raise MappingError(f"not a number: {v!r}") from None
    if not d.is_finite():
        raise MappingError(f"not a finite number: {v!r}")
    return d


def _decimal_or_none(v: Any) -> Decimal | None:
    return None if v is None or v == "" else _decimal(v)


def _rate(v: Any) -> Decimal:
    try:
        return normalize_rate(_decimal(v))
    except ValueError as exc:
        raise MappingError(
            f"VAT rate {v!r} is not a percent, multiplier or fraction: {exc}"
        ) from None


def _unix(v: Any) -> datetime | None:
    if v is None or v == "" or v == 0 or v == "0":
        return None
    try:
        return datetime.fromtimestamp(int(v), UTC)
    except (TypeError, ValueError, OverflowError):
        raise MappingError(f"not a unix timestamp: {v!r}") from None


def _date(v: Any) -> date | None:
    if v is None or v == "" or str(v).startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        raise MappingError(f"impossible date {v!r}") from None


def _flag(v: Any) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes")


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise MappingError(f"not an integer: {v!r}") from None


#: rule name → converter; the rule names appear in docs/connectors.md.
RULES: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "id": _id,
    "decimal": _decimal,
    "decimal?": _decimal_or_none,
    "vat_percent": _rate,
    "unix_time": _unix,
    "date": _date,
    "flag_01": _flag,
    "int": _int,
}

RULE_DOCS: dict[str, str] = {
    "text": "trimmed string; empty → null",
    "id": "vendor id as string; 0/empty → null",
    "decimal": "exact Decimal from the JSON string/number (never float)",
    "decimal?": "exact Decimal; empty → null",
    "vat_percent": "percent, multiplier (1.21) or fraction (0.21) → percent (21)",
    "unix_time": "unix seconds → UTC instant",
    "local_datetime": "vendor-local `YYYY-MM-DD HH:MM:SS` → UTC instant + business date",
    "date": "`YYYY-MM-DD` → date; 0000-00-00 → null",
    "flag_01": "1/0 → true/false",
    "int": "integer",
    "computed": "derived by the mapping code (see note)",
    "const": "constant (see note)",
    "payment_column": "non-zero column → one normalized payment",
}


def map_fields(fields: Sequence[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the flat declarations of a stream to one raw record → model kwargs."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.nested or f.rule in ("const",):
            continue
        value = raw.get(f.vendor)
        if value is None:
            if f.required:
                raise MappingError(f"missing required field {f.vendor!r}")
            continue
        try:
            converted = RULES[f.rule](value)
        except MappingError as exc:
            raise MappingError(f"field {f.vendor!r}: {exc.message}") from None
        if converted is None and f.required:
            raise MappingError(f"required field {f.vendor!r} is empty")
        if converted is not None:
            out[f.model] = converted
    return out


def render_markdown(vendor: str, streams: Mapping[str, tuple[str, Sequence[Field]]]) -> str:
    """The field map of one vendor as Markdown tables (docs/connectors.md)."""
    parts = [f"### {vendor}: field map\n"]
    for stream, (source, fields) in streams.items():
        parts.append(
            f"\n#### `{stream}` ← `{source}`\n\n| vendor field | model field | rule | note |\n|---|---|---|---|"
        )
        for f in fields:
            req = " (required)" if f.required else ""
            parts.append(f"| `{f.vendor}`{req} | `{f.model}` | {f.rule} | {f.note} |")
    used = sorted({f.rule for _, fs in streams.values() for f in fs})
    parts.append("\nRules: " + "; ".join(f"**{r}** — {RULE_DOCS.get(r, '')}" for r in used) + "\n")
    return "\n".join(parts)
