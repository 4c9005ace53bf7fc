"""Recovery of maintenance advances from the debtor's rights (engine.deductions): alimony for a minor's caps,
after the priority-1 orders, one shared balance per debtor, never from a protected benefit, conserved."""
import numpy as np
import pytest

from engine.deductions import DeductionCaps, apply_deductions
from engine.payroll_kernel import compute_payroll


def deduct(gross, orders=(), group=None, balance=(), protected=None):
    """orders: (right, kind, priority, fixed) tuples. Returns the Deductions."""
    n = len(gross)
    orders = list(orders)
    column = lambda i: np.array([o[i] for o in orders], np.int64)
    return apply_deductions(
        np.array(gross, np.int64), np.zeros(n, np.int64), np.zeros(n, bool),
        np.zeros(n, bool) if protected is None else np.array(protected), column(0), column(1), column(2),
        column(3), np.full(len(orders), -1, np.int64), np.full(len(orders), -1, np.int64), np.ones(len(orders), bool),
        DeductionCaps(), advance_group=None if group is None else np.array(group, np.int64),
        advance_balance_minor=np.array(balance, np.int64))


def test_recovered_within_the_alimony_cap():
    result = deduct([10_000], group=[0], balance=[8_000])
    assert result.advance_recovery_minor.tolist() == [5_000]  # 50 % of the gross
    assert result.net_minor.tolist() == [5_000] and result.alimony_minor.tolist() == [0]


def test_after_current_alimony_sharing_its_cap():
    result = deduct([10_000], [(0, 1, 1, 3_000)], group=[0], balance=[8_000])
    assert (result.alimony_minor[0], result.advance_recovery_minor[0]) == (3_000, 2_000)


def test_counts_as_alimony_for_the_total_cap():
    """Advance 5,000 + enforcement 2,000 = 70 % of the gross: the total cap with alimony for a minor applies."""
    result = deduct([10_000], [(0, 4, 4, 2_000)], group=[0], balance=[9_000])
    assert (result.advance_recovery_minor[0], result.enforcement_minor[0]) == (5_000, 2_000)
    damages = deduct([10_000], [(0, 2, 2, 4_000)], group=[0], balance=[3_000])  # shared cap of priorities 1-2
    assert (damages.advance_recovery_minor[0], damages.damages_minor[0]) == (3_000, 2_000)


def test_one_balance_shared_by_the_debtors_rights_never_recovered_twice():
    result = deduct([10_000, 10_000, 10_000], group=[0, 0, -1], balance=[6_000])
    assert result.advance_recovery_minor.tolist() == [5_000, 1_000, 0]


def test_protected_benefit_and_empty_balance_take_nothing():
    assert deduct([10_000], group=[0], balance=[6_000], protected=[True]).advance_recovery_minor.tolist() == [0]
    nothing = deduct([10_000], [(0, 4, 4, 9_000)], group=[0], balance=[0])
    assert nothing.advance_recovery_minor.tolist() == [0] and nothing.enforcement_minor.tolist() == [2_000]


def test_bad_groups_refused():
    with pytest.raises(ValueError, match="advance_group"):
        deduct([10_000], group=[1], balance=[6_000])


def test_payroll_conserves_and_withheld_payment_takes_nothing():
    """Conservation counts the recovery; a payment under the minimum takes nothing (RULES.md Readings 3)."""
    common = dict(order_right=[], order_kind=[], order_priority=[], order_fixed_minor=[], order_percent_bp=[],
                  order_remaining_minor=[], order_active=np.zeros(0, bool), order_creditor_payee=[],
                  order_creditor_channel=[], n_payees=2, advance_group=[0, 0], advance_balance_minor=[4_000])
    result = compute_payroll([10_000, 1_000], [0, 0], [0, 0], [False, False], [False, False], [0, 1], [0, 0],
                             [0, 0], [True, True], **common)
    assert result.deductions.advance_recovery_minor.tolist() == [4_000, 0]
    assert result.totals_minor["advance_recovery"] == 4_000 and result.totals_minor["payments"] == 7_000
    small = compute_payroll([10_000, 1_000], [0, 0], [0, 0], [False, False], [False, False], [0, 1], [0, 0],
                            [0, 800], [True, True], **dict(common, advance_balance_minor=[5_400]))
    # right 1: its 1,000 is recovered up to 500 -> net 500 under its minimum 800: withheld whole, nothing taken
    assert small.deductions.advance_recovery_minor.tolist() == [5_000, 0]
    assert small.netting.right_carry_out_minor.tolist() == [0, 1_000]
