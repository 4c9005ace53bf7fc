"""Entry points of engine/entitlement.py: windows per right, modes of compute_due, read-only input, guards."""
import datetime as dt

import numpy as np
import pytest

from engine.catalogue import compile_catalogue
from engine.entitlement import (compiled_range, compute_due, div_half_up, month_first_day, window_starts)
from engine.months import date_to_days, parse_period
from entitlement_tables import tables
from formats.catalogue import load_catalogue
from formats.convert import register_arrays

D = dt.date
P = parse_period


def register(versions, persons=None, members=()):
    persons = persons or [dict(person_id=1, birth_date=D(1980, 1, 1)), dict(person_id=2, birth_date=D(2010, 1, 1))]
    catalogue = load_catalogue()
    return register_arrays(tables(persons, members, versions), catalogue), catalogue


def flat(right_id, valid_from, decided_on, person_id=1, household_id=None, version=1, valid_to=None):
    return dict(right_id=right_id, version=version, benefit="ME_DNJP", person_id=person_id,
                household_id=household_id, valid_from=valid_from, valid_to=valid_to, decided_on=decided_on)


def test_helpers_round_half_up_and_find_month_starts():
    assert [div_half_up(n, 10) for n in (14, 15, -15, 25, 0)] == [1, 2, -2, 3, 0]
    assert month_first_day(P("2024-03")) == date_to_days(D(2024, 3, 1))
    assert month_first_day(P("1970-01")) == 0
    assert month_first_day(P("2100-03")) == date_to_days(D(2100, 3, 1))


def test_window_starts_follow_recent_decisions_only():
    versions = [flat(1, D(2024, 5, 1), D(2024, 5, 1)),              # old decision: period only
                flat(2, D(2024, 3, 1), D(2024, 10, 2)),             # retroactive, decided in the period
                flat(3, D(2022, 1, 1), D(2024, 10, 5)),             # retroactive beyond the lookback
                flat(4, D(2024, 12, 1), D(2024, 10, 5)),            # valid from the future
                flat(5, D(2024, 6, 1), D(2024, 11, 3))]             # decided after the period: ignored
    arrays, _ = register(versions)
    october = P("2024-10")
    starts = window_starts(arrays, october, 12, date_to_days(D(2024, 10, 1)))
    assert starts.tolist() == [october, P("2024-03"), P("2023-10"), october, october]


def test_window_starts_follow_household_events_within_the_event_lookback():
    persons = [dict(person_id=1, birth_date=D(1980, 1, 1)), dict(person_id=2, birth_date=D(2024, 8, 31)),
               dict(person_id=3, birth_date=D(1950, 1, 1), death_date=D(2024, 3, 3))]
    members = [dict(household_id=7, person_id=1, role="head", member_from=D(2000, 1, 1)),
               dict(household_id=7, person_id=2, role="child", member_from=D(2024, 8, 31)),
               dict(household_id=8, person_id=3, role="head", member_from=D(2000, 1, 1))]
    versions = [dict(right_id=1, version=1, benefit="ME_DD", person_id=1, household_id=7, valid_from=D(2024, 1, 1),
                     decided_on=D(2024, 1, 1)),
                dict(right_id=2, version=1, benefit="ME_MO", person_id=1, household_id=8, valid_from=D(2024, 1, 1),
                     decided_on=D(2024, 1, 1))]
    arrays, _ = register(versions, persons, members)
    october = P("2024-10")
    starts = window_starts(arrays, october, 24, date_to_days(D(2024, 10, 1)), event_lookback_months=3)
    assert starts.tolist() == [P("2024-08"), october]  # the March death is older than the event lookback
    starts = window_starts(arrays, october, 24, date_to_days(D(2024, 10, 1)), event_lookback_months=12)
    assert starts.tolist() == [P("2024-08"), P("2024-04")]


def test_compute_due_modes_give_the_same_cells():
    versions = [flat(1, D(2024, 5, 1), D(2024, 5, 1)), flat(2, D(2024, 8, 1), D(2024, 8, 1))]
    arrays, catalogue = register(versions)
    period = P("2024-09")
    compiled = catalogue.compile_window(P("2024-05"), period)
    one_month = compute_due(arrays, compiled, period)
    assert one_month.due_minor.tolist() == [8916, 8916] and one_month.month.tolist() == [period, period]
    mass = compute_due(arrays, compiled, period, P("2024-05"))
    per_right = compute_due(arrays, compiled, period, np.array([P("2024-05"), P("2024-05")]))
    assert mass.due_minor.tolist() == per_right.due_minor.tolist()
    assert mass.due_minor.tolist() == [8724, 8724, 8916, 8916, 8916, 0, 0, 0, 8916, 8916]
    assert mass.offsets.tolist() == [0, 5, 10]


def test_read_only_arrays_are_accepted():
    versions = [flat(1, D(2024, 5, 1), D(2024, 5, 1))]
    arrays, catalogue = register(versions)
    frozen = []
    for value in arrays:
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.flags.writeable = False
        frozen.append(value)
    arrays = type(arrays)(*frozen)
    period = P("2024-09")
    cells = compute_due(arrays, catalogue.compile_window(period, period), period)
    assert cells.due_minor.tolist() == [8916]


def test_months_without_rules_are_flagged():
    versions = [dict(right_id=1, version=1, benefit="ME_NJEG", person_id=1, valid_from=D(2024, 5, 1),
                     decided_on=D(2024, 5, 1))]
    arrays, catalogue = register(versions)
    period = P("2024-07")
    cells = compute_due(arrays, catalogue.compile_window(P("2024-05"), period), period, P("2024-05"))
    assert cells.rule_missing.tolist() == [True, True, False]
    assert cells.due_minor.tolist() == [0, 0, 26331]


def test_a_catalogue_compiled_for_too_few_months_is_refused():
    versions = [flat(1, D(2024, 5, 1), D(2024, 5, 1))]
    arrays, catalogue = register(versions)
    compiled = catalogue.compile(P("2024-09"), P("2024-09"))
    with pytest.raises(ValueError, match="compile"):
        compute_due(arrays, compiled, P("2024-09"))
    assert compiled_range(P("2024-05"), P("2024-09")) == (P("2024-01"), P("2024-09"))


def test_indexation_decided_late_is_a_mass_recalculation():
    """The July indexation reaches the catalogue in December: recompute every right from July."""
    versions = [flat(r, D(2024, 1, 1), D(2024, 1, 1)) for r in range(1, 4)]
    arrays, catalogue = register(versions)
    data = catalogue.engine_data()
    old = [dict(b) for b in data]
    for benefit in old:
        if benefit["code"] == "ME_DNJP":
            benefit["parameters"] = {"amount": [(P("2024-01"), [8724])]}
    period = P("2024-12")
    before = compute_due(arrays, compile_catalogue(old, P("2024-01"), period), period, P("2024-07"))
    after = compute_due(arrays, compile_catalogue(data, P("2024-01"), period), period, P("2024-07"))
    assert set(before.due_minor.tolist()) == {8724} and set(after.due_minor.tolist()) == {8916}
    assert len(after.due_minor) == 3 * 6


def test_months_of_days_matches_numpy_and_keeps_never():
    from engine.entitlement import NO_DAY, NO_MONTH, months_of_days

    days = np.concatenate([np.arange(-400_000, 400_000, 13), [NO_DAY]]).astype(np.int32)
    expected = days[:-1].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    months = months_of_days(days)
    assert months[:-1].tolist() == expected.tolist() and months[-1] == NO_MONTH
    firsts = np.array([month_first_day(int(m)) for m in range(0, 3000, 7)])
    assert months_of_days(firsts.astype(np.int32)).tolist() == list(range(0, 3000, 7))
    # days close together (the register's usual case) go through a day -> month table: same months
    clustered = np.random.default_rng(5).permutation(np.concatenate([np.arange(-30_000, 30_000, 3), [NO_DAY] * 9]))
    clustered = clustered.astype(np.int32)
    months = months_of_days(clustered)
    known = clustered != NO_DAY
    expected = clustered[known].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assert months[known].tolist() == expected.tolist() and (months[~known] == NO_MONTH).all()
    assert months_of_days(np.full(4, NO_DAY, dtype=np.int32)).tolist() == [NO_MONTH] * 4
    assert months_of_days(np.zeros(0, dtype=np.int32)).tolist() == []


def scenario_cells(name):
    """compute_due over one of tests/engine/scenarios: {right_id: [(month, due, reason)]} of its window."""
    from test_scenarios import SCENARIOS, load_scenario

    doc, catalogue, persons, members, versions, _expected, _facts = load_scenario(
        next(p for p in SCENARIOS if p.stem == name))
    period, start = P(doc["period"]), P(doc["window_from"])
    arrays = register_arrays(tables(persons, members, versions), catalogue)
    cells = compute_due(arrays, catalogue.compile_window(start, period), period, start)
    out = {}
    for r, m, due, reason in zip(cells.right_index, cells.month, cells.due_minor, cells.reason):
        out.setdefault(int(arrays.right_ids[r]), []).append((int(m), int(due), int(reason)))
    return out


def test_a_claim_out_of_time_is_due_0_with_its_reason():
    """Readings 5: ME_NOVOROD applied 13 months after the birth month is due 0 and marked, not silently 0."""
    from engine.entitlement import REASON_LATE_CLAIM, REASON_NONE

    cells = scenario_cells("reading_05_claim_window_me")
    birth = P("2025-09")
    assert (birth, 100_000, REASON_NONE) in cells[1]
    assert [c for c in cells[2] if c[2] != REASON_NONE] == [(birth, 0, REASON_LATE_CLAIM)]


def test_a_burial_grant_without_family_assistance_is_due_0_with_its_reason():
    """Readings 12: 2 x the household's UA_DSD in the month of death; none that month: 0, marked."""
    from engine.entitlement import REASON_NO_FAMILY_BENEFIT, REASON_NONE

    cells = scenario_cells("reading_12_burial_ua")
    august = P("2025-08")
    assert (august, 635_560, REASON_NONE) in cells[2]
    assert [c for c in cells[3] if c[2] != REASON_NONE] == [(august, 0, REASON_NO_FAMILY_BENEFIT)]


def test_days_share_pays_the_days_of_the_month_the_version_and_life_cover():
    """_days_share (the days policy of the one pass) is full x days paid / days in month, rounded half up, for
    versions and deaths on every day around the months of a leap year, whole months (its shortcut) included."""
    from engine import entitlement as e
    full, months = 123_457, [P("2024-01"), P("2024-02"), P("2024-04"), P("2025-02")]
    ver32 = np.zeros((1, 13), dtype=np.int32)
    person32 = np.zeros((1, 5), dtype=np.int32)
    whole = 0
    for m in months:
        first, following = month_first_day(m), month_first_day(m + 1)
        for from_day in range(first - 2, first + 3):
            for to_day in [following - 3, following - 2, following - 1, following, e.NO_DAY]:
                for death_day in [first + 10, following - 1, e.NO_DAY]:
                    ver32[0, e.V_FROM_DAY], ver32[0, e.V_TO_DAY] = from_day, to_day
                    person32[0, e.P_DEATH_DAY] = death_day
                    for stops in (True, False):
                        last = min(to_day, following - 1, death_day if stops else e.NO_DAY)
                        days = last - max(from_day, first) + 1
                        expected = 0 if days <= 0 else div_half_up(full * days, following - first)
                        whole += expected == full
                        assert e._days_share(0, m, full, stops, ver32, person32) == expected, (m, from_day, to_day)
    assert whole > 20


def test_a_fixed_term_award_ends_after_its_months_whatever_its_valid_to():
    """RULES.md UA_DSD: "awarded from the month of application for 6 months, renewed": an open-ended version (or
    one running longer) is in force for six months; the renewal is a new version (formats/awards.py)."""
    from entitlement_tables import engine_due

    catalogue = load_catalogue(country="ua")
    persons = [dict(person_id=1, birth_date=dt.date(1990, 1, 1))]
    members = [dict(household_id=1, person_id=1, role="head", member_from=dt.date(1990, 1, 1))]
    open_ended = dict(right_id=1, version=1, benefit="UA_DSD", person_id=1, household_id=1, payee_id=1,
                      valid_from=dt.date(2025, 1, 1), decided_on=dt.date(2025, 1, 5), income_minor=0)
    longer = dict(open_ended, right_id=2, valid_to=dt.date(2025, 12, 31))
    renewed = [dict(open_ended, right_id=3, valid_to=dt.date(2025, 6, 30)),
               dict(open_ended, right_id=3, version=2, valid_from=dt.date(2025, 7, 1), decided_on=dt.date(2025, 6, 20))]
    due = engine_due(persons, members, [open_ended, longer, *renewed], catalogue, P("2025-08"), P("2025-01"))
    for right in (1, 2):
        assert [due[(right, P(f"2025-{m:02d}"))][0] for m in range(1, 9)] == [181_680] * 6 + [0, 0]
    assert [due[(3, P(f"2025-{m:02d}"))][0] for m in range(1, 9)] == [181_680] * 8


def test_a_correction_within_an_award_keeps_its_end_and_a_renewal_starts_its_own():
    """Versions with one application day are one award: an income change from March of an award applied for in
    January still ends in June; a renewal applied for in June runs its own six months."""
    from entitlement_tables import engine_due

    catalogue = load_catalogue(country="ua")
    persons = [dict(person_id=1, birth_date=dt.date(1990, 1, 1))]
    members = [dict(household_id=1, person_id=1, role="head", member_from=dt.date(1990, 1, 1))]
    first = dict(right_id=1, version=1, benefit="UA_DSD", person_id=1, household_id=1, payee_id=1,
                 valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 2, 28), decided_on=dt.date(2025, 1, 5),
                 applied_on=dt.date(2025, 1, 2), income_minor=0)
    corrected = dict(first, version=2, valid_from=dt.date(2025, 3, 1), valid_to=None, decided_on=dt.date(2025, 3, 5),
                     income_minor=10_000)
    renewed = dict(first, version=3, valid_from=dt.date(2025, 7, 1), valid_to=None, decided_on=dt.date(2025, 6, 25),
                   applied_on=dt.date(2025, 6, 20))
    due = engine_due(persons, members, [first, corrected], catalogue, P("2025-08"), P("2025-01"))
    assert [due[(1, P(f"2025-{m:02d}"))][0] for m in range(1, 9)] == [181_680] * 2 + [171_680] * 4 + [0, 0]
    corrected["valid_to"] = dt.date(2025, 6, 30)
    due = engine_due(persons, members, [first, corrected, renewed], catalogue, P("2025-08"), P("2025-01"))
    assert [due[(1, P(f"2025-{m:02d}"))][0] for m in range(1, 9)] == [181_680] * 2 + [171_680] * 4 + [181_680] * 2
