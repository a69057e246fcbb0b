"""Money and VAT arithmetic: Hypothesis properties plus examples from real vendor documents.

Amounts are generated from integers (never floats), so every case is exact. The
oracles use `fractions.Fraction`, independent of the `decimal` code under test.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, FloatOperation, localcontext
from fractions import Fraction
from typing import Literal, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posbridge.model import money
from posbridge.model.money import (
    CURRENCY_EXPONENTS,
    CurrencyMismatchError,
    Money,
    TaxLine,
    allocate,
    cash_round,
    check_order_totals,
    gross_from_net,
    minor_units,
    net_from_gross,
    normalize_rate,
    price_excl_tax,
    price_incl_tax,
    quantize_money,
    round_half_up,
    sum_money,
    tax_breakdown,
    to_decimal,
    vat_from_gross,
    vat_from_net,
)

D = Decimal
# BE, IT, BG, EC rates, plus FR 5.5 so that a non-integer rate is exercised too.
RATES = [D(r) for r in ("21", "12", "6", "0", "22", "10", "5", "4", "20", "9", "14", "15", "5.5")]
CURRENCIES = ["EUR", "USD", "JPY", "BHD"]
# CI machines are shared: correctness, not speed, is under test here.
no_deadline = settings(deadline=None)


def decimals(max_dp: int = 4, bound: int = 10**7) -> st.SearchStrategy[Decimal]:
    """Decimals with 0..max_dp places, built from integers so they are exact."""
    return st.builds(
        lambda units, dp: D(units).scaleb(-dp),
        st.integers(-bound, bound),
        st.integers(0, max_dp),
    )


def at_places(places: int, bound: int = 10**7) -> st.SearchStrategy[Decimal]:
    """Amounts with exactly `places` decimals (a currency's minor unit)."""
    return st.integers(-bound, bound).map(lambda units: D(units).scaleb(-places))


rates = st.sampled_from(RATES)
currencies = st.sampled_from(CURRENCIES)
amounts = decimals()
lines_st = st.lists(st.tuples(amounts, rates), min_size=1, max_size=12)
Rounding = Literal["line", "document"]
roundings: st.SearchStrategy[Rounding] = st.sampled_from(("line", "document"))


def oracle_round(value: Fraction, places: int) -> Fraction:
    """Half away from zero on an exact fraction: the rule money.py must implement."""
    scale = 10**places
    units = math.floor(abs(value) * scale + Fraction(1, 2))
    return Fraction(units if value >= 0 else -units, scale)


def unit(places: int) -> Decimal:
    return D(1).scaleb(-places)


# --- VAT helpers ----------------------------------------------------------------------------


@no_deadline
@given(amounts, rates)
def test_vat_from_gross_follows_the_exact_rule(gross: Decimal, rate: Decimal) -> None:
    """vat_from_gross is round_half_up(gross × rate / (100 + rate)), checked with fractions."""
    exact = Fraction(gross) * Fraction(rate) / (100 + Fraction(rate))
    assert Fraction(vat_from_gross(gross, rate)) == oracle_round(exact, 2)


@no_deadline
@given(amounts, rates)
def test_vat_from_net_follows_the_exact_rule(net: Decimal, rate: Decimal) -> None:
    """vat_from_net is round_half_up(net × rate / 100), checked with exact fractions."""
    exact = Fraction(net) * Fraction(rate) / 100
    assert Fraction(vat_from_net(net, rate)) == oracle_round(exact, 2)


@no_deadline
@given(amounts, rates, currencies)
def test_net_plus_vat_is_gross_for_every_helper(
    amount: Decimal, rate: Decimal, currency: str
) -> None:
    """Both directions split an amount so that net + VAT equals gross to the last digit."""
    places = minor_units(currency)
    assert net_from_gross(amount, rate, places) + vat_from_gross(amount, rate, places) == amount
    assert amount + vat_from_net(amount, rate, places) == gross_from_net(amount, rate, places)


@no_deadline
@given(st.data(), rates, currencies)
def test_gross_net_round_trip_within_one_minor_unit(
    data: st.DataObject, rate: Decimal, currency: str
) -> None:
    """gross → net → gross comes back within one minor unit of the currency."""
    places = minor_units(currency)
    gross = data.draw(at_places(places))
    back = gross_from_net(net_from_gross(gross, rate, places), rate, places)
    assert abs(back - gross) <= unit(places)


@no_deadline
@given(amounts, rates)
def test_vat_is_symmetric_for_returns(amount: Decimal, rate: Decimal) -> None:
    """A return negates its sale: every helper is odd in the amount."""
    assert vat_from_gross(-amount, rate) == -vat_from_gross(amount, rate)
    assert vat_from_net(-amount, rate) == -vat_from_net(amount, rate)
    assert net_from_gross(-amount, rate) == -net_from_gross(amount, rate)
    assert gross_from_net(-amount, rate) == -gross_from_net(amount, rate)


def test_round_half_up_ties_go_away_from_zero() -> None:
    """Ties round away from zero on both sides and zero never comes back negative."""
    assert round_half_up(D("2.345")) == D("2.35")
    assert round_half_up(D("-2.345")) == D("-2.35")
    assert round_half_up(D("2.3449")) == D("2.34")
    assert round_half_up(D("0.5"), 0) == D("1")
    assert str(round_half_up(D("-0.001"))) == "0.00"


def test_rate_outside_percent_range_is_refused_not_guessed() -> None:
    """The math helpers take percent only; a multiplier is normalize_rate's job, not theirs."""
    with pytest.raises(ValueError, match="normalize_rate"):
        vat_from_gross(D("1.21"), D("121"))
    with pytest.raises(ValueError, match="normalize_rate"):
        vat_from_net(D("10"), D("-6"))


# --- tax breakdown --------------------------------------------------------------------------


@no_deadline
@given(lines_st, roundings)
def test_breakdown_keeps_gross_when_prices_include_tax(
    lines: list[tuple[Decimal, Decimal]], rounding: Rounding
) -> None:
    """With tax-inclusive prices Σ gross equals Σ input, one row per rate, highest first."""
    rows = tax_breakdown(lines, prices_include_tax=True, rounding=rounding)
    assert sum(r.gross for r in rows) == sum(a for a, _ in lines)
    assert [r.rate for r in rows] == sorted({r for _, r in lines}, reverse=True)
    assert all(r.net + r.tax == r.gross for r in rows)


@no_deadline
@given(lines_st, roundings)
def test_breakdown_keeps_net_when_prices_exclude_tax(
    lines: list[tuple[Decimal, Decimal]], rounding: Rounding
) -> None:
    """With tax-exclusive prices Σ net equals Σ input exactly (EN 16931 BR-CO-10)."""
    rows = tax_breakdown(lines, prices_include_tax=False, rounding=rounding)
    assert sum(r.net for r in rows) == sum(a for a, _ in lines)
    assert all(r.net + r.tax == r.gross for r in rows)


@no_deadline
@given(lines_st)
def test_line_rounding_sums_the_rounded_line_vat(lines: list[tuple[Decimal, Decimal]]) -> None:
    """Line mode's VAT per rate is the sum of each line's own rounded VAT, as on a receipt."""
    rows = tax_breakdown(lines, prices_include_tax=True, rounding="line")
    for row in rows:
        expected = sum(vat_from_gross(a, r) for a, r in lines if r == row.rate)
        assert row.tax == expected


@no_deadline
@given(lines_st)
def test_document_rounding_is_br_co_17(lines: list[tuple[Decimal, Decimal]]) -> None:
    """Document mode rounds once per rate: tax = round_half_up(Σ net × rate / 100, 2)."""
    rows = tax_breakdown(lines, prices_include_tax=False, rounding="document")
    for row in rows:
        base = sum((a for a, r in lines if r == row.rate), D(0))
        assert row.tax == round_half_up(base * row.rate / 100, 2)


@no_deadline
@given(lines_st, st.booleans())
def test_document_and_line_rounding_differ_by_half_a_cent_per_line(
    lines: list[tuple[Decimal, Decimal]], include: bool
) -> None:
    """The two rounding modes differ per rate by at most n_lines × 0.005, on the tax side only."""
    by_line = tax_breakdown(lines, prices_include_tax=include, rounding="line")
    by_doc = tax_breakdown(lines, prices_include_tax=include, rounding="document")
    counts = Counter(r for _, r in lines)
    for lr, dr in zip(by_line, by_doc, strict=True):
        assert lr.rate == dr.rate
        assert abs(lr.tax - dr.tax) <= counts[lr.rate] * D("0.005")
        assert (lr.gross == dr.gross) if include else (lr.net == dr.net)


@no_deadline
@given(lines_st, st.booleans(), roundings)
def test_breakdown_of_a_return_is_the_negated_breakdown(
    lines: list[tuple[Decimal, Decimal]], include: bool, rounding: Rounding
) -> None:
    """Negating every line negates every row of the breakdown (a return mirrors its sale)."""
    sale = tax_breakdown(lines, prices_include_tax=include, rounding=rounding)
    refund = tax_breakdown(
        [(-a, r) for a, r in lines],
        prices_include_tax=include,
        rounding=rounding,
    )
    assert refund == [-row for row in sale]


def test_breakdown_of_a_belgian_receipt() -> None:
    """A BE receipt groups 21.00 and 21 together and lists 21 % before 6 %."""
    rows = tax_breakdown(
        [(D("10.00"), D("21")), (D("5.00"), D("6")), (D("3.33"), D("21.00"))],
        prices_include_tax=True,
    )
    assert rows == [
        TaxLine(rate=D("21"), net=D("11.01"), tax=D("2.32"), gross=D("13.33")),
        TaxLine(rate=D("6"), net=D("4.72"), tax=D("0.28"), gross=D("5.00")),
    ]
    assert str(rows[0].rate) == "21"


def test_tax_line_refuses_inconsistent_figures() -> None:
    """A TaxLine whose net + tax differs from its gross cannot be built."""
    with pytest.raises(ValueError, match="!="):
        TaxLine(rate=D("21"), net=D("10.00"), tax=D("2.10"), gross=D("12.11"))


# --- allocation -----------------------------------------------------------------------------


weights_st = st.lists(st.integers(0, 1000).map(D), min_size=1, max_size=10).filter(any)


@no_deadline
@given(at_places(2), weights_st)
def test_allocate_sums_exactly_and_is_fair(amount: Decimal, weights: list[Decimal]) -> None:
    """Shares sum to the amount exactly and each is within one cent of its exact share."""
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    total = sum(Fraction(w) for w in weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(Fraction(share) - Fraction(amount) * Fraction(weight) / total) < Fraction(1, 100)
        if weight == 0:
            assert share == 0


@no_deadline
@given(at_places(3), weights_st)
def test_allocate_of_a_return_negates_the_sale(amount: Decimal, weights: list[Decimal]) -> None:
    """Allocating a negative amount gives exactly the negated shares of the positive one."""
    assert allocate(-amount, weights, 3) == [-s for s in allocate(amount, weights, 3)]


def test_allocate_breaks_ties_by_index() -> None:
    """Equal remainders give the extra cent to the lowest index, deterministically."""
    assert allocate(D("0.02"), [D(1), D(1), D(1)]) == [D("0.01"), D("0.01"), D("0.00")]
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    assert allocate(D("100"), [D(1), D(0), D(1)], 0) == [D("50"), D("0"), D("50")]


def test_allocate_refuses_what_it_cannot_split_exactly() -> None:
    """All-zero weights, negative weights and sub-cent amounts are errors, not guesses."""
    with pytest.raises(ValueError, match="zero"):
        allocate(D("1.00"), [D(0), D(0)])
    with pytest.raises(ValueError, match=">= 0"):
        allocate(D("1.00"), [D(1), D(-1)])
    with pytest.raises(ValueError, match="decimals"):
        allocate(D("1.005"), [D(1), D(1)])


# --- rates and parsing ----------------------------------------------------------------------


@given(rates)
def test_normalize_rate_reads_all_three_spellings(rate: Decimal) -> None:
    """A rate given as percent, multiplier or fraction normalizes to the same percent."""
    forms: list[Decimal | str] = [
        rate,
        rate.quantize(D("0.01")),
        1 + rate / 100,
        rate / 100,
        str(1 + rate / 100),
    ]
    assert {normalize_rate(f) for f in forms} == {rate}


@given(rates)
def test_normalize_rate_is_idempotent(rate: Decimal) -> None:
    """Normalizing an already normalized rate changes nothing, not even its digits."""
    once = normalize_rate(1 + rate / 100)
    assert normalize_rate(once) == once
    assert str(normalize_rate(once)) == str(once)


@pytest.mark.parametrize(
    ("raw", "percent"),
    [
        (21, "21"),
        ("21.00", "21"),
        (D("1.21"), "21"),
        (D("0.21"), "21"),
        ("1.06", "6"),
        ("1.00", "0"),
        (0, "0"),
        ("20.00", "20"),
        ("1.055", "5.5"),
        ("0.01", "1"),
    ],
)
def test_normalize_rate_examples(raw: Decimal | str | int, percent: str) -> None:
    """CloudPOS multipliers, fractions and padded percents all become plain percent text."""
    assert str(normalize_rate(raw)) == percent


@pytest.mark.parametrize("raw", [-1, 100, "150", "-0.21", "abc", D("NaN")])
def test_normalize_rate_rejects_nonsense(raw: Decimal | str | int) -> None:
    """Negative, ≥ 100 and non-numeric rates are ValueErrors."""
    with pytest.raises(ValueError):  # noqa: PT011 -- several distinct messages, all ValueError
        normalize_rate(raw)


@pytest.mark.parametrize(
    ("raw", "text"),
    [("12.50", "12.50"), ("-3", "-3"), (" 7.30000 ", "7.30000"), (5, "5"), ("-0.00", "0.00")],
)
def test_to_decimal_accepts_plain_numbers(raw: str | int, text: str) -> None:
    """Plain decimals parse exactly, keep their trailing zeros and lose any negative zero."""
    assert str(to_decimal(raw)) == text


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "1,5", "1.000,50", "NaN", "Infinity", "-inf", "1e5", "1_000", "12 50", "١٢"],
)
def test_to_decimal_rejects_ambiguous_text(raw: str) -> None:
    """Empty, comma, exponent, special and non-ASCII numbers are refused with ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 -- several distinct messages, all ValueError
        to_decimal(raw)


def test_to_decimal_explains_commas_and_rejects_non_finite_decimals() -> None:
    """A comma gets its own message, and NaN/Infinity are refused even as Decimal."""
    with pytest.raises(ValueError, match="comma"):
        to_decimal("1,5")
    for special in (D("NaN"), D("Infinity"), D("-Infinity")):
        with pytest.raises(ValueError, match="finite"):
            to_decimal(special)
    for wrong in (True, None, b"1"):
        with pytest.raises(TypeError):
            to_decimal(wrong)  # type: ignore[arg-type]


@given(decimals(max_dp=8))
def test_to_decimal_round_trips_vendor_strings(value: Decimal) -> None:
    """Text → Decimal → text is lossless, trailing zeros included (iCash `"7.30000"`)."""
    text = f"{value:f}"
    parsed = to_decimal(text)
    assert parsed.as_tuple() == value.as_tuple()
    assert f"{parsed:f}" == text


# --- currencies and Money -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "places"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("BGN", 2),
        ("ALL", 2),
        ("GBP", 2),
        ("CHF", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("TND", 3),
        ("eur", 2),
    ],
)
def test_minor_units_follow_iso_4217(code: str, places: int) -> None:
    """Minor units come from ISO 4217, and lower-case codes from vendors are accepted."""
    assert minor_units(code) == places


def test_unknown_currency_is_named_in_the_error() -> None:
    """An unknown code raises a ValueError that quotes it."""
    with pytest.raises(ValueError, match="XYZ"):
        minor_units("XYZ")
    assert all(len(c) == 3 and c.isupper() for c in CURRENCY_EXPONENTS)


def test_jpy_has_no_decimals_and_bhd_has_three() -> None:
    """JPY rounds to whole yen and BHD to the fils, in amounts, VAT and display."""
    assert quantize_money(D("1234.5"), "JPY") == D("1235")
    assert str(Money(D("1234.5"), "JPY").quantize()) == "1235 JPY"
    assert vat_from_gross(D("1100"), D("10"), minor_units("JPY")) == D("100")
    assert quantize_money(D("1.2345"), "BHD") == D("1.235")
    assert str(Money(D("1.2"), "BHD")) == "1.200 BHD"
    assert vat_from_gross(D("10.500"), D("10"), minor_units("BHD")) == D("0.955")


@no_deadline
@given(currencies, st.data())
def test_money_arithmetic_is_exact(currency: str, data: st.DataObject) -> None:
    """Money adds, subtracts, negates and multiplies like its Decimal amount."""
    places = minor_units(currency)
    a, b = (Money(data.draw(at_places(places)), currency) for _ in range(2))
    assert (a + b) - b == a
    assert -a + a == Money.zero(currency)
    assert (-a).amount == -a.amount
    assert a * 2 == a + a == 2 * a
    assert sum_money([a, b, -a], currency) == b
    assert sum_money([], currency) == Money.zero(currency)


def test_money_display_and_zero() -> None:
    """Money prints as `12.50 EUR`, padded to the minor unit, extra precision kept."""
    assert str(Money(D("12.5"), "eur")) == "12.50 EUR"
    assert str(Money(D("0.8772"), "EUR")) == "0.8772 EUR"
    assert str(Money.zero("JPY")) == "0 JPY"
    assert str(Money.zero("BHD")) == "0.000 BHD"


def test_money_currency_mismatch_raises() -> None:
    """EUR and USD never combine, whether by +, -, comparison or sum_money."""
    eur, usd = Money(D("1.00"), "EUR"), Money(D("1.00"), "USD")
    for op in (lambda: eur + usd, lambda: eur - usd, lambda: eur < usd):
        with pytest.raises(CurrencyMismatchError):
            op()
    with pytest.raises(CurrencyMismatchError):
        sum_money([eur, usd], "EUR")
    assert issubclass(CurrencyMismatchError, ValueError)


# --- floats ---------------------------------------------------------------------------------

FLOAT_CALLS: dict[str, Callable[[], object]] = {
    "to_decimal": lambda: to_decimal(12.5),  # type: ignore[arg-type]
    "normalize_rate": lambda: normalize_rate(1.21),  # type: ignore[arg-type]
    "round_half_up": lambda: round_half_up(2.345),  # type: ignore[arg-type]
    "quantize_money": lambda: quantize_money(2.345, "EUR"),  # type: ignore[arg-type]
    "vat_from_gross amount": lambda: vat_from_gross(12.1, D(21)),  # type: ignore[arg-type]
    "vat_from_gross rate": lambda: vat_from_gross(D("12.10"), 21.0),  # type: ignore[arg-type]
    "net_from_gross": lambda: net_from_gross(12.1, D(21)),  # type: ignore[arg-type]
    "vat_from_net": lambda: vat_from_net(D(10), 21.0),  # type: ignore[arg-type]
    "gross_from_net": lambda: gross_from_net(10.0, D(21)),  # type: ignore[arg-type]
    "price_incl_tax": lambda: price_incl_tax(0.8772, D(14)),  # type: ignore[arg-type]
    "price_excl_tax": lambda: price_excl_tax(D(1), 14.0),  # type: ignore[arg-type]
    "tax_breakdown": lambda: tax_breakdown([(1.0, D(21))], prices_include_tax=True),  # type: ignore[list-item]
    "allocate amount": lambda: allocate(1.0, [D(1)]),  # type: ignore[arg-type]
    "allocate weight": lambda: allocate(D(1), [0.5, D(1)]),  # type: ignore[list-item]
    "cash_round": lambda: cash_round(10.03),  # type: ignore[arg-type]
    "cash_round step": lambda: cash_round(D("10.03"), 0.05),  # type: ignore[arg-type]
    "Money": lambda: Money(12.5, "EUR"),  # type: ignore[arg-type]
    "Money *": lambda: Money(D(1), "EUR") * 1.5,  # type: ignore[operator]
    "Money +": lambda: Money(D(1), "EUR") + 1.5,  # type: ignore[operator]
    "TaxLine": lambda: TaxLine(rate=D(21), net=1.0, tax=D(0), gross=D(1)),  # type: ignore[arg-type]
    "check_order_totals": lambda: check_order_totals(
        [D(1)],
        [],
        [],
        1.0,  # type: ignore[arg-type]
        [D(1)],
        currency="EUR",
    ),
}


@pytest.mark.parametrize("call", FLOAT_CALLS.values(), ids=FLOAT_CALLS.keys())
def test_floats_raise_type_error_everywhere(call: Callable[[], object]) -> None:
    """Every entry point refuses a float with TypeError instead of rounding it silently."""
    with pytest.raises(TypeError):
        call()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_float_is_ever_parsed(value: float) -> None:
    """Whatever the float (NaN and ±inf included), to_decimal refuses it."""
    with pytest.raises(TypeError, match="float"):
        to_decimal(value)  # type: ignore[arg-type]


# --- cash rounding --------------------------------------------------------------------------


@given(decimals(max_dp=3))
def test_cash_round_moves_at_most_two_and_a_half_cents(amount: Decimal) -> None:
    """The rounded total is a multiple of 0.05, at most 0.025 away, and refunds mirror sales."""
    rounded, diff = cash_round(amount)
    assert rounded % D("0.05") == 0
    assert abs(diff) <= D("0.025")
    assert rounded - diff == amount
    assert cash_round(-amount) == (-rounded, -diff)


@pytest.mark.parametrize(
    ("cents", "to"),
    [(0, 0), (1, 0), (2, 0), (3, 5), (4, 5), (5, 5), (6, 5), (7, 5), (8, 10), (9, 10)],
)
def test_cash_round_follows_the_belgian_table(cents: int, to: int) -> None:
    """Endings 1–2 go down to 0, 3–7 to 5 and 8–9 up to 10 (Belgian rule since 2019)."""
    rounded, _ = cash_round(D("10.00") + D(cents) / 100)
    assert rounded == D("10.00") + D(to) / 100


def test_belgian_cash_sale_of_10_03() -> None:
    """A 10.03 cash sale is paid 10.05 with +0.02 rounding; the VAT base stays 10.03."""
    rounded, diff = cash_round(D("10.03"))
    assert (rounded, diff) == (D("10.05"), D("0.02"))
    rows = tax_breakdown([(D("10.03"), D("21"))], prices_include_tax=True)
    assert rows[0].gross == D("10.03")
    assert rows[0].tax == D("1.74")
    args: tuple[list[Decimal], list[Decimal], list[Decimal], Decimal, list[Decimal]]
    args = ([D("10.03")], [], [], D("10.03"), [D("10.05")])
    assert check_order_totals(*args, currency="EUR", rounding=diff) == []
    [problem] = check_order_totals(*args, currency="EUR")
    assert "0.02" in problem


# --- real documents -------------------------------------------------------------------------


def test_avapos_net_price_at_14_percent_is_one_euro() -> None:
    """AvaPOS stores 0.8772 net at 14 %: that is a 1.00 price, and 1.00 converts back."""
    assert price_incl_tax(D("0.8772"), D("14")) == D("1.00")
    assert round_half_up(D("0.8772") * D("1.14")) == D("1.00")
    assert price_excl_tax(D("1.00"), D("14")) == D("0.8772")


@given(at_places(2), rates)
def test_net_price_round_trip_is_lossless(price: Decimal, rate: Decimal) -> None:
    """A 2-dp price stored net with 4 dp converts back to the same 2-dp price."""
    assert price_incl_tax(price_excl_tax(price, rate), rate) == price


# --- order reconciliation -------------------------------------------------------------------


class Order(TypedDict):
    line_grosses: list[Decimal]
    discounts: list[Decimal]
    surcharges: list[Decimal]
    total: Decimal
    payments: list[Decimal]
    currency: str


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """A random sale or return: lines, discounts, 10 % service, a tip, split payments."""
    currency = draw(currencies)
    places = minor_units(currency)
    lines: list[Decimal] = []
    for _ in range(draw(st.integers(1, 8))):
        qty = D(draw(st.integers(1, 20_000))).scaleb(-3)
        price = draw(decimals(max_dp=4, bound=10**6).map(abs))
        lines.append(quantize_money(qty * price, currency))
    subtotal = sum(lines, D(0))
    discounts = allocate(
        round_half_up(subtotal * draw(st.integers(0, 30)) / 100, places),
        [D(1), D(2)],
        places,
    )
    surcharges = [round_half_up(subtotal / 10, places), draw(at_places(places, 10**4).map(abs))]
    total = subtotal - sum(discounts) + sum(surcharges)
    weights = draw(st.lists(st.integers(1, 9).map(D), min_size=1, max_size=3))
    payments = allocate(total, weights, places)
    sign = -1 if draw(st.booleans()) else 1  # a return negates every figure
    return Order(
        line_grosses=[sign * x for x in lines],
        discounts=[sign * x for x in discounts],
        surcharges=[sign * x for x in surcharges],
        total=sign * total,
        payments=[sign * x for x in payments],
        currency=currency,
    )


@no_deadline
@given(orders())
def test_check_order_totals_accepts_a_consistent_order(order: Order) -> None:
    """A sale or return whose figures add up has no problems, with float mixing trapped."""
    with localcontext() as ctx:
        ctx.traps[FloatOperation] = True
        assert check_order_totals(**order) == []


@no_deadline
@given(orders(), st.sampled_from(("line_grosses", "payments")))
def test_check_order_totals_finds_a_seeded_one_unit_error(
    order: Order, field: Literal["line_grosses", "payments"]
) -> None:
    """One minor unit off in a line or a payment is reported exactly once (the checker can fail)."""
    seeded = order.copy()
    first, *rest = order[field]
    seeded[field] = [first + unit(minor_units(order["currency"])), *rest]
    [problem] = check_order_totals(**seeded)
    assert ("total" if field == "line_grosses" else "payments") in problem


def test_check_order_totals_names_change_and_open_balance() -> None:
    """Cash tendered above the total is change; a partial payment is an open balance."""

    def settle(
        payments: list[Decimal], change: int | Decimal = 0, open_: int | Decimal = 0
    ) -> list[str]:
        return check_order_totals(
            [D("12.50")],
            [],
            [],
            D("12.50"),
            payments,
            currency="EUR",
            change=change,
            open_balance=open_,
        )

    assert settle([D("20")], change=D("7.50")) == []
    [change] = settle([D("20")])
    assert "change" in change
    assert "7.50" in change
    [open_] = settle([D("5")])
    assert "open balance" in open_
    assert settle([D("5")], open_=D("7.5")) == []


def test_check_order_totals_honours_a_format_tolerance() -> None:
    """A one-cent gap is a problem by default but passes under the SdI ±0.01 tolerance."""
    args: tuple[list[Decimal], list[Decimal], list[Decimal], Decimal, list[Decimal]]
    args = ([D("10.00"), D("5.00")], [D("1.00")], [D("0.50")], D("14.51"), [D("14.51")])
    assert len(check_order_totals(*args, currency="EUR")) == 1
    assert check_order_totals(*args, currency="EUR", tolerance=D("0.01")) == []


def test_public_api_is_exported() -> None:
    """Every name in money.__all__ exists, so the module's contract is importable."""
    assert all(hasattr(money, name) for name in money.__all__)
