"""Money text: ISO 20022 amounts read strictly and exactly, ISO 4217 exponents, column-wise = one by one."""
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.amounts import (exponent_of, format_amount, format_amounts, iso_exponent, parse_amount, parse_amounts,
                             rescale)


@pytest.mark.parametrize("currency, exponent", [("EUR", 2), ("RSD", 2), ("UAH", 2), ("JPY", 0), ("KWD", 3),
                                                ("BHD", 3), ("CLF", 4), ("HUF", 2), ("ISK", 0)])
def test_exponents_are_iso_4217s(currency, exponent):
    """ISO's minor units (Babel's CLDR 'precision' says 0 for RSD and HUF: digits shown, not ISO's unit)."""
    assert iso_exponent(currency) == exponent == exponent_of(currency)


def test_unknown_or_missing_currency_has_no_iso_exponent():
    assert iso_exponent("XYZ") is None and iso_exponent(None) is None and iso_exponent("XAU") is None
    assert exponent_of("XYZ") == 2


@pytest.mark.parametrize("text, exponent, minor", [("1500", 0, 1500), ("1500.00", 0, 1500), ("12.345", 3, 12345),
                                                   ("370.76", 2, 37076), (".5", 2, 50), ("7.", 2, 700),
                                                   (" 0012.50 ", 2, 1250), ("999999999999999999", 0, 10**18 - 1)])
def test_iso_amounts_are_read_exactly(text, exponent, minor):
    assert parse_amount(text, exponent) == minor


@pytest.mark.parametrize("text", ["", "  ", None, "-5", "+5", "1e9", "1E2", "1_000", "1,50", "٣٧٠.٧٦", "３７０",
                                  "NaN", "Infinity", "1.2.3", "1 000", "1" * 19, "12.345", "0x10"])
def test_what_is_not_an_iso_amount_is_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text, 2)


def test_an_amount_past_int64_minor_units_is_refused():
    with pytest.raises(ValueError, match="64-bit"):
        parse_amount("99999999999999999", 3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"\A[0-9]{1,17}(\.[0-9]{0,4})?\Z"), st.text(max_size=6)), max_size=8),
       st.integers(0, 3))
def test_column_wise_parse_agrees_with_the_scalar_one(texts, exponent):
    minor, done = parse_amounts(pa.array(texts, pa.string()), exponent)
    for text, value, converted in zip(texts, minor.tolist(), done.tolist()):
        if converted:
            assert parse_amount(text, exponent) == value


@given(st.integers(1, 10**15), st.integers(0, 4))
def test_formatting_round_trips(amount, exponent):
    assert parse_amount(format_amount(amount, exponent), exponent) == amount
    assert format_amounts(pa.array([amount]), exponent).to_pylist() == [format_amount(amount, exponent)]


def test_rescale_to_a_coarser_ledger_unit_is_exact_or_nothing():
    assert rescale(150_000, 2, 0) == 1500 and rescale(150_050, 2, 0) is None and rescale(15, 0, 2) == 1500
