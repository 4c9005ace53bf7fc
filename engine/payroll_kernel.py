"""Deductions, netting and the conservation check of one payroll, composed for the payroll step.

`compute_payroll` takes per right the gross of this payroll (due + arrears), what was carried in, the
receivable, flags, payee/channel and the benefit's minimum and policy; the deduction orders with their
creditors; and extra lines (e.g. re-issues). It deducts (engine.deductions), forwards third-party deductions
to their creditors' payments, nets everything per (payee, channel) (engine.netting) and checks that money is
conserved exactly, raising ConservationError (never disabled by `python -O`) if it is not:
    sum gross + sum carry_in - sum recovery - sum advance recovery - sum other deductions
        = sum paid + sum carried out + sum dropped
    sum forwarded deductions = sum of the forwarded lines on creditors' payments
    sum of payments = sum paid on rights + sum forwarded + sum extra lines
"""
from dataclasses import dataclass

import numpy as np
from numba import types

from engine.deductions import FORWARDED_KINDS, DeductionCaps, Deductions, apply_deductions
from engine.jit import I64_OUT, I64_RO, kernel
from engine.netting import Netting, net_payments

# sums of int64 arrays wrap silently; all inputs together must stay well inside int64
SUM_MINOR_MAX = 2**62


class ConservationError(AssertionError):
    """Money appeared or vanished between gross and payments: a programmer error, never bad input."""


@dataclass(frozen=True)
class PayrollResult:
    deductions: Deductions
    netting: Netting
    order_payment: np.ndarray     # creditor payment carrying the forwarded deduction of each order, or -1
    extra_payment: np.ndarray     # payment of each extra line, or -1
    totals_minor: dict            # component -> sum (python int)


def _as_int64(values, name: str, length: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.shape != (length,):
        raise ValueError(f"{name}: expected length {length}, got shape {array.shape}")
    return array


def _check_sum_bound(*arrays: np.ndarray) -> None:
    total = sum(float(np.sum(a, dtype=np.float64)) for a in arrays)
    if total >= SUM_MINOR_MAX:
        raise ValueError("the amounts of this payroll together exceed what int64 sums can hold")


def _forwarded_orders(order_kind, order_creditor_payee, order_creditor_channel, m: int):
    """(kind, indexes of the orders paid on to a creditor, creditor payee, creditor channel), checked."""
    kind = _as_int64(order_kind, "order_kind", m)
    creditor = _as_int64(order_creditor_payee, "order_creditor_payee", m)
    creditor_channel = _as_int64(order_creditor_channel, "order_creditor_channel", m)
    forwarded_index = np.flatnonzero(np.isin(kind, FORWARDED_KINDS))
    if (creditor[forwarded_index] < 0).any():
        raise ValueError("alimony, damages and enforcement orders need a creditor payee")
    return kind, forwarded_index, creditor[forwarded_index], creditor_channel[forwarded_index]


def compute_payroll(gross_minor, carry_in_minor, recovery_receivable_minor, consent_full_recovery, protected,
                    right_payee, right_channel, minimum_payable_minor, carry_below_minimum,
                    order_right, order_kind, order_priority, order_fixed_minor, order_percent_bp,
                    order_remaining_minor, order_active, order_creditor_payee, order_creditor_channel,
                    n_payees: int, n_channels: int = 2, caps: DeductionCaps = DeductionCaps(),
                    extra_payee=(), extra_channel=(), extra_amount_minor=(),
                    receivable_group=None, recovery_blocked=None, order_for_minor=None, advance_group=None,
                    advance_balance_minor=None, order_taken_minor=None) -> PayrollResult:
    """Deduct, forward, net and check conservation. All per-right arrays share one length and order;
    order_creditor_payee/channel must be valid for alimony, damages and enforcement orders (-1 allowed for
    overpayment orders, whose creditor is the agency itself). receivable_group, recovery_blocked,
    order_for_minor, advance_group, advance_balance_minor and order_taken_minor: see engine.deductions.

    A payment under the minimum takes nothing (RULES.md Readings 3): its rights are deducted again with their
    orders and receivable left alone, and withheld whole; the forwarded money they no longer send may leave a
    creditor's own payment under the minimum in turn, so this repeats until no further payment is withheld."""
    gross = np.ascontiguousarray(gross_minor, dtype=np.int64)
    carry_in = _as_int64(carry_in_minor, "carry_in_minor", gross.shape[0])
    m = np.shape(order_right)[0]
    kind, forwarded, creditor, creditor_channel = _forwarded_orders(order_kind, order_creditor_payee,
                                                                    order_creditor_channel, m)
    extra_amount = _as_int64(extra_amount_minor, "extra_amount_minor", np.shape(extra_amount_minor)[0])
    _check_sum_bound(gross, carry_in, extra_amount)
    order_right_index = np.ascontiguousarray(order_right, dtype=np.int64)
    receivable = np.ascontiguousarray(recovery_receivable_minor, dtype=np.int64)
    active = np.ascontiguousarray(order_active, dtype=np.bool_)
    group = None if receivable_group is None else np.ascontiguousarray(receivable_group, dtype=np.int64)
    advance = None if advance_group is None else np.ascontiguousarray(advance_group, dtype=np.int64)
    withheld = None
    while True:
        free = np.ones(gross.shape[0], bool) if withheld is None else ~withheld
        deductions = apply_deductions(gross, np.where(free, receivable, 0), consent_full_recovery, protected,
                                      order_right, kind, order_priority, order_fixed_minor, order_percent_bp,
                                      order_remaining_minor, active & free[order_right_index], caps,
                                      carry_in_minor=carry_in,
                                      receivable_group=None if group is None else np.where(free, group, -1),
                                      recovery_blocked=recovery_blocked, order_for_minor=order_for_minor,
                                      advance_group=None if advance is None else np.where(free, advance, -1),
                                      advance_balance_minor=advance_balance_minor,
                                      order_taken_minor=order_taken_minor)
        # forwarded deductions first, then the caller's extra lines: one list of lines for the netting
        line_payee = np.concatenate([creditor, np.asarray(extra_payee, dtype=np.int64)])
        line_channel = np.concatenate([creditor_channel, np.asarray(extra_channel, dtype=np.int64)])
        line_amount = np.concatenate([deductions.order_deducted_minor[forwarded], extra_amount])
        netting = net_payments(right_payee, right_channel, deductions.net_minor, minimum_payable_minor,
                               carry_below_minimum, line_payee, line_channel, line_amount, n_payees, n_channels,
                               right_withheld=withheld)
        newly = netting.right_withheld & ~(np.zeros_like(free) if withheld is None else withheld)
        if not (newly & _took_something(deductions)).any():
            break
        withheld = netting.right_withheld.copy()
    order_payment = np.full(m, -1, dtype=np.int64)
    order_payment[forwarded] = netting.line_payment[:forwarded.shape[0]]
    extra_payment = netting.line_payment[forwarded.shape[0]:]
    totals = conservation_totals(gross, carry_in, deductions, netting, order_payment, extra_amount,
                                 extra_payment)
    check_conservation(totals)
    return PayrollResult(deductions, netting, order_payment, extra_payment, totals)


def _took_something(deductions: Deductions) -> np.ndarray:
    """Per right: some deduction or recovery was taken from it."""
    return deductions.total_minor > 0


RIGHT_COMPONENTS = ("gross", "carry_in", "alimony", "damages", "recovery", "enforcement",
                    "recovered_receivable", "paid", "carry_out", "dropped", "advance_recovery")


@kernel(types.int64(I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO,
                    I64_OUT))
def sum_rights(gross, carry_in, alimony, damages, recovery, enforcement, recovered_receivable, paid, carry_out,
               dropped, advance_recovery, out_totals):
    """Sum each component over rights into out_totals (in RIGHT_COMPONENTS order) and check every right:
    gross + carry_in - deductions = paid + carried + dropped. Returns the first right that breaks it, or -1."""
    n = gross.shape[0]
    assert out_totals.shape[0] == len(RIGHT_COMPONENTS)
    assert carry_in.shape[0] == alimony.shape[0] == recovery.shape[0] == paid.shape[0] == dropped.shape[0] == n
    out_totals[:] = 0
    first_bad = -1
    for r in range(n):
        out_totals[0] += gross[r]
        out_totals[1] += carry_in[r]
        out_totals[2] += alimony[r]
        out_totals[3] += damages[r]
        out_totals[4] += recovery[r]
        out_totals[5] += enforcement[r]
        out_totals[6] += recovered_receivable[r]
        out_totals[7] += paid[r]
        out_totals[8] += carry_out[r]
        out_totals[9] += dropped[r]
        out_totals[10] += advance_recovery[r]
        left = gross[r] + carry_in[r] - alimony[r] - damages[r] - recovery[r] - enforcement[r] - advance_recovery[r]
        if first_bad < 0 and left != paid[r] + carry_out[r] + dropped[r]:
            first_bad = r
    return first_bad


def conservation_totals(gross, carry_in, deductions: Deductions, netting: Netting, order_payment,
                        extra_amount, extra_payment) -> dict:
    """Every component summed as Python ints; raises ConservationError at the first right not conserved."""
    sums = np.empty(len(RIGHT_COMPONENTS), dtype=np.int64)
    first_bad = sum_rights(gross, carry_in, deductions.alimony_minor, deductions.damages_minor,
                           deductions.recovery_minor, deductions.enforcement_minor,
                           deductions.recovered_receivable_minor, netting.right_paid_minor,
                           netting.right_carry_out_minor, netting.right_dropped_minor,
                           deductions.advance_recovery_minor, sums)
    if first_bad >= 0:
        raise ConservationError(f"right at index {first_bad} is not conserved")
    totals = {name: int(value) for name, value in zip(RIGHT_COMPONENTS, sums)}
    paid_forwarded = deductions.order_deducted_minor[order_payment >= 0]
    totals.update({
        "forwarded": int(paid_forwarded.sum()),
        "extra": int(extra_amount.sum()),
        "extra_paid": int(extra_amount[extra_payment >= 0].sum()),
        "payments": int(netting.payment_net_minor.sum()),
    })
    return totals


def check_conservation(totals: dict) -> None:
    """The three identities of the module docstring; raises ConservationError naming the one broken."""
    other = totals["alimony"] + totals["damages"] + totals["enforcement"]
    left = totals["gross"] + totals["carry_in"] - totals["recovery"] - totals["advance_recovery"] - other
    right = totals["paid"] + totals["carry_out"] + totals["dropped"]
    if left != right:
        raise ConservationError(f"gross + carry_in - deductions = {left} but paid + carried + dropped = {right}")
    if totals["forwarded"] != other:
        raise ConservationError(f"third-party deductions {other} but forwarded to creditors {totals['forwarded']}")
    if totals["extra_paid"] != totals["extra"]:
        raise ConservationError(f"extra lines {totals['extra']} but paid {totals['extra_paid']}")
    paid_out = totals["paid"] + totals["forwarded"] + totals["extra"]
    if totals["payments"] != paid_out:
        raise ConservationError(f"payments sum to {totals['payments']} but their lines to {paid_out}")
