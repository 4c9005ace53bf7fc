"""Issue 17's register inputs: the optional tables housing_costs and wage_bases, the rights columns
other_payment_minor and subgroup; read, validated (file/row/column/value/rule/fix), converted to the engine's
arrays, and the catalogue-aware refusals (a right without its housing cost or wage base, an IDP award longer
than the decree's award_months)."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from engine.entitlement import fact_values
from engine.months import month_index
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.errors import InputError
from formats.register import read_register
from formats.schemas import HOUSEHOLDS, HOUSING_COSTS, PAYEES, PERSONS, RIGHTS, WAGE_BASES
from test_register import BENEFITS, HOUSEHOLD_BENEFITS, assert_problem, problems_of, write_register

HOUSING = """\
household_id,valid_from,valid_to,cost_minor
10,2024-01-01,2024-03-31,250000
10,2024-04-01,,310050
"""
WAGES = """\
person_id,valid_from,valid_to,base_minor
1,2024-01-01,,180000
"""


def test_optional_tables_are_read_typed_and_counted(tmp_path):
    folder = write_register(tmp_path)
    (folder / "housing_costs.csv").write_text(HOUSING, encoding="utf-8")
    (folder / "wage_bases.csv").write_text(WAGES, encoding="utf-8")
    register = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)
    assert register["housing_costs"].column("cost_minor").to_pylist() == [250000, 310050]
    assert register["housing_costs"].column("valid_to").to_pylist() == [dt.date(2024, 3, 31), None]
    assert register["wage_bases"].column("base_minor").to_pylist() == [180000]
    assert register.source["wage_bases"].name == "wage_bases.csv"


@pytest.mark.parametrize("name, text, row, column, value, rule", [
    ("housing_costs", "household_id,valid_from,valid_to,cost_minor\n99,2024-01-01,,100\n", 1, "household_id", "99",
     "household_id not found in households"),
    ("wage_bases", "person_id,valid_from,valid_to,base_minor\n77,2024-01-01,,100\n", 1, "person_id", "77",
     "person_id not found in persons"),
    ("wage_bases", "person_id,valid_from,valid_to,base_minor\n1,2024-01-01,,-5\n", 1, "base_minor", "-5",
     "amount outside"),
    ("housing_costs", "household_id,valid_from,valid_to,cost_minor\n10,2024-05-01,2024-04-30,1\n", 1, "valid_to",
     "2024-04-30", "valid_to is before valid_from"),
    ("housing_costs", HOUSING.replace("2024-04-01", "2024-03-31"), 2, "valid_from", "2024-03-31",
     "two rows of one household_id in force on one day"),
    ("housing_costs", "household_id,valid_from,valid_to,cost_minor\n10,2024-01-01,,\n", 1, "cost_minor", None,
     "required value is empty"),
])
def test_bad_rows_of_the_optional_tables_are_refused(tmp_path, name, text, row, column, value, rule):
    folder = write_register(tmp_path)
    (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    assert_problem(problems_of(folder), f"{name}.csv", row, column, value, rule)


@pytest.mark.parametrize("column, text, rule", [
    ("subgroup", "3", "subgroup outside 1 .. 2"),
    ("subgroup", "0", "subgroup outside 1 .. 2"),
    ("other_payment_minor", "-1", "amount outside"),
])
def test_bad_new_rights_columns_are_refused(tmp_path, column, text, rule):
    folder = write_register(tmp_path, [("rights", 4, column, text)])
    assert_problem(problems_of(folder), "rights.csv", 4, column, text, rule)


def test_new_rights_columns_are_optional_and_typed(tmp_path):
    folder = write_register(tmp_path, [("rights", 4, "subgroup", "2"), ("rights", 5, "other_payment_minor", "1250")])
    rights = read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS)["rights"]
    assert rights.column("subgroup").type == pa.int16()
    assert rights.column("subgroup").to_pylist()[3] == 2
    assert rights.column("other_payment_minor").to_pylist()[4] == 1250


# ---- conversion and the catalogue-aware checks ---------------------------------------------------------------

UA = load_catalogue(country="ua")


def ua_tables(versions, housing=(), wages=()):
    """Two persons (1 and 2) in household 10, one payee, the given versions and dated amounts."""
    persons = [dict(person_id=p, birth_date=born, family_name="Коваль", given_name="Олена", municipality="Київ")
               for p, born in ((1, dt.date(1980, 1, 1)), (2, dt.date(2020, 5, 5)))]
    members = [dict(household_id=10, person_id=p, role="head" if p == 1 else "child",
                    member_from=dt.date(2020, 1, 1)) for p in (1, 2)]
    payee = dict(payee_id=1, channel="bank", kind="person", name="Олена", country="UA")
    return dict(persons=pa.Table.from_pylist(persons, schema=PERSONS),
                households=pa.Table.from_pylist(members, schema=HOUSEHOLDS),
                rights=pa.Table.from_pylist([{"payee_id": 1, **row} for row in versions], schema=RIGHTS),
                payees=pa.Table.from_pylist([payee], schema=PAYEES),
                housing_costs=pa.Table.from_pylist(list(housing), schema=HOUSING_COSTS),
                wage_bases=pa.Table.from_pylist(list(wages), schema=WAGE_BASES))


def version(right_id, benefit, valid_from, valid_to=None, **extra):
    return dict(right_id=right_id, version=1, benefit=benefit, person_id=1, household_id=10, valid_from=valid_from,
                valid_to=valid_to, decided_on=valid_from, **extra)


def test_dated_register_amounts_become_the_engine_rows():
    housing = [dict(household_id=10, valid_from=dt.date(2026, 4, 1), valid_to=None, cost_minor=310050),
               dict(household_id=10, valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 2, 28),
                    cost_minor=250000)]
    wages = [dict(person_id=2, valid_from=dt.date(2026, 1, 1), valid_to=None, base_minor=180000)]
    arrays = register_arrays(ua_tables([version(1, "UA_SUBS", dt.date(2026, 1, 1))], housing, wages), UA)
    months = np.array([month_index(2026, m) for m in (1, 2, 3, 4, 5)])
    assert fact_values(arrays, "housing_costs", np.zeros(5, np.int64), months).tolist() == \
        [250000, 250000, -1, 310050, 310050]  # March: no row (due 0, listed)
    persons = np.array([0, 1, 1])  # dense indexes: person 1 has no wage base, person 2 has
    assert fact_values(arrays, "wage_bases", persons, months[:3]).tolist() == [-1, 180000, 180000]
    assert arrays.packed.ver64.shape[1] == 3 and arrays.packed.ver32.shape[1] == 13


def test_subgroup_and_other_payment_reach_the_kernel_records():
    from engine.entitlement import V_OTHER, V_SUBGROUP

    rows = [version(1, "UA_INV_DYTYNSTVA", dt.date(2026, 1, 1), subgroup=2, grade=1),
            version(2, "UA_VPO", dt.date(2026, 1, 1), dt.date(2026, 6, 30), other_payment_minor=5)]
    arrays = register_arrays(ua_tables(rows), UA)
    assert arrays.packed.ver32[:, V_SUBGROUP].tolist() == [2, 0]
    assert arrays.packed.ver64[:, V_OTHER].tolist() == [0, 5]


@pytest.mark.parametrize("benefit, column", [("UA_SUBS", "household_id"), ("UA_ODYN", None)])
def test_a_housing_subsidy_without_any_housing_cost_is_refused(benefit, column):
    tables = ua_tables([version(1, benefit, dt.date(2026, 1, 1))])
    if column is None:  # the single-mother allowance reads no housing cost: accepted
        register_arrays(tables, UA)
        return
    with pytest.raises(InputError) as caught:
        register_arrays(tables, UA)
    [found] = caught.value.problems
    assert (found.file, found.row, found.column) == ("rights", 1, "household_id")
    assert "no housing_costs row" in found.rule and "housing_costs" in found.fix


def test_a_wage_replacement_without_a_wage_base_is_refused():
    import dataclasses

    wage = dataclasses.replace(UA.benefit("UA_DSD"), code="UA_WAGE_TEST", kind="wage_replacement",
                               parameters={"replacement_bp": ((dt.date(2025, 1, 1), (10_000,)),)})
    catalogue = dataclasses.replace(UA, benefits=UA.benefits + (wage,))
    rows = [version(1, "UA_DSD", dt.date(2026, 1, 1)), version(2, "UA_WAGE_TEST", dt.date(2026, 1, 1))]
    with pytest.raises(InputError) as caught:
        register_arrays(ua_tables(rows), catalogue)
    [found] = caught.value.problems
    assert (found.row, found.column) == (2, "person_id") and "no wage_bases row" in found.rule
    wages = [dict(person_id=1, valid_from=dt.date(2025, 6, 1), valid_to=None, base_minor=1)]
    register_arrays(ua_tables(rows, wages=wages), catalogue)  # with one: accepted


@pytest.mark.parametrize("valid_to, refused", [
    (dt.date(2026, 6, 30), False),     # January..June: six months, the decree's award
    (dt.date(2026, 7, 1), True),       # touches a seventh month
    (None, True),                      # open-ended: an award always ends
])
def test_an_idp_award_longer_than_award_months_is_refused(valid_to, refused):
    tables = ua_tables([version(7, "UA_VPO", dt.date(2026, 1, 1), valid_to)])
    if not refused:
        register_arrays(tables, UA)
        return
    with pytest.raises(InputError) as caught:
        register_arrays(tables, UA)
    [found] = caught.value.problems
    assert (found.row, found.column) == (1, "valid_to")
    assert "award_months" in found.rule and "renewal is a new version" in found.fix


@pytest.mark.parametrize("versions, problem", [
    ([(dt.date(2026, 1, 20), dt.date(2026, 5, 25))], None),                              # 126 days
    ([(dt.date(2026, 2, 1), dt.date(2026, 6, 20))], None),                               # 140 days
    ([(dt.date(2026, 2, 10), dt.date(2026, 6, 15)), (dt.date(2026, 6, 16), dt.date(2026, 6, 29))], None),  # 126 + 14
    ([(dt.date(2026, 1, 20), dt.date(2026, 5, 24))], (1, "valid_to", 125, "126, 140, 180")),  # one day short
    ([(dt.date(2026, 2, 10), dt.date(2026, 6, 15)), (dt.date(2026, 6, 16), dt.date(2026, 6, 30))],
     (1, "valid_to", 141, "126, 140, 180")),                                               # 126 + 15: reported once
    ([(dt.date(2026, 1, 20), None)], (1, "valid_to", None, "without its last day")),       # open-ended
])
def test_a_period_of_days_must_end_and_last_an_allowed_length(versions, problem):
    rows = [dict(version(3, "UA_VAGITNIST", start, end), version=n) for n, (start, end) in enumerate(versions, 1)]
    tables = ua_tables(rows)
    if problem is None:
        register_arrays(tables, UA)
        return
    with pytest.raises(InputError) as caught:
        register_arrays(tables, UA)
    [found] = caught.value.problems
    row, column, value, rule = problem
    assert (found.file, found.row, found.column) == ("rights", row, column)
    assert (found.value is None and value is None) or str(found.value) == str(value)
    assert rule in found.rule and "valid_to" in found.fix
