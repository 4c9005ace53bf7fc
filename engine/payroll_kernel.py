"""Deductions, netting and the conservation check of one payroll, composed for the payroll step.

`compute_payroll` takes per right the gross of this payroll (due + arrears), what was carried in, the
receivable, flags, payee/channel and the benefit's minimum and policy; the deduction orders with their
creditors; and extra lines (e.g. re-issues). It deducts (engine.deductions), forwards third-party deductions
to their creditors' payments, nets everything per (payee, channel) (engine.netting) and checks that money is
conserved exactly, raising ConservationError (never disabled by `python -O`) if it is not:
    sum gross + sum carry_in - sum recovery - sum other deductions = sum paid + sum carried out + sum dropped
    sum forwarded deductions = sum of the forwarded lines on creditors' payments
    sum of payments = sum paid on rights + sum forwarded + sum extra lines
"""
from dataclasses import dataclass

import numpy as np

from engine.deductions import FORWARDED_KINDS, DeductionCaps, Deductions, apply_deductions
from engine.money import AMOUNT_MINOR_MAX
from engine.netting import Netting, net_payments

# sums of int64 arrays wrap silently; all inputs together must stay well inside int64
SUM_MINOR_MAX = 2**62


class ConservationError(AssertionError):
    """Money appeared or vanished between gross and payments: a programmer error, never bad input."""


@dataclass(frozen=True)
class PayrollResult:
    deductions: Deductions
    netting: Netting
    right_net_minor: np.ndarray   # gross + carry_in - all deductions, before the minimum payable
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


def compute_payroll(gross_minor, carry_in_minor, recovery_receivable_minor, consent_full_recovery, protected,
                    right_payee, right_channel, minimum_payable_minor, carry_below_minimum,
                    order_right, order_kind, order_priority, order_fixed_minor, order_percent_bp,
                    order_remaining_minor, order_active, order_creditor_payee, order_creditor_channel,
                    n_payees: int, n_channels: int = 2, caps: DeductionCaps = DeductionCaps(),
                    extra_payee=(), extra_channel=(), extra_amount_minor=()) -> PayrollResult:
    """Deduct, forward, net and check conservation. All per-right arrays share one length and order;
    order_creditor_payee/channel must be valid for alimony, damages and enforcement orders (-1 allowed for
    overpayment orders, whose creditor is the agency itself)."""
    n = np.shape(gross_minor)[0]
    m = np.shape(order_right)[0]
    carry_in = _as_int64(carry_in_minor, "carry_in_minor", n)
    if n and (carry_in.min() < 0 or carry_in.max() > AMOUNT_MINOR_MAX):
        raise ValueError(f"carry_in_minor must lie within 0..{AMOUNT_MINOR_MAX} minor units")
    kind = _as_int64(order_kind, "order_kind", m)
    creditor = _as_int64(order_creditor_payee, "order_creditor_payee", m)
    creditor_channel = _as_int64(order_creditor_channel, "order_creditor_channel", m)
    forwarded_order = np.isin(kind, FORWARDED_KINDS)
    if (creditor[forwarded_order] < 0).any():
        raise ValueError("alimony, damages and enforcement orders need a creditor payee")
    extra_amount = _as_int64(extra_amount_minor, "extra_amount_minor", np.shape(extra_amount_minor)[0])
    _check_sum_bound(np.asarray(gross_minor, dtype=np.int64), carry_in, extra_amount)
    deductions = apply_deductions(gross_minor, recovery_receivable_minor, consent_full_recovery, protected,
                                  order_right, kind, order_priority, order_fixed_minor, order_percent_bp,
                                  order_remaining_minor, order_active, caps)
    gross = np.ascontiguousarray(gross_minor, dtype=np.int64)
    right_net = gross + carry_in - deductions.total_minor
    forwarded_index = np.flatnonzero(forwarded_order)
    line_payee = np.concatenate([creditor[forwarded_index], np.asarray(extra_payee, dtype=np.int64)])
    line_channel = np.concatenate([creditor_channel[forwarded_index], np.asarray(extra_channel, dtype=np.int64)])
    line_amount = np.concatenate([deductions.order_deducted_minor[forwarded_index], extra_amount])
    netting = net_payments(right_payee, right_channel, right_net, minimum_payable_minor, carry_below_minimum,
                           line_payee, line_channel, line_amount, n_payees, n_channels)
    order_payment = np.full(m, -1, dtype=np.int64)
    order_payment[forwarded_index] = netting.line_payment[:forwarded_index.shape[0]]
    extra_payment = netting.line_payment[forwarded_index.shape[0]:]
    totals = conservation_totals(gross, carry_in, deductions, netting, order_payment, extra_amount,
                                 extra_payment)
    check_conservation(totals)
    check_rights_conserved(gross, carry_in, deductions, netting)
    return PayrollResult(deductions, netting, right_net, order_payment, extra_payment, totals)


def conservation_totals(gross, carry_in, deductions: Deductions, netting: Netting, order_payment,
                        extra_amount, extra_payment) -> dict:
    """Every component summed as Python ints (exact)."""
    paid_forwarded = deductions.order_deducted_minor[order_payment >= 0]
    return {
        "gross": int(gross.sum()),
        "carry_in": int(carry_in.sum()),
        "recovery": int(deductions.recovery_minor.sum()),
        "recovered_receivable": int(deductions.recovered_receivable_minor.sum()),
        "alimony": int(deductions.alimony_minor.sum()),
        "damages": int(deductions.damages_minor.sum()),
        "enforcement": int(deductions.enforcement_minor.sum()),
        "forwarded": int(paid_forwarded.sum()),
        "paid": int(netting.right_paid_minor.sum()),
        "carry_out": int(netting.right_carry_out_minor.sum()),
        "dropped": int(netting.right_dropped_minor.sum()),
        "extra": int(extra_amount.sum()),
        "extra_paid": int(extra_amount[extra_payment >= 0].sum()),
        "payments": int(netting.payment_net_minor.sum()),
    }


def check_conservation(totals: dict) -> None:
    """The three identities of the module docstring; raises ConservationError naming the one broken."""
    other = totals["alimony"] + totals["damages"] + totals["enforcement"]
    left = totals["gross"] + totals["carry_in"] - totals["recovery"] - other
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


def check_rights_conserved(gross, carry_in, deductions: Deductions, netting: Netting) -> None:
    """The same identity right by right (vectorised), so an error is caught where it happens."""
    left = gross + carry_in - deductions.total_minor
    right = netting.right_paid_minor + netting.right_carry_out_minor + netting.right_dropped_minor
    bad = np.flatnonzero(left != right)
    if bad.shape[0]:
        raise ConservationError(f"{bad.shape[0]} rights not conserved, first at index {int(bad[0])}")
