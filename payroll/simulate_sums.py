"""The sums and counts of a simulation (payroll.simulate) in one pass over the two due matrices, compiled by Numba.

Per month and benefit: the dues under each catalogue and how many rights are in each state that month; per
benefit and per municipality: each right's sum over the months under each catalogue and how many rights are in
each state by those sums. numpy needed a copy per reduction (row sums, state matrices, np.add.at per month); at
10 million rights x 12 months each is a gigabyte. Here every cell is read once and nothing is materialised.
States (S_* of payroll.simulate) come from the same table: (sign of new - base + 1) * 4 + 2 (base > 0) + (new > 0).
"""
from typing import NamedTuple

import numpy as np

from engine.jit import kernel

STATE_KEYS = 12


class CostSums(NamedTuple):
    month_sums: np.ndarray     # int64[2, months, benefits]: today's, new
    month_counts: np.ndarray   # int64[months, benefits, states]
    benefit_sums: np.ndarray   # int64[2, benefits]: each right's sum over the months, per benefit
    benefit_counts: np.ndarray  # int64[benefits, states]: rights by the state of their sums
    place_sums: np.ndarray     # int64[2, places]
    place_counts: np.ndarray   # int64[places, states]


@kernel
def _state(base, new, state_table):
    assert state_table.ndim == 1
    assert state_table.shape[0] == STATE_KEYS
    key = 4 if new == base else (8 if new > base else 0)
    if base > 0:
        key += 2
    if new > 0:
        key += 1
    return state_table[key]


@kernel
def cost_sums_kernel(base_due, new_row, new_due, benefit, place, state_table, month_sums, month_counts,
                     benefit_sums, benefit_counts, place_sums, place_counts):
    """Fill the (zeroed) outputs of CostSums from today's int64[rights, months] dues and the new ones (right r's
    row new_row[r] of new_due, or today's when it is -1)."""
    assert new_row.shape[0] == base_due.shape[0] and new_due.shape[1] == base_due.shape[1]
    assert benefit.shape[0] == base_due.shape[0]
    assert place.shape[0] == base_due.shape[0] and month_sums.shape[1] == base_due.shape[1]
    assert state_table.shape[0] == STATE_KEYS and month_counts.shape[2] == benefit_counts.shape[1]
    for r in range(base_due.shape[0]):
        b, p, q = benefit[r], place[r], new_row[r]
        assert 0 <= b < benefit_sums.shape[1] and 0 <= p < place_sums.shape[1] and q < new_due.shape[0]
        base_total, new_total = 0, 0
        for j in range(base_due.shape[1]):
            base = base_due[r, j]
            new = new_due[q, j] if q >= 0 else base
            base_total += base
            new_total += new
            month_sums[0, j, b] += base
            month_sums[1, j, b] += new
            month_counts[j, b, _state(base, new, state_table)] += 1
        state = _state(base_total, new_total, state_table)
        benefit_sums[0, b] += base_total
        benefit_sums[1, b] += new_total
        benefit_counts[b, state] += 1
        place_sums[0, p] += base_total
        place_sums[1, p] += new_total
        place_counts[p, state] += 1


def cost_sums(base_due: np.ndarray, new_row: np.ndarray, new_due: np.ndarray, benefit: np.ndarray,
              n_benefits: int, place: np.ndarray, n_places: int, state_table: np.ndarray) -> CostSums:
    """The sums and counts of every table of a simulation (see the module; new_row, new_due: simulate.new_dues)."""
    months, states = base_due.shape[1], int(state_table.max()) + 1
    sums = CostSums(np.zeros((2, months, n_benefits), np.int64), np.zeros((months, n_benefits, states), np.int64),
                    np.zeros((2, n_benefits), np.int64), np.zeros((n_benefits, states), np.int64),
                    np.zeros((2, n_places), np.int64), np.zeros((n_places, states), np.int64))
    cost_sums_kernel(np.ascontiguousarray(base_due, np.int64), np.ascontiguousarray(new_row, np.int64),
                     np.ascontiguousarray(new_due, np.int64),
                     np.ascontiguousarray(benefit, np.int64), np.ascontiguousarray(place, np.int64),
                     np.ascontiguousarray(state_table, np.int64), *sums)
    return sums
