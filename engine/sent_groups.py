"""The groups the 'payment sent' batch debits: per payment, right and payable account of a payroll's paid lines,
the amount the payment settles and the latest month, in one pass over the lines as calculate writes them (sorted
by payment reference; a payment's lines of one payee and channel, its rights ascending).

The pass reads the references straight from the Arrow buffers of each chunk of the lines (Parquet's row groups)
and writes each group once, into columns allocated by the caller: the numpy grouping it replaces made about 4 GB
of temporaries at national size (the references copied as fixed-width bytes twice, a key, an order, a copy of
every column per step), each fresh GB costing seconds of page faults. Chunks are passed one after the other with
the pass's state (`state`, `current_ref`), so a payment or a right may run across a chunk's end.

A run is a payment's consecutive lines of one right; its lines on the smaller of the two payable accounts form
the run's first group, those on the other its second (so the groups come sorted by payment, right, account). A
group whose lines sum to 0 settles nothing and is left out. Lines not as calculate writes them (unsorted, an
empty reference, a payment naming two payees or channels, rights out of order, an unknown channel) stop the
pass with NOT_AS_WRITTEN: the caller then groups them the general way.
"""
import numpy as np
from numba import types

from engine.jit import BOOL_RO, I8_OUT, I16_OUT, I32_OUT, I32_RO, I64_OUT, I64_RO, U8_2D_OUT, U8_OUT, U8_RO, \
    helper, kernel

OK, NOT_AS_WRITTEN, NEGATIVE = 0, 1, 2  # what a pass returns (NEGATIVE: a group settles less than 0)
REF_BYTES_MAX = 35  # the ledger's payment references (S35)

# the pass's state between chunks (int64 slots); per account bit b (0: the smaller account), its sum, its latest
# month, whether the run has a line on it and the first line of it, at SUM + b * PER_BIT etc.
STARTED, RIGHT, PAYEE, CHANNEL, REF_LENGTH, LINE, GROUPS, SUM, MONTH, HAS, FIRST = range(11)
PER_BIT = 4
STATE_SLOTS = FIRST + PER_BIT + 1


def new_state() -> tuple[np.ndarray, np.ndarray]:
    """(state, current_ref) of a pass before its first chunk."""
    return np.zeros(STATE_SLOTS, np.int64), np.zeros(REF_BYTES_MAX, np.uint8)


@helper
def _compare(data, start, end, current_ref, length):
    """-1, 0 or 1 as data[start:end] sorts before, equals or sorts after current_ref[:length] (bytes)."""
    assert 0 <= start <= end <= data.shape[0], "a reference outside its chunk's bytes"
    assert 0 <= length <= current_ref.shape[0]
    for k in range(min(end - start, length)):
        if data[start + k] != current_ref[k]:
            return -1 if data[start + k] < current_ref[k] else 1
    count = end - start
    return 0 if count == length else (-1 if count < length else 1)


@helper
def _close_run(state, current_ref, accounts, out_account, out_payee, out_right, out_channel, out_month,
               out_amount, out_ref, out_line):
    """The open run's groups that settle an amount, written at state[GROUPS] on; NEGATIVE when one settles less
    than 0, else OK."""
    assert state.shape[0] == STATE_SLOTS and accounts.shape[0] == 3
    assert out_ref.shape[1] == current_ref.shape[0] >= state[REF_LENGTH]
    status = OK
    for bit in range(2):
        at = bit * PER_BIT
        if state[HAS + at] == 0:
            continue
        total = state[SUM + at]
        state[HAS + at] = 0
        state[SUM + at] = 0
        if total == 0:
            continue
        if total < 0:
            status = NEGATIVE
        group = state[GROUPS]
        assert group < out_amount.shape[0], "more groups than lines"
        out_account[group] = accounts[bit]
        out_payee[group] = state[PAYEE]
        out_right[group] = state[RIGHT]
        out_channel[group] = state[CHANNEL]
        out_month[group] = state[MONTH + at]
        out_amount[group] = total
        out_line[group] = state[FIRST + at]
        for k in range(out_ref.shape[1]):
            out_ref[group, k] = current_ref[k] if k < state[REF_LENGTH] else 0
        state[GROUPS] = group + 1
    return status


@kernel(types.int64(I32_RO, U8_RO, I64_RO, I64_RO, I64_RO, BOOL_RO, I64_RO, I64_RO, I64_RO, types.boolean,
                    I64_OUT, U8_OUT, I16_OUT, I64_OUT, I64_OUT, I8_OUT, I32_OUT, I64_OUT,
                    U8_2D_OUT, I64_OUT))
def group_sent_lines(ref_offsets, ref_data, right, payee, channel, forwarded, amount_minor, month, accounts,
                     final, state, current_ref, out_account, out_payee, out_right, out_channel, out_month,
                     out_amount, out_ref, out_line):
    """One chunk of paid lines into groups (see the module's docstring), continuing the pass of `state`; with
    `final`, the last run is closed too. ref_offsets/ref_data: the chunk's references (Arrow string buffers, no
    null); channel: 0 bank, 1 post (< 0 unknown); forwarded: the line is on deductions payable, not on benefits
    payable; month: month index; accounts: the two payable accounts, smaller code first, and the bit (0 or 1) of a
    forwarded line's account (deductions payable). Returns OK, NOT_AS_WRITTEN (the pass stops) or NEGATIVE (the
    pass went on)."""
    n = right.shape[0]
    assert ref_offsets.shape[0] == n + 1 and payee.shape[0] == n and channel.shape[0] == n
    assert forwarded.shape[0] == n and amount_minor.shape[0] == n and month.shape[0] == n
    assert accounts.shape[0] == 3 and state.shape[0] == STATE_SLOTS and current_ref.shape[0] == REF_BYTES_MAX
    assert out_ref.shape[1] == REF_BYTES_MAX
    status = OK
    for i in range(n):
        start, end = ref_offsets[i], ref_offsets[i + 1]
        if end <= start or end - start > REF_BYTES_MAX or channel[i] < 0:
            return NOT_AS_WRITTEN
        new_payment = True
        if state[STARTED]:
            order = _compare(ref_data, start, end, current_ref, state[REF_LENGTH])
            if order < 0:
                return NOT_AS_WRITTEN
            new_payment = order != 0
            if not new_payment and (payee[i] != state[PAYEE] or channel[i] != state[CHANNEL]
                                    or right[i] < state[RIGHT]):
                return NOT_AS_WRITTEN
            if new_payment or right[i] != state[RIGHT]:
                status |= _close_run(state, current_ref, accounts, out_account, out_payee, out_right, out_channel,
                                     out_month, out_amount, out_ref, out_line)
        if new_payment:
            for k in range(end - start):
                current_ref[k] = ref_data[start + k]
            state[REF_LENGTH] = end - start
            state[PAYEE] = payee[i]
            state[CHANNEL] = channel[i]
        state[STARTED] = 1
        state[RIGHT] = right[i]
        at = (accounts[2] if forwarded[i] else 1 - accounts[2]) * PER_BIT
        if state[HAS + at] == 0:
            state[HAS + at] = 1
            state[MONTH + at] = month[i]
            state[FIRST + at] = state[LINE] + i
        elif month[i] > state[MONTH + at]:
            state[MONTH + at] = month[i]
        state[SUM + at] += amount_minor[i]
    state[LINE] += n
    if final and state[STARTED]:
        status |= _close_run(state, current_ref, accounts, out_account, out_payee, out_right, out_channel,
                             out_month, out_amount, out_ref, out_line)
    return status
