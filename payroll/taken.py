"""What approval posts besides the payroll lines, as one table (the payroll's orders file): per right the
overpayment receivable recovered, per register order what it took, and the maintenance advances booked on their
debtors, taken back, and recovered from the debtors' rights (payroll/advances.py). payroll.postings turns each row
into its postings.
"""
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payroll.ledger_state import ORDER_COMPONENTS


class TakenRows(NamedTuple):
    """Rows of the deductions table approval posts: one block per kind of row."""
    kind: np.ndarray            # names
    right: np.ndarray           # dense right index
    order_id: np.ndarray        # -1 where no register order
    creditor_payee_id: np.ndarray  # 0 where none
    amount_minor: np.ndarray    # > 0
    month: np.ndarray           # month index
    debtor_id: np.ndarray       # person_id of a maintenance advance's debtor, 0 where none
    for_month: np.ndarray       # the month a fixed order's instalment is for (by_month); else the month


def deductions_taken(ded, amounts, arrays, right_payee, right_payment, refs, period) -> pa.Table:
    """What approval posts besides the lines: per right the receivable recovered (from its gross, or from its
    returned money when held), per order what it took, the maintenance advances booked on their debtors (or
    taken back) and the advances recovered from the debtors' rights."""
    rows = [receivable_rows(ded, amounts.offset, period), order_rows(ded, amounts, arrays, period),
            *advance_rows(ded, amounts, period)]
    right = np.concatenate([block.right for block in rows])
    payment = right_payment[right]
    ref_index = pa.array(np.maximum(payment, 0))
    ref = pc.if_else(pa.array(payment >= 0), pc.take(refs, ref_index) if len(refs) else
                     pa.nulls(len(right), pa.string()), pa.scalar(None, pa.string()))
    joined = lambda name: np.concatenate([getattr(block, name) for block in rows])
    return pa.table({
        "right_id": pa.array(arrays.right_ids[right], pa.int64()),
        "payee_id": pa.array(arrays.payee_ids[right_payee[right]], pa.int64()),
        "kind": pa.array(joined("kind"), pa.string()),
        "order_id": pa.array(joined("order_id"), pa.int64()),
        "creditor_payee_id": pa.array(joined("creditor_payee_id"), pa.int64()),
        "amount_minor": pa.array(joined("amount_minor"), pa.int64()),
        "month": pa.array(joined("month"), pa.int64()),
        "payment_ref": ref,
        "debtor_id": pa.array(joined("debtor_id"), pa.int64()),
        "for_month": pa.array(joined("for_month"), pa.int64()),
    })


def taken_rows(kind: str, right, amount_minor, month, order_id=None, creditor=None, debtor=None,
               for_month=None) -> TakenRows:
    n = right.shape[0]
    zeros = np.zeros(n, np.int64)
    months = np.full(n, month, np.int64) if np.ndim(month) == 0 else month.astype(np.int64)
    return TakenRows(np.full(n, kind, dtype=object), right.astype(np.int64),
                     np.full(n, -1, np.int64) if order_id is None else order_id,
                     zeros if creditor is None else creditor, amount_minor.astype(np.int64), months,
                     zeros if debtor is None else debtor, months if for_month is None else for_month)


def receivable_rows(ded, offset, period: int) -> TakenRows:
    recovered = ded.recovered_receivable_minor.copy()
    np.add.at(recovered, offset.right, offset.amount_minor)
    rights = np.flatnonzero(recovered > 0)
    return taken_rows("receivable", rights, recovered[rights], period)


def order_rows(ded, amounts, arrays, period: int) -> TakenRows:
    """Per order what it took, one row per month the take is for (by_month: `for_month`; posted, like its lines,
    in the period)."""
    orders = amounts.orders
    taken, for_month, amount = by_month(ded.order_deducted_minor, amounts.instalments, period)
    kind_names = np.array(("",) + ORDER_COMPONENTS_BY_KIND, dtype=object)
    creditor = orders["order_creditor_payee"][taken]
    rows = taken_rows("", orders["order_right"][taken], amount, period, for_month=for_month,
                      order_id=np.asarray(amounts.order_table.column("order_id").to_numpy(zero_copy_only=False),
                                          np.int64)[taken],
                      creditor=np.where(creditor >= 0, arrays.payee_ids[np.maximum(creditor, 0)], 0).astype(np.int64))
    return rows._replace(kind=kind_names[orders["order_kind"][taken]])


def by_month(deducted: np.ndarray, instalments, period: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order index, month, amount) of what each order took, split over the months of the fixed instalments it
    paid (payroll.compute.instalments), oldest first, so that the orders file says which month each instalment
    was for (a later payroll of that month asks only the rest of it); a percentage order's take, and anything
    beyond the instalments, is for the period. Sorted by order, then month."""
    order, month, owed = instalments
    before = np.cumsum(owed) - owed
    starts = np.r_[True, order[1:] != order[:-1]] if order.shape[0] else np.zeros(0, bool)
    before -= before[np.maximum.accumulate(np.where(starts, np.arange(order.shape[0]), 0))]  # within the order
    share = np.clip(deducted[order] - before, 0, owed)
    rest = deducted - np.bincount(order, share, minlength=deducted.shape[0]).astype(np.int64)
    index = np.r_[order[share > 0], np.flatnonzero(rest > 0)]
    months = np.r_[month[share > 0], np.full(int((rest > 0).sum()), period, np.int64)]
    amounts = np.r_[share[share > 0], rest[rest > 0]].astype(np.int64)
    sort = np.lexsort((months, index))
    return index[sort].astype(np.int64), months[sort].astype(np.int64), amounts[sort]


def advance_rows(ded, amounts, period: int) -> list[TakenRows]:
    """Advances booked on their debtors (`advance`), taken back (`advance_reversal`, the amount taken back) and
    recovered from the debtors' rights (`advance_recovery`)."""
    claims, recovery = amounts.claims, amounts.recovery
    booked, back = claims.amount_minor > 0, claims.amount_minor < 0
    recovering = np.flatnonzero(ded.advance_recovery_minor > 0)
    return [taken_rows("advance", claims.right[booked], claims.amount_minor[booked], claims.month[booked],
                       debtor=claims.debtor_id[booked]),
            taken_rows("advance_reversal", claims.right[back], -claims.amount_minor[back], claims.month[back],
                       debtor=claims.debtor_id[back]),
            taken_rows("advance_recovery", recovering, ded.advance_recovery_minor[recovering], period,
                       debtor=recovery.debtor_id[recovery.group[recovering]])]


# kind code 1..4 of engine.deductions -> ledger component of what the order took
ORDER_COMPONENTS_BY_KIND = ("alimony", "damages", "recovery", "enforcement")
assert set(ORDER_COMPONENTS_BY_KIND) == set(ORDER_COMPONENTS)
