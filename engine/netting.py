"""Netting: one payment per (payee, channel) per payroll, carrying the rights and lines it covers.

Lines that join payments: each right's net (gross + carry_in - deductions) on its payee's payment, each
forwarded deduction on its creditor's payment, and extra lines the caller passes (e.g. `reissue` of returned
payments). The minimum payable is applied PER PAYMENT, because a treasury pays (and is charged for) payments,
not rights: a payment whose total (all its lines) is below the largest minimum among the rights it carries
withholds the nets of those rights, each by its own benefit's policy (carried forward to a later payroll or
dropped). Forwarded and extra lines are never withheld: they are money already owed to someone and are paid
whatever their size. A payment whose total is zero is not made; rights on it point to no payment (-1).
`right_withheld` (optional) names rights whose payment is withheld whatever its total: the caller found it
under the minimum before it took back the deductions of its rights (RULES.md Readings 3).
Payments are numbered in (payee, channel) order, so the numbering is deterministic.
"""
from dataclasses import dataclass

import numpy as np
from numba import types

from engine.deductions import check_amounts
from engine.jit import BOOL_RO, I64_OUT, I64_RO, kernel


@dataclass(frozen=True)
class Netting:
    """Per right, per extra line and per payment (payments in (payee, channel) order)."""

    right_payment: np.ndarray          # payment index or -1
    right_paid_minor: np.ndarray       # net actually paid on the payment
    right_carry_out_minor: np.ndarray  # withheld under the minimum and carried forward
    right_dropped_minor: np.ndarray    # withheld under the minimum and dropped (policy drop)
    line_payment: np.ndarray           # payment index of each extra line, or -1 when its amount is 0
    payment_payee: np.ndarray
    payment_channel: np.ndarray
    payment_net_minor: np.ndarray
    payment_rights: np.ndarray         # how many rights the payment carries
    right_withheld: np.ndarray | None = None  # bool per right: its payment was withheld under the minimum


@kernel(types.void(I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, types.int64, I64_OUT,
                   I64_OUT))
def accumulate_payments(right_payee, right_channel, right_net_minor, right_minimum_minor, line_payee,
                        line_channel, line_amount_minor, n_channels, key_total_minor, key_minimum_minor):
    """Sum every line per key (payee * n_channels + channel) and keep the largest minimum of the key's rights."""
    assert right_payee.shape[0] == right_net_minor.shape[0] == right_minimum_minor.shape[0]
    assert line_payee.shape[0] == line_amount_minor.shape[0] and n_channels > 0
    for r in range(right_payee.shape[0]):
        key = right_payee[r] * n_channels + right_channel[r]
        key_total_minor[key] += right_net_minor[r]
        if right_minimum_minor[r] > key_minimum_minor[key]:
            key_minimum_minor[key] = right_minimum_minor[r]
    for j in range(line_payee.shape[0]):
        key_total_minor[line_payee[j] * n_channels + line_channel[j]] += line_amount_minor[j]


WITHHELD = -1  # marks a key in key_minimum_minor once its payment is found under the minimum


@kernel(types.void(I64_RO, I64_RO, I64_RO, BOOL_RO, types.int64, I64_OUT, I64_OUT, I64_OUT, I64_OUT,
                   I64_OUT))
def withhold_under_minimum(right_payee, right_channel, right_net_minor, right_carry, n_channels,
                           key_minimum_minor, key_total_minor, out_paid_minor, out_carry_out_minor,
                           out_dropped_minor):
    """Split each right's net into paid / carried / dropped; key totals lose what their rights withhold.
    The first right of a key decides for the whole payment on the untouched total and marks the key, so all
    rights of one payment follow the same decision."""
    n = right_payee.shape[0]
    assert right_net_minor.shape[0] == n and right_carry.shape[0] == n and out_paid_minor.shape[0] == n
    assert key_minimum_minor.shape[0] == key_total_minor.shape[0]
    for r in range(n):
        key = right_payee[r] * n_channels + right_channel[r]
        net = right_net_minor[r]
        minimum = key_minimum_minor[key]
        if minimum > 0 and key_total_minor[key] < minimum:
            key_minimum_minor[key] = minimum = WITHHELD
        withheld = minimum == WITHHELD
        out_paid_minor[r] = 0 if withheld else net
        out_carry_out_minor[r] = net if withheld and right_carry[r] else 0
        out_dropped_minor[r] = net if withheld and not right_carry[r] else 0
        if withheld:
            key_total_minor[key] -= net


@kernel(types.int64(I64_RO, I64_OUT))
def number_payments(key_total_minor, out_key_payment):
    """Payments are the keys with a positive total, numbered in key order; returns how many there are."""
    assert key_total_minor.shape[0] == out_key_payment.shape[0]
    count = 0
    for key in range(key_total_minor.shape[0]):
        assert key_total_minor[key] >= 0
        out_key_payment[key] = count if key_total_minor[key] > 0 else -1
        count += key_total_minor[key] > 0
    return count


@kernel(types.void(I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, types.int64, I64_OUT,
                   I64_OUT, I64_OUT, I64_OUT, I64_OUT, I64_OUT))
def fill_payments(key_total_minor, key_payment, right_payee, right_channel, line_payee, line_channel,
                  line_amount_minor, n_channels, out_right_payment, out_line_payment, out_payee, out_channel,
                  out_net_minor, out_rights):
    """Payment arrays from the numbered keys, and the payment of every right and line (-1 when none)."""
    assert key_total_minor.shape[0] == key_payment.shape[0] and n_channels > 0
    assert out_right_payment.shape[0] == right_payee.shape[0] and out_line_payment.shape[0] == line_payee.shape[0]
    for key in range(key_payment.shape[0]):
        p = key_payment[key]
        if p >= 0:
            out_payee[p] = key // n_channels
            out_channel[p] = key % n_channels
            out_net_minor[p] = key_total_minor[key]
            out_rights[p] = 0
    for r in range(right_payee.shape[0]):
        p = key_payment[right_payee[r] * n_channels + right_channel[r]]
        out_right_payment[r] = p
        if p >= 0:
            out_rights[p] += 1
    for j in range(line_payee.shape[0]):
        out_line_payment[j] = key_payment[line_payee[j] * n_channels + line_channel[j]] \
            if line_amount_minor[j] > 0 else -1


@kernel(types.int64(I64_RO, I64_RO, types.int64, types.int64))
def first_bad_payee(payee, channel, n_payees, n_channels):
    """The first position whose payee or channel is out of range (the caller refuses the input), or -1."""
    assert payee.shape[0] == channel.shape[0]
    assert n_payees >= 0 and n_channels > 0
    for i in range(payee.shape[0]):
        if not (0 <= payee[i] < n_payees and 0 <= channel[i] < n_channels):
            return i
    return -1


def _payees(payee, channel, n_payees: int, n_channels: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    payee = np.ascontiguousarray(payee, dtype=np.int64)
    channel = np.ascontiguousarray(channel, dtype=np.int64)
    if payee.shape != channel.shape or payee.ndim != 1:
        raise ValueError(f"{name}: payee and channel arrays must be 1-d and of the same length")
    bad = first_bad_payee(payee, channel, n_payees, n_channels)
    if bad >= 0:
        raise ValueError(f"{name}[{bad}]: payee index {payee[bad]} outside 0..{n_payees - 1} or channel code "
                         f"{channel[bad]} outside 0..{n_channels - 1}")
    return payee, channel


def _amounts(values, name: str, length: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.shape != (length,):
        raise ValueError(f"{name}: expected length {length}, got shape {array.shape}")
    check_amounts(array, name)
    return array


def net_payments(right_payee, right_channel, right_net_minor, right_minimum_minor, right_carry,
                 line_payee, line_channel, line_amount_minor, n_payees: int, n_channels: int = 2,
                 right_withheld=None) -> Netting:
    """Net rights (pre-minimum nets, >= 0) and extra lines (>= 0) into payments per (payee, channel)."""
    right_payee, right_channel = _payees(right_payee, right_channel, n_payees, n_channels, "rights")
    n = right_payee.shape[0]
    net = _amounts(right_net_minor, "right_net_minor", n)
    minimum = _amounts(right_minimum_minor, "right_minimum_minor", n)
    carry = np.ascontiguousarray(right_carry, dtype=np.bool_)
    if carry.shape != (n,):
        raise ValueError(f"right_carry: expected length {n}, got shape {carry.shape}")
    line_payee, line_channel = _payees(line_payee, line_channel, n_payees, n_channels, "lines")
    line_amount = _amounts(line_amount_minor, "line_amount_minor", line_payee.shape[0])
    n_keys = n_payees * n_channels
    key_total, key_scratch = np.zeros(n_keys, dtype=np.int64), np.zeros(n_keys, dtype=np.int64)
    accumulate_payments(right_payee, right_channel, net, minimum, line_payee, line_channel, line_amount,
                        n_channels, key_total, key_scratch)
    if right_withheld is not None:
        forced = np.ascontiguousarray(right_withheld, dtype=np.bool_)
        key_scratch[right_payee[forced] * n_channels + right_channel[forced]] = WITHHELD
    paid, carry_out, dropped = (np.empty(n, dtype=np.int64) for _ in range(3))
    withhold_under_minimum(right_payee, right_channel, net, carry, n_channels, key_scratch, key_total, paid,
                           carry_out, dropped)
    withheld = key_scratch[right_payee * n_channels + right_channel] == WITHHELD
    key_payment = key_scratch  # the minimums are no longer needed: reuse the memory for the numbering
    n_payments = number_payments(key_total, key_payment)
    right_payment, line_payment = np.empty(n, dtype=np.int64), np.empty(line_payee.shape[0], dtype=np.int64)
    payee, channel, payment_net, rights = (np.empty(n_payments, dtype=np.int64) for _ in range(4))
    fill_payments(key_total, key_payment, right_payee, right_channel, line_payee, line_channel, line_amount,
                  n_channels, right_payment, line_payment, payee, channel, payment_net, rights)
    return Netting(right_payment, paid, carry_out, dropped, line_payment, payee, channel, payment_net, rights,
                   withheld)
