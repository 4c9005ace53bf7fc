"""Due minus recognised: due, arrears and overpayments; one-offs and lump sums are never paid twice."""
import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.arrears import (COMPONENT_ARREARS, COMPONENT_DUE, COMPONENT_OVERPAYMENT, differences,
                            right_totals)
from engine.entitlement import DueCells, compute_due, month_first_day, window_starts
from engine.months import parse_period
from entitlement_tables import tables
from formats.catalogue import load_catalogue
from formats.convert import register_arrays

D = dt.date


def cells_of(due_by_right, start_by_right):
    """DueCells from {right: [due per month from its start]}."""
    rights = sorted(due_by_right)
    lengths = [len(due_by_right[r]) for r in rights]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    right_index = np.repeat(np.arange(len(rights), dtype=np.int32), lengths)
    month = np.concatenate([np.arange(start_by_right[r], start_by_right[r] + n) for r, n in zip(rights, lengths)])
    due = np.concatenate([due_by_right[r] for r in rights]).astype(np.int64)
    return DueCells(right_index, month.astype(np.int32), due, np.zeros(len(due), bool), offsets)


def test_differences_are_classified_by_month_and_sign():
    cells = cells_of({0: [100, 100, 100], 1: [70]}, {0: 10, 1: 12})
    diffs = differences(cells, 12, [0, 0, 1, 0], [10, 11, 12, 9], [100, 150, 20, 999])
    assert diffs.right_index.tolist() == [0, 0, 1]
    assert diffs.month.tolist() == [11, 12, 12]
    assert diffs.component.tolist() == [COMPONENT_OVERPAYMENT, COMPONENT_DUE, COMPONENT_DUE]
    assert diffs.amount_minor.tolist() == [-50, 100, 50]
    totals = right_totals(diffs, 2)
    assert totals.due_minor.tolist() == [100, 50] and totals.overpayment_minor.tolist() == [50, 0]
    assert totals.arrears_minor.tolist() == [0, 0]


def test_earlier_months_are_arrears():
    cells = cells_of({0: [100, 100, 100]}, {0: 10})
    diffs = differences(cells, 12, [0], [12], [100])
    assert diffs.component.tolist() == [COMPONENT_ARREARS, COMPONENT_ARREARS]
    assert right_totals(diffs, 1).arrears_minor.tolist() == [200]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)), min_size=1, max_size=30),
       st.integers(0, 29))
def test_components_add_up_to_due_minus_recognised(pairs, shift):
    due = np.array([p[0] for p in pairs], dtype=np.int64)
    recognised = np.array([p[1] for p in pairs], dtype=np.int64)
    start = 600
    period = start + len(pairs) - 1 - min(shift, len(pairs) - 1)
    cells = cells_of({0: due[:period - start + 1]}, {0: start})
    months = np.arange(start, start + len(pairs))
    diffs = differences(cells, period, np.zeros(len(pairs), np.int64), months, recognised)
    window = period - start + 1
    expected = due[:window] - recognised[:window]
    rebuilt = np.zeros(window, dtype=np.int64)
    rebuilt[diffs.month - start] = diffs.amount_minor
    assert rebuilt.tolist() == expected.tolist()
    assert np.all((diffs.component == COMPONENT_OVERPAYMENT) == (diffs.amount_minor < 0))


# ---- on a register -----------------------------------------------------------------------------------------

PERSONS = [dict(person_id=1, birth_date=D(1990, 1, 1)), dict(person_id=2, birth_date=D(1950, 1, 1),
                                                              death_date=D(2024, 7, 10))]


def run(versions, period_text, start, recognised=((), (), ()), persons=PERSONS, country="me"):
    catalogue = load_catalogue(country=country)
    arrays = register_arrays(tables(persons, [], versions), catalogue)
    period = parse_period(period_text)
    cells = compute_due(arrays, catalogue.compile_window(start, period), period, start)
    return differences(cells, period, *[np.asarray(x, dtype=np.int64) for x in recognised])


def paid_as_recognised(diffs):
    """What the ledger would recognise after paying these differences (overpayments recovered in full)."""
    return diffs.right_index.astype(np.int64), diffs.month.astype(np.int64), diffs.amount_minor


def merge(*recognised):
    return tuple(np.concatenate([r[i] for r in recognised]) for i in range(3))


def test_one_off_is_never_paid_twice():
    versions = [dict(right_id=1, version=1, benefit="ME_NOVOROD", person_id=1, valid_from=D(2024, 7, 5),
                     decided_on=D(2024, 9, 2), birth_order=2)]
    july, september = parse_period("2024-07"), parse_period("2024-09")
    first = run(versions, "2024-09", july)  # decided late: the grant is arrears for July
    assert first.component.tolist() == [COMPONENT_ARREARS] and first.amount_minor.tolist() == [150000]
    again = run(versions, "2024-09", july, paid_as_recognised(first))
    assert len(again.amount_minor) == 0
    later = run(versions, "2024-12", july, paid_as_recognised(first))
    assert len(later.amount_minor) == 0
    assert len(run(versions, "2024-12", september).amount_minor) == 0


def test_lump_sum_is_paid_once_and_instalments_follow():
    versions = [dict(right_id=1, version=1, benefit="RS_RODITELJSKI", person_id=1, valid_from=D(2025, 3, 10),
                     decided_on=D(2025, 3, 20), birth_order=2)]
    march, april = parse_period("2025-03"), parse_period("2025-04")
    first = run(versions, "2025-03", march, country="rs")
    assert first.amount_minor.tolist() == [135000]
    second = run(versions, "2025-04", march, paid_as_recognised(first), country="rs")
    assert second.month.tolist() == [april] and second.amount_minor.tolist() == [25000]
    third = run(versions, "2025-04", march, merge(paid_as_recognised(first), paid_as_recognised(second)),
                country="rs")
    assert len(third.amount_minor) == 0


def test_payments_after_a_death_become_an_overpayment():
    versions = [dict(right_id=1, version=1, benefit="ME_DNJP", person_id=2, valid_from=D(2024, 5, 1),
                     decided_on=D(2024, 5, 1))]
    paid_months = [parse_period(m) for m in ("2024-05", "2024-06", "2024-07", "2024-08", "2024-09")]
    amounts = [8724, 8724, 8916, 8916, 8916]
    recognised = (np.zeros(5, np.int64), np.array(paid_months), np.array(amounts))
    catalogue = load_catalogue()
    arrays = register_arrays(tables(PERSONS, [], versions), catalogue)
    october = parse_period("2024-10")
    starts = window_starts(arrays, october, 24, month_first_day(october))
    assert starts.tolist() == [parse_period("2024-07")]  # from the death month: a whole month stays paid
    cells = compute_due(arrays, catalogue.compile_window(starts, october), october, starts)
    diffs = differences(cells, october, *recognised)
    assert diffs.component.tolist() == [COMPONENT_OVERPAYMENT, COMPONENT_OVERPAYMENT]
    assert diffs.amount_minor.tolist() == [-8916, -8916]
    assert right_totals(diffs, 1).overpayment_minor.tolist() == [17832]


def test_a_late_death_within_a_day_prorated_month_recovers_the_days_after_it():
    """Readings 9: a day-prorated month pays through the day of death, so a death recorded after that month was
    paid in full recovers the rest of it as well as every later month (the window reaches the death month)."""
    persons = [dict(person_id=1, birth_date=D(1995, 1, 1), death_date=D(2024, 10, 10)),
               dict(person_id=2, birth_date=D(1995, 1, 1), death_date=D(2024, 9, 10))]
    versions = [dict(right_id=1, version=1, benefit="ME_MAT", person_id=1, valid_from=D(2024, 9, 1),
                     decided_on=D(2024, 9, 1)),
                dict(right_id=2, version=1, benefit="ME_MAT", person_id=2, valid_from=D(2024, 9, 1),
                     decided_on=D(2024, 9, 1))]
    september, october, november = (parse_period(m) for m in ("2024-09", "2024-10", "2024-11"))
    recognised = (np.array([0, 0, 1, 1]), np.array([september, october, september, october]),
                  np.array([10782, 10782, 10782, 10782]))  # both months paid in full before the deaths were known
    catalogue = load_catalogue()
    arrays = register_arrays(tables(persons, [], versions), catalogue)
    starts = window_starts(arrays, november, 24, month_first_day(november))
    assert starts.tolist() == [october, september]
    cells = compute_due(arrays, catalogue.compile_window(starts, november), november, starts)
    diffs = differences(cells, november, *recognised)
    # 107.82 x 10/31 = 34.78 kept of October; 107.82 x 10/30 = 35.94 kept of September, October all recovered
    assert list(zip(diffs.right_index.tolist(), diffs.month.tolist(), diffs.amount_minor.tolist())) == [
        (0, october, -(10782 - 3478)), (1, september, -(10782 - 3594)), (1, october, -10782)]


def test_retroactive_increase_is_paid_as_arrears():
    versions = [
        dict(right_id=1, version=1, benefit="ME_LI", person_id=1, valid_from=D(2024, 7, 1), valid_to=D(2024, 8, 31),
             decided_on=D(2024, 7, 1), grade=2),
        dict(right_id=1, version=2, benefit="ME_LI", person_id=1, valid_from=D(2024, 9, 1),
             decided_on=D(2024, 10, 3), grade=1),
    ]
    catalogue = load_catalogue()
    arrays = register_arrays(tables(PERSONS, [], versions), catalogue)
    october = parse_period("2024-10")
    starts = window_starts(arrays, october, 24, month_first_day(october))
    assert starts.tolist() == [parse_period("2024-09")]
    cells = compute_due(arrays, catalogue.compile_window(starts, october), october, starts)
    recognised = (np.zeros(1, np.int64), np.array([parse_period("2024-09")]), np.array([19244]))
    diffs = differences(cells, october, *recognised)
    assert diffs.component.tolist() == [COMPONENT_ARREARS, COMPONENT_DUE]
    assert diffs.amount_minor.tolist() == [30390 - 19244, 30390]
