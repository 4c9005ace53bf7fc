"""The entitlement kernels equal the plain-Python reference on every cell of random registers (hypothesis).

Registers are drawn with the edge cases of the issue in mind: births on the last day of a month (and on
29 February), deaths on the 1st, versions valid from the future or decided after the period, incomes above
every threshold, households without children, more children than the cap (and twins), changes mid-month,
windows that cross an indexation date or start before a catalogue's first date.
"""
import dataclasses
import datetime as dt
import functools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.months import month_index
from entitlement_tables import engine_due
from formats.catalogue import load_catalogue
from reference_entitlement import Reference, first_day, last_day, month_of

COUNTRIES = ("me", "rs", "ua")
EXAMPLES = int(os.environ.get("ISPLATA_HYPOTHESIS_EXAMPLES", "120"))  # raise for a deeper search


# What-if prices for the unpriced benefits of a kind no priced benefit has (wage_replacement: research status N),
# so the property covers every formula: 80 % of the base, at least 1,000.00 and at most 20,000.00 (in the
# currency's minor units; illustrative, not the law's).
WHAT_IF_PRICES = {"wage_replacement": {"replacement_bp": (8_000,), "floor_amount": (100_000,),
                                       "ceiling_amount": (2_000_000,)}}


@functools.lru_cache(maxsize=None)
def catalogue(country):
    loaded = load_catalogue(country=country)
    benefits = []
    for benefit in loaded.benefits:
        prices = WHAT_IF_PRICES.get(benefit.kind) if benefit.unpriced else None
        if prices:
            parameters = {name: ((dt.date(2024, 1, 1), values),) for name, values in prices.items()}
            # prorated by days (leave is paid by the day), so a month without a wage base meets the days policy too
            benefit = dataclasses.replace(benefit, parameters=parameters, unpriced="", proration="days")
        benefits.append(benefit)
    return dataclasses.replace(loaded, benefits=tuple(benefits))


def edge_days(low: dt.date, high: dt.date):
    """Any day in [low, high], with the first and last days of months (and 29 February) drawn often."""
    months = st.integers(month_of(low), month_of(high))
    first = months.map(first_day)
    last = months.map(last_day)
    anywhere = st.dates(low, high)
    leap = st.sampled_from([dt.date(2016, 2, 29), dt.date(2020, 2, 29), dt.date(2024, 2, 29)])
    return st.one_of(first, last, anywhere, leap).filter(lambda d: low <= d <= high)


@st.composite
def registers(draw):
    country = draw(st.sampled_from(COUNTRIES))
    cat = catalogue(country)
    period = draw(st.one_of(st.integers(month_index(2025, 7), month_index(2026, 6)),
                            st.integers(month_index(2024, 1), month_index(2026, 6))))
    start = period - draw(st.sampled_from([0, 0, 1, 3, 7, 12, 24]))
    horizon = last_day(period + 3)
    n_persons = draw(st.integers(1, 9))
    persons = []
    for person_id in range(1, n_persons + 1):
        birth = draw(st.one_of(edge_days(dt.date(1950, 1, 1), dt.date(2005, 12, 31)),
                               edge_days(dt.date(2006, 1, 1), first_day(period - 2)),
                               edge_days(first_day(period - 80), horizon)))
        recent_death = edge_days(max(birth, first_day(period - 8)), horizon)
        death = draw(st.one_of(st.none(), st.none(), st.none(), recent_death, edge_days(birth, horizon)))
        persons.append(dict(person_id=person_id, birth_date=birth, death_date=death,
                            disabled=draw(st.booleans()), without_parental_care=draw(st.booleans())))
    n_households = draw(st.integers(1, 3))
    memberships = []
    for person in persons:
        household = draw(st.one_of(st.just(1), st.integers(0, n_households)))
        if household == 0:
            continue
        member_from = draw(st.one_of(st.just(person["birth_date"]), edge_days(person["birth_date"], horizon)))
        member_to = draw(st.one_of(st.none(), st.none(), st.none(), edge_days(member_from, horizon)))
        role = draw(st.sampled_from(["child", "child", "adult", "head"]))
        memberships.append(dict(household_id=100 + household, person_id=person["person_id"], role=role,
                                member_from=member_from, member_to=member_to))
    versions = []
    for right_id in range(1, draw(st.integers(1, 5)) + 1):
        versions += draw(right_versions(right_id, cat, persons, n_households, period))
    known_households = sorted({m["household_id"] for m in memberships}
                              | {v["household_id"] for v in versions if v["household_id"] is not None})
    facts = dict(housing_costs=draw(dated_amounts("household_id", known_households, "cost_minor", period)),
                 wage_bases=draw(dated_amounts("person_id", range(1, n_persons + 1), "base_minor", period)))
    facts["titles"] = draw(maintenance_titles(persons, period))
    return cat, persons, memberships, versions, period, start, facts


@st.composite
def dated_amounts(draw, key, key_values, column, period):
    """housing_costs / wage_bases rows: each key from before any version (the register refuses a version without
    one in its first month), then maybe a gap (months due 0, listed) and a later amount."""
    rows = []
    for key_value in key_values:
        first_end = draw(st.one_of(st.none(), edge_days(first_day(period - 12), last_day(period + 2))))
        rows.append({key: key_value, "valid_from": first_day(period - 40), "valid_to": first_end,
                     column: draw(st.sampled_from([0, 1, 150_000, 4_321_99, 10**9]))})
        if first_end is not None and draw(st.booleans()):
            later = first_end + dt.timedelta(days=draw(st.sampled_from([1, 1, 40])))
            rows.append({key: key_value, "valid_from": later, "valid_to": None,
                         column: draw(st.sampled_from([0, 99_999, 2_000_000]))})
    return rows


@st.composite
def maintenance_titles(draw, persons, period):
    """maintenance_titles rows (maintenance_advance): at most one per child and two in all, so the examples stay
    small beside the housing costs and wage bases (a larger draw overruns Hypothesis's buffer)."""
    horizon = last_day(period + 3)
    children = draw(st.lists(st.sampled_from([p["person_id"] for p in persons]), max_size=2, unique=True))
    titles = []
    for child in children:
        valid_from = draw(edge_days(first_day(period - 30), horizon))
        valid_to = draw(st.one_of(st.none(), edge_days(valid_from, horizon)))
        monthly = draw(st.one_of(st.none(), st.integers(0, 500_000)))
        debtor = draw(st.sampled_from([p["person_id"] for p in persons]))
        titles.append(dict(title_id=len(titles) + 1, child_id=child, debtor_id=debtor, monthly_minor=monthly,
                           valid_from=valid_from, valid_to=valid_to))
    return titles


@st.composite
def right_versions(draw, right_id, cat, persons, n_households, period, code=None):
    benefit = cat.benefit(code or draw(st.sampled_from([b.code for b in cat.benefits if not b.unpriced])))
    person_id = draw(st.integers(1, len(persons)))
    household = draw(st.one_of(st.just(101), st.none(), st.integers(101, 100 + n_households)))
    if household is None and benefit.kind == "housing_cost_minus_share":
        household = 101  # the register refuses a housing subsidy without its household (and housing cost)
    low, high = first_day(period - 30), last_day(period + 2)
    recent = edge_days(first_day(period - 14), last_day(period))
    cuts = sorted(set(draw(st.lists(st.one_of(recent, recent, edge_days(low, high)), min_size=1, max_size=4))))
    rows, version = [], 1
    award = benefit.info.get("award_months", 0) if benefit.kind == "per_member_category" else 0
    if benefit.kind == "monthly_rate_times_days":  # a period of days of an allowed length, maybe split in two
        cuts = leave_cuts(draw, benefit, draw(st.one_of(edge_days(first_day(period - 2), last_day(period)), recent,
                                                        edge_days(low, high))))
    for position, valid_from in enumerate(cuts):
        following = cuts[position + 1] if position + 1 < len(cuts) else None
        if benefit.kind == "monthly_rate_times_days":
            if following is None:
                break  # the last cut is the day after the period
            valid_to = following - dt.timedelta(days=1)
        elif following is not None:
            valid_to = following - dt.timedelta(days=draw(st.sampled_from([1, 1, 20])))
            if valid_to < valid_from:
                continue
        else:
            valid_to = draw(st.one_of(st.none(), edge_days(valid_from, high)))
        if award:  # a fixed-term award: at most award_months months (a longer one is refused at register load)
            longest = last_day(month_of(valid_from) + award - 1)
            valid_to = min(valid_to or longest, longest)
        decided_on = draw(st.one_of(st.just(valid_from), st.just(valid_from),
                                    edge_days(low, high + dt.timedelta(days=40))))
        grades = len(benefit.parameters["amount_by_grade"][0][1]) if benefit.kind == "graded_flat" else 3
        rows.append(dict(
            right_id=right_id, version=version, benefit=benefit.code, person_id=person_id, household_id=household,
            valid_from=valid_from, valid_to=valid_to, decided_on=decided_on,
            income_minor=draw(st.sampled_from([0, 0, 0, 1, 2_500, 40_000, 1_200_000, 10**9])),
            grade=draw(st.integers(1, grades)), birth_order=draw(st.integers(1, 6)),
            amount_minor=draw(st.integers(0, 10**7)), mo_family=draw(st.booleans()),
            applied_on=draw(st.one_of(st.none(), st.just(decided_on - dt.timedelta(days=draw(st.sampled_from(
                [0, 20, 330, 366, 400, 700])))))),
            single_parent=draw(st.booleans()), unable_to_work=draw(st.booleans()),
            other_payment_minor=draw(st.sampled_from([None, 0, 1, 1_000_000, 3_885_200, 10**8])),
            subgroup=draw(st.sampled_from([None, None, 1, 2]))))
        version += 1
    return rows


def leave_cuts(draw, benefit, first):
    """First days of the versions of a period of days, then the day after it: a length the catalogue allows on the
    first day (any of them before its first date), as one version or two (a lengthening decided later)."""
    allowed = benefit.value_on("period_days_allowed", first) or benefit.parameters["period_days_allowed"][0][1]
    end = first + dt.timedelta(days=draw(st.sampled_from(allowed)))
    cuts = [first, end]
    if draw(st.booleans()):
        cuts.insert(1, first + dt.timedelta(days=draw(st.sampled_from([1, 30, 125]))))
    return cuts


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(registers())
def test_engine_equals_reference_on_every_cell(register):
    cat, persons, memberships, versions, period, start, facts = register
    engine = engine_due(persons, memberships, versions, cat, period, start, **facts)
    reference = Reference(persons, memberships, versions, cat, **facts)
    right_ids = sorted({v["right_id"] for v in versions})
    expected = {}
    for right_id in right_ids:
        for month, amount in reference.window(right_id, start, period).items():
            missing = reference.due(right_id, month, period) is None
            expected[(right_id, month)] = (amount, missing)
    assert engine == expected


@st.composite
def leave_registers(draw):
    """Ukrainian registers of 2026 with rights of the periods of days (monthly_rate_times_days) beside others: the
    general draw meets them too rarely (one benefit of many, priced from 2026 only) to test them."""
    cat = catalogue("ua")
    period = draw(st.integers(month_index(2026, 1), month_index(2026, 12)))
    start = period - draw(st.sampled_from([0, 1, 3, 7, 12]))
    persons = [dict(person_id=p, birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=401 * p),
                    death_date=draw(st.one_of(st.none(), st.none(), st.dates(first_day(period - 8), last_day(period)))),
                    disabled=False, without_parental_care=False) for p in range(1, 4)]
    leave = [b.code for b in cat.benefits if b.kind == "monthly_rate_times_days"]
    versions = []
    for right_id in range(1, draw(st.integers(1, 3)) + 1):
        code = draw(st.sampled_from(leave + [None]))  # None: any priced benefit
        versions += draw(right_versions(right_id, cat, persons, 1, period, code))
    memberships = [dict(household_id=101, person_id=p["person_id"], role="head" if p["person_id"] == 1 else "adult",
                        member_from=p["birth_date"], member_to=None) for p in persons]
    return cat, persons, memberships, versions, period, start


@settings(max_examples=max(40, EXAMPLES // 3), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(leave_registers())
def test_periods_of_days_equal_the_reference(register):
    cat, persons, memberships, versions, period, start = register
    facts = dict(housing_costs=[{"household_id": 101, "valid_from": first_day(period - 40), "valid_to": None,
                                 "cost_minor": 150_000}],
                 wage_bases=[{"person_id": p["person_id"], "valid_from": first_day(period - 40), "valid_to": None,
                              "base_minor": 150_000} for p in persons])
    engine = engine_due(persons, memberships, versions, cat, period, start, **facts)
    reference = Reference(persons, memberships, versions, cat, **facts)
    expected = {(right_id, month): (amount, reference.due(right_id, month, period) is None)
                for right_id in sorted({v["right_id"] for v in versions})
                for month, amount in reference.window(right_id, start, period).items()}
    assert engine == expected
