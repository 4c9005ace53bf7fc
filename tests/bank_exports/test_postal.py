"""The postal list: given name and surname in their own columns; cells a spreadsheet would run neutralised."""
import csv
import re

import pyarrow as pa

from bank_exports.postal import postal_rows, split_names, write_postal_list
from synthetic.payments import synthetic_payments


def postal(names: list[str]) -> pa.Table:
    table = synthetic_payments(len(names), post_share=1.0, seed=4)
    table = table.drop_columns(["family_name", "given_name"])
    return table.set_column(table.column_names.index("name"), "name", pa.array(names))


def test_given_name_and_surname_have_their_own_columns_when_the_register_gives_one_full_name():
    rows = postal_rows(postal(["Marko Petrović", "Ana Marija  Kovač", "Đurović"]))
    assert list(zip(rows["name"].to_pylist(), rows["surname"].to_pylist())) == [
        ("Marko", "Petrović"), ("Ana Marija", "Kovač"), ("", "Đurović")]


def test_a_ukrainian_full_name_is_written_family_name_first():
    """Ukraine's official order (and its registers'): family name, given name, patronymic; Ukrposhta's list wants
    the surname apart from the name and patronymic."""
    names = ["Іваненко Надія Петрівна", "Романенко  Олег", "Шевченко"]
    rows = postal_rows(postal(names), country="UA")
    assert list(zip(rows["surname"].to_pylist(), rows["name"].to_pylist())) == [
        ("Іваненко", "Надія Петрівна"), ("Романенко", "Олег"), ("Шевченко", "")]
    rows = postal_rows(postal(names), country="me")  # given names first elsewhere
    assert rows["surname"].to_pylist() == ["Петрівна", "Олег", "Шевченко"]


def split_one(name: str | None) -> tuple[str | None, str | None]:
    """The reference: spaces collapsed and trimmed, the family name after the last space, the rest given."""
    if name is None:
        return None, None
    given, _, family = re.sub(r"\s+", " ", name).strip().rpartition(" ")
    return family, given or None


def test_names_split_once_per_distinct_name_are_those_of_each_row():
    """split_names works on the distinct names and takes them back: each row gets what its own name gives, in
    a column of several chunks with repeats, nulls and names that differ only in their spaces."""
    names = ["Marko Petrović", None, "Đurović", "Marko Petrović", "Ana Marija  Kovač", " ", "Marko  Petrović",
             "Đurović", None, "Ana Marija Kovač"]
    family, given = split_names(pa.chunked_array([names[:4], names[4:7], [], names[7:]], pa.string()))
    assert list(zip(family.to_pylist(), given.to_pylist())) == [split_one(name) for name in names]
    assert split_one(names[4]) == ("Kovač", "Ana Marija") and split_one(names[5]) == ("", None)


def test_the_registers_own_family_and_given_names_win():
    table = synthetic_payments(3, post_share=1.0, seed=4)
    rows = postal_rows(table)
    assert rows["surname"].to_pylist() == table["family_name"].to_pylist()
    assert rows["name"].to_pylist() == table["given_name"].to_pylist()


def test_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    path = tmp_path / "postal.csv"
    write_postal_list(postal(["=cmd|' /C calc'!A0 Evil", "Ana @SUM(A1)"]), path, "EUR")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["name"], row["surname"]) for row in rows] == [("'=cmd|' /C calc'!A0", "Evil"), ("Ana", "'@SUM(A1)")]
    assert all(row["phone"].startswith("'+") for row in rows)
    assert not any(value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())
