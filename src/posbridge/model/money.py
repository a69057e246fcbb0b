"""Money and VAT arithmetic: the only place rounding rules on amounts live.

Everything is `Decimal`; a float anywhere raises `TypeError`, because a float has
already lost the cent we are trying to reconcile. Rates are percent (`Decimal("21")`);
vendor multipliers and fractions go through `normalize_rate` first.

Rounding is ROUND_HALF_UP as `decimal` defines it: ties go *away from zero*. That is
what POS receipts and EN 16931 do for positive amounts, and it makes a return the
exact negation of its sale (`vat_from_gross(-g) == -vat_from_gross(g)`).
Intermediate results are computed in a 60-digit context that traps float mixing,
so a tie is never an artefact of the default 28-digit precision.

Error tree::

    TypeError               a float (or bool, or other non-number) where an amount belongs
    ValueError              NaN/Infinity, malformed text, unknown currency, bad rate
     └── CurrencyMismatchError   Money of two currencies combined
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    FloatOperation,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from types import MappingProxyType
from typing import Literal, TypeAlias

__all__ = [
    "CURRENCY_EXPONENTS",
    "Amount",
    "CurrencyMismatchError",
    "Money",
    "TaxLine",
    "allocate",
    "cash_round",
    "check_order_totals",
    "gross_from_net",
    "minor_units",
    "net_from_gross",
    "normalize_currency",
    "normalize_rate",
    "price_excl_tax",
    "price_incl_tax",
    "quantize_money",
    "round_half_up",
    "sum_money",
    "tax_breakdown",
    "to_decimal",
    "vat_from_gross",
    "vat_from_net",
]

Amount: TypeAlias = Decimal | int
"""What the arithmetic helpers accept: `Decimal` or `int` (never float, never bool)."""

_CTX = Context(
    prec=60,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow, FloatOperation],
)
_HUNDRED = Decimal(100)


def _iso(codes: str, exponent: int) -> dict[str, int]:
    return dict.fromkeys(codes.split(), exponent)


CURRENCY_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {
        # ISO 4217 minor units. Not listed: funds/metals/test codes without minor units.
        **_iso(
            "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD "
            "BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP "
            "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR "
            "JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU "
            "MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR "
            "RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
            "TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG "
            # Withdrawn, but still found in historical POS documents.
            "HRK",
            2,
        ),
        **_iso("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF", 0),
        **_iso("BHD IQD JOD KWD LYD OMR TND", 3),
        **_iso("CLF UYW", 4),
    }
)
"""ISO 4217 currency code → number of decimals of its minor unit (EUR 2, JPY 0, BHD 3)."""


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined; there is no implicit FX."""


# --- validation -----------------------------------------------------------------------------


def _dec(value: object, name: str = "amount") -> Decimal:
    """Coerce an already-numeric argument to a finite Decimal; floats are a bug upstream."""
    if isinstance(value, float):
        raise TypeError(f"{name}: float {value!r} is not allowed; use Decimal or to_decimal(str)")
    if isinstance(value, bool):
        raise TypeError(f"{name}: bool {value!r} is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{name}: expected Decimal or int, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name}: {value} is not a finite amount")
    return value


def _places(places: object) -> int:
    if isinstance(places, bool) or not isinstance(places, int):
        raise TypeError(f"places must be an int, got {type(places).__name__}")
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    return places


def _rate(rate: object) -> Decimal:
    """A percent rate as the math helpers need it; multipliers are rejected, not guessed."""
    r = _dec(rate, "rate")
    if not 0 <= r < _HUNDRED:
        raise ValueError(f"rate {r} is not a percent in [0, 100); see normalize_rate()")
    return r


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without scientific notation (`Decimal("20").normalize()` is 2E+1)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=_CTX)
    return value.normalize(_CTX)


def normalize_currency(currency: str) -> str:
    """Upper-case, strip and validate an ISO 4217 code (vendors send `"eur"` too)."""
    if not isinstance(currency, str):
        raise TypeError(f"currency must be a str, got {type(currency).__name__}")
    code = currency.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown ISO 4217 currency {currency!r}: no minor-unit rule for it")
    return code


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for BHD."""
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


# --- rounding & parsing ---------------------------------------------------------------------


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """Round to `places` decimals, ties away from zero; never returns negative zero."""
    v = _dec(value, "value")
    result = v.quantize(Decimal(1).scaleb(-_places(places)), rounding=ROUND_HALF_UP, context=_CTX)
    return result.copy_abs() if result.is_zero() else result


def quantize_money(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (EUR 0.01, JPY 1, BHD 0.001)."""
    return round_half_up(amount, minor_units(currency))


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a wire value strictly: plain decimal notation, no float, no locale, no exponent.

    Trailing zeros are kept (`" 7.30000 "` → `Decimal("7.30000")`) so that writing the
    value back to the vendor is lossless. Commas are refused instead of guessed: `"1,5"`
    is 1.5 in Belgium and 15 in a US export. Exponents are refused because `"1e-05"` is
    almost always `str(float)` leaking from upstream.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty string is not an amount")
        if "," in text:
            raise ValueError(f"{value!r}: decimal commas/thousand separators are not accepted")
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{value!r} is not a plain decimal number")
        result = Decimal(text)
    else:
        result = _dec(value, "value")
    return result.copy_abs() if result.is_zero() else result


def normalize_rate(value: Decimal | str | int) -> Decimal:
    """VAT rate as percent, from a percent, a multiplier or a fraction.

    v ≥ 2 is a percent (`21`), 1 ≤ v < 2 a multiplier (`1.21`, CloudPOS), 0 ≤ v < 1 a
    fraction (`0.21`); negative or ≥ 100 is an error. The result has no trailing zeros
    (`Decimal("5.5")`, `Decimal("0")`).

    The rule is ambiguous below 2: a real 1 % or 1.5 % rate (Turkey has 1 %) cannot be
    passed as a percent — `1` reads as the multiplier 1.00, i.e. 0 % — and must be given
    as `0.01` or `1.01`. For the same reason the function is idempotent only on results
    that are 0 or ≥ 2, which covers every EU standard and reduced rate.
    """
    v = to_decimal(value)
    if v < 0 or v >= _HUNDRED:
        raise ValueError(f"VAT rate {value!r} is out of range (negative or >= 100)")
    with localcontext(_CTX):
        if v >= 2:
            percent = v
        elif v >= 1:
            percent = (v - 1) * _HUNDRED
        else:
            percent = v * _HUNDRED
    return _plain(percent)


# --- VAT ------------------------------------------------------------------------------------


def vat_from_gross(gross: Amount, rate: Amount, places: int = 2) -> Decimal:
    """VAT contained in a tax-inclusive amount: round_half_up(gross × rate / (100 + rate)).

    The CloudPOS Z reports use this exact rule, so closures recompute to the cent.
    """
    g, r = _dec(gross, "gross"), _rate(rate)
    with localcontext(_CTX):
        exact = g * r / (_HUNDRED + r)
    return round_half_up(exact, places)


def net_from_gross(gross: Amount, rate: Amount, places: int = 2) -> Decimal:
    """Gross minus its VAT, so `net + vat_from_gross(...) == gross` exactly, always."""
    g = _dec(gross, "gross")
    return g - vat_from_gross(g, rate, places)


def vat_from_net(net: Amount, rate: Amount, places: int = 2) -> Decimal:
    """VAT on a tax-exclusive amount: round_half_up(net × rate / 100) (EN 16931 BR-CO-17)."""
    n, r = _dec(net, "net"), _rate(rate)
    with localcontext(_CTX):
        exact = n * r / _HUNDRED
    return round_half_up(exact, places)


def gross_from_net(net: Amount, rate: Amount, places: int = 2) -> Decimal:
    """Net plus its VAT, so `net + vat_from_net(...) == gross` exactly, always."""
    n = _dec(net, "net")
    return n + vat_from_net(n, rate, places)


def price_incl_tax(net_price: Amount, rate: Amount, places: int = 2) -> Decimal:
    """Tax-inclusive unit price a tax-exclusive one stands for: round(net × (100 + rate) / 100).

    Unlike `gross_from_net` (which splits a line amount and keeps the net exact), this
    converts a price: AvaPOS stores 0.8772 at 14 % for a shelf price of 1.00.
    """
    n, r = _dec(net_price, "net_price"), _rate(rate)
    with localcontext(_CTX):
        exact = n * (_HUNDRED + r) / _HUNDRED
    return round_half_up(exact, places)


def price_excl_tax(gross_price: Amount, rate: Amount, places: int = 4) -> Decimal:
    """Tax-exclusive unit price for a vendor that stores net prices (1.00 at 14 % → 0.8772).

    Four decimals by default: enough that `price_incl_tax` gives the 2-dp price back.
    """
    g, r = _dec(gross_price, "gross_price"), _rate(rate)
    with localcontext(_CTX):
        exact = g * _HUNDRED / (_HUNDRED + r)
    return round_half_up(exact, places)


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One rate of a VAT breakdown; construction enforces `net + tax == gross`."""

    rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal

    def __post_init__(self) -> None:
        for name in ("rate", "net", "tax", "gross"):
            _dec(getattr(self, name), name)
        if self.net + self.tax != self.gross:
            raise ValueError(f"tax line {self.rate}%: {self.net} + {self.tax} != {self.gross}")

    def __neg__(self) -> TaxLine:
        """The same line for a return: amounts negated, rate kept."""
        return TaxLine(rate=self.rate, net=-self.net, tax=-self.tax, gross=-self.gross)


def tax_breakdown(
    lines: Iterable[tuple[Decimal, Decimal]],
    *,
    prices_include_tax: bool,
    rounding: Literal["line", "document"] = "line",
    places: int = 2,
) -> list[TaxLine]:
    """VAT per rate from (amount, rate) lines, highest rate first.

    `"line"` rounds the VAT of each line and sums (what POS receipts print);
    `"document"` sums the amounts per rate and rounds once (EN 16931 BR-CO-17). The two
    differ by at most half a minor unit per line. The side that was given is never
    rounded: Σ gross == Σ amounts when prices include tax, Σ net == Σ amounts otherwise.
    """
    if rounding not in ("line", "document"):
        raise ValueError(f"rounding must be 'line' or 'document', got {rounding!r}")
    _places(places)
    given: dict[Decimal, Decimal] = {}
    tax: dict[Decimal, Decimal] = {}
    for amount, rate in lines:
        a, r = _dec(amount), _plain(_rate(rate))
        given[r] = given.get(r, Decimal(0)) + a
        if rounding == "line":
            vat = vat_from_gross(a, r, places) if prices_include_tax else vat_from_net(a, r, places)
            tax[r] = tax.get(r, Decimal(0)) + vat
    result: list[TaxLine] = []
    for r in sorted(given, reverse=True):
        base = given[r]
        if rounding == "document":
            fn = vat_from_gross if prices_include_tax else vat_from_net
            tax[r] = fn(base, r, places)
        t = tax[r]
        if prices_include_tax:
            result.append(TaxLine(rate=r, net=base - t, tax=t, gross=base))
        else:
            result.append(TaxLine(rate=r, net=base, tax=t, gross=base + t))
    return result


# --- allocation & cash ----------------------------------------------------------------------


def allocate(amount: Amount, weights: Sequence[Amount], places: int = 2) -> list[Decimal]:
    """Split `amount` in proportion to `weights` without losing or inventing a cent.

    Largest-remainder method: everyone gets the floor of their exact share in minor
    units, and the leftover units go to the largest fractional parts, ties to the lower
    index (deterministic). Zero weights get zero. A negative amount (a return) is split
    as its positive counterpart and negated, so a refund mirrors its sale exactly.
    """
    a, p = _dec(amount), _places(places)
    ws = [_dec(w, "weight") for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must be >= 0")
    total_weight = sum(ws, Decimal(0))
    if total_weight == 0:
        raise ValueError("cannot allocate over weights that are all zero (or none)")
    scaled = a.scaleb(p, _CTX)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{a} has more than {p} decimals; round it before allocating")
    units, sign = abs(int(scaled)), (-1 if a < 0 else 1)
    exact = [Fraction(units) * Fraction(w) / Fraction(total_weight) for w in ws]
    shares = [int(e) for e in exact]  # floor: every term is >= 0
    leftover = units - sum(shares)
    by_remainder = sorted(range(len(ws)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return [Decimal(sign * s).scaleb(-p, _CTX) for s in shares]


def cash_round(amount: Amount, step: Decimal = Decimal("0.05")) -> tuple[Decimal, Decimal]:
    """Round a cash total to `step`: returns (rounded, rounded − amount).

    Belgian rule (since 2019-12-01): x.x1/x.x2 down to 0, x.x3–x.x7 to 5, x.x8/x.x9 up
    to 10 — half up to the nearest 0.05, symmetric for refunds. Only the amount paid in
    cash changes: the difference is booked as a separate rounding amount and the VAT
    base stays that of the unrounded total (circular 2019/C/123).
    """
    a, s = _dec(amount), _dec(step, "step")
    if s <= 0:
        raise ValueError(f"step must be positive, got {s}")
    with localcontext(_CTX):
        rounded = (a / s).quantize(Decimal(1), rounding=ROUND_HALF_UP) * s
        rounded = rounded.copy_abs() if rounded.is_zero() else rounded
        return rounded, rounded - a


# --- Money ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency; arithmetic refuses to mix currencies or floats."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _dec(self.amount))
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero at the currency's precision (`0.00 EUR`, `0 JPY`)."""
        return cls(Decimal(0).scaleb(-minor_units(currency)), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Amount) -> Money:
        with localcontext(_CTX):
            return Money(self.amount * _dec(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return self.amount >= other.amount

    def quantize(self) -> Money:
        """Round half up to the currency's minor unit."""
        return Money(quantize_money(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        """`12.50 EUR`: padded to the minor unit, extra precision (unit prices) kept."""
        places = max(minor_units(self.currency), -int(self.amount.as_tuple().exponent))
        return f"{self.amount:.{places}f} {self.currency}"


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """Sum of Money in `currency` (zero when empty); any other currency raises."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


# --- reconciliation -------------------------------------------------------------------------


def check_order_totals(
    line_grosses: Iterable[Amount],
    discounts: Iterable[Amount],
    surcharges: Iterable[Amount],
    total: Amount,
    payments: Iterable[Amount],
    *,
    currency: str,
    tolerance: Amount | None = None,
    change: Amount = 0,
    rounding: Amount = 0,
    open_balance: Amount = 0,
) -> list[str]:
    """Problems with an order's totals, in words; an empty list means it reconciles.

    Checks the DESIGN invariants: total == Σ lines − Σ discounts + Σ surcharges
    (service, tips), and Σ payments − change + open_balance == total + rounding (cash
    rounding, as from `cash_round`). Discounts are positive for a sale; a return has
    every figure negated. The default tolerance is half a minor unit, because vendors
    round totals in different modes; pass the format's own (e.g. SdI ±0.01/line).
    A difference is reported with both figures and never corrected here.
    """
    code = normalize_currency(currency)
    half_unit = Decimal(5).scaleb(-minor_units(code) - 1)
    tol = half_unit if tolerance is None else _dec(tolerance, "tolerance")
    if tol < 0:
        raise ValueError(f"tolerance must be >= 0, got {tol}")

    def total_of(values: Iterable[Amount], name: str) -> Decimal:
        return sum((_dec(v, name) for v in values), Decimal(0))

    lines = total_of(line_grosses, "line gross")
    off = total_of(discounts, "discount")
    extra = total_of(surcharges, "surcharge")
    stated = _dec(total, "total")
    paid = total_of(payments, "payment")
    chg = _dec(change, "change")
    rnd = _dec(rounding, "rounding")
    open_ = _dec(open_balance, "open_balance")

    problems: list[str] = []
    expected = lines - off + extra
    if abs(stated - expected) > tol:
        problems.append(
            f"total {stated} {code} != lines {lines} - discounts {off} + surcharges {extra}"
            f" = {expected} {code} (difference {stated - expected}, tolerance {tol})"
        )
    due = stated + rnd
    settled = paid - chg + open_
    if abs(settled - due) > tol:
        kind = "change, tip or cash rounding" if abs(settled) > abs(due) else "open balance"
        problems.append(
            f"payments {paid} {code} (change {chg}, open balance {open_}) != amount due"
            f" {due} {code}: {kind} of {abs(settled - due)} {code} not declared"
        )
    return problems
