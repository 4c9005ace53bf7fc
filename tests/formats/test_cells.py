"""CSV injection: text cells a spreadsheet would run are neutralised as OWASP recommends."""
import pyarrow as pa
import pytest

from formats.cells import neutralise, neutralise_column


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+381", "-5", "@SUM(A1)", "\tx", "\rx"])
def test_formula_triggers_get_a_leading_quote(value):
    assert neutralise(value) == "'" + value
    assert neutralise_column(pa.array([value])).to_pylist() == ["'" + value]


@pytest.mark.parametrize("value", ["Ana", "", None, 5, -5, "a=b"])
def test_other_values_are_left_alone(value):
    assert neutralise(value) == value
