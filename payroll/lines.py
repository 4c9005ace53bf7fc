"""Payroll lines: one row per amount (formats.schemas.PAYROLL_LINES), built column-wise from the engine's result.

Per right: the differences of due against what the ledger recognised (`due` for the period, `arrears` for
earlier months, `overpayment` for negative differences, which are not on any payment and become receivable),
`carry_in`, the deductions (`recovery`, `alimony`, `damages`, `enforcement`, negative), and what netting
withheld (`carry_out`, `dropped`, negative). Per forwarded deduction a positive `forwarded` line on the creditor's
payment; per re-issued amount a positive `reissue` line. Every line of a paid right carries its payment's
EndToEndId; the lines of a payment sum to its net, and the lines of a right that nothing was paid on sum to 0.
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.schemas import COMPONENTS, PAYROLL_LINES

CHANNEL_NAMES = ("bank", "post")
# DESIGN.md's components plus two a line needs and formats.schemas.COMPONENTS does not name (that tuple also fixes
# the ledger's component codes, so it is not extended here): `overpayment`, a negative difference raised as a
# receivable and on no payment; `dropped`, an amount under the minimum that the benefit's policy does not carry.
# RULES.md Readings 4 and 11 add two more, both on no payment: `time_barred`, arrears of a month cut by the
# catalogue's limitation period (arrears_limit_months), amount = the amount not paid (positive, never paid out,
# not posted: the month stays unrecognised); `written_off`, a reduction the agency caused (agency_fault), amount =
# the negative difference, posted to overpayments written off instead of raised as a receivable.
LINE_COMPONENTS = ("due", "arrears", "overpayment", "recovery", "alimony", "damages", "enforcement", "forwarded",
                   "carry_in", "carry_out", "dropped", "reissue", "time_barred", "written_off",
                   # --- issue 17: a maintenance advance recovered from the debtor's payment (negative, not forwarded)
                   "advance_recovery")
assert set(COMPONENTS) <= set(LINE_COMPONENTS)


@dataclass(frozen=True)
class RightColumns:
    """Per right (dense index r): identity and where it is paid."""

    right_id: np.ndarray       # int64
    benefit: np.ndarray        # int64 code into benefit_names
    payee_id: np.ndarray       # int64 (register id of the payee)
    channel: np.ndarray        # int64 code into CHANNEL_NAMES
    benefit_names: tuple = ()  # benefit code -> catalogue code


@dataclass(frozen=True)
class LineBlock:
    """A block of lines in columns: right index, payee id, channel code, month index, amount, payment index."""

    component: str
    right: np.ndarray
    payee_id: np.ndarray
    channel: np.ndarray
    month: np.ndarray
    amount_minor: np.ndarray
    payment: np.ndarray        # payment index or -1


@dataclass(frozen=True)
class LineColumns:
    """Every line as numpy columns in the file's order (payment, right, block, month): what the table is made
    of, and what the summary and the checks read without going through Arrow strings."""

    right: np.ndarray          # dense right index
    payee_id: np.ndarray       # int64
    channel: np.ndarray        # int8 code into CHANNEL_NAMES
    month: np.ndarray          # month index
    component: np.ndarray      # int8 code into LINE_COMPONENTS
    amount_minor: np.ndarray   # int64
    payment: np.ndarray        # payment index or -1

    @property
    def size(self) -> int:
        return int(self.right.shape[0])


def month_days(month_index: np.ndarray) -> np.ndarray:
    """First day of each month as days since 1970-01-01, vectorised through numpy datetime64."""
    months = np.asarray(month_index, dtype=np.int64).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def right_block(component: str, rights: RightColumns, amount_minor: np.ndarray, right_payment: np.ndarray,
                period: int, sign: int) -> LineBlock:
    """One line per right with a non-zero amount, in the period's month."""
    index = np.flatnonzero(amount_minor)
    return LineBlock(component, index, rights.payee_id[index], rights.channel[index],
                     np.full(index.shape[0], period, dtype=np.int64), sign * amount_minor[index],
                     right_payment[index])


def difference_blocks(rights: RightColumns, diff_right: np.ndarray, diff_month: np.ndarray,
                      diff_minor: np.ndarray, right_payment: np.ndarray, period: int) -> list[LineBlock]:
    """due / arrears (positive, on the right's payment) and overpayment (negative, on no payment)."""
    blocks = []
    positive = diff_minor > 0
    for component, mask in (("due", positive & (diff_month == period)),
                            ("arrears", positive & (diff_month != period)),
                            ("overpayment", diff_minor < 0)):
        index = np.flatnonzero(mask)
        r = diff_right[index]
        payment = right_payment[r] if component != "overpayment" else np.full(r.shape[0], -1, np.int64)
        blocks.append(LineBlock(component, r, rights.payee_id[r], rights.channel[r], diff_month[index],
                                diff_minor[index], payment))
    return blocks


def _bits(values: np.ndarray) -> int:
    return int(values.max()).bit_length() if values.shape[0] else 0


def line_order(payment: np.ndarray, right: np.ndarray, block: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Stable order by payment (lines on no payment last), right, block, month: one argsort of a packed int64
    key when the four fit in 63 bits (always at national scale), else np.lexsort of the four."""
    pay_key = np.where(payment < 0, payment.shape[0] and int(payment.max()) + 1, payment)
    month_key = month - (int(month.min()) if month.shape[0] else 0)
    widths = [_bits(pay_key), _bits(right), _bits(block), _bits(month_key)]
    if sum(widths) > 63 or (right.shape[0] and int(right.min()) < 0):
        return np.lexsort((month, block, right, pay_key))
    key = pay_key.astype(np.int64) << (widths[1] + widths[2] + widths[3])
    key |= right.astype(np.int64) << (widths[2] + widths[3])
    key |= block.astype(np.int64) << widths[3]
    key |= month_key
    # distinct keys (the usual case: a line is one component of one right, month and payment) sort the same
    # whichever way: the unstable sort is several times faster on keys in no order; ties sort stably
    order = np.argsort(key)
    ordered = key[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.argsort(key, kind="stable")
    return order


def order_blocks(blocks: list[LineBlock]) -> LineColumns:
    """Concatenate blocks into LineColumns sorted by payment, right, block order, month. The list is emptied
    as its columns are gathered, so the blocks' memory is given back column by column."""
    blocks[:] = [b for b in blocks if b.right.shape[0]]
    if not blocks:
        empty = np.zeros(0, np.int64)
        return LineColumns(empty, empty, empty.astype(np.int8), empty, empty.astype(np.int8), empty, empty)
    sizes = [b.right.shape[0] for b in blocks]
    codes = np.array([LINE_COMPONENTS.index(b.component) for b in blocks], np.int8)
    fields = {name: [getattr(b, name) for b in blocks] for name in
              ("right", "payee_id", "channel", "month", "amount_minor", "payment")}
    blocks.clear()
    gather = lambda name, dtype: np.concatenate([np.asarray(part, dtype) for part in fields.pop(name)])
    block = np.repeat(np.arange(len(sizes), dtype=np.int8), sizes)
    payment, right, month = gather("payment", np.int64), gather("right", np.int64), gather("month", np.int64)
    order = line_order(payment, right, block, month)
    payment, right, month = payment[order], right[order], month[order]
    component = codes[block[order]]
    del block
    payee_id = gather("payee_id", np.int64)[order]
    channel = gather("channel", np.int8)[order]
    amount = gather("amount_minor", np.int64)[order]
    return LineColumns(right, payee_id, channel, month, component, amount, payment)


def constant_strings(text: str, count: int) -> pa.Array:
    """`count` copies of one string, straight from buffers."""
    from payroll.ids import fixed_width_strings

    raw = np.frombuffer(text.encode("utf-8"), np.uint8)
    return fixed_width_strings(np.broadcast_to(raw, (count, raw.shape[0])))


def to_table(payroll_id: str, rights: RightColumns, columns: LineColumns,
             payment_refs: np.ndarray | None = None) -> pa.Table:
    """The PAYROLL_LINES table of ordered line columns; payment_ref is the EndToEndId of payment index + 1
    (rows of `payment_refs`, the payments' ids as an ids.ref_matrix, when given)."""
    from payroll.ids import fixed_width_strings, ref_strings

    n = columns.size
    names = lambda values: pa.array(list(values), pa.string())
    codes = lambda values: pa.array(np.asarray(values, np.int32))
    table = {
        "payroll": constant_strings(payroll_id, n),
        "right_id": pa.array(rights.right_id[columns.right], pa.int64()),
        "benefit": pc.take(names(rights.benefit_names), codes(rights.benefit[columns.right])),
        "payee_id": pa.array(columns.payee_id, pa.int64()),
        "channel": pc.take(names(CHANNEL_NAMES), codes(columns.channel)),
        "month": pa.array(month_days(columns.month).astype(np.int32), pa.int32()).cast(pa.date32()),
        "component": pc.take(names(LINE_COMPONENTS), codes(columns.component)),
        "amount_minor": pa.array(columns.amount_minor, pa.int64()),
        "payment_ref": ref_strings(payroll_id, columns.payment) if payment_refs is None else
        _refs_by_payment(payment_refs, columns.payment, fixed_width_strings),
    }
    return pa.table(table, schema=PAYROLL_LINES)


def _refs_by_payment(matrix: np.ndarray, payment: np.ndarray, to_strings) -> pa.Array:
    valid = payment >= 0
    return to_strings(matrix[np.where(valid, payment, 0)] if matrix.shape[0] else
                      np.zeros((payment.shape[0], matrix.shape[1]), np.uint8), None if valid.all() else valid)


def assemble(payroll_id: str, rights: RightColumns, blocks: list[LineBlock]) -> pa.Table:
    """Concatenate blocks into a PAYROLL_LINES table (sorted by payment, right, component order, month)."""
    return to_table(payroll_id, rights, order_blocks(blocks))
