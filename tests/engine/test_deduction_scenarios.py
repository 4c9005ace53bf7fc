"""Runs the deduction scenarios in tests/engine/scenarios/deductions/*.toml: rights' gross amounts and orders in,
what each right gives up and pays, and every payment made, out (engine.payroll_kernel under the country's
catalogue: its caps, and per benefit its protection, minimum payable and below-minimum policy).

A scenario lists rights (benefit, payee, gross, optional receivable, consent, carry_in), orders (kind, fixed or
percent_bp, outstanding, taken: what earlier payrolls took of a fixed order's instalments, creditor payee,
for_minor) and per right the amounts that are not 0 (alimony, damages,
recovery, enforcement, paid, carry_out, dropped); `payments` lists every payment made. Amounts are decimal text
in the currency, as a policy officer checks them. Payee numbers are indexes 0..9; every payee is paid by bank.
"""
import tomllib
from pathlib import Path

import numpy as np
import pytest

from engine.deductions import DeductionCaps
from formats.amounts import parse_amount
from engine.payroll_kernel import compute_payroll
from formats.catalogue import load_catalogue

SCENARIOS = sorted((Path(__file__).parent / "scenarios" / "deductions").glob("*.toml"))
KINDS = {"alimony": 1, "damages": 2, "overpayment": 3, "enforcement": 4}
RESULTS = ("alimony", "damages", "recovery", "enforcement", "paid", "carry_out", "dropped")
N_PAYEES = 10


def caps_of(catalogue) -> DeductionCaps:
    return catalogue.deductions.caps


def run(doc):
    catalogue = load_catalogue(country=doc["country"])
    def money(text: str) -> int:  # scenario figures may be negative (what is owed back)
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
        return sign * parse_amount(digits, catalogue.minor_exponent)
    rights, orders = doc["rights"], doc.get("orders", [])
    benefit = [catalogue.benefit(r["benefit"]) for r in rights]
    index = {r["id"]: i for i, r in enumerate(rights)}
    ints = lambda values: np.array(list(values), np.int64)
    flags = lambda values: np.array(list(values), bool)
    result = compute_payroll(
        ints(money(r["gross"]) for r in rights), ints(money(r.get("carry_in", "0")) for r in rights),
        ints(money(r.get("receivable", "0")) for r in rights), flags(r.get("consent", False) for r in rights),
        flags(b.protected for b in benefit), ints(r["payee"] for r in rights), ints(0 for _ in rights),
        ints(b.minimum_payable_minor for b in benefit), flags(b.below_minimum == "carry" for b in benefit),
        ints(index[o["right"]] for o in orders), ints(KINDS[o["kind"]] for o in orders),
        ints(KINDS[o["kind"]] for o in orders), ints(money(o["fixed"]) if "fixed" in o else -1 for o in orders),
        ints(o.get("percent_bp", -1) for o in orders),
        ints(money(o["outstanding"]) if "outstanding" in o else -1 for o in orders), flags(True for _ in orders),
        ints(o.get("creditor", -1) for o in orders), ints(0 for _ in orders), n_payees=N_PAYEES,
        caps=caps_of(catalogue), recovery_blocked=flags(b.protected and not b.recovery_allowed for b in benefit),
        order_for_minor=flags(o.get("for_minor", True) for o in orders),
        order_taken_minor=ints(money(o.get("taken", "0")) for o in orders))
    return catalogue, money, result


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_deduction_scenario(path):
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    _catalogue, money, result = run(doc)
    d, n = result.deductions, result.netting
    columns = dict(alimony=d.alimony_minor, damages=d.damages_minor, recovery=d.recovery_minor,
                   enforcement=d.enforcement_minor, paid=n.right_paid_minor, carry_out=n.right_carry_out_minor,
                   dropped=n.right_dropped_minor)
    got = {(r["id"], name): int(columns[name][i]) for i, r in enumerate(doc["rights"]) for name in RESULTS
           if columns[name][i]}
    want = {(row["right"], name): money(row[name]) for row in doc["expected"] for name in RESULTS if name in row}
    assert got == want, doc["title"]
    payments = {int(p): int(a) for p, a in zip(n.payment_payee, n.payment_net_minor)}
    assert payments == {row["payee"]: money(row["amount"]) for row in doc.get("payments", [])}, doc["title"]
