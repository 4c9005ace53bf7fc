"""Numba kernels of the register conversion (formats/convert.py), for steps that numpy can only do through a
general sort: rows already grouped by a key (household memberships are written household by household) are
ordered by the other keys within each group by insertion sort, equal to a stable lexicographic sort and a
fraction of its cost.
"""
import numpy as np

from engine.jit import helper, kernel

GROUP_SORT_MAX = 64  # insertion sort within a group up to this many rows; larger groups take the general sort


def grouped_order(group, first, second, third) -> np.ndarray | None:
    """np.lexsort((third, second, first, group)) when the rows are already grouped by `group` (non-decreasing)
    and no group has more than GROUP_SORT_MAX rows; None otherwise (the caller sorts in general)."""
    order = np.empty(len(group), dtype=np.int64)
    if grouped_order_kernel(group, first, second, third, GROUP_SORT_MAX, order):
        return order
    return None


@kernel
def grouped_order_kernel(group, first, second, third, group_rows_max, order):
    """Fill `order` and return True when `group` is non-decreasing and its runs are at most group_rows_max rows;
    return False (order undefined) otherwise. Within a run a stable insertion sort by (first, second, third)."""
    assert first.shape[0] == group.shape[0] and second.shape[0] == group.shape[0]
    assert third.shape[0] == group.shape[0] and order.shape[0] == group.shape[0]
    n = group.shape[0]
    begin = 0
    while begin < n:
        end = begin + 1
        while end < n and group[end] == group[begin]:
            end += 1
        if (end < n and group[end] < group[begin]) or end - begin > group_rows_max:
            return False
        for i in range(begin, end):
            row, j = i, i
            # shift the rows with a larger key one place up; equal keys stay before (stable)
            while j > begin and _after(order[j - 1], row, first, second, third):
                order[j] = order[j - 1]
                j -= 1
            order[j] = row
        begin = end
    return True


@helper
def _after(a, b, first, second, third):
    """Row a sorts strictly after row b by (first, second, third)."""
    assert a >= 0
    assert b >= 0
    if first[a] != first[b]:
        return first[a] > first[b]
    if second[a] != second[b]:
        return second[a] > second[b]
    return third[a] > third[b]
