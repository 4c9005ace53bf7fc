"""RULES.md Readings 4, 5, 11 and 12 through payroll.compute: arrears never cut silently (time_barred lines when a
catalogue sets a limitation period), reductions caused by the agency written off, refused one-offs listed.

Each case is a hand-made Montenegrin register of one or two rights, computed on a ledger state given directly
(no database): the figures can be checked against rules/montenegro.toml by hand.
"""
import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.months import parse_period
from formats.catalogue import load_catalogue
from formats.schemas import DEDUCTIONS
from payroll.compute import Inputs, compute
from payroll.ledger_state import LedgerState

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from entitlement_tables import tables  # noqa: E402

D = dt.date
NOVEMBER = parse_period("2026-11")
DNJP = 8916  # ME_DNJP 89.16 from 2024-07


def state(first_payroll="2020-01", recognised=()):
    """A ledger that started long ago (no legacy baseline) and recognised `recognised` (right, month, minor)."""
    z = np.zeros(0, np.int64)
    rec = [np.array([r for r, _m, _a in recognised], np.int64), np.array([parse_period(m) for _r, m, _a in recognised],
           np.int64), np.array([a for _r, _m, a in recognised], np.int64)] if recognised else [z, z, z]
    return LedgerState(0, rec[0], rec[1], rec[2], z, z, z, z, z, z, z, z, z, z, parse_period(first_payroll))


def run(versions, persons=None, catalogue=None, ledger=None, orders=None):
    persons = persons or [dict(person_id=1, birth_date=D(1960, 1, 1))]
    register = tables(persons, [], versions)
    register["deductions"] = DEDUCTIONS.empty_table() if orders is None else orders
    holds = pa.table({"kind": pa.array([], pa.string()), "right_id": pa.array([], pa.int64()),
                      "payee_id": pa.array([], pa.int64()), "iban": pa.array([], pa.string())})
    inputs = Inputs(register, catalogue or load_catalogue(), NOVEMBER, ledger or state(), holds)
    return compute("P-2026-11", inputs)


def lines_of(result, component):
    rows = [r for r in result.lines.to_pylist() if r["component"] == component]
    return {(r["month"].strftime("%Y-%m"), r["amount_minor"], r["payment_ref"] is None) for r in rows}


def test_a_retroactive_decision_pays_back_to_its_start_however_far():
    """Readings 4 (issue 11: granted from 2024-05, decided 2026-11-10, arrears started at 2024-11, 535.18 lost):
    30 months of arrears, 2024-05 .. 2026-10, and November's due."""
    result = run([dict(right_id=1, version=1, benefit="ME_DNJP", person_id=1, valid_from=D(2024, 5, 1),
                       decided_on=D(2026, 11, 10))])
    arrears = lines_of(result, "arrears")
    assert len(arrears) == 30 and min(arrears)[0] == "2024-05"
    # 2024-05 and 2024-06 at 87.24, then 28 months at 89.16
    assert result.summary["totals_minor"]["arrears"] == 2 * 8724 + 28 * DNJP
    assert result.summary["totals_minor"]["time_barred"] == 0


def test_a_limitation_period_cuts_arrears_into_time_barred_lines():
    """With arrears_limit_months = 24 the months before 2024-11 are cut: each is a time_barred line with the
    amount not paid, on no payment; the arrears start at 2024-11."""
    catalogue = dataclasses.replace(load_catalogue(), arrears_limit_months=24)
    result = run([dict(right_id=1, version=1, benefit="ME_DNJP", person_id=1, valid_from=D(2024, 5, 1),
                       decided_on=D(2026, 11, 10))], catalogue=catalogue)
    barred = lines_of(result, "time_barred")
    assert barred == {("2024-05", 8724, True), ("2024-06", 8724, True), ("2024-07", DNJP, True),
                      ("2024-08", DNJP, True), ("2024-09", DNJP, True), ("2024-10", DNJP, True)}
    assert min(lines_of(result, "arrears"))[0] == "2024-11"
    assert result.summary["net_minor"] == 25 * DNJP  # 2024-11 .. 2026-11


def reduced_li(agency_fault):
    """ME_LI grade 1 (303.90) paid for September and October 2026; a decision of November lowers it to grade 2
    (192.44) from September."""
    versions = [dict(right_id=1, version=1, benefit="ME_LI", person_id=1, valid_from=D(2026, 1, 1),
                     valid_to=D(2026, 8, 31), decided_on=D(2025, 12, 5), grade=1),
                dict(right_id=1, version=2, benefit="ME_LI", person_id=1, valid_from=D(2026, 9, 1),
                     decided_on=D(2026, 11, 3), grade=2, agency_fault=agency_fault)]
    ledger = state(recognised=[(1, m, 30390) for m in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                                       "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")])
    return run(versions, ledger=ledger)


def test_a_reduction_the_agency_caused_is_written_off_not_recovered():
    """Readings 11: 2 x (303.90 - 192.44) = 222.92 is written off (two lines on no payment) and November's
    192.44 is paid whole; the same decision without agency_fault raises an overpayment and recovers 20 %."""
    fault = reduced_li(True)
    assert lines_of(fault, "written_off") == {("2026-09", -11146, True), ("2026-10", -11146, True)}
    assert lines_of(fault, "overpayment") == set() and fault.summary["net_minor"] == 19244
    plain = reduced_li(False)
    assert lines_of(plain, "overpayment") == {("2026-09", -11146, True), ("2026-10", -11146, True)}
    assert plain.summary["net_minor"] == 19244 - 3848  # 20 % of 192.44 recovered


def test_a_claim_out_of_time_is_listed_in_the_summary():
    """Readings 5: the newborn grant applied 13 months after the birth month is due 0 and listed."""
    result = run([dict(right_id=7, version=1, benefit="ME_NOVOROD", person_id=1, valid_from=D(2025, 9, 1),
                       valid_to=D(2025, 9, 30), decided_on=D(2026, 11, 5), applied_on=D(2026, 10, 2),
                       birth_order=1)])
    assert result.summary["listed"]["claims_out_of_time"] == [{"right_id": 7, "month": "2025-09"}]
    assert result.summary["net_minor"] == 0


def test_an_overpayment_order_the_agency_caused_is_not_recovered_and_is_listed():
    """Readings 11: two overpayment orders of 20.00 on a 89.16 right; the first, recording agency_fault, takes
    nothing and is listed as written off; the second takes the 20 % cap, 17.83."""
    orders = pa.Table.from_pylist([
        dict(order_id=order_id, right_id=1, kind="overpayment", priority=3, fixed_minor=2000, outstanding_minor=5000,
             valid_from=D(2026, 1, 1), agency_fault=fault) for order_id, fault in ((1, True), (2, False))],
        schema=DEDUCTIONS)
    result = run([dict(right_id=1, version=1, benefit="ME_DNJP", person_id=1, valid_from=D(2026, 11, 1),
                       decided_on=D(2026, 10, 20))], orders=orders)
    assert result.summary["totals_minor"]["recovery"] == -1783
    assert {row["order_id"]: row["amount_minor"] for row in result.orders.to_pylist()} == {2: 1783}
    assert result.summary["listed"]["overpayment_orders_written_off"] == [
        {"order_id": 1, "right_id": 1, "outstanding_minor": 5000}]


def test_a_fixed_order_takes_the_carried_months_instalments_when_the_carried_payment_is_paid():
    """Readings 3: October's 89.16 was carried (not paid, nothing deducted); November pays it with November's due.
    A recovery order of a fixed 10.00 a month (in force since September) owes October's instalment too: 20.00
    is taken from 178.32 (its 20 % cap is 35.66; was: 10.00). An order that began in November owes November's
    alone."""
    october = parse_period("2026-10")
    ledger = dataclasses.replace(
        state(recognised=[(r, m, DNJP) for r in (1, 2, 3) for m in ("2026-09", "2026-10")]),
        carry_right=np.array([1, 2, 3], np.int64), carry_minor=np.array([DNJP] * 3, np.int64),
        carried_right=np.array([1, 2, 3], np.int64), carried_first=np.array([october] * 3, np.int64),
        carried_count=np.array([1, 1, 1], np.int64))
    orders = pa.Table.from_pylist([
        dict(order_id=1, right_id=1, kind="overpayment", priority=3, fixed_minor=1000, outstanding_minor=10000,
             valid_from=D(2026, 9, 1)),
        dict(order_id=2, right_id=2, kind="overpayment", priority=3, fixed_minor=1000, outstanding_minor=10000,
             valid_from=D(2026, 11, 1)),
        dict(order_id=3, right_id=3, kind="overpayment", priority=3, fixed_minor=1000, outstanding_minor=10000,
             valid_from=D(2026, 9, 1), valid_to=D(2026, 10, 31))], schema=DEDUCTIONS)
    result = run([dict(right_id=r, version=1, benefit="ME_DNJP", person_id=1, valid_from=D(2026, 9, 1),
                       decided_on=D(2026, 8, 20)) for r in (1, 2, 3)], orders=orders, ledger=ledger)
    taken = {(r["right_id"], r["component"]): r["amount_minor"] for r in result.lines.to_pylist()
             if r["component"] in ("recovery", "carry_in")}
    assert taken == {(1, "carry_in"): DNJP, (1, "recovery"): -2000, (2, "carry_in"): DNJP, (2, "recovery"): -1000,
                     (3, "carry_in"): DNJP, (3, "recovery"): -1000}  # 3: ended in October, owed October's


def test_a_supplementary_payroll_takes_no_second_fixed_instalment():
    """November was paid 80.00 of ME_DNJP's 89.16 and the fixed 10.00 recovery order took its instalment; a
    supplementary November pays the 9.16 difference and takes nothing more (was: 1.83 more, 20 % of 9.16)."""
    november = parse_period("2026-11")
    ledger = dataclasses.replace(state(recognised=[(1, "2026-10", DNJP), (1, "2026-11", 8000)]),
                                 taken_month_right=np.array([1], np.int64), taken_month_kind=np.array([2], np.int64),
                                 taken_month=np.array([november], np.int64), taken_month_minor=np.array([1000], np.int64))
    orders = pa.Table.from_pylist([dict(order_id=1, right_id=1, kind="overpayment", priority=3, fixed_minor=1000,
                                        outstanding_minor=10000, valid_from=D(2026, 9, 1))], schema=DEDUCTIONS)
    result = run([dict(right_id=1, version=1, benefit="ME_DNJP", person_id=1, valid_from=D(2026, 9, 1),
                       decided_on=D(2026, 8, 20))], orders=orders, ledger=ledger)
    components = {r["component"]: r["amount_minor"] for r in result.lines.to_pylist()}
    assert components.get("due") == DNJP - 8000 and "recovery" not in components


def test_the_carried_months_are_those_after_the_last_paid_carry():
    """ledger_state.carried_months from the carry postings per right and month: right 1 carried September, paid
    it in October, carried November and December (December takes November's in and out again); right 2 carried
    October and November and nothing paid yet; right 3 carried October, paid it in November."""
    from ledgers.schema import ACCOUNT, COMPONENT
    from payroll.ledger_state import carried_months

    out, in_ = COMPONENT["carry_out"], COMPONENT["carry_in"]
    m = parse_period
    rows = [(1, out, "2026-09"), (1, in_, "2026-10"), (1, out, "2026-11"), (1, in_, "2026-12"), (1, out, "2026-12"),
            (2, out, "2026-10"), (2, in_, "2026-11"), (2, out, "2026-11"), (3, out, "2026-10"), (3, in_, "2026-11")]
    columns = {"account_kind": np.full(len(rows), ACCOUNT["benefits_payable"], np.int64),
               "component": np.array([c for _r, c, _m in rows], np.int64),
               "right_id": np.array([r for r, _c, _m in rows], np.int64),
               "month": np.array([m(month) for _r, _c, month in rows], np.int64)}
    right, first, count = carried_months(columns)
    assert right.tolist() == [1, 2] and first.tolist() == [m("2026-11"), m("2026-10")] and count.tolist() == [2, 2]
