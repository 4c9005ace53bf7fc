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
