"""Readable examples of deductions (RULES.md "Deductions from a payment") and the refusals of bad arrays.

Amounts are minor units: 30390 = 303.90 EUR (Montenegrin LI from 2024-07), 8201 / 12266 whole RSD.
"""
import numpy as np
import pytest

from engine.deductions import DeductionCaps, apply_deductions
from reference_deductions import complete_orders, complete_rights, run_engine

CREDITOR = 9  # the payee index of the creditor in these examples


def deduct(gross, orders, caps=DeductionCaps(), **right):
    rights = complete_rights([dict(gross=gross, **right)])
    result = run_engine(rights, complete_orders(orders, CREDITOR + 1), caps=caps, n_payees=CREDITOR + 1)
    d = result.deductions
    return {"alimony": int(d.alimony_minor[0]), "damages": int(d.damages_minor[0]),
            "recovery": int(d.recovery_minor[0]), "enforcement": int(d.enforcement_minor[0]),
            "receivable": int(d.recovered_receivable_minor[0]), "net": int(result.deductions.net_minor[0]),
            "orders": [int(x) for x in d.order_deducted_minor],
            "remaining": [int(x) for x in d.order_remaining_minor]}


def test_percentage_rounds_half_up_once():
    # 12,266 x 0.3 = 3,679.8 -> 3,680 (the RULES.md half-up example, here as a 30 % alimony order)
    assert deduct(12266, [dict(kind=1, percent=3000)])["alimony"] == 3680


def test_cap_is_a_floor_so_it_is_never_exceeded():
    # 50 % alimony of 8,201 asks 4,100.5 -> 4,101, but the 50 % cap is 4,100 (a cap is not rounded up)
    assert deduct(8201, [dict(kind=1, percent=5000)])["alimony"] == 4100


def test_alimony_and_damages_share_half_of_the_gross():
    out = deduct(30390, [dict(kind=1, percent=4000), dict(kind=2, percent=3000)])
    assert (out["alimony"], out["damages"]) == (12156, 3039)  # 40 %, then what is left of 50 % = 15195
    assert out["net"] == 30390 - 15195


def test_recovery_twenty_percent_unless_consent():
    assert deduct(10000, [], receivable=5000)["recovery"] == 2000
    out = deduct(10000, [], receivable=5000, consent=True)
    assert out["recovery"] == out["receivable"] == 5000


def test_consent_recovery_can_take_everything_left():
    out = deduct(10000, [dict(kind=1, percent=5000)], receivable=99999, consent=True)
    assert (out["alimony"], out["recovery"], out["net"]) == (5000, 5000, 0)


def test_total_cap_fifty_percent_without_alimony():
    out = deduct(10000, [dict(kind=2, percent=5000), dict(kind=4, fixed=2000)], receivable=3000)
    assert (out["damages"], out["recovery"], out["enforcement"]) == (5000, 0, 0)


def test_total_cap_seventy_percent_with_alimony():
    out = deduct(10000, [dict(kind=1, percent=5000), dict(kind=4, fixed=2000)], receivable=3000)
    assert (out["alimony"], out["recovery"], out["enforcement"]) == (5000, 2000, 0)
    assert out["net"] == 3000


def test_ukraine_alimony_up_to_seventy_percent():
    orders = [dict(kind=1, percent=7000)]
    assert deduct(10000, orders)["alimony"] == 5000
    assert deduct(10000, orders, caps=DeductionCaps.ukraine())["alimony"] == 7000


def test_protected_benefit_takes_only_recovery():
    orders = [dict(kind=1, fixed=1000), dict(kind=2, fixed=1000), dict(kind=3, fixed=500, remaining=800),
              dict(kind=4, fixed=1000)]
    out = deduct(3000, orders, protected=True, receivable=100)
    assert (out["alimony"], out["damages"], out["enforcement"]) == (0, 0, 0)
    # receivable first (100), then the register order up to the 20 % recovery cap of 600
    assert out["recovery"] == 600 and out["receivable"] == 100
    assert out["orders"] == [0, 0, 500, 0] and out["remaining"] == [-1, -1, 300, -1]


def test_balance_runs_down_and_stops_at_zero():
    out = deduct(100000, [dict(kind=2, fixed=3000, remaining=1200)])
    assert out["damages"] == 1200 and out["remaining"] == [0]
    assert deduct(100000, [dict(kind=2, fixed=3000, remaining=0)])["damages"] == 0


def test_inactive_order_takes_nothing_and_keeps_its_balance():
    out = deduct(10000, [dict(kind=4, fixed=1000, remaining=5000, active=False)])
    assert out["enforcement"] == 0 and out["remaining"] == [5000]


def test_zero_gross_and_nothing_carried_deducts_nothing():
    out = deduct(0, [dict(kind=1, fixed=1000), dict(kind=3, percent=2000)], receivable=10)
    assert out["orders"] == [0, 0] and out["recovery"] == 0 and out["net"] == 0


def test_what_was_carried_in_owes_its_deductions():
    """RULES.md Readings 3: a payment under the minimum took nothing and was carried whole; its deductions are
    owed when it is paid, so the carried amount joins the base of every percentage and every cap."""
    out = deduct(0, [dict(kind=1, fixed=1000), dict(kind=3, percent=2000)], receivable=10, carry_in=700)
    # alimony within 50 % of 7.00; the receivable first, then the order, within recovery's 20 % (1.40)
    assert out["orders"] == [350, 130] and out["recovery"] == 140 and out["net"] == 700 - 350 - 140
    out = deduct(1000, [dict(kind=1, percent=5000)], carry_in=10000)
    assert out["alimony"] == 5500 and out["net"] == 5500
    # the auditor's case: June's 15.00 carried, July's 100.00 due: 50 % alimony and 20 % enforcement of 115.00
    out = deduct(10000, [dict(kind=1, percent=5000), dict(kind=4, percent=2000)], carry_in=1500)
    assert out["orders"] == [5750, 2300] and out["net"] == 3450


def test_priority_not_input_order_decides():
    orders = [dict(kind=4, fixed=2000), dict(kind=1, fixed=4000)]  # enforcement listed first
    out = deduct(10000, orders)
    # alimony (priority 1) goes first: 4000; enforcement then gets its 20 % = 2000 within the 70 % total
    assert out["orders"] == [2000, 4000]
    out = deduct(5000, orders)
    assert out["orders"] == [1000, 2500]  # alimony capped at 50 %, enforcement at 20 %, total 70 % = 3500


def test_a_shared_receivable_is_recovered_once_across_the_recipient_rights():
    # one recipient owes 10.00 and holds two rights of 30.00 and 40.00: 20 % caps 6.00 + 8.00 > 10.00
    rights = complete_rights([dict(gross=3000, receivable=1000, group=0),
                              dict(gross=4000, receivable=1000, group=0),
                              dict(gross=4000, receivable=1000)])  # not grouped: its own debt
    result = run_engine(rights, [], n_payees=1)
    assert result.deductions.recovered_receivable_minor.tolist() == [600, 400, 800]


def test_rights_of_one_group_must_carry_the_same_receivable():
    rights = complete_rights([dict(gross=3000, receivable=1000, group=0),
                              dict(gross=4000, receivable=900, group=0)])
    with pytest.raises(ValueError, match="receivable_group"):
        run_engine(rights, [], n_payees=1)


def test_readonly_inputs_are_accepted():
    rights = complete_rights([dict(gross=10000, receivable=300)])
    orders = complete_orders([dict(kind=1, percent=1000)], CREDITOR + 1)
    result = run_engine(rights, orders, n_payees=CREDITOR + 1, readonly=True)
    assert int(result.deductions.alimony_minor[0]) == 1000
    assert int(result.deductions.recovery_minor[0]) == 300


def _one(values, dtype=np.int64):
    return np.array(values, dtype=dtype)


@pytest.mark.parametrize("change, message", [
    (dict(gross_minor=_one([-1])), "gross_minor"),
    (dict(order_fixed_minor=_one([100]), order_percent_bp=_one([100])), "exactly one"),
    (dict(order_fixed_minor=_one([-1]), order_percent_bp=_one([-1])), "exactly one"),
    (dict(order_percent_bp=_one([10001])), "percent_bp"),
    (dict(order_kind=_one([5])), "order_kind"),
    (dict(order_right=_one([1])), "order_right"),
    (dict(order_remaining_minor=_one([-2])), "order_remaining_minor"),
    (dict(recovery_receivable_minor=_one([1, 2])), "recovery_receivable_minor"),
])
def test_bad_arrays_are_refused_before_the_kernel(change, message):
    arrays = dict(gross_minor=_one([1000]), recovery_receivable_minor=_one([0]),
                  consent_full_recovery=_one([False], bool), protected=_one([False], bool),
                  order_right=_one([0]), order_kind=_one([1]), order_priority=_one([1]),
                  order_fixed_minor=_one([-1]), order_percent_bp=_one([1000]), order_remaining_minor=_one([-1]),
                  order_active=_one([True], bool))
    apply_deductions(**arrays)  # the unchanged arrays are fine
    with pytest.raises(ValueError, match=message):
        apply_deductions(**dict(arrays, **change))


def test_bad_caps_are_refused():
    with pytest.raises(ValueError, match="basis points"):
        DeductionCaps(total_bp=10001).as_array()


# ---- RULES.md Readings 3, 7 and 10 ---------------------------------------------------------------------------

def test_a_payment_under_the_minimum_takes_no_deduction_and_forwards_nothing():
    """Readings 3 (issue 11, ME right 655): 0.49 due, minimum 1.00, an alimony order of 50 %. Nothing is
    deducted or forwarded; the whole 0.49 is carried and the alimony is owed next time."""
    rights = complete_rights([dict(gross=49, minimum=100, carry=True)])
    orders = complete_orders([dict(kind=1, percent=5000, remaining=1000)], CREDITOR + 1)
    result = run_engine(rights, orders, n_payees=CREDITOR + 1)
    d, n = result.deductions, result.netting
    assert (int(d.alimony_minor[0]), int(n.right_carry_out_minor[0]), int(n.right_paid_minor[0])) == (0, 49, 0)
    assert list(d.order_deducted_minor) == [0] and list(d.order_remaining_minor) == [1000]
    assert n.payment_net_minor.tolist() == []  # no payment at all: not to the payee, not to the creditor


def test_a_dropped_payment_takes_no_recovery_either():
    rights = complete_rights([dict(gross=49, receivable=500, minimum=100, carry=False)])
    result = run_engine(rights, [], n_payees=1)
    assert int(result.deductions.recovered_receivable_minor[0]) == 0
    assert int(result.netting.right_dropped_minor[0]) == 49


def test_a_creditor_payment_left_under_its_minimum_is_withheld_in_turn():
    """Right 0 (0.49, withheld) no longer forwards 0.25 to payee 1, whose own right of 0.80 alone is under
    the minimum: it is withheld too, and the payroll pays nothing."""
    rights = complete_rights([dict(gross=49, minimum=100, payee=0), dict(gross=80, minimum=100, payee=1)])
    orders = complete_orders([dict(right=0, kind=1, percent=5000, creditor=1)], 2)
    result = run_engine(rights, orders, n_payees=2)
    assert result.netting.payment_net_minor.tolist() == []
    assert result.netting.right_carry_out_minor.tolist() == [49, 80]


def test_protected_benefits_take_no_recovery_unless_their_catalogue_allows_it():
    """Readings 7 (issue 11: 56.00 recovered from a 60.00 child allowance)."""
    blocked = deduct(6000, [dict(kind=3, fixed=5600)], protected=True, consent=True, receivable=5600, blocked=True)
    assert (blocked["recovery"], blocked["net"]) == (0, 6000)
    allowed = deduct(6000, [], protected=True, consent=True, receivable=5600)
    assert allowed["recovery"] == 1200  # recovery_allowed: the default 20 %; consent lifts only non-protected


def test_recovery_with_consent_takes_up_to_all_of_a_non_protected_benefit_beyond_the_total_cap():
    out = deduct(10000, [dict(kind=1, percent=5000), dict(kind=4, percent=2000)], consent=True, receivable=99999)
    assert (out["alimony"], out["receivable"], out["enforcement"], out["net"]) == (5000, 5000, 0, 0)


def test_the_total_rises_to_70_percent_only_with_alimony_for_a_minor():
    """Readings 10: alimony for an adult child or a spouse keeps the total cap at 50 %."""
    orders = [dict(kind=1, percent=5000), dict(kind=4, percent=2000)]
    minor = deduct(10000, orders)
    adult = deduct(10000, [dict(orders[0], for_minor=False), orders[1]])
    assert (minor["alimony"], minor["enforcement"]) == (5000, 2000)
    assert (adult["alimony"], adult["enforcement"]) == (5000, 0)


def test_a_fixed_order_takes_its_monthly_amount_once_a_month():
    """A supplementary payroll of a month: the fixed order asks what earlier payrolls of the month left of its
    monthly amount; a percentage order takes its share of the supplementary's gross; an alimony order whose
    monthly amount was already taken is still in force and keeps the total cap at 70 %."""
    out = deduct(10000, [dict(kind=2, fixed=3000, taken=2200), dict(kind=4, fixed=1000, taken=1000),
                         dict(kind=4, percent=1000, taken=500)])
    assert out["orders"] == [800, 0, 1000]
    assert deduct(10000, [dict(kind=2, fixed=3000, taken=3500)])["damages"] == 0
    # 70 % total cap: the alimony order asks nothing more this month but is in force
    out = deduct(10000, [dict(kind=1, fixed=5000, taken=5000), dict(kind=2, percent=5000), dict(kind=4, fixed=2000)],
                 receivable=3000)
    assert (out["alimony"], out["damages"], out["recovery"], out["enforcement"]) == (0, 5000, 2000, 0)
