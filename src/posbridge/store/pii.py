"""Payment card numbers (PAN) never enter the store: masked at ingest, first 6 / last 4.

PCI DSS 3.4.1 allows at most the first six and last four digits of a PAN to be shown, and
3.5.1 wants the rest unreadable wherever it is stored — raw payload copies included. POS
payloads carry card numbers in free text (a payment remark, an invoice note). A PAN here
is a run of 13–19 digits, unbroken or grouped as cards print them (4-4-4-4[-3], 4-6-5,
4-6-4, by spaces or dashes; other groupings are fiscal or document numbers), that starts with 2–6
(the card networks' major industry identifiers) and passes the Luhn check; a bare run of
exactly 13 digits is a barcode (EAN-13, in-store and loyalty codes), not a card — 13-digit
PANs left circulation long ago — and so is a grouped one that is a valid EAN-13. A PAN
becomes `first6` + `*` per hidden digit + `last4`, separators dropped.
Masking the raw bytes before they are mapped makes the normalized record masked too.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["has_pan", "luhn_ok", "mask_pans", "mask_pans_in"]

_RUN = (
    r"(?<![0-9.,])(?:"
    r"[2-6][0-9]{12,18}"  # unbroken
    r"|[2-6][0-9]{3}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{3})?"  # 4-4-4-4(-3)
    r"|[2-6][0-9]{3}([ -])[0-9]{6}\2[0-9]{4,5}"  # 4-6-5 (Amex), 4-6-4 (Diners)
    r")(?![0-9]|[.,][0-9])"
)
_RUN_BYTES = re.compile(_RUN.encode())
_RUN_TEXT = re.compile(_RUN)
_SEPARATORS = re.compile(r"[ -]")
#: the prefilter: digits → "0", separators → "_"; a PAN needs 13 digits in a row or a
#: "dddd dddd" group (dates and times never give either), found by C-speed `bytes.find`
_SHAPE = bytes.maketrans(b"0123456789 -", b"0000000000__")


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _ean13_ok(digits: str) -> bool:
    weights = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - weights % 10) % 10 == int(digits[12])


def _masked(run: str) -> str | None:
    digits = _SEPARATORS.sub("", run)
    if len(digits) == 13 and (digits == run or _ean13_ok(digits)):
        return None  # a bare 13-digit run is a barcode (EAN-13, in-store, loyalty tags)
    if not luhn_ok(digits):
        return None
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def _replace_text(match: re.Match[str]) -> str:
    return _masked(match.group()) or match.group()


def _replace_bytes(match: re.Match[bytes]) -> bytes:
    masked = _masked(match.group().decode())
    return match.group() if masked is None else masked.encode()


def has_pan(raw: bytes) -> bool:
    """Whether `raw` may hold a card number: ~1 µs per KB, then the exact check."""
    shape = raw.translate(_SHAPE)
    if shape.find(b"00000000000000") < 0 and shape.find(b"0000_0000") < 0:
        return False
    return any(_masked(m.group().decode()) for m in _RUN_BYTES.finditer(raw))


def mask_pans(raw: bytes) -> bytes:
    """`raw` with every card number masked (the same bytes object when there is none)."""
    if not has_pan(raw):
        return raw
    return _RUN_BYTES.sub(_replace_bytes, raw)


def mask_pans_in(value: Any) -> Any:
    """A decoded payload (dicts, lists, strings) with every card number in a string masked."""
    if isinstance(value, str):
        return _RUN_TEXT.sub(_replace_text, value) if _RUN_TEXT.search(value) else value
    if isinstance(value, dict):
        return {k: mask_pans_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_pans_in(v) for v in value]
    return value
