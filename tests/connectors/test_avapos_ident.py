"""Ecuadorian identification rules (cédula, RUC, passport) and the AvaPOS pure mappings."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from posbridge.connectors.avapos.ident import (
    CONSUMIDOR_FINAL,
    cedula_check_digit,
    classify,
    is_valid_identification,
    ruc_private_check_digit,
    ruc_public_check_digit,
)
from posbridge.connectors.avapos.mapping import to_order

provinces = st.one_of(st.integers(1, 24), st.just(30)).map(lambda p: f"{p:02d}")


@st.composite
def cedulas(draw: st.DrawFn) -> str:
    first9 = draw(provinces) + str(draw(st.integers(0, 5))) + draw(st.from_regex(r"\A[0-9]{6}\Z"))
    return first9 + str(cedula_check_digit(first9))


@st.composite
def private_rucs(draw: st.DrawFn) -> str:
    first9 = draw(provinces) + "9" + draw(st.from_regex(r"\A[0-9]{6}\Z"))
    check = ruc_private_check_digit(first9)
    if check is None:
        first9 = first9[:-1] + str((int(first9[-1]) + 1) % 10)
        check = ruc_private_check_digit(first9)
    estab = draw(st.integers(1, 999))
    return f"{first9}{check}{estab:03d}" if check is not None else "1790011674001"


@st.composite
def public_rucs(draw: st.DrawFn) -> str:
    first8 = draw(provinces) + "6" + draw(st.from_regex(r"\A[0-9]{5}\Z"))
    check = ruc_public_check_digit(first8)
    estab = draw(st.integers(1, 9999))
    return f"{first8}{check}{estab:04d}" if check is not None else "1760001550001"


def test_known_real_numbers() -> None:
    """Published cédula and RUC examples validate, with the right kind."""
    assert classify("1710034065") == "cedula"
    assert classify("1710034065001") == "ruc"
    assert classify("1790011674001") == "ruc"
    assert classify("1760001550001") == "ruc"
    assert classify(CONSUMIDOR_FINAL) == "consumidor_final"
    assert classify("AB123456") == "passport"


@given(cedulas())
def test_generated_cedulas_are_valid(cedula: str) -> None:
    """Every cédula built with the modulo-10 rule validates, and as a RUC with 001 too."""
    assert classify(cedula) == "cedula"
    assert classify(cedula + "001") == "ruc"
    assert not is_valid_identification(cedula + "000")


@given(cedulas(), st.integers(1, 9))
def test_a_wrong_check_digit_is_refused(cedula: str, shift: int) -> None:
    """Changing only the check digit always makes a cédula invalid."""
    bad = cedula[:9] + str((int(cedula[9]) + shift) % 10)
    assert not is_valid_identification(bad)


@given(cedulas(), st.integers(0, 8))
def test_a_changed_digit_is_caught(cedula: str, pos: int) -> None:
    """Changing one of the first nine digits is caught unless province/type rules still hold."""
    original = int(cedula[pos])
    for new in range(10):
        if new == original:
            continue
        bad = cedula[:pos] + str(new) + cedula[pos + 1 :]
        first9 = bad[:9]
        if cedula_check_digit(first9) == int(bad[9]):
            continue  # a collision of the modulo-10 scheme (e.g. 0 ↔ 9 at a doubled position)
        assert not is_valid_identification(bad)


@given(private_rucs())
def test_private_company_rucs_validate(ruc: str) -> None:
    """Modulo-11 private-company RUCs validate; a bumped check digit does not."""
    assert classify(ruc) == "ruc"
    bumped = ruc[:9] + str((int(ruc[9]) + 1) % 10) + ruc[10:]
    assert not is_valid_identification(bumped)


@given(public_rucs())
def test_public_entity_rucs_validate(ruc: str) -> None:
    """Modulo-11 public-entity RUCs validate; an establishment 0000 does not."""
    assert classify(ruc) == "ruc"
    assert not is_valid_identification(ruc[:9] + "0000")


@given(st.from_regex(r"\A[0-9]{1,15}\Z"))
def test_digit_strings_are_only_valid_with_the_rules(value: str) -> None:
    """An all-digit identification is valid only as cédula (10) or RUC (13) or 999…9."""
    if is_valid_identification(value):
        assert len(value) in (10, 13)


@given(st.integers(25, 29).map(lambda p: f"{p:02d}"), st.from_regex(r"\A[0-9]{7}\Z"))
def test_unknown_provinces_are_refused(province: str, rest: str) -> None:
    """Provinces 25-29 do not exist, whatever the check digit."""
    first9 = province + "1" + rest[:6]
    assert not is_valid_identification(first9 + str(cedula_check_digit(first9)))


def test_document_sample_invoice_maps_with_its_own_rate() -> None:
    """The document's first sample (netted at 14%, taxed at 12%) maps with IVA 12%."""
    raw = {
        "id": "1399",
        "total": "14.74",
        "subtotal": "13.16",
        "fecha": "2016-07-15 13:15:13-05",
        "establecimiento": "002",
        "caja": "001",
        "numerofactura": "000000026",
        "iva": "1.58",
        "servicio": "0.00",
        "propina": "0.00",
        "abono": "0.00",
        "descuento": "0.00",
        "cliente": [{"nombre": "Consumidor Final", "cedula": "9999999999999"}],
        "impuestos": [{"id": "1", "nombre": "IVA", "valor": "1.578948"}],
        "consumos": [
            {"producto": "Rubencho", "cantidad": "1", "precio": "8.7719", "descuento": "0",
             "impuestos": "i "},
            {"producto": "Vago", "cantidad": "1", "precio": "4.386", "descuento": "0",
             "impuestos": "i "},
        ],
        "pagos": [{"formapago": "Tarjetas", "valor": "14.74"}],
    }  # fmt: skip
    order = to_order(raw)
    assert order.number == "002-001-000000026"
    assert order.taxes[0].rate == Decimal(12)
    assert sum(line.tax for line in order.lines) == Decimal("1.58")
    assert sum(line.gross for line in order.lines) == order.total_gross
    assert order.occurred_at.isoformat() == "2016-07-15T18:15:13+00:00"


def test_change_is_a_negative_cash_payment() -> None:
    """A negative Efectivo payment is flagged as change; payments still sum to the total."""
    raw = {
        "id": "1916", "total": "93.00", "subtotal": "75.00", "fecha": "2016-07-01 17:16:02-05",
        "establecimiento": "001", "caja": "001", "numerofactura": "000000001", "iva": "10.50",
        "servicio": "7.50", "propina": "0.00", "descuento": "0.00", "cliente": [{}],
        "impuestos": [{"id": "1", "nombre": "IVA", "valor": "10.5"},
                      {"id": "2", "nombre": "Servicio", "valor": "7.5"}],
        "consumos": [{"producto": "Menú", "cantidad": "1", "precio": "75", "descuento": "0",
                      "impuestos": "i "}],
        "pagos": [{"formapago": "Efectivo", "valor": "100"},
                  {"formapago": "Efectivo", "valor": "-7"}],
    }  # fmt: skip
    order = to_order(raw)
    assert order.taxes[0].rate == Decimal(14)
    assert order.service_total == Decimal("7.50")
    assert order.customer_source_id is None
    assert [p.is_change for p in order.payments] == [False, True]
    assert sum(p.amount for p in order.payments) == order.total_gross
