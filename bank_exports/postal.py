"""The postal list: a UTF-8 CSV of the postal payments with what a post office needs to deliver cash.

Columns, in this order: region, district, town, street, house, postcode, surname, name, amount, tax_id,
payment_reference, phone; the header row names them in the `language` asked for (the payroll's country's: the
post clerk's, never --lang, so exporting again writes the same bytes), else by these keys. Names and addresses
stay in their own script (a post clerk reads Cyrillic); only control characters are removed. The payment reference is the payment's EndToEndId, the key the post sends back.
`surname` and `name` hold the family name and the given name(s): from the payment's family_name / given_name
when the register gives them, else split from the payee's full name in its country's order: given names
first at the last space ("Marko Petrović" -> name "Marko", surname "Petrović"), or family name first at the first
space where the country writes names so (Ukraine's official order "Іваненко Надія Петрівна" -> surname "Іваненко",
name "Надія Петрівна"); a one-word name is the surname. Text cells
starting with '=', '+', '-', '@', tab or CR get a leading single quote (formats.cells: OWASP's CSV injection rule).
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from bank_exports.checks import flat
from bank_exports.files import HashingWriter, WrittenFile
from bank_exports.payments import as_table
from bank_exports.text import distinct_values
from formats.amounts import format_amounts
from formats.cells import TRIGGERS, neutralise_column
from formats.i18n import N_, in_language

KIND = "postal-list"
COLUMNS = ("region", "district", "town", "street", "house", "postcode", "surname", "name", "amount", "tax_id",
           "payment_reference", "phone")
HEADERS = {"region": N_("region"), "district": N_("district"), "town": N_("town"), "street": N_("street"),
           "house": N_("house"), "postcode": N_("postcode"), "surname": N_("surname"), "name": N_("given name"),
           "amount": N_("amount"), "tax_id": N_("tax number"), "payment_reference": N_("payment reference"),
           "phone": N_("phone")}
_CONTROL = r"[\x00-\x1f\x7f]"


def _plain(column) -> pa.Array:
    """Control characters as spaces, trimmed, '' for null, CSV injection neutralised. The regular expressions
    run only on columns that hold a control character or a cell starting with a trigger (national lists rarely
    do: a byte scan of the column is a tenth of their cost)."""
    column = flat(column)
    if _any_byte(column, lambda data: (data < 0x20) | (data == 0x7F)):
        column = pc.replace_substring_regex(column, _CONTROL, " ")
    cleaned = pc.utf8_trim_whitespace(column).fill_null("")
    if any(pc.any(pc.starts_with(cleaned, trigger)).as_py() for trigger in TRIGGERS):
        return neutralise_column(cleaned)
    return cleaned


def _any_byte(column: pa.Array, test) -> bool:
    """Whether test(bytes) holds for any byte of the column's values (a string column; nulls hold no bytes)."""
    if not pa.types.is_string(column.type) or len(column) == 0:
        return True  # not scanned here: the caller takes the general path
    offsets = np.frombuffer(column.buffers()[1], np.int32)[column.offset:column.offset + len(column) + 1]
    if column.buffers()[2] is None or offsets[-1] == offsets[0]:
        return False
    data = np.frombuffer(column.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    return bool(test(data).any())


FAMILY_FIRST_COUNTRIES = frozenset({"ua"})  # full names written family name first (official order)


def family_first(country: str | None) -> bool:
    return (country or "").lower() in FAMILY_FIRST_COUNTRIES


def split_names(full_name, family_first: bool = False) -> tuple[pa.Array, pa.Array]:
    """(family name, given names) of full names written given names first (split at the last space) or, with
    family_first, family name first (split at the first space). The regular
    expressions run on the distinct names only, taken back per row (a national list's 1.6 M postal payees have
    a few hundred thousand distinct names: the regexes over every row were half of the list's cost)."""
    names, indices = distinct_values(pc.cast(full_name, pa.string()))
    family, given = _split_distinct(names, family_first)
    return pc.take(family, indices), pc.take(given, indices)


def _split_distinct(full_name: pa.Array, family_first: bool) -> tuple[pa.Array, pa.Array]:
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(full_name, r"\s+", " "))
    pattern = r"^(?P<family>[^ ]*)(?: (?P<given>.*))?$" if family_first else r"^(?:(?P<given>.*) )?(?P<family>[^ ]*)$"
    parts = pc.extract_regex(text, pattern)
    family, given = pc.struct_field(parts, "family"), pc.struct_field(parts, "given")
    return family, pc.if_else(pc.equal(given, ""), pa.scalar(None, pa.string()), given)


# the payment columns the list reads: only these are filtered (IBANs, BICs and remittance texts are not copied)
SOURCE_COLUMNS = ("region", "district", "town", "street", "house_number", "postcode", "name", "family_name",
                  "given_name", "amount_minor", "tax_id", "end_to_end_id", "phone")


def postal_payments(payments) -> pa.Table:
    """The payments with channel 'post', in input order: the columns the list reads (SOURCE_COLUMNS), cast as
    payments.as_table does."""
    table = as_table(payments)
    return table.select(list(SOURCE_COLUMNS)).filter(pc.equal(table["channel"], "post"))


def postal_rows(payments, minor_exponent: int = 2, country: str | None = None) -> pa.Table:
    """The CSV's table: one row per payment with channel 'post', in input order; names split in `country`'s
    order."""
    return _rows(postal_payments(payments), minor_exponent, country)


def _rows(table: pa.Table, minor_exponent: int, country: str | None = None) -> pa.Table:
    """postal_rows of payments already filtered to the postal ones."""
    family, given_names = split_names(table["name"], family_first(country))
    surname = pc.coalesce(table["family_name"], family)
    given = pc.if_else(pc.is_null(table["family_name"]), given_names, table["given_name"])
    columns = [table["region"], table["district"], table["town"], table["street"], table["house_number"],
               table["postcode"], surname, given]
    plain = [_plain(column) for column in columns]
    amount = format_amounts(table["amount_minor"], minor_exponent)
    rest = [_plain(table["tax_id"]), _plain(table["end_to_end_id"]), _plain(table["phone"])]
    return pa.table(plain + [amount] + rest, names=list(COLUMNS))


def header_names(language: str | None) -> list[str]:
    """The header row: the column keys, or their names in `language` (formats.i18n)."""
    if language is None:
        return list(COLUMNS)
    return [in_language(language, HEADERS[key].msgid) for key in COLUMNS]


def write_postal_list(payments, path, currency: str, minor_exponent: int = 2,
                      language: str | None = None, country: str | None = None) -> WrittenFile | None:
    """Write the postal CSV to `path`; None (nothing written) when there is no postal payment. The header row is
    in `language` when one is given (the payroll country's), else the column keys."""
    post = postal_payments(payments)
    rows = _rows(post, minor_exponent, country)
    if rows.num_rows == 0:
        return None
    rows = rows.rename_columns(header_names(language))
    sink = pa.BufferOutputStream()
    pcsv.write_csv(rows, sink, pcsv.WriteOptions(include_header=True, quoting_style="needed"))
    out = HashingWriter(Path(path))
    try:
        out.write(sink.getvalue())
        digest = out.close()
    except BaseException:
        out.discard()
        raise
    out.commit()
    amounts = post["amount_minor"].to_numpy()
    ctrl_sum_minor = sum(int(amounts[start:start + 100_000].sum()) for start in range(0, len(amounts), 100_000))
    return WrittenFile(Path(path).name, digest, None, "post", currency, rows.num_rows, ctrl_sum_minor, KIND)
