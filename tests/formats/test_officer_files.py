"""CSV and XLSX for officers: exact amounts in currency units, dates as dates, UTF-8 with BOM, and cells that a
spreadsheet would run as formulas neutralised (OWASP CSV injection)."""
import datetime as dt
import io

import openpyxl
import pyarrow as pa
import pyarrow.csv as pcsv
from hypothesis import given, strategies as st

from formats import officer_files
from formats.amounts import decimal_amounts

RISKY = ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "Đurđević", None]


def table() -> pa.Table:
    return pa.table({"name": pa.array(RISKY, pa.string()),
                     "amount": decimal_amounts(pa.array([123456, -5, 0, 7, 1, 2, 3, 4, 5]), 2),
                     "day": pa.array([dt.date(2025, 1, 31)] * 9, pa.date32()),
                     "month": officer_files.period_column(pa.array([dt.date(2025, 2, 1)] * 9, pa.date32()))})


def test_csv_has_a_bom_exact_amounts_and_no_formula(tmp_path):
    path = tmp_path / "t.csv"
    officer_files.write_csv(table(), path)
    raw = path.read_bytes()
    assert raw.startswith(officer_files.BOM)
    back = pcsv.read_csv(io.BytesIO(raw[3:]), convert_options=pcsv.ConvertOptions(
        column_types={"amount": pa.string(), "name": pa.string()})).to_pylist()
    assert [row["amount"] for row in back[:3]] == ["1234.56", "-0.05", "0.00"]
    assert [row["name"] for row in back[:6]] == ["'=1+2", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert back[6]["name"] == "plain" and back[7]["name"] == "Đurđević" and back[0]["month"] == "2025-02"


def test_xlsx_numbers_dates_and_text(tmp_path, monkeypatch):
    monkeypatch.setattr(officer_files, "XLSX_ROWS_MAX", 5)  # a long table continues on a second sheet
    path = tmp_path / "t.xlsx"
    officer_files.write_xlsx({"lines": table(), "empty": pa.table({"x": pa.array([], pa.int64())})}, path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["lines", "lines (2)", "empty"]
    sheet = book["lines"]
    assert [c.value for c in sheet[1]] == ["name", "amount", "day", "month"]
    assert sheet["B2"].value == 1234.56 and sheet["B2"].number_format == "#,##0.00"
    assert sheet["C2"].value == dt.datetime(2025, 1, 31) and sheet["C2"].is_date
    assert sheet["A2"].value == "'=1+2" and sheet["A2"].data_type == "s" and sheet["D2"].value == "2025-02"
    rows = list(sheet.iter_rows(min_row=2, values_only=True)) + list(book["lines (2)"].iter_rows(min_row=2,
                                                                                               values_only=True))
    assert len(rows) == 9 and rows[8][0] is None


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), min_size=1, max_size=20), st.sampled_from([0, 2]))
def test_amount_column_is_exact(amounts, exponent):
    column = decimal_amounts(pa.array(amounts, pa.int64()), exponent)
    assert [int(value.scaleb(exponent)) for value in column.to_pylist()] == amounts


def test_format_from_option_or_suffix():
    assert officer_files.format_of("x.XLSX", None) == "xlsx" and officer_files.format_of("x.csv", None) == "csv"
    assert officer_files.format_of("x.csv", "parquet") == "parquet" and officer_files.format_of("x", None) == "parquet"
