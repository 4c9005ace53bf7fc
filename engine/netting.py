"""Netting: one payment per (payee, channel) per payroll, carrying the rights and lines it covers.

Lines that join payments: each right's net (gross + carry_in - deductions) on its payee's payment, each
forwarded deduction on its creditor's payment, and extra lines the caller passes (e.g. `reissue` of returned
payments). The minimum payable is applied PER PAYMENT, because a treasury pays (and is charged for) payments,
not rights: a payment whose total (all its lines) is below the largest minimum among the rights it carries
withholds the nets of those rights, each by its own benefit's policy (carried forward to a later payroll or
dropped). Forwarded and extra lines are never withheld: they are money already owed to someone and are paid
whatever their size. A payment whose total is zero is not made; rights on it point to no payment (-1).
Payments are numbered in (payee, channel) order, so the numbering is deterministic.
"""
from dataclasses import dataclass

import numpy as np
from numba import types

from engine.jit import kernel
from engine.money import AMOUNT_MINOR_MAX

_I64_RO = types.Array(types.int64, 1, "C", readonly=True)
_BOOL_RO = types.Array(types.boolean, 1, "C", readonly=True)
_I64_RW = types.Array(types.int64, 1, "C")


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
    payment_rights: np.ndarray         # rights carried
    payment_lines: np.ndarray          # rights + non-zero extra lines


@kernel(types.void(_I64_RO, _I64_RO, _I64_RO, _I64_RO, _I64_RO, _I64_RW, _I64_RW))
def accumulate_payments(right_key, right_net_minor, right_minimum_minor, line_key, line_amount_minor,
                        key_total_minor, key_minimum_minor):
    """Sum every line per (payee, channel) key and keep the largest minimum among the key's rights."""
    assert right_key.shape[0] == right_net_minor.shape[0] == right_minimum_minor.shape[0]
    assert line_key.shape[0] == line_amount_minor.shape[0]
    for r in range(right_key.shape[0]):
        key = right_key[r]
        key_total_minor[key] += right_net_minor[r]
        if right_minimum_minor[r] > key_minimum_minor[key]:
            key_minimum_minor[key] = right_minimum_minor[r]
    for j in range(line_key.shape[0]):
        key_total_minor[line_key[j]] += line_amount_minor[j]


@kernel(types.void(_I64_RO, _I64_RO, _BOOL_RO, _I64_RO, _I64_RW, _I64_RW, _I64_RW, _I64_RW))
def withhold_under_minimum(right_key, right_net_minor, right_carry, key_minimum_minor, key_total_minor,
                           out_paid_minor, out_carry_out_minor, out_dropped_minor):
    """Split each right's net into paid / carried / dropped; key totals lose what their rights withhold."""
    n = right_key.shape[0]
    assert right_net_minor.shape[0] == n and right_carry.shape[0] == n and out_paid_minor.shape[0] == n
    assert key_minimum_minor.shape[0] == key_total_minor.shape[0]
    for r in range(n):
        key = right_key[r]
        net = right_net_minor[r]
        out_paid_minor[r] = net
        out_carry_out_minor[r] = 0
        out_dropped_minor[r] = 0
        # the decision reads the key total before any of its rights is withheld: compare with the minimum
        # first, then subtract, so all rights of one payment see the same total
        if key_total_minor[key] < key_minimum_minor[key]:
            out_paid_minor[r] = 0
            if right_carry[r]:
                out_carry_out_minor[r] = net
            else:
                out_dropped_minor[r] = net
    for r in range(n):
        key = right_key[r]
        key_total_minor[key] -= right_net_minor[r] - out_paid_minor[r]


def _keys(payee, channel, n_payees: int, n_channels: int, name: str) -> np.ndarray:
    payee = np.ascontiguousarray(payee, dtype=np.int64)
    channel = np.ascontiguousarray(channel, dtype=np.int64)
    if payee.shape != channel.shape or payee.ndim != 1:
        raise ValueError(f"{name}: payee and channel arrays must be 1-d and of the same length")
    if payee.shape[0] and (payee.min() < 0 or payee.max() >= n_payees):
        raise ValueError(f"{name}: payee index outside 0..{n_payees - 1}")
    if channel.shape[0] and (channel.min() < 0 or channel.max() >= n_channels):
        raise ValueError(f"{name}: channel code outside 0..{n_channels - 1}")
    return payee * n_channels + channel


def _amounts(values, name: str, length: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.shape != (length,):
        raise ValueError(f"{name}: expected length {length}, got shape {array.shape}")
    if length and (array.min() < 0 or array.max() > AMOUNT_MINOR_MAX):
        raise ValueError(f"{name} must lie within 0..{AMOUNT_MINOR_MAX} minor units")
    return array


def net_payments(right_payee, right_channel, right_net_minor, right_minimum_minor, right_carry,
                 line_payee, line_channel, line_amount_minor, n_payees: int, n_channels: int = 2) -> Netting:
    """Net rights (pre-minimum nets, >= 0) and extra lines (>= 0) into payments per (payee, channel)."""
    right_key = _keys(right_payee, right_channel, n_payees, n_channels, "rights")
    n = right_key.shape[0]
    net = _amounts(right_net_minor, "right_net_minor", n)
    minimum = _amounts(right_minimum_minor, "right_minimum_minor", n)
    carry = np.ascontiguousarray(right_carry, dtype=np.bool_)
    if carry.shape != (n,):
        raise ValueError(f"right_carry: expected length {n}, got shape {carry.shape}")
    line_key = _keys(line_payee, line_channel, n_payees, n_channels, "lines")
    line_amount = _amounts(line_amount_minor, "line_amount_minor", line_key.shape[0])
    n_keys = n_payees * n_channels
    key_total, key_minimum = np.zeros(n_keys, dtype=np.int64), np.zeros(n_keys, dtype=np.int64)
    accumulate_payments(right_key, net, minimum, line_key, line_amount, key_total, key_minimum)
    paid, carry_out, dropped = (np.empty(n, dtype=np.int64) for _ in range(3))
    withhold_under_minimum(right_key, net, carry, key_minimum, key_total, paid, carry_out, dropped)
    payment_key = np.flatnonzero(key_total > 0)
    payment_of_key = np.full(n_keys, -1, dtype=np.int64)
    payment_of_key[payment_key] = np.arange(payment_key.shape[0], dtype=np.int64)
    right_payment = payment_of_key[right_key]
    line_payment = np.where(line_amount > 0, payment_of_key[line_key], -1)
    n_payments = payment_key.shape[0]
    payment_rights = np.bincount(right_payment[right_payment >= 0], minlength=n_payments).astype(np.int64)
    payment_lines = payment_rights + np.bincount(line_payment[line_payment >= 0], minlength=n_payments)
    return Netting(right_payment, paid, carry_out, dropped, line_payment,
                   payment_payee=payment_key // n_channels, payment_channel=payment_key % n_channels,
                   payment_net_minor=key_total[payment_key], payment_rights=payment_rights,
                   payment_lines=payment_lines.astype(np.int64))
