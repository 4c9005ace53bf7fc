"""The optional register table maintenance_titles: read from CSV or Parquet, validated with file/row/column/value/
rule/fix like the other tables, absent = no titles, and converted into the engine's per-child arrays."""
import pyarrow as pa
import pyarrow.parquet as pq

from engine.entitlement import NO_MONTH
from formats.convert import register_arrays
from formats.register import read_register, register_file_digests
from formats.schemas import MAINTENANCE_TITLES
from tests.formats.test_register import (BENEFITS, CATALOGUE, HOUSEHOLD_BENEFITS, assert_problem, problems_of,
                                         write_register)

TITLES = """\
title_id,child_id,debtor_id,monthly_minor,valid_from,valid_to
7,2,4,12000,2024-02-10,2024-06-30
8,2,4,,2024-07-01,
9,1,3,5000,2024-01-01,
"""


def test_absent_table_is_no_titles(tmp_path):
    register = read_register(write_register(tmp_path), BENEFITS, HOUSEHOLD_BENEFITS)
    assert register.get("maintenance_titles") is None or register["maintenance_titles"].num_rows == 0
    arrays = register_arrays(register, CATALOGUE)
    assert arrays.titles.title_ids.shape == (0,) and (arrays.titles.offsets == 0).all()


def test_good_titles_read_and_converted_by_child(tmp_path):
    folder = write_register(tmp_path)
    (folder / "maintenance_titles.csv").write_text(TITLES, encoding="utf-8")
    register = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert register["maintenance_titles"].schema.equals(MAINTENANCE_TITLES)
    assert "maintenance_titles.csv" in register_file_digests(folder)  # a payroll fingerprints it like the rest
    titles = register_arrays(register, CATALOGUE).titles
    # persons 1, 2, 3, 4 are dense 0..3: child 1 (index 0) has title 9, child 2 (index 1) titles 7 then 8
    assert titles.offsets.tolist() == [0, 1, 3, 3, 3]
    assert titles.title_ids.tolist() == [9, 7, 8]
    assert titles.debtor_ids.tolist() == [3, 4, 4] and titles.debtor.tolist() == [2, 3, 3]
    assert titles.monthly_minor.tolist() == [5000, 12000, -1]
    assert titles.from_month.tolist() == [648, 649, 654]  # 2024-01, 2024-02 (mid-month counts), 2024-07
    assert titles.to_month.tolist() == [NO_MONTH, 653, NO_MONTH]


def test_parquet_titles_read_alike(tmp_path):
    folder = write_register(tmp_path)
    pq.write_table(pa.table({"title_id": [1], "child_id": [2], "debtor_id": [4], "monthly_minor": [100],
                             "valid_from": pa.array([19723], pa.date32()), "valid_to": pa.array([None], pa.date32())},
                            schema=MAINTENANCE_TITLES), folder / "maintenance_titles.parquet")
    register = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert register["maintenance_titles"].num_rows == 1


def test_bad_titles_refused_with_file_row_column_value(tmp_path):
    folder = write_register(tmp_path)
    (folder / "maintenance_titles.csv").write_text(TITLES + """\
10,99,4,100,2024-01-01,
11,2,98,100,2025-01-01,2024-12-31
12,4,4,-5,2030-01-01,
13,1,4,100,2025-03-01,
""", encoding="utf-8")
    problems = problems_of(folder)
    file = "maintenance_titles.csv"
    assert_problem(problems, file, 4, "child_id", "99", "child_id not found in persons")
    assert_problem(problems, file, 5, "debtor_id", "98", "debtor_id not found in persons")
    assert_problem(problems, file, 5, "valid_to", "2024-12-31", "valid_to is before valid_from")
    assert_problem(problems, file, 6, "debtor_id", "4", "the debtor is the child")
    assert_problem(problems, file, 6, "monthly_minor", "-5", "amount outside")
    # title 13 starts while title 9 of the same child (person 1) is still open
    assert_problem(problems, file, 7, "valid_from", "2025-03-01", "two maintenance titles of one child")
    assert all(p.fix for p in problems)


def test_missing_required_column_and_bad_cell(tmp_path):
    folder = write_register(tmp_path)
    (folder / "maintenance_titles.csv").write_text("title_id,child_id,monthly_minor,valid_from\n"
                                                   "1,2,abc,2024-01-01\n", encoding="utf-8")
    problems = problems_of(folder)
    assert_problem(problems, "maintenance_titles.csv", None, "debtor_id", None, "missing required column")
    assert_problem(problems, "maintenance_titles.csv", 1, "monthly_minor", "abc", "")
