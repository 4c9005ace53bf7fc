"""Text cells to typed Arrow columns, finding every bad cell at once instead of failing on the first.

Hand-made register files are CSV, and a Parquet file may hold a column as text; both pass through here. A CSV
is read with every column as a string, then each column is converted to its schema type with pyarrow.compute:
the cells that do not convert are found with vectorised masks (regex, round-trip of dates, range of integers),
become null in the typed column and are returned as a boolean mask so the caller can name their rows.
Formats: integers in plain decimal (`-12`), dates `YYYY-MM-DD`, booleans `true`/`false`/`1`/`0`; empty = null.
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from formats.i18n import N_

INTEGER_PATTERN = r"^-?[0-9]{1,18}$"  # 18 digits always fit int64; longer text is out of any allowed range

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
BOOL_TRUE = ("true", "1")
BOOL_FALSE = ("false", "0")

# What each target type expects, worded for the `fix` of a Problem.
EXPECTED_TEXT = {
    "int": N_("a whole number such as 1250 (amounts in minor units, no decimal point)"),
    "date": N_("the date as YYYY-MM-DD, e.g. 2024-07-01"),
    "bool": N_("true or false (or 1 / 0)"),
}


def read_csv_strings(path, column_names: list[str]) -> pa.Table:
    """Every column of the CSV at `path` as strings; empty cells are null. Raises pyarrow.ArrowInvalid."""
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in column_names},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    return pa_csv.read_csv(path, convert_options=convert)


UTF8_CHUNK = 1 << 20


def utf8_fault(path) -> tuple[int | None, str | None, str, str] | None:
    """Where a CSV file is not UTF-8: (data row, 1-based after the header line, counted by line ends; column name;
    the text around, the bytes that are not UTF-8 shown as U+FFFD; the first of them in hex), or None when it
    decodes. Read in chunks on the error path only, a chunk and its line held at a time."""
    import codecs
    import csv

    decoder, lines, header, tail = codecs.getincrementaldecoder("utf-8")(), 0, None, b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(UTF8_CHUNK)
            buffered = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                start = exc.start - buffered  # in this chunk (the decoder held `buffered` bytes of the last one)
                break
            if header is None:
                header = chunk.split(b"\n", 1)[0] if b"\n" in chunk else None
            if not chunk:
                return None
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[(tail + chunk).rfind(b"\n") + 1:]  # the line the next chunk goes on with
    data = tail + chunk
    start += len(tail)  # the bytes the decoder held are the end of `tail` (no line end among them)
    line_start = data.rfind(b"\n", 0, start) + 1
    line = lines + data.count(b"\n", 0, start)  # 0: the header line
    if header is None:
        header = data.split(b"\n", 1)[0]
    header = next(csv.reader([header.decode("utf-8-sig", "replace")]), [])
    cells = next(csv.reader([data[line_start:start].decode("utf-8", "replace")]), [""])
    column = header[len(cells) - 1] if line and 0 < len(cells) <= len(header) else None
    around = data[max(start - 8, line_start):start + 8].split(b"\n", 1)[0].decode("utf-8", "replace")
    return (line or None), column, around, f"0x{data[start]:02x}"


def csv_header(path) -> list[str]:
    """Column names of a CSV (first line), read without parsing the rest; BOM tolerated."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def bad_cell_rule(arrow_type: pa.DataType) -> str:
    """The rule a cell broke when it did not convert to `arrow_type`."""
    family = type_family(arrow_type)
    if family == "int":
        return N_("not a whole number within the range of {type}", type=str(arrow_type))
    return {"date": N_("not a valid date"), "bool": N_("not a true/false value")}.get(family, N_("not valid text"))


def type_family(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    assert pa.types.is_string(arrow_type), f"no text conversion for {arrow_type}"
    return "string"


def text_to_type(text: pa.Array, arrow_type: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Convert a string column; returns (typed column with bad cells null, mask of bad cells)."""
    family = type_family(arrow_type)
    if family == "string":
        return text.cast(pa.string()), np.zeros(len(text), dtype=bool)
    trimmed = pc.utf8_trim_whitespace(text)
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    if family == "int":
        return _text_to_int(trimmed, arrow_type)
    if family == "date":
        return _text_to_date(trimmed)
    return _text_to_bool(trimmed)


def _bad_mask(present: pa.Array, good: pa.Array) -> np.ndarray:
    """Cells that hold text (not null) which did not convert."""
    bad = pc.and_(pc.is_valid(present), pc.invert(pc.fill_null(good, False)))
    return bad.to_numpy(zero_copy_only=False)


def _text_to_int(text: pa.Array, arrow_type: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    well_formed = pc.match_substring_regex(text, INTEGER_PATTERN)
    usable = pc.if_else(well_formed, text, pa.scalar(None, pa.string()))
    wide = pc.cast(usable, pa.int64())
    typed, out_of_range = narrow_integers(wide, arrow_type)
    bad = _bad_mask(text, well_formed) | out_of_range
    return typed, bad


def narrow_integers(wide: pa.Array, arrow_type: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Cast int64 to a narrower integer type; values that do not fit become null and are flagged."""
    if arrow_type == pa.int64():
        return wide, np.zeros(len(wide), dtype=bool)
    info = np.iinfo(arrow_type.to_pandas_dtype())
    fits = pc.and_(pc.greater_equal(wide, int(info.min)), pc.less_equal(wide, int(info.max)))
    kept = pc.if_else(fits, wide, pa.scalar(None, wide.type))
    out_of_range = _bad_mask(wide, fits)
    return pc.cast(kept, arrow_type), out_of_range


def _text_to_date(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    well_formed = pc.match_substring_regex(text, DATE_PATTERN)
    usable = pc.if_else(well_formed, text, pa.scalar(None, pa.string()))
    stamps = pc.strptime(usable, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2024-02-30 over to 2024-03-01: only dates that print back as written are real dates
    round_trip = pc.equal(pc.strftime(stamps, format="%Y-%m-%d"), usable)
    good = pc.and_(well_formed, pc.fill_null(round_trip, False))
    dates = pc.cast(pc.if_else(good, stamps, pa.scalar(None, stamps.type)), pa.date32())
    return dates, _bad_mask(text, good)


def _text_to_bool(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    lowered = pc.utf8_lower(text)
    is_true = pc.is_in(lowered, value_set=pa.array(BOOL_TRUE))
    is_false = pc.is_in(lowered, value_set=pa.array(BOOL_FALSE))
    good = pc.or_(is_true, is_false)
    values = pc.if_else(good, is_true, pa.scalar(None, pa.bool_()))
    return values, _bad_mask(text, good)
