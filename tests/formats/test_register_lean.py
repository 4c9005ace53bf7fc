"""read_register's drop: columns a caller never reads are checked all the same (the same problems, word for word)
and left out of the tables; nullable text columns no rule reads (register_checks.UNCHECKED) are not read at all
from Parquet, and a check that read one would fail here (the column is absent from the loaded table)."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from formats.csv_input import csv_header, read_csv_strings
from formats.errors import InputError
from formats.problem_log import ProblemLog
from formats.register import load_tables, read_register
from formats.register_checks import EMPTINESS_ONLY, UNCHECKED
from formats.rule_groups import check_register
from formats.schemas import PAYEES, PERSONS, REGISTER
from payroll.simulate import UNREAD
from tests.formats.test_register import BENEFITS, HOUSEHOLD_BENEFITS, write_register

DROPS = {"unchecked": {name: tuple(columns) for name, columns in UNCHECKED.items()}, "simulate": UNREAD,
         "everything": {name: tuple(schema.names) for name, schema in REGISTER.items()}}
BAD_CELLS = [("persons", 1, "family_name", " "), ("persons", 2, "given_name", ""), ("persons", 3, "patronymic", ""),
             ("persons", 4, "birth_date", "1990-13-01"), ("payees", 1, "iban", "ME25510000000000006346"),
             ("payees", 2, "street", ""), ("payees", 3, "bic", "XX"), ("payees", 4, "phone", "  "),
             ("payees", 2, "district", "x"), ("rights", 2, "benefit", "ME_NONE"), ("deductions", 1, "kind", "bribe"),
             ("households", 2, "person_id", "99"), ("payees", 3, "name", "\u2003"), ("persons", 4, "given_name", " ")]


def as_parquet(csv_folder, out, types=None):
    """The CSV register as Parquet files of text columns (so every conversion and check runs on read)."""
    out.mkdir()
    for path in csv_folder.glob("*.csv"):
        table = read_csv_strings(path, csv_header(path))
        for column, arrow_type in (types or {}).get(path.stem, {}).items():
            table = table.set_column(table.column_names.index(column), column, table.column(column).cast(arrow_type))
        pq.write_table(table, out / f"{path.stem}.parquet")
    return out


def problems(folder, drop):
    with pytest.raises(InputError) as caught:
        read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, drop=drop)
    return [problem.render() for problem in caught.value.problems]


@pytest.mark.parametrize("drop", sorted(DROPS))
def test_dropped_columns_are_checked_alike(tmp_path, drop):
    folder = as_parquet(write_register(tmp_path / "csv", BAD_CELLS), tmp_path / "pq")
    found = problems(folder, DROPS[drop])
    assert found == problems(folder, None) and len(found) >= 10
    assert problems(tmp_path / "csv", DROPS[drop]) == problems(tmp_path / "csv", None)


@pytest.mark.parametrize("drop", sorted(DROPS))
def test_dropped_columns_are_left_out_and_the_rest_is_the_full_read(tmp_path, drop):
    folder = as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq")
    full = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    lean = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, drop=DROPS[drop])
    assert set(lean) == set(full)
    for name, table in full.items():
        kept = [column for column in table.column_names if column not in DROPS[drop].get(name, ())]
        assert lean[name].column_names == kept and lean[name].equals(table.select(kept)), name


def test_an_unchecked_column_stored_as_a_number_is_still_refused(tmp_path):
    folder = as_parquet(write_register(tmp_path / "csv", [("persons", 1, "tax_id", "12")]), tmp_path / "pq",
                        {"persons": {"tax_id": pa.int64()}, "payees": {"phone": pa.float64()}})
    found = problems(folder, DROPS["simulate"])
    assert found == problems(folder, None)
    assert any("tax_id" in p and "wrong column type" in p for p in found)
    assert any("phone" in p and "wrong column type" in p for p in found)


def test_unchecked_columns_are_nullable_text():
    schemas = {"persons": PERSONS, "payees": PAYEES}
    for name, columns in UNCHECKED.items():
        for column in columns:
            field = schemas[name].field(column)
            assert field.nullable and field.type == pa.string(), (name, column)


def test_no_rule_of_the_checks_reads_the_lean_columns(tmp_path):
    """check_register on tables without the UNCHECKED and EMPTINESS_ONLY columns: a rule reading one would fail
    (KeyError) here; the good register has no problem."""
    log = ProblemLog()
    loaded = load_tables(as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq"), log)
    for lean in (UNCHECKED, EMPTINESS_ONLY):
        for name, columns in lean.items():
            loaded.tables[name] = loaded.tables[name].drop_columns(sorted(columns))
    check_register(loaded, frozenset(BENEFITS), HOUSEHOLD_BENEFITS, log)
    assert not log


def test_names_read_as_dictionaries_are_judged_as_text(tmp_path):
    folder = as_parquet(write_register(tmp_path / "csv", [("persons", 2, "family_name", "\t"),
                                                          ("payees", 1, "name", "")]), tmp_path / "pq")
    found = problems(folder, DROPS["simulate"])
    assert found == problems(folder, None)
    assert [p for p in found if "required value is empty" in p] == [
        "persons.parquet, row 2, column family_name: required value is empty. Fix: fill in family_name on every row",
        "payees.parquet, row 1, column name: required value is empty. Fix: fill in name on every row"]


# ---- defer: columns read only at the end, held as the file's bytes ---------------------------------------------

DEFER = {"payees": ("name", "bic", "tax_id", "phone", "iban")}


def test_deferred_columns_are_the_full_read_chunk_for_chunk(tmp_path):
    folder = as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq")
    pq.write_table(pq.read_table(folder / "payees.parquet"), folder / "payees.parquet", row_group_size=2)
    full = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert full["payees"].column("name").num_chunks > 1  # so a decoding that chunked otherwise would show
    lean = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    assert set(lean.deferred_columns("payees")) == set(DEFER["payees"]) and lean.deferred_columns("persons") == ()
    kept = [column for column in full["payees"].column_names if column not in DEFER["payees"]]
    assert lean["payees"].column_names == kept and lean["payees"].equals(full["payees"].select(kept))
    for column in DEFER["payees"]:
        again = lean.deferred_column("payees", column)
        assert again.equals(full["payees"].column(column))
        assert [len(chunk) for chunk in again.chunks] == [len(chunk) for chunk in full["payees"].column(column).chunks]
    lean.release_deferred()
    assert lean.deferred_columns("payees") == ()


def test_deferred_columns_are_checked_alike(tmp_path):
    folder = as_parquet(write_register(tmp_path / "csv", BAD_CELLS), tmp_path / "pq")
    with pytest.raises(InputError) as caught:
        read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    assert [problem.render() for problem in caught.value.problems] == problems(folder, None)


def test_a_column_the_checks_convert_or_a_csv_file_is_kept_in_the_table(tmp_path):
    """Deferred decoding gives the file's column as read: a column stored in another type (converted by conform)
    and every column of a CSV file stay in the table."""
    folder = as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq", {"payees": {"name": pa.large_string()}})
    lean = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    assert "name" in lean["payees"].column_names and "name" not in lean.deferred_columns("payees")
    assert "bic" in lean.deferred_columns("payees")
    from_csv = read_register(tmp_path / "csv", BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    assert from_csv.deferred_columns("payees") == () and set(DEFER["payees"]) <= set(from_csv["payees"].column_names)


def test_deferred_columns_no_rule_reads_are_not_decoded_to_be_checked(tmp_path):
    """tax_id and phone (UNCHECKED) stored as text: never decoded by the read that is checked (absent from the
    loaded table), deferred with the chunks of the columns read, and decoded later exactly as a full read."""
    folder = as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq")
    pq.write_table(pq.read_table(folder / "payees.parquet"), folder / "payees.parquet", row_group_size=2)
    loaded = load_tables(folder, ProblemLog(), held={"payees": frozenset({"tax_id", "phone"})})
    assert {"tax_id", "phone"}.isdisjoint(loaded.tables["payees"].column_names)
    chunks = [len(chunk) for chunk in loaded.tables["payees"].column("name").chunks]  # text: as read
    assert len(chunks) > 1 and loaded.deferrable["payees"].chunks["phone"] == tuple(chunks)
    full = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    lean = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    for column in ("tax_id", "phone"):
        assert lean.deferred_column("payees", column).equals(full["payees"].column(column))


@pytest.mark.parametrize("stored", [pa.float64(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())])
def test_an_unchecked_deferred_column_stored_otherwise_is_read_and_judged(tmp_path, stored):
    """phone stored as a number is refused as by a full read; as another text type it is read, converted and kept
    in the table (never deferred), equal to the full read."""
    folder = as_parquet(write_register(tmp_path / "csv", [("payees", 4, "phone", "12")]), tmp_path / "pq",
                        {"payees": {"phone": stored}})
    if pa.types.is_floating(stored):
        with pytest.raises(InputError) as caught:
            read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
        found = [problem.render() for problem in caught.value.problems]
        assert found == problems(folder, None) and any("phone" in p and "wrong column type" in p for p in found)
        return
    lean = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, defer=DEFER)
    assert "phone" not in lean.deferred_columns("payees") and "tax_id" in lean.deferred_columns("payees")
    full = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert lean["payees"].column("phone").equals(full["payees"].column("phone"))


def test_household_roles_read_as_dictionaries_are_judged_as_text(tmp_path):
    """calculate reads the household role as a Parquet dictionary (session.DICTIONARIES): an empty and an unknown
    role are refused word for word as when read as text, and a good register's roles convert to the same codes."""
    from formats.ordered_register import string_codes
    from formats.schemas import HOUSEHOLD_ROLES
    from payroll.session import DICTIONARIES

    bad = as_parquet(write_register(tmp_path / "bad-csv", [("households", 1, "role", "boss"),
                                                           ("households", 2, "role", " ")]), tmp_path / "bad")
    with pytest.raises(InputError) as caught:
        read_register(bad, BENEFITS, HOUSEHOLD_BENEFITS, dictionaries=DICTIONARIES)
    found = [problem.render() for problem in caught.value.problems]
    assert found == problems(bad, None)
    assert any("role" in p and "unknown household role" in p for p in found)
    assert any("role" in p and "required value is empty" in p for p in found)
    good = as_parquet(write_register(tmp_path / "csv"), tmp_path / "pq")
    coded = read_register(good, BENEFITS, HOUSEHOLD_BENEFITS, dictionaries=DICTIONARIES)["households"].column("role")
    plain = read_register(good, BENEFITS, HOUSEHOLD_BENEFITS)["households"].column("role")
    assert pa.types.is_dictionary(coded.type) and plain.type == pa.string()
    assert (string_codes(coded, HOUSEHOLD_ROLES) == string_codes(plain, HOUSEHOLD_ROLES)).all()
