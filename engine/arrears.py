"""What to pay now: due cells minus what the ledger already recognised, per right and month.

For every cell of the due window the difference due - recognised is classified: in the period itself a
positive difference is the `due` component, in an earlier month it is `arrears`; a negative difference in any
month is an overpayment (paid for a month after a death, a retroactive reduction) that becomes a recovery
receivable. Because only differences are paid, a one-off or lump sum already recognised for its month is never
paid again, and running a payroll twice without new decisions pays nothing the second time. Recognised cells
outside the computed window are not looked at: the window (engine.entitlement.window_starts) must reach
every month that changed.
"""
from typing import NamedTuple

import numpy as np
from numba import types

from engine.jit import I8_OUT, I32_OUT, I32_RO, I64_OUT, I64_RO, kernel

COMPONENT_DUE, COMPONENT_ARREARS, COMPONENT_OVERPAYMENT = 0, 1, 2
COMPONENT_NAMES = ("due", "arrears", "overpayment")


class Differences(NamedTuple):
    """Non-zero differences, rows sorted by (right, month). Overpayment amounts are negative (due - recognised)."""
    right_index: np.ndarray   # int32
    month: np.ndarray         # int32 month index
    component: np.ndarray     # int8 COMPONENT_*
    amount_minor: np.ndarray  # int64, > 0 for due and arrears, < 0 for overpayment


class RightTotals(NamedTuple):
    """Per right sums of the differences (all >= 0): what the payroll adds and what it must recover."""
    due_minor: np.ndarray
    arrears_minor: np.ndarray
    overpayment_minor: np.ndarray   # the receivable raised (positive amount)


@kernel(types.void(I64_RO, I64_RO, I64_RO, I64_RO, I64_RO, I64_OUT))
def recognised_per_cell(cell_offsets, cell_start_month, rec_right, rec_month, rec_amount, out):
    """Add each amount to the cell of its (right, month) when the window holds that month."""
    n_rights = cell_start_month.shape[0]
    assert cell_offsets.shape[0] == n_rights + 1
    assert rec_right.shape[0] == rec_month.shape[0] == rec_amount.shape[0]
    for i in range(rec_right.shape[0]):
        r = rec_right[i]
        assert 0 <= r < n_rights
        cell = cell_offsets[r] + rec_month[i] - cell_start_month[r]
        if cell_offsets[r] <= cell < cell_offsets[r + 1]:
            out[cell] += rec_amount[i]


def differences(cells, period: int, recognised_right_index, recognised_month, recognised_amount_minor,
                ) -> Differences:
    """Classify due - recognised for every cell of `cells` (an engine.entitlement.DueCells)."""
    n_rights = cells.offsets.shape[0] - 1
    starts = np.full(n_rights, period, dtype=np.int64)
    has_cells = np.diff(cells.offsets) > 0
    starts[has_cells] = cells.month[cells.offsets[:-1][has_cells]]
    difference = cells.due_minor.copy()
    recognised_per_cell(cells.offsets, starts, np.ascontiguousarray(recognised_right_index, dtype=np.int64),
                        np.ascontiguousarray(recognised_month, dtype=np.int64),
                        -np.ascontiguousarray(recognised_amount_minor, dtype=np.int64), difference)
    n_kept = int(np.count_nonzero(difference))
    out = Differences(np.empty(n_kept, np.int32), np.empty(n_kept, np.int32), np.empty(n_kept, np.int8),
                      np.empty(n_kept, np.int64))
    classify_kernel(difference, cells.right_index, cells.month, period, *out)
    return out


@kernel(types.void(I64_RO, I32_RO, I32_RO, types.int64, I32_OUT, I32_OUT, I8_OUT, I64_OUT))
def classify_kernel(difference, right_index, month, period, out_right, out_month, out_component, out_amount):
    """Copy the non-zero differences out, with their component (due, arrears or overpayment)."""
    assert right_index.shape[0] == difference.shape[0] and month.shape[0] == difference.shape[0]
    assert out_amount.shape[0] == out_right.shape[0] == out_month.shape[0] == out_component.shape[0]
    kept = 0
    for cell in range(difference.shape[0]):
        amount = difference[cell]
        if amount == 0:
            continue
        out_right[kept] = right_index[cell]
        out_month[kept] = month[cell]
        out_amount[kept] = amount
        if amount < 0:
            out_component[kept] = COMPONENT_OVERPAYMENT
        elif month[cell] == period:
            out_component[kept] = COMPONENT_DUE
        else:
            out_component[kept] = COMPONENT_ARREARS
        kept += 1
    assert kept == out_amount.shape[0]


def right_totals(diffs: Differences, n_rights: int) -> RightTotals:
    """Sum the differences per right and component (int64, exact)."""
    totals = []
    for code in (COMPONENT_DUE, COMPONENT_ARREARS, COMPONENT_OVERPAYMENT):
        total = np.zeros(n_rights, dtype=np.int64)
        chosen = diffs.component == code
        np.add.at(total, diffs.right_index[chosen], np.abs(diffs.amount_minor[chosen]))
        totals.append(total)
    return RightTotals(*totals)
