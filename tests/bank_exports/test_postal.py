"""The postal list: given name and surname in their own columns; cells a spreadsheet would run neutralised."""
import csv

import pyarrow as pa

from bank_exports.postal import postal_rows, write_postal_list
from synthetic.payments import synthetic_payments


def postal(names: list[str]) -> pa.Table:
    table = synthetic_payments(len(names), post_share=1.0, seed=4)
    table = table.drop_columns(["family_name", "given_name"])
    return table.set_column(table.column_names.index("name"), "name", pa.array(names))


def test_given_name_and_surname_have_their_own_columns_when_the_register_gives_one_full_name():
    rows = postal_rows(postal(["Marko Petrović", "Ana Marija  Kovač", "Đurović"]))
    assert list(zip(rows["name"].to_pylist(), rows["surname"].to_pylist())) == [
        ("Marko", "Petrović"), ("Ana Marija", "Kovač"), ("", "Đurović")]


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
