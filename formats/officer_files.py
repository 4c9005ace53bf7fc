"""Files officers open in a spreadsheet: CSV (UTF-8 with a BOM, so Excel reads the letters right) and XLSX (one
sheet per table, amounts as numbers with the currency's decimals, dates as dates), from Arrow tables.

Amounts arrive as int64 minor units and become exact decimals here (Arrow decimal128, never a float on the way;
an XLSX number cell is a double by the file format, which holds every amount below 2^53 minor units exactly).
Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) are
neutralised with a leading apostrophe, as OWASP recommends for CSV injection; numbers and dates are written as
numbers and dates, so they need no such guard.
"""
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

FORMATS = ("parquet", "csv", "xlsx")
FORMULA_START = r"^[=+\-@\t\r]"
BOM = b"\xef\xbb\xbf"
XLSX_ROWS_MAX = 1_048_575  # rows per sheet after the header; a longer table continues on "<name> (2)", ...
SHEET_NAME_MAX = 31


def format_of(path, given: str | None) -> str:
    """The output format: `given` (--format), else the file's suffix, else Parquet."""
    if given:
        return given.lower()
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "parquet"


def period_column(month_first_days) -> pa.Array:
    """Dates of months' first days as periods 'YYYY-MM'."""
    return pc.strftime(pc.cast(month_first_days, pa.timestamp("s")), format="%Y-%m")


def named(column, names: dict) -> pa.Array:
    """The name beside each code of a string column (the code itself where `names` has none)."""
    encoded = pc.dictionary_encode(column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column)
    encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
    values = pa.array([names.get(code, code) for code in encoded.dictionary.to_pylist()], pa.string())
    return values.take(encoded.indices)


def neutralised(column):
    """A string column with every value a spreadsheet would take for a formula prefixed with an apostrophe."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def safe_table(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, text columns neutralised, decimals kept exact."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(neutralised(column))
    return pa.table(columns, names=table.column_names)


def write_csv(tables, path) -> None:
    """One CSV file (UTF-8 with BOM) from an Arrow table or an iterable of tables of the same columns."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = [tables] if isinstance(tables, pa.Table) else tables
    with open(target, "wb") as handle:
        handle.write(BOM)
        writer = None
        for part in parts:
            safe = safe_table(part)
            if writer is None:
                writer = pcsv.CSVWriter(handle, safe.schema)
            writer.write_table(safe)
        if writer is not None:
            writer.close()


def write_xlsx(sheets: dict, path) -> None:
    """One XLSX workbook, a sheet per table: {sheet name: Arrow table or iterable of tables}. Decimals are numbers
    shown with their places, dates are dates (yyyy-mm-dd), text is text (neutralised)."""
    import xlsxwriter

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                                 "strings_to_numbers": False, "strings_to_urls": False})
    try:
        styles = {"header": workbook.add_format({"bold": True}),
                  "date": workbook.add_format({"num_format": "yyyy-mm-dd"})}
        for name, tables in sheets.items():
            SheetWriter(workbook, styles, name).write_all([tables] if isinstance(tables, pa.Table) else tables)
    finally:
        workbook.close()


class SheetWriter:
    """Rows of Arrow tables into one sheet, continued on '<name> (2)' past the row limit."""

    def __init__(self, workbook, styles: dict, name: str):
        self.workbook, self.styles, self.name = workbook, styles, name[:SHEET_NAME_MAX]
        self.sheet, self.row, self.count, self.columns = None, 0, 0, None

    def new_sheet(self, schema: pa.Schema) -> None:
        self.count += 1
        title = self.name if self.count == 1 else f"{self.name[:SHEET_NAME_MAX - 5]} ({self.count})"
        self.sheet, self.row = self.workbook.add_worksheet(title), 1
        self.columns = [self.cell_style(field.type) for field in schema]
        for i, field in enumerate(schema):
            self.sheet.write_string(0, i, field.name, self.styles["header"])
            self.sheet.set_column(i, i, max(10, min(40, len(field.name) + 2)))
        self.sheet.freeze_panes(1, 0)

    def cell_style(self, kind: pa.DataType):
        if pa.types.is_decimal(kind):
            places = kind.scale
            key = f"amount{places}"
            if key not in self.styles:
                pattern = "#,##0" + ("." + "0" * places if places else "")
                self.styles[key] = self.workbook.add_format({"num_format": pattern})
            return ("amount", self.styles[key])
        if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            return ("date", self.styles["date"])
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            return ("number", None)
        if pa.types.is_boolean(kind):
            return ("boolean", None)
        return ("text", None)

    def write_all(self, tables) -> None:
        for table in tables:
            safe = safe_table(table)
            if self.sheet is None:
                self.new_sheet(safe.schema)
            start = 0
            while start < safe.num_rows:
                if self.row > XLSX_ROWS_MAX:
                    self.new_sheet(safe.schema)
                count = min(safe.num_rows - start, XLSX_ROWS_MAX + 1 - self.row)
                self.write_rows(safe.slice(start, count))
                start += count
        if self.sheet is None:
            self.workbook.add_worksheet(self.name)

    def write_rows(self, table: pa.Table) -> None:
        """Column by column into Python values once, then row by row (XlsxWriter's constant-memory mode writes
        each row as it is finished)."""
        writers, columns = [], []
        for column, (kind, style) in zip(table.columns, self.columns):
            if kind == "amount":  # a double by the file format: the nearest one to the exact decimal
                column = pc.cast(column, pa.float64()) if column.type.scale else pc.cast(column, pa.int64())
            if kind == "date":
                column = pc.cast(column, pa.timestamp("us")) if pa.types.is_date(column.type) else column
            columns.append(column.to_pylist())
            writers.append(self.cell_writer(kind, style))
        row = self.row
        for values in zip(*columns):
            for i, value in enumerate(values):
                if value is not None:
                    writers[i](row, i, value)
            row += 1
        self.row = row

    def cell_writer(self, kind: str, style):
        sheet = self.sheet
        if kind in ("amount", "number"):
            return lambda row, col, value: sheet.write_number(row, col, value, style)
        if kind == "date":
            return lambda row, col, value: sheet.write_datetime(row, col, value, style)
        if kind == "boolean":
            return sheet.write_boolean
        return lambda row, col, value: sheet.write_string(row, col, str(value))
