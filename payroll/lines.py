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
LINE_COMPONENTS = ("due", "arrears", "overpayment", "recovery", "alimony", "damages", "enforcement", "forwarded",
                   "carry_in", "carry_out", "dropped", "reissue")
assert set(COMPONENTS) <= set(LINE_COMPONENTS)


@dataclass(frozen=True)
class RightColumns:
    """Per right (dense index r): identity and where it is paid."""

    right_id: np.ndarray       # int64
    benefit: pa.Array          # string per right
    payee_id: np.ndarray       # int64 (register id of the payee)
    channel: np.ndarray        # int64 code into CHANNEL_NAMES


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


def assemble(payroll_id: str, rights: RightColumns, blocks: list[LineBlock], payment_refs: pa.Array) -> pa.Table:
    """Concatenate blocks into a PAYROLL_LINES table (sorted by payment, right, component order, month)."""
    blocks = [b for b in blocks if b.right.shape[0]]
    right = np.concatenate([b.right for b in blocks]) if blocks else np.zeros(0, np.int64)
    take = lambda name: (np.concatenate([getattr(b, name) for b in blocks]) if blocks
                         else np.zeros(0, np.int64))
    components = np.concatenate([np.full(b.right.shape[0], i, np.int64) for i, b in enumerate(blocks)]) \
        if blocks else np.zeros(0, np.int64)
    names = pa.array([b.component for b in blocks], pa.string())
    payment = take("payment")
    month = take("month")
    order = np.lexsort((month, components, right, np.where(payment < 0, np.iinfo(np.int64).max, payment)))
    right, payment, month, components = right[order], payment[order], month[order], components[order]
    refs = pc.take(payment_refs, pa.array(np.where(payment < 0, 0, payment), pa.int64())) \
        if len(payment_refs) else pa.nulls(len(order), pa.string())
    refs = pc.if_else(pa.array(payment >= 0), refs, pa.scalar(None, pa.string()))
    columns = {
        "payroll": pa.array([payroll_id], pa.string()).take(pa.array(np.zeros(len(order), np.int64))),
        "right_id": pa.array(rights.right_id[right], pa.int64()),
        "benefit": pc.take(rights.benefit, pa.array(right, pa.int64())),
        "payee_id": pa.array(take("payee_id")[order], pa.int64()),
        "channel": pc.take(pa.array(CHANNEL_NAMES), pa.array(take("channel")[order], pa.int64())),
        "month": pa.array(month_days(month), pa.int32()).cast(pa.date32()),
        "component": pc.take(names, pa.array(components, pa.int64())),
        "amount_minor": pa.array(take("amount_minor")[order], pa.int64()),
        "payment_ref": refs,
    }
    return pa.table(columns, schema=PAYROLL_LINES)
