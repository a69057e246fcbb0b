"""Ecuadorian identification numbers: cédula, RUC and passport (SRI check-digit rules).

- Cédula (10 digits): province 01-24 or 30, third digit 0-5, check digit = modulo 10 with
  coefficients 2,1,2,1,2,1,2,1,2 (products above 9 minus 9).
- RUC (13 digits): natural person = valid cédula + establishment `001`.. (≠ `000`);
  private company = third digit 9, modulo 11 with 4,3,2,7,6,5,4,3,2 over digits 1-9, check
  digit 10th, establishment ≠ `000`; public entity = third digit 6, modulo 11 with
  3,2,7,6,5,4,3,2 over digits 1-8, check digit 9th, establishment (last 4) ≠ `0000`.
  Modulo 11: check = 11 − sum mod 11; 11 → 0; 10 is impossible (invalid).
- Consumidor final: `9999999999999`.
- Passport (INFERRED, docs/avapos-wire.md): 5-20 letters/digits with at least one letter.
  An all-digit identification must be a valid cédula or RUC.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "CONSUMIDOR_FINAL",
    "IdKind",
    "cedula_check_digit",
    "classify",
    "is_valid_identification",
    "ruc_private_check_digit",
    "ruc_public_check_digit",
]

CONSUMIDOR_FINAL = "9999999999999"
IdKind = Literal["cedula", "ruc", "passport", "consumidor_final"]
_PASSPORT = re.compile(r"[A-Za-z0-9]{5,20}")


def _province_ok(digits: str) -> bool:
    province = int(digits[:2])
    return 1 <= province <= 24 or province == 30


def cedula_check_digit(first9: str) -> int:
    """The modulo-10 check digit of a cédula's first nine digits."""
    total = 0
    for i, ch in enumerate(first9):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def ruc_private_check_digit(first9: str) -> int | None:
    """Check digit (10th) of a private-company RUC; None when no valid digit exists."""
    return _mod11(first9, (4, 3, 2, 7, 6, 5, 4, 3, 2))


def ruc_public_check_digit(first8: str) -> int | None:
    """Check digit (9th) of a public-entity RUC; None when no valid digit exists."""
    return _mod11(first8, (3, 2, 7, 6, 5, 4, 3, 2))


def _is_cedula(v: str) -> bool:
    return (
        len(v) == 10
        and v.isdigit()
        and v.isascii()
        and _province_ok(v)
        and int(v[2]) < 6
        and cedula_check_digit(v[:9]) == int(v[9])
    )


def _is_ruc(v: str) -> bool:
    if len(v) != 13 or not (v.isdigit() and v.isascii()) or not _province_ok(v):
        return False
    third = int(v[2])
    if third < 6:
        return _is_cedula(v[:10]) and v[10:] != "000"
    if third == 9:
        return ruc_private_check_digit(v[:9]) == int(v[9]) and v[10:] != "000"
    if third == 6:
        return ruc_public_check_digit(v[:8]) == int(v[8]) and v[9:] != "0000"
    return False


def classify(value: str) -> IdKind | None:
    """What kind of identification `value` is, or None when it is not a valid one."""
    v = value.strip()
    if v == CONSUMIDOR_FINAL:
        return "consumidor_final"
    if v.isdigit():
        if _is_cedula(v):
            return "cedula"
        if _is_ruc(v):
            return "ruc"
        return None
    if _PASSPORT.fullmatch(v) and any(c.isalpha() for c in v):
        return "passport"
    return None


def is_valid_identification(value: str) -> bool:
    """True for a valid cédula, RUC, passport or the consumidor-final number."""
    return classify(value) is not None
