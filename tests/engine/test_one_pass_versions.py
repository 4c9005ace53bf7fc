"""The one pass over a household formula's months (engine/entitlement.py _household_right) serves a right of several
versions when each version has months of its own (_one_pass_versions: UA_DSD's six-month award and its renewal):
its cells equal the month-by-month loop's for every right, window and decision day, and a right whose versions share
a month, or one of which has no month left (a correction past its award's end), goes the month-by-month way."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from benchmarks import workloads
from engine import entitlement
from engine.months import parse_period
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from tests.engine.test_generated_registers import one_pass_and_monthly_equal

PERIOD = "2025-12"


def renewals(households: int) -> dict:
    """UA_DSD rights of the benchmark's households, an award from January and its renewal from July, with every 5th
    renewal decided on 2025-10-01 (after the decision day asked below), every 7th from September (a gap), every
    11th a correction of the January award from August (no month left once the award ends in June) and every 13th
    from 2025-06-15 (June touched by both)."""
    catalogue = load_catalogue(country="ua")
    people = workloads.make_households(households, seed=3)
    tables = workloads.register_tables(people, "UA_DSD", people.income_uah_minor, award_months=6)
    rights = tables["rights"]
    right_id = rights.column("right_id").to_numpy()
    renewal = rights.column("version").to_numpy() == 2
    valid_from = np.array(rights.column("valid_from").to_pylist(), dtype=object)
    decided = np.array(rights.column("decided_on").to_pylist(), dtype=object)
    for every, start, decided_on in ((5, None, dt.date(2025, 10, 1)), (7, dt.date(2025, 9, 1), None),
                                     (11, dt.date(2025, 8, 1), workloads.RIGHTS_DECIDED),
                                     (13, dt.date(2025, 6, 15), None)):
        rows = renewal & (right_id % every == 0)
        if start is not None:
            valid_from[rows] = start
        if decided_on is not None:
            decided[rows] = decided_on
    for name, values in (("valid_from", valid_from), ("decided_on", decided)):
        rights = rights.set_column(rights.schema.get_field_index(name), name, pa.array(list(values), pa.date32()))
    tables["rights"] = rights
    return {"catalogue": catalogue, "arrays": register_arrays(tables, catalogue)}


@pytest.fixture(scope="module")
def register():
    return renewals(3000)


def served(arrays, compiled) -> tuple[int, int]:
    """(rights of several versions the one pass serves, those it leaves to the month-by-month loop)."""
    offsets, ver32 = arrays.version_offsets, arrays.packed.ver32
    several = np.flatnonzero(np.diff(offsets) > 1)
    kinds = compiled.kind[np.asarray(arrays.right_benefit, np.int64)]
    one_pass = [bool(entitlement._one_pass_versions.py_func(offsets[r], offsets[r + 1], kinds[r], ver32))
                for r in several]
    return sum(one_pass), len(one_pass) - sum(one_pass)


def test_versions_with_months_of_their_own_take_the_one_pass_and_equal_the_monthly_loop(register, monkeypatch):
    arrays, catalogue = register["arrays"], register["catalogue"]
    period = parse_period(PERIOD)
    starts = (period - np.random.default_rng(5).integers(0, 12, arrays.n_rights)).astype(np.int32)
    compiled = catalogue.compile(*entitlement.compiled_range(starts, period, catalogue.first_month()))
    one_pass, monthly = served(arrays, compiled)
    assert one_pass > 2000 and monthly > 300, (one_pass, monthly)  # both ways are taken
    decided_by = entitlement.month_first_day(parse_period("2025-09")) + 14  # before every 5th renewal's decision
    for want in one_pass_and_monthly_equal(arrays, compiled, period, starts, decided_by, monkeypatch):
        assert (want.due_minor > 0).sum() > 10_000


def test_a_renewal_decided_after_the_day_asked_pays_nothing_in_its_months(register, monkeypatch):
    """As decided on 2025-09-15, every 5th right's renewal (decided 2025-10-01) does not exist: July to December
    are due 0 on those rights and the award's months are paid, whichever way the kernel goes."""
    arrays, catalogue = register["arrays"], register["catalogue"]
    period = parse_period(PERIOD)
    start = parse_period("2025-01")
    compiled = catalogue.compile(*entitlement.compiled_range(start, period, catalogue.first_month()))
    decided_by = entitlement.month_first_day(parse_period("2025-09")) + 14
    cells = entitlement.compute_due(arrays, compiled, period, start, decided_by_day=decided_by)
    due = cells.due_minor.reshape(arrays.n_rights, 12)
    late = (arrays.right_ids % 5 == 0) & (arrays.right_ids % 7 != 0) & (arrays.right_ids % 11 != 0) \
        & (arrays.right_ids % 13 != 0)
    assert late.sum() > 300
    assert (due[late, 6:] == 0).all()
    assert (due[late, :6] > 0).any(axis=1).mean() > 0.5
