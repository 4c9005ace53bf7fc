"""Readable examples of netting: one payment per payee and channel, forwarded deductions, re-issues, the
minimum payable per payment (carry or drop), and the conservation check."""
import numpy as np
import pytest

from engine.netting import net_payments
from engine.payroll_kernel import ConservationError, check_conservation
from reference_deductions import complete_orders, complete_rights, engine_payments, run_engine

BANK, POST = 0, 1


def test_rights_of_one_payee_and_channel_make_one_payment():
    rights = complete_rights([dict(gross=3000, payee=0), dict(gross=4400, payee=0),
                              dict(gross=8916, payee=0, channel=POST), dict(gross=100, payee=1)])
    result = run_engine(rights, [])
    assert engine_payments(result) == {(0, BANK): 7400, (0, POST): 8916, (1, BANK): 100}
    assert result.netting.right_payment.tolist() == [0, 0, 1, 2]
    assert result.netting.payment_rights.tolist() == [2, 1, 1]


def test_forwarded_alimony_is_a_line_on_the_creditor_payment():
    rights = complete_rights([dict(gross=30390, payee=0), dict(gross=20000, payee=1)])
    orders = complete_orders([dict(right=0, kind=1, percent=2500, creditor=2),
                              dict(right=1, kind=4, fixed=1000, creditor=2, creditor_channel=POST),
                              dict(right=1, kind=2, fixed=500, creditor=2)], 3)
    result = run_engine(rights, orders)
    # 25 % of 303.90 = 75.975 -> 75.98; both bank-channel orders land on one creditor payment
    assert engine_payments(result) == {(0, BANK): 30390 - 7598, (1, BANK): 20000 - 1500,
                                       (2, BANK): 7598 + 500, (2, POST): 1000}
    assert result.order_payment.tolist() == [2, 3, 2]
    assert result.totals_minor["forwarded"] == 7598 + 1000 + 500


def test_overpayment_orders_are_not_forwarded():
    rights = complete_rights([dict(gross=10000)])
    orders = complete_orders([dict(kind=3, percent=1000)], 1)
    result = run_engine(rights, orders)
    assert result.order_payment.tolist() == [-1]
    assert engine_payments(result) == {(0, BANK): 9000}


def test_reissue_joins_the_payee_payment():
    rights = complete_rights([dict(gross=5000, payee=0)])
    result = run_engine(rights, [], extras=[(0, BANK, 1234), (1, POST, 700)])
    assert engine_payments(result) == {(0, BANK): 6234, (1, POST): 700}
    assert result.extra_payment.tolist() == [0, 1]
    assert result.netting.payment_rights.tolist() == [1, 0]


def test_under_the_minimum_is_carried_then_paid_with_the_next_payroll():
    rights = complete_rights([dict(gross=500, minimum=600, carry=True)])  # 5.00 under a 6.00 minimum
    first = run_engine(rights, [])
    assert engine_payments(first) == {}
    assert first.netting.right_carry_out_minor.tolist() == [500]
    assert first.netting.right_payment.tolist() == [-1]
    rights = complete_rights([dict(gross=500, carry_in=500, minimum=600)])
    second = run_engine(rights, [])
    assert engine_payments(second) == {(0, BANK): 1000}
    assert second.totals_minor["carry_in"] == 500


def test_exactly_the_minimum_is_paid():
    rights = complete_rights([dict(gross=600, minimum=600, carry=False)])
    assert engine_payments(run_engine(rights, [])) == {(0, BANK): 600}


def test_under_the_minimum_is_dropped_where_the_policy_says_so():
    rights = complete_rights([dict(gross=500, minimum=600, carry=False)])
    result = run_engine(rights, [])
    assert result.netting.right_dropped_minor.tolist() == [500]
    assert result.totals_minor["dropped"] == 500 and result.totals_minor["paid"] == 0


def test_minimum_is_tested_on_the_whole_payment_with_its_largest_minimum():
    # 4.00 + 3.00 on one payment: 7.00 passes a 6.00 minimum although each right alone would not
    rights = complete_rights([dict(gross=400, minimum=600), dict(gross=300, minimum=0)])
    assert engine_payments(run_engine(rights, [])) == {(0, BANK): 700}
    # with a minimum of 8.00 on one of them, both are withheld, each by its own policy
    rights = complete_rights([dict(gross=400, minimum=800, carry=False), dict(gross=300, minimum=0)])
    result = run_engine(rights, [])
    assert engine_payments(result) == {}
    assert result.netting.right_dropped_minor.tolist() == [400, 0]
    assert result.netting.right_carry_out_minor.tolist() == [0, 300]


def test_forwarded_and_reissued_lines_are_paid_even_when_the_rights_are_withheld():
    rights = complete_rights([dict(gross=500, minimum=2000, payee=0)])
    result = run_engine(rights, [], extras=[(0, BANK, 1000)])
    # 15.00 total is under the 20.00 minimum: the right's 5.00 is carried, the 10.00 re-issue is paid
    assert engine_payments(result) == {(0, BANK): 1000}
    assert result.netting.right_carry_out_minor.tolist() == [500]
    assert result.netting.right_payment.tolist() == [0]  # its lines (due, carry_out) sum to 0 on it


def test_fully_deducted_right_with_nothing_else_makes_no_payment():
    rights = complete_rights([dict(gross=1000, receivable=5000, consent=True)])
    result = run_engine(rights, [])
    assert engine_payments(result) == {} and result.netting.right_payment.tolist() == [-1]


def test_no_rights_no_payments():
    result = run_engine([], [], n_payees=1)
    assert engine_payments(result) == {} and result.totals_minor["payments"] == 0


def test_payee_and_channel_outside_their_range_are_refused():
    args = dict(right_net_minor=[10], right_minimum_minor=[0], right_carry=[True], line_payee=[],
                line_channel=[], line_amount_minor=[], n_payees=2)
    with pytest.raises(ValueError, match="payee index 2 outside"):
        net_payments(right_payee=[2], right_channel=[0], **args)
    with pytest.raises(ValueError, match="channel code 2 outside"):
        net_payments(right_payee=[1], right_channel=[2], **args)


def test_conservation_check_names_the_broken_identity():
    rights = complete_rights([dict(gross=10000, receivable=500)])
    orders = complete_orders([dict(kind=1, percent=1000)], 2)
    totals = run_engine(rights, orders).totals_minor
    check_conservation(totals)
    with pytest.raises(ConservationError, match="paid \\+ carried"):
        check_conservation(dict(totals, paid=totals["paid"] + 1))
    with pytest.raises(ConservationError, match="forwarded"):
        check_conservation(dict(totals, forwarded=totals["forwarded"] - 1))
    with pytest.raises(ConservationError, match="payments sum"):
        check_conservation(dict(totals, payments=totals["payments"] + 1))


def test_payment_numbering_follows_payee_then_channel():
    rights = complete_rights([dict(gross=1, payee=3, channel=POST), dict(gross=1, payee=3),
                              dict(gross=1, payee=0, channel=POST)])
    netting = run_engine(rights, []).netting
    assert netting.payment_payee.tolist() == [0, 3, 3]
    assert netting.payment_channel.tolist() == [POST, BANK, POST]
    assert np.array_equal(netting.right_payment, [2, 1, 0])


def test_third_party_order_without_creditor_is_refused():
    rights = complete_rights([dict(gross=1000)])
    orders = complete_orders([dict(kind=4, fixed=100, creditor=-1)], 1)
    with pytest.raises(ValueError, match="need a creditor payee"):
        run_engine(rights, orders, n_payees=1)


def test_negative_extra_line_is_refused():
    rights = complete_rights([dict(gross=1000)])
    with pytest.raises(ValueError, match="line_amount_minor"):
        run_engine(rights, [], extras=[(0, BANK, -5)], n_payees=1)
