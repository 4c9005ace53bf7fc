"""The maintenance advance kind (engine/advances.py): the title gate, flat amounts by age band, and the kernel path
against a plain-Python reference (the worked example is tests/engine/scenarios/maintenance_advance_ua.toml)."""
import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from engine import advances, catalogue as cat
from engine.entitlement import compute_due
from engine.months import parse_period
from entitlement_tables import tables
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.schemas import MAINTENANCE_TITLES

UA = load_catalogue(country="ua")
D = dt.date.fromisoformat
PERSONS = [dict(person_id=1, birth_date=D("1985-01-01")),   # carer
           dict(person_id=2, birth_date=D("2021-05-05")),   # child of right 1
           dict(person_id=3, birth_date=D("1983-02-02")),   # debtor
           dict(person_id=4, birth_date=D("2020-03-15")),   # child of right 2: 6 years old in March 2026
           dict(person_id=5, birth_date=D("1990-01-01"))]   # a second carer
MEMBERS = [dict(household_id=10, person_id=1, role="head", member_from=D("2015-01-01")),
           dict(household_id=10, person_id=2, role="child", member_from=D("2021-05-05")),
           dict(household_id=20, person_id=5, role="head", member_from=D("2015-01-01")),
           dict(household_id=20, person_id=4, role="child", member_from=D("2020-03-15"))]
VERSIONS = [  # household incomes: 4,000.00 / 2 members = 2,000.00 per capita; 1,000.00 / 2 = 500.00
    dict(right_id=1, version=1, benefit="UA_TYMCH", person_id=2, household_id=10, valid_from=D("2025-10-01"),
         valid_to=D("2026-03-31"), decided_on=D("2025-10-01"), income_minor=400_000),
    dict(right_id=2, version=1, benefit="UA_TYMCH", person_id=4, household_id=20, valid_from=D("2025-10-01"),
         decided_on=D("2025-10-01"), income_minor=100_000)]
TITLES = [dict(title_id=1, child_id=2, debtor_id=3, monthly_minor=None, valid_from=D("2025-01-01")),
          dict(title_id=2, child_id=4, debtor_id=3, monthly_minor=220_000, valid_from=D("2025-11-15"),
               valid_to=D("2026-02-10")),
          dict(title_id=3, child_id=4, debtor_id=3, monthly_minor=None, valid_from=D("2026-04-01"))]


def due_by_month(titles, catalogue=UA, versions=VERSIONS, first="2025-10", last="2026-05"):
    register = tables(PERSONS, MEMBERS, versions)
    register["maintenance_titles"] = pa.Table.from_pylist(titles, schema=MAINTENANCE_TITLES)
    arrays = register_arrays(register, catalogue)
    start, period = parse_period(first), parse_period(last)
    cells = compute_due(arrays, catalogue.compile_window(start, period), period, start)
    assert not cells.rule_missing.any()
    out = {}
    for r, m, d in zip(arrays.right_ids[cells.right_index], cells.month, cells.due_minor):
        if d:
            out[(int(r), dt.date(1970 + int(m) // 12, int(m) % 12 + 1, 1).strftime("%Y-%m"))] = int(d)
    return out


def test_no_title_no_advance():
    assert due_by_month([]) == {}
    only_other_child = [dict(TITLES[0], child_id=2)]
    assert {right for right, _month in due_by_month(only_other_child)} == {1}


def band_catalogue():
    """Montenegro-like: flat amounts by age band 0-5 / 6-13 / 14-18, no means test (invented test amounts)."""
    benefits = []
    for benefit in UA.benefits:
        if benefit.code == "UA_TYMCH":
            benefit = dataclasses.replace(benefit, parameters={
                "advance_band_limits_years": ((D("2025-01-01"), (6, 14)),),
                "advance_reference_by_band": ((D("2025-01-01"), (10_000, 15_000, 20_000)),)})
        benefits.append(benefit)
    return dataclasses.replace(UA, benefits=tuple(benefits))


def test_age_bands_without_means_test():
    """Child 4 (born 2020-03-15) is 0-5 through March 2026 and 6-13 from April; income does not count."""
    versions = [dict(VERSIONS[1], valid_from=D("2026-02-01"))]
    titles = [dict(TITLES[2], valid_from=D("2026-01-01"))]
    assert due_by_month(titles, band_catalogue(), versions, "2026-02", "2026-05") == {
        (2, "2026-02"): 10_000, (2, "2026-03"): 10_000, (2, "2026-04"): 15_000, (2, "2026-05"): 15_000}


def reference_amount(month, birth_month, income, members, limits, references, floor_bp):
    """Plain Python: the band by age (through the birthday's month), the means test with its floor."""
    band = sum(1 for years in limits if month > birth_month + 12 * years)
    reference = references[min(band, len(references) - 1)]
    if not floor_bp:
        return reference
    n = max(members, 1)  # the reference less the per-capita income (income / n), rounded half-up once
    less_income = reference - income // n - (1 if 2 * (income % n) > n else 0)
    floor = (reference * floor_bp + 5_000) // 10_000
    return min(reference, max(less_income, floor))


@settings(max_examples=300, deadline=None)
@given(month=st.integers(600, 800), birth_month=st.integers(400, 800), income=st.integers(0, 10**9),
       members=st.integers(0, 12), limits=st.lists(st.integers(0, 18), max_size=3).map(sorted),
       references=st.lists(st.integers(0, 10**8), min_size=1, max_size=4), floor_bp=st.integers(0, 10_000))
def test_kernel_path_equals_reference(month, birth_month, income, members, limits, references, floor_bp):
    params = np.zeros((1, 1, cat.SLOT_COUNT), np.int64)
    param_len = np.zeros((1, cat.SLOT_COUNT), np.int32)
    for name, values in (("advance_band_limits_years", limits), ("advance_reference_by_band", references),
                         ("advance_floor_bp", [floor_bp] if floor_bp else [])):
        offset = cat.PARAM_OFFSET[name]
        params[0, 0, offset:offset + len(values)] = values
        param_len[0, offset] = len(values)
    got = advances.advance_reference_amount(month, 0, 0, birth_month, income, members, params, param_len)
    assert got == reference_amount(month, birth_month, income, members, limits, references, floor_bp)


def test_the_per_capita_income_is_not_rounded_before_it_is_subtracted():
    """RULES.md: half-up once per amount. 2,563.00 less 1,000.01 / 2 = 2,062.995 -> 2,063.00 (rounding the
    per-capita income first gave 2,563.00 - 500.01 = 2,062.99)."""
    params = np.zeros((1, 1, cat.SLOT_COUNT), np.int64)
    param_len = np.zeros((1, cat.SLOT_COUNT), np.int32)
    for name, values in (("advance_band_limits_years", [6]), ("advance_reference_by_band", [256_300, 319_600]),
                         ("advance_floor_bp", [5_000])):
        offset = cat.PARAM_OFFSET[name]
        params[0, 0, offset:offset + len(values)] = values
        param_len[0, offset] = len(values)
    assert advances.advance_reference_amount(700, 0, 0, 660, 100_001, 2, params, param_len) == 206_300
