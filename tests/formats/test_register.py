"""read_register: a good hand-made register passes; every rule refuses its bad input with file, row, column,
value and rule named; all problems come together; Parquet and CSV read alike."""
import datetime as dt
import csv
import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.register import read_register, register_file_digests
from formats.schemas import OPTIONAL_TABLES, REGISTER

CATALOGUE = load_catalogue()  # Montenegro
BENEFITS = set(CATALOGUE.benefit_codes)
HOUSEHOLD_BENEFITS = frozenset({"ME_MO", "ME_DD"})

GOOD = {
    "persons": """\
person_id,birth_date,death_date,family_name,given_name,patronymic,tax_id,municipality,disabled,without_parental_care
1,1985-03-14,,Đukanović,Milica,,,Podgorica,false,false
2,2015-06-01,,Đukanović,Luka,,,Podgorica,,false
3,1950-01-20,2024-05-03,Петровић,Јован,Миланов,,Nikšić,true,
4,1990-11-11,,Kovačević,Ana,,0101990215001,Bar,,
""",
    "households": """\
household_id,person_id,role,member_from,member_to
10,1,head,2015-01-01,
10,2,child,2015-06-01,
""",
    "rights": """\
right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on,income_minor,grade,birth_order,mo_family,single_parent,unable_to_work,consent_full_recovery
100,1,ME_DD,1,10,1000,2024-01-01,,2023-12-20,,,,false,true,false,false
101,1,ME_MO,1,10,1000,2024-01-01,2024-06-30,2023-12-20,5000,,,,,,
101,2,ME_MO,1,10,1000,2024-07-01,,2024-08-02,2500,,,,,,
102,1,ME_LI,3,,1001,2023-01-01,2024-05-31,2022-12-01,,1,,,,,
103,1,ME_DNJP,4,,1002,2024-03-01,,2024-02-15,,,,,,,1
""",
    "payees": """\
payee_id,channel,kind,name,iban,bic,street,house_number,postcode,town,district,region,country,tax_id,phone
1000,bank,person,Milica Đukanović,ME25510000000000006345,CKBCMEPG,,,,,,,ME,,
1001,post,person,Јован Петровић,,,Njegoševa,12,81400,Nikšić,,,ME,,
1002,bank,guardian,Ana Kovačević,ME25530000000123456763,,,,,,,,ME,,
1003,bank,creditor,Centar za socijalni rad Bar,ME25520000000000004246,,,,,,,,ME,,
""",
    "deductions": """\
order_id,right_id,kind,priority,fixed_minor,percent_bp,outstanding_minor,creditor_payee_id,valid_from,valid_to
1,102,alimony,1,5000,,,1003,2024-01-01,
2,103,overpayment,3,,2000,12000,,2024-03-01,2024-12-31
""",
}


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def render(rows: list[dict], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_register(folder, edits=(), texts=None):
    """Write GOOD as CSV into `folder`, after `edits` of (file, 1-based row, column, new text) and `texts`."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {name: parse(text) for name, text in GOOD.items()}
    headers = {name: next(csv.reader(io.StringIO(text))) for name, text in GOOD.items()}
    for name, row, column, value in edits:
        if row > len(tables[name]):
            tables[name].append(dict(tables[name][-1]))
        tables[name][row - 1][column] = value
        if column not in headers[name]:
            headers[name].append(column)  # an optional column the good file leaves out
    for name in tables:
        text = (texts or {}).get(name, render(tables[name], headers[name]))
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def problems_of(folder, **kwargs):
    with pytest.raises(InputError) as caught:
        read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, **kwargs)
    return caught.value.problems


def assert_problem(problems, file, row, column, value, rule_part):
    """One problem names exactly this file, row, column and value, and its rule contains `rule_part`."""
    for problem in problems:
        if (problem.file, problem.row, problem.column, problem.value) == (file, row, column, value) \
                and rule_part in problem.rule:
            rendered = problem.render()
            assert file in rendered and rule_part in rendered and problem.fix in rendered
            if row is not None:
                assert f"row {row}" in rendered
            if value is not None:
                assert repr(value) in rendered
            return problem
    listing = "\n".join(p.render() for p in problems)
    raise AssertionError(f"no problem {file}, {row}, {column}, {value!r}, {rule_part!r} among:\n{listing}")


# ---- the good register --------------------------------------------------------------------------------------

def test_good_csv_register_passes_with_schema_types(tmp_path):
    register = read_register(write_register(tmp_path), BENEFITS, HOUSEHOLD_BENEFITS)
    assert set(register) == set(REGISTER) | set(OPTIONAL_TABLES)
    for name, schema in OPTIONAL_TABLES.items():  # no file: read as empty, with the schema
        assert register[name].num_rows == 0 and register[name].schema.equals(schema.with_metadata(None)), name
    for name, schema in REGISTER.items():
        assert register[name].schema.equals(schema.with_metadata(None)), name
        assert register.source[name].name == f"{name}.csv"
    rights = register["rights"]
    assert rights.num_rows == 5
    assert rights.column("valid_to").null_count == 3
    assert rights.column("income_minor").to_pylist()[1:3] == [5000, 2500]
    assert rights.column("consent_full_recovery").to_pylist()[4] is True
    assert register["persons"].column("family_name").to_pylist()[2] == "Петровић"


def test_good_register_as_parquet_passes_and_matches_csv(tmp_path):
    from_csv = read_register(write_register(tmp_path / "csv"), BENEFITS, HOUSEHOLD_BENEFITS)
    (tmp_path / "pq").mkdir()
    for name, table in from_csv.items():
        pq.write_table(table, tmp_path / "pq" / f"{name}.parquet")
    from_parquet = read_register(tmp_path / "pq", BENEFITS, HOUSEHOLD_BENEFITS)
    for name in REGISTER:
        assert from_parquet[name].equals(from_csv[name]), name
        assert from_parquet.source[name].suffix == ".parquet"


def test_parquet_with_narrower_or_dictionary_columns_is_cast(tmp_path):
    good = read_register(write_register(tmp_path / "csv"), BENEFITS, HOUSEHOLD_BENEFITS)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, table in good.items():
        pq.write_table(table, folder / f"{name}.parquet")
    rights = good["rights"]
    rights = rights.set_column(rights.schema.get_field_index("right_id"), "right_id",
                               rights.column("right_id").cast(pa.int32()))
    rights = rights.set_column(rights.schema.get_field_index("benefit"), "benefit",
                               rights.column("benefit").dictionary_encode())
    pq.write_table(rights, folder / "rights.parquet")
    assert read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)["rights"].equals(good["rights"])


def test_optional_columns_may_be_left_out(tmp_path):
    persons = "person_id,birth_date,family_name,given_name,municipality\n1,1985-03-14,A,B,Bar\n2,2015-06-01,A,C,Bar\n" \
              "3,1950-01-20,D,E,Bar\n4,1990-11-11,F,G,Bar\n"
    register = read_register(write_register(tmp_path, texts={"persons": persons}), BENEFITS, HOUSEHOLD_BENEFITS)
    assert register["persons"].column("death_date").null_count == 4


def test_catalogue_gives_codes_and_household_benefits(tmp_path):
    assert read_register(write_register(tmp_path / "a"), CATALOGUE)["rights"].num_rows == 5
    with pytest.raises(InputError) as caught:  # ME_MO's formula reads the household: the catalogue says so
        read_register(write_register(tmp_path / "b", [("rights", 3, "household_id", "")]), CATALOGUE)
    assert_problem(caught.value.problems, "rights.csv", 3, "benefit", "ME_MO", "household benefit without")
    with pytest.raises(InputError) as caught:  # a Serbian catalogue knows no Montenegrin benefit
        read_register(write_register(tmp_path / "c"), load_catalogue(country="rs"))
    assert_problem(caught.value.problems, "rights.csv", 1, "benefit", "ME_DD", "unknown benefit code")


def test_digests_are_sha256_of_each_file(tmp_path):
    import hashlib

    folder = write_register(tmp_path)
    digests = register_file_digests(folder)
    assert set(digests) == {f"{name}.csv" for name in REGISTER}
    assert digests["rights.csv"] == hashlib.sha256((folder / "rights.csv").read_bytes()).hexdigest()
    (folder / "rights.csv").write_text(GOOD["rights"].replace("5000", "5001"), encoding="utf-8")
    assert register_file_digests(folder)["rights.csv"] != digests["rights.csv"]


# ---- files and columns --------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    problems = problems_of(write_register(tmp_path, texts={"payees": None}))
    assert_problem(problems, "payees.parquet", None, None, None, "missing file")


def test_missing_folder(tmp_path):
    problems = problems_of(tmp_path / "nowhere")
    assert "does not exist" in problems[0].rule and len(problems) == 1


def test_both_csv_and_parquet(tmp_path):
    folder = write_register(tmp_path)
    (folder / "rights.parquet").write_bytes(b"")
    assert_problem(problems_of(folder), "rights.csv", None, None, None, "both Parquet and CSV")


def test_unreadable_files(tmp_path):
    folder = write_register(tmp_path, texts={"rights": "right_id,version\n1,2,3\n"})
    assert_problem(problems_of(folder), "rights.csv", None, None, None, "cannot be read as CSV")
    folder = write_register(tmp_path / "latin2")
    (folder / "persons.csv").write_bytes(GOOD["persons"].encode("cp1250", errors="replace"))
    [problem] = problems_of(folder)  # a file saved as Windows-1250: the row and column of its first such byte
    assert (problem.file, problem.row, problem.column) == ("persons.csv", 1, "family_name")
    assert problem.rule == "not UTF-8 text (byte 0xd0)" and "\ufffdukanovi" in problem.value
    assert "save persons.csv as UTF-8" in problem.fix
    folder = write_register(tmp_path / "b", texts={"rights": None})
    (folder / "rights.parquet").write_bytes(b"not parquet at all")
    assert_problem(problems_of(folder), "rights.parquet", None, None, None, "cannot be read as Parquet")


def test_missing_required_and_unknown_columns(tmp_path):
    text = GOOD["households"].replace("role,", "rol,")
    problems = problems_of(write_register(tmp_path, texts={"households": text}))
    assert_problem(problems, "households.csv", None, "role", None, "missing required column")
    assert_problem(problems, "households.csv", None, "rol", None, "unknown column")


def test_duplicate_column(tmp_path):
    text = "household_id,person_id,role,member_from,role\n10,1,head,2015-01-01,head\n"
    assert_problem(problems_of(write_register(tmp_path, texts={"households": text})),
                   "households.csv", None, "role", None, "column appears twice")


@pytest.mark.parametrize("file,row,column,value,rule", [
    ("rights", 2, "income_minor", "12.50", "not a whole number"),
    ("rights", 1, "grade", "40000", "range of int16"),
    ("persons", 2, "birth_date", "2015-02-30", "not a valid date"),
    ("persons", 1, "birth_date", "14.03.1985", "not a valid date"),
    ("persons", 3, "disabled", "ja", "not a true/false"),
    ("payees", 1, "payee_id", "1000x", "not a whole number"),
])
def test_unparseable_cells(tmp_path, file, row, column, value, rule):
    problems = problems_of(write_register(tmp_path, [(file, row, column, value)]))
    assert_problem(problems, f"{file}.csv", row, column, value, rule)


def test_null_in_required_column(tmp_path):
    problems = problems_of(write_register(tmp_path, [("rights", 3, "decided_on", ""), ("payees", 2, "name", "  ")]))
    assert_problem(problems, "rights.csv", 3, "decided_on", None, "required value is empty")
    assert_problem(problems, "payees.csv", 2, "name", None, "required value is empty")


def test_parquet_wrong_column_type(tmp_path):
    good = read_register(write_register(tmp_path / "csv"), BENEFITS, HOUSEHOLD_BENEFITS)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, table in good.items():
        pq.write_table(table, folder / f"{name}.parquet")
    rights = good["rights"]
    index = rights.schema.get_field_index("income_minor")
    rights = rights.set_column(index, "income_minor", rights.column("income_minor").cast(pa.float64()))
    rights = rights.set_column(rights.schema.get_field_index("grade"), "grade",
                               pa.array([None, None, None, 70000, None], pa.int64()))
    pq.write_table(rights, folder / "rights.parquet")
    problems = problems_of(folder)
    assert_problem(problems, "rights.parquet", None, "income_minor", None, "wrong column type double")
    assert_problem(problems, "rights.parquet", 4, "grade", "70000", "range of int16")


# ---- identities and references ------------------------------------------------------------------------------

@pytest.mark.parametrize("file,row,column,value,rule", [
    ("persons", 2, "person_id", "1", "duplicate person_id"),
    ("payees", 4, "payee_id", "1002", "duplicate payee_id"),
    ("deductions", 2, "order_id", "1", "duplicate order_id"),
    ("rights", 3, "version", "1", "duplicate right_id and version"),
    ("households", 2, "member_from", "2015-01-01", "duplicate household_id and person_id and member_from"),
])
def test_duplicate_ids(tmp_path, file, row, column, value, rule):
    edits = [(file, row, column, value)]
    if file == "households":  # the same person twice in one household from the same day
        edits += [(file, row, "person_id", "1"), (file, row, "role", "head")]
    problems = problems_of(write_register(tmp_path, edits))
    assert_problem(problems, f"{file}.csv", row, column, value, rule)


@pytest.mark.parametrize("file,row,column,value,rule", [
    ("rights", 4, "person_id", "99", "beneficiary person_id not found in persons"),
    ("rights", 1, "payee_id", "77", "payee_id not found in payees"),
    ("rights", 2, "household_id", "11", "household_id not found in households"),
    ("households", 2, "person_id", "5", "person_id not found in persons"),
    ("deductions", 1, "right_id", "555", "right_id not found in rights"),
    ("deductions", 1, "creditor_payee_id", "1999", "creditor_payee_id not found in payees"),
])
def test_dangling_references(tmp_path, file, row, column, value, rule):
    problems = problems_of(write_register(tmp_path, [(file, row, column, value)]))
    assert_problem(problems, f"{file}.csv", row, column, value, rule)


# ---- values -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file,row,column,value,rule", [
    ("rights", 2, "income_minor", "-1", "amount outside 0"),
    ("rights", 2, "income_minor", "10000000000001", "amount outside 0"),
    ("rights", 4, "amount_minor", "-100", "amount outside 0"),
    ("rights", 3, "benefit", "ME_DD", "versions of one right name different benefits"),
    ("deductions", 1, "fixed_minor", "-500", "amount outside 0"),
    ("deductions", 2, "outstanding_minor", "99999999999999999", "amount outside 0"),
    ("deductions", 2, "percent_bp", "10001", "percent_bp outside 0 .. 10000"),
    ("deductions", 2, "percent_bp", "-1", "percent_bp outside 0 .. 10000"),
    ("rights", 4, "grade", "0", "grade must be 1 or more"),
    ("rights", 4, "birth_order", "-2", "birth_order must be 1 or more"),
    ("rights", 1, "version", "0", "version must be 1 or more"),
    ("rights", 1, "benefit", "ME_XX", "unknown benefit code"),
    ("payees", 1, "channel", "cash", "unknown payment channel"),
    ("payees", 2, "kind", "friend", "unknown payee kind"),
    ("households", 2, "role", "grandchild", "unknown household role"),
    ("deductions", 1, "kind", "fine", "unknown deduction kind"),
    ("deductions", 1, "priority", "2", "priority does not match the deduction kind"),
    ("payees", 3, "country", "Montenegro", "ISO 3166 alpha-2"),
    ("rights", 1, "valid_to", "9999-12-31", "date outside 1900-01-01"),
    ("persons", 4, "birth_date", "1890-01-01", "date outside 1900-01-01"),
])
def test_bad_values(tmp_path, file, row, column, value, rule):
    problems = problems_of(write_register(tmp_path, [(file, row, column, value)]))
    assert_problem(problems, f"{file}.csv", row, column, value, rule)


@pytest.mark.parametrize("file,row,start,end,value", [
    ("rights", 5, "valid_from", "valid_to", "2024-02-29"),
    ("deductions", 2, "valid_from", "valid_to", "2024-01-31"),
    ("households", 1, "member_from", "member_to", "2014-12-31"),
    ("persons", 3, "birth_date", "death_date", "1949-12-31"),
])
def test_end_before_start(tmp_path, file, row, start, end, value):
    problems = problems_of(write_register(tmp_path, [(file, row, end, value)]))
    assert_problem(problems, f"{file}.csv", row, end, value, f"{end} is before {start}")


def test_end_on_start_day_is_allowed(tmp_path):
    read_register(write_register(tmp_path, [("rights", 5, "valid_to", "2024-03-01")]), BENEFITS, HOUSEHOLD_BENEFITS)


@pytest.mark.parametrize("edits,row,value", [
    ([("rights", 2, "valid_to", "2024-07-01")], 3, "2024-07-01"),            # one shared day
    ([("rights", 2, "valid_to", "")], 3, "2024-07-01"),                      # open-ended earlier version
    ([("rights", 3, "valid_from", "2024-03-01"), ("rights", 3, "valid_to", "2024-04-30")], 3, "2024-03-01"),
])
def test_overlapping_versions(tmp_path, edits, row, value):
    problems = problems_of(write_register(tmp_path, edits))
    assert_problem(problems, "rights.csv", row, "valid_from", value, "versions of one right overlap")


def test_overlap_reported_on_later_version_whatever_the_row_order(tmp_path):
    rows = GOOD["rights"].splitlines()
    text = "\n".join([rows[0], rows[3], rows[1], rows[2], rows[4], rows[5]]) + "\n"  # version 2 before 1
    folder = write_register(tmp_path, texts={"rights": text.replace("2024-06-30", "2024-07-15")})
    problems = problems_of(folder)
    assert_problem(problems, "rights.csv", 1, "valid_from", "2024-07-01", "overlap")
    assert len(problems) == 1


@pytest.mark.parametrize("value,reason", [
    ("ME25510000000000006346", "wrong check digits"),
    ("ME2551000000000000634", "wrong length"),
    ("ME25 5100 0000 0000 0063 45", "not in electronic form"),
    ("me25510000000000006345", "not in electronic form"),
    ("QQ25510000000000006345", "unknown country code"),
    ("ME0051000000000000634X", "wrong characters or structure"),
])
def test_invalid_iban(tmp_path, value, reason):
    problems = problems_of(write_register(tmp_path, [("payees", 3, "iban", value)]))
    assert_problem(problems, "payees.csv", 3, "iban", value, f"invalid IBAN: {reason}")


def test_same_invalid_iban_reported_on_every_row(tmp_path):
    bad = "ME25510000000000006346"
    problems = problems_of(write_register(tmp_path, [("payees", 1, "iban", bad), ("payees", 4, "iban", bad)]))
    assert [p.row for p in problems if "IBAN" in p.rule] == [1, 4]


@pytest.mark.parametrize("value,reason", [("CKBCMEP", "8 or 11"), ("CKBCQQPG", "unknown country"),
                                          ("ckbcmepg", "capitals")])
def test_invalid_bic(tmp_path, value, reason):
    problems = problems_of(write_register(tmp_path, [("payees", 1, "bic", value)]))
    assert_problem(problems, "payees.csv", 1, "bic", value, reason)


def test_bank_payee_without_iban(tmp_path):
    problems = problems_of(write_register(tmp_path, [("payees", 3, "iban", "")]))
    assert_problem(problems, "payees.csv", 3, "channel", "bank", "bank payee without IBAN")


@pytest.mark.parametrize("blank", [" ", ""])  # an empty CSV cell is null: null must count as missing too
@pytest.mark.parametrize("column", ["street", "town", "postcode"])
def test_postal_payee_without_address(tmp_path, column, blank):
    problems = problems_of(write_register(tmp_path, [("payees", 2, column, blank)]))
    assert_problem(problems, "payees.csv", 2, "channel", "post", f"postal payee without {column}")


def test_household_benefit_without_household(tmp_path):
    problems = problems_of(write_register(tmp_path, [("rights", 1, "household_id", "")]))
    assert_problem(problems, "rights.csv", 1, "benefit", "ME_DD", "household benefit without household_id")


def test_deduction_with_both_or_neither_basis(tmp_path):
    problems = problems_of(write_register(tmp_path, [("deductions", 1, "percent_bp", "1000"),
                                                     ("deductions", 2, "percent_bp", "")]))
    assert_problem(problems, "deductions.csv", 1, "percent_bp", "1000", "both fixed_minor and percent_bp")
    assert_problem(problems, "deductions.csv", 2, "fixed_minor", None, "neither fixed_minor nor percent_bp")


@pytest.mark.parametrize("kind,priority", [("alimony", "1"), ("damages", "2"), ("enforcement", "4")])
def test_third_party_deduction_without_creditor(tmp_path, kind, priority):
    edits = [("deductions", 1, "kind", kind), ("deductions", 1, "priority", priority),
             ("deductions", 1, "creditor_payee_id", "")]
    problems = problems_of(write_register(tmp_path, edits))
    assert_problem(problems, "deductions.csv", 1, "kind", kind, "without creditor_payee_id")
    assert len(problems) == 1


def test_overpayment_needs_no_creditor(tmp_path):
    read_register(write_register(tmp_path), BENEFITS, HOUSEHOLD_BENEFITS)  # order 2 is one, with no creditor


# ---- all at once, capped --------------------------------------------------------------------------------------

def test_all_problems_of_all_files_are_reported_together(tmp_path):
    edits = [("persons", 1, "birth_date", "x"), ("rights", 1, "benefit", "ME_XX"),
             ("payees", 1, "iban", "ME00"), ("deductions", 1, "kind", "fine"), ("households", 1, "role", "boss")]
    problems = problems_of(write_register(tmp_path, edits))
    assert {p.file for p in problems} == {f"{name}.csv" for name in REGISTER}
    assert [p.file for p in problems][0] == "persons.csv"  # sorted by file, then row


def test_problems_per_rule_are_capped_with_a_count(tmp_path):
    edits = [("rights", row, "benefit", "ME_XX") for row in range(1, 6)]
    problems = problems_of(write_register(tmp_path, edits), cap_per_rule=2)
    listed = [p for p in problems if p.rule == "unknown benefit code"]
    assert [p.row for p in listed] == [1, 2]
    more = [p for p in problems if p.rule.startswith("unknown benefit code (")]
    assert len(more) == 1 and "3 more row(s)" in more[0].rule


# ---- the synthetic register ------------------------------------------------------------------------------------

@pytest.mark.parametrize("country,period", [("me", "2025-03"), ("rs", "2025-11"), ("ua", "2025-06")])
def test_generated_register_passes_validation(tmp_path, country, period):
    from synthetic.register import generate_register

    generate_register(tmp_path, rights=600, seed=11, period=period, country=country)
    register = read_register(tmp_path, load_catalogue(country=country))
    assert len(register["rights"].column("right_id").unique()) == 600
    assert register.source["payees"].name == "payees.parquet"


def test_validation_is_vectorised(tmp_path):
    """10x the rows must cost far less than 10x the time: no Python work per row."""
    from synthetic.register import generate_register

    timings = []
    for rights in (2_000, 20_000):
        folder = tmp_path / str(rights)
        generate_register(folder, rights=rights, seed=2, period="2025-03", country="me")
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            read_register(folder, CATALOGUE)
            runs.append(time.perf_counter() - start)
        timings.append(sorted(runs)[1])
    assert timings[1] < 0.5 + 6 * timings[0], timings


def test_versions_of_a_right_with_a_negative_id_are_checked_too(tmp_path):
    """A negative id is refused (ledger bounds), and the version rules still group it like any other (they once
    skipped ids below 0)."""
    edits = [("rights", row, "right_id", "-101") for row in (2, 3)] + [("rights", 3, "benefit", "ME_DD"),
                                                                        ("rights", 2, "valid_to", "")]
    problems = problems_of(write_register(tmp_path, edits))
    assert_problem(problems, "rights.csv", 3, "benefit", "ME_DD", "versions of one right name different benefits")
    assert_problem(problems, "rights.csv", 3, "valid_from", "2024-07-01", "versions of one right overlap")


def test_shuffled_register_reports_what_the_sorted_one_does(tmp_path):
    """Rows in any order take the general (sorting) paths; the problems found are the same ones, renumbered."""
    import numpy as np

    from synthetic.register import generate_register

    folder, shuffled = tmp_path / "sorted", tmp_path / "shuffled"
    generate_register(folder, rights=3_000, seed=4, period="2025-03", country="me")
    shuffled.mkdir()
    rng = np.random.default_rng(9)
    moved = {}
    for name in REGISTER:
        table = pq.read_table(folder / f"{name}.parquet")
        if name == "rights":  # two bad rows: a duplicate version and a dangling person
            table = pa.concat_tables([table, table.slice(5, 1),
                                      table.slice(7, 1).set_column(3, table.schema.field(3), pa.array([10**12]))])
        order = rng.permutation(table.num_rows)
        moved[name] = np.argsort(order)  # old row -> new row
        pq.write_table(table.take(pa.array(order)), shuffled / f"{name}.parquet")
        if name == "rights":
            pq.write_table(table, folder / f"{name}.parquet")
    expected = {(p.file, p.row, p.column, p.value, p.rule) for p in problems_of(folder)}
    found = {(p.file, p.row, p.column, p.value, p.rule) for p in problems_of(shuffled)}
    renumbered = {(file, int(moved["rights"][row - 1]) + 1, column, value, rule)
                  for file, row, column, value, rule in expected}
    assert {rule for *_, rule in expected} == {"duplicate right_id and version", "versions of one right overlap",
                                               "beneficiary person_id not found in persons"}
    # a duplicate (and its overlap) is reported on whichever copy comes second: compare those by count
    dangling = {p for p in renumbered if "not found" in p[4]}
    assert len(dangling) == 1 and dangling <= found
    assert sorted(p[4] for p in found) == sorted(p[4] for p in expected)


# ---- the ledger's bounds (formats/bounds.py, the one home ledgers/postings.py also checks batches against) ----

@pytest.mark.parametrize("file,row,column,value", [
    ("rights", 1, "right_id", str(10**16)),
    ("rights", 5, "right_id", "0"),
    ("rights", 2, "payee_id", str(10**15 + 1)),
    ("payees", 4, "payee_id", "-1003"),
    ("deductions", 1, "creditor_payee_id", str(10**15 + 7)),
    ("deductions", 2, "order_id", str(10**15 + 3)),  # orders files key each order's takes by it
])
def test_ids_outside_the_ledger_bounds_are_refused_at_validation(tmp_path, file, row, column, value):
    """A right id of 2^62 once passed validate and calculate and was refused only at approve."""
    problems = problems_of(write_register(tmp_path, [(file, row, column, value)]))
    assert_problem(problems, f"{file}.csv", row, column, value, "the ledger's id bounds")


def test_a_right_id_of_2_to_the_62_in_parquet_is_refused(tmp_path):
    """CSV refuses 19-digit numbers as text; Parquet carries 2^62 as an int64, which must meet the same bound."""
    good = read_register(write_register(tmp_path / "csv"), BENEFITS, HOUSEHOLD_BENEFITS)
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, table in good.items():
        pq.write_table(table, folder / f"{name}.parquet")
    rights = good["rights"]
    ids = rights.column("right_id").to_pylist()
    ids[0] = 2**62
    rights = rights.set_column(rights.schema.get_field_index("right_id"), "right_id", pa.array(ids, pa.int64()))
    pq.write_table(rights, folder / "rights.parquet")
    problems = problems_of(folder)
    assert_problem(problems, "rights.parquet", 1, "right_id", str(2**62), "the ledger's id bounds")


def test_the_largest_id_the_ledger_takes_passes(tmp_path):
    from formats.bounds import ID_MAX

    edits = [("rights", 5, "right_id", str(ID_MAX)), ("deductions", 2, "right_id", str(ID_MAX))]
    read_register(write_register(tmp_path, edits), BENEFITS, HOUSEHOLD_BENEFITS)


def test_validation_and_the_ledger_share_one_set_of_bounds():
    from formats import bounds
    from ledgers import postings, store

    assert postings.ID_MAX is bounds.ID_MAX and postings.MONTH_INDEX_MAX == bounds.MONTHS - 1
    assert store.MONTHS_MAX == bounds.MONTHS
    assert postings.AMOUNT_MINOR_MAX is bounds.AMOUNT_MINOR_MAX


def test_applied_on_is_read_from_csv_and_may_not_follow_the_decision(tmp_path):
    """Readings 5: every version may carry its application date; a decision cannot come before it."""
    folder = write_register(tmp_path / "good", [("rights", 1, "applied_on", "2023-12-01")])
    register = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert register["rights"].column("applied_on").to_pylist()[:2] == [dt.date(2023, 12, 1), None]
    problems = problems_of(write_register(tmp_path / "bad", [("rights", 1, "applied_on", "2023-12-21")]))
    assert_problem(problems, "rights.csv", 1, "decided_on", "2023-12-20", "decided_on is before applied_on")


def test_deduction_flags_for_minor_and_agency_fault_are_read(tmp_path):
    folder = write_register(tmp_path, [("deductions", 1, "for_minor", "false"), ("deductions", 2, "agency_fault", "1")])
    deductions = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)["deductions"]
    assert deductions.column("for_minor").to_pylist() == [False, None]
    assert deductions.column("agency_fault").to_pylist() == [None, True]
