"""Hypothesis: the Numba deductions + netting equal the plain-Python reference on every right, order and
payment to the minor unit, and money is conserved, over caps that bind, balances that run out, protected
benefits, consent, zero gross, minimum carry and drop, many orders, shared receivables and re-issue lines."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.deductions import DeductionCaps
from engine.money import AMOUNT_MINOR_MAX
from reference_deductions import caps_dict, reference_payroll, run_engine

N_PAYEES = 6

amounts = st.one_of(st.just(0), st.sampled_from([100, 500, 600]), st.integers(0, 20_000),
                    st.integers(0, AMOUNT_MINOR_MAX // 1000))
small = st.one_of(st.just(0), st.integers(0, 3_000))
bps = st.one_of(st.sampled_from([0, 2000, 5000, 7000, 10_000]), st.integers(0, 10_000))

rights_strategy = st.lists(st.fixed_dictionaries(dict(
    gross=amounts, carry_in=small, receivable=st.one_of(st.just(0), amounts), consent=st.booleans(),
    protected=st.booleans(), payee=st.integers(0, N_PAYEES - 1), channel=st.integers(0, 1),
    minimum=st.one_of(st.just(0), st.sampled_from([100, 500, 600]), st.integers(0, 2_000)),
    carry=st.booleans(), group=st.one_of(st.just(-1), st.integers(0, 2)), blocked=st.booleans())), max_size=10)

caps_strategy = st.one_of(
    st.just(DeductionCaps()), st.just(DeductionCaps.ukraine()),
    st.builds(DeductionCaps, alimony_bp=bps, damages_bp=bps, support_bp=bps, recovery_bp=bps,
              recovery_consent_bp=bps, enforcement_bp=bps, total_bp=bps, total_with_alimony_bp=bps))


@st.composite
def order_strategy(draw, n_rights):
    kind = draw(st.integers(1, 4))
    percent = draw(st.one_of(st.just(-1), bps))
    fixed = -1 if percent >= 0 else draw(amounts)
    return dict(right=draw(st.integers(0, n_rights - 1)), kind=kind,
                priority=draw(st.one_of(st.just(kind), st.integers(1, 4))), fixed=fixed, percent=percent,
                remaining=draw(st.one_of(st.just(-1), st.just(0), small, amounts)),
                taken=draw(st.one_of(st.just(0), small, amounts)), active=draw(st.booleans()),
                creditor=-1 if kind == 3 else draw(st.integers(0, N_PAYEES - 1)),
                creditor_channel=draw(st.integers(0, 1)), for_minor=draw(st.booleans()))


@st.composite
def payroll_strategy(draw):
    rights = draw(rights_strategy)
    debt = {}
    for right in rights:  # the rights of one recipient carry the recipient's whole receivable
        if right["group"] >= 0:
            right["receivable"] = debt.setdefault(right["group"], right["receivable"])
    orders = draw(st.lists(order_strategy(len(rights)), max_size=25)) if rights else []
    extras = draw(st.lists(st.tuples(st.integers(0, N_PAYEES - 1), st.integers(0, 1), small), max_size=3))
    return rights, orders, extras, draw(caps_strategy)


def _engine_rights(result):
    d, n = result.deductions, result.netting
    return [dict(alimony=int(d.alimony_minor[i]), damages=int(d.damages_minor[i]),
                 recovery=int(d.recovery_minor[i]), enforcement=int(d.enforcement_minor[i]),
                 receivable=int(d.recovered_receivable_minor[i]), net=int(result.deductions.net_minor[i]),
                 paid=int(n.right_paid_minor[i]), carry_out=int(n.right_carry_out_minor[i]),
                 dropped=int(n.right_dropped_minor[i])) for i in range(len(d.alimony_minor))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payroll_strategy())
def test_engine_equals_reference(case):
    rights, orders, extras, caps = case
    result = run_engine(rights, orders, extras, caps=caps, n_payees=N_PAYEES)
    expected = reference_payroll(rights, orders, extras, caps_dict(caps))
    expected_rights, expected_orders, expected_payments = expected
    assert _engine_rights(result) == expected_rights
    d = result.deductions
    assert list(zip(d.order_deducted_minor.tolist(), d.order_remaining_minor.tolist())) == expected_orders
    netting = result.netting
    payments = dict(zip(zip(netting.payment_payee.tolist(), netting.payment_channel.tolist()),
                        netting.payment_net_minor.tolist()))
    assert payments == expected_payments


@settings(max_examples=200, deadline=None)
@given(payroll_strategy())
def test_invariants_hold(case):
    rights, orders, extras, caps = case
    result = run_engine(rights, orders, extras, caps=caps, n_payees=N_PAYEES)
    d, netting = result.deductions, result.netting
    gross = np.array([r["gross"] + r["carry_in"] for r in rights], dtype=np.int64)
    # nothing deducted beyond the gross and what was carried in (Readings 3); balances never negative, never grow
    assert (d.total_minor <= gross).all() and (d.total_minor >= 0).all()
    remaining_in = np.array([o["remaining"] for o in orders], dtype=np.int64)
    limited = remaining_in >= 0
    assert (d.order_remaining_minor[limited] >= 0).all()
    assert (d.order_remaining_minor[limited] == remaining_in[limited] - d.order_deducted_minor[limited]).all()
    assert (d.order_remaining_minor[~limited] == -1).all()
    # the lines of each payment sum to its net; every payment is positive
    assert (netting.payment_net_minor > 0).all()
    line_sum = np.zeros(netting.payment_net_minor.shape[0], dtype=np.int64)
    paid = netting.right_payment >= 0
    np.add.at(line_sum, netting.right_payment[paid], netting.right_paid_minor[paid])
    forwarded = result.order_payment >= 0
    np.add.at(line_sum, result.order_payment[forwarded], d.order_deducted_minor[forwarded])
    extra_amounts = np.array([e[2] for e in extras], dtype=np.int64)
    np.add.at(line_sum, result.extra_payment[result.extra_payment >= 0], extra_amounts[result.extra_payment >= 0])
    assert line_sum.tolist() == netting.payment_net_minor.tolist()
    # whatever is paid on a right is paid on some payment
    assert ((netting.right_paid_minor == 0) | (netting.right_payment >= 0)).all()


@settings(max_examples=100, deadline=None)
@given(payroll_strategy(), st.randoms(use_true_random=False))
def test_order_of_orders_does_not_matter(case, rng):
    rights, orders, extras, caps = case
    # a stable sort by (right, priority) is the contract, so shuffle only across different (right, priority)
    keyed = sorted(enumerate(orders), key=lambda pair: (pair[1]["right"], pair[1]["priority"], pair[0]))
    blocks = {}
    for position, order in keyed:
        blocks.setdefault((order["right"], order["priority"]), []).append(position)
    block_list = list(blocks.values())
    rng.shuffle(block_list)
    permutation = [position for block in block_list for position in block]
    shuffled = [orders[p] for p in permutation]
    first = run_engine(rights, orders, extras, caps=caps, n_payees=N_PAYEES).deductions
    second = run_engine(rights, shuffled, extras, caps=caps, n_payees=N_PAYEES).deductions
    assert second.order_deducted_minor.tolist() == first.order_deducted_minor[permutation].tolist()
    assert second.recovery_minor.tolist() == first.recovery_minor.tolist()
    assert second.alimony_minor.tolist() == first.alimony_minor.tolist()
