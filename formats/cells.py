"""Cells of the CSV files isplata writes for people to open (the postal list, reconcile's exceptions and "not ours"
lists): a text cell starting with '=', '+', '-', '@', a tab or a carriage return is prefixed with a single quote,
as OWASP recommends against CSV injection (a payee name like `=cmd|' /C calc'!A0` comes from a register or a bank
file, and a spreadsheet would run it). Numbers stay numbers; only text is touched.
"""
import pyarrow as pa
import pyarrow.compute as pc

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"


def neutralise(value):
    """The cell as written: text starting with a trigger gets a leading single quote; anything else unchanged."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise_column(column) -> pa.Array:
    """Column-wise neutralise for a string column (nulls stay null)."""
    text = pc.cast(column, pa.string())
    return pc.if_else(pc.fill_null(pc.match_substring_regex(text, _TRIGGER_PATTERN), False),
                      pc.binary_join_element_wise("'", text, ""), text)
