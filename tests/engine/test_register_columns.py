"""engine/register_columns.py against the general path it stands in for: np.lexsort."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.entitlement import NO_DAY
from engine.register_columns import GROUP_SORT_MAX, MEMBER_BLOCK_ROWS, MEMBER_WORK_ROWS, grouped_order, members_kernel
from formats.ordered_register import _month_table, member_work_columns


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(-3, 3), st.integers(0, 3), st.integers(0, 2)),
                max_size=60), st.booleans())
def test_grouped_order_equals_lexsort(rows, grouped):
    rows = sorted(rows, key=lambda row: row[0]) if grouped else rows
    keys = [np.array([row[k] for row in rows], dtype=np.int64) for k in range(4)]
    order = grouped_order(*keys)
    is_grouped = all(a[0] <= b[0] for a, b in zip(rows, rows[1:]))
    if not is_grouped:
        assert order is None
        return
    assert order is not None
    assert order.tolist() == np.lexsort(keys[::-1]).tolist()


def test_grouped_order_leaves_large_groups_to_the_general_sort():
    group = np.zeros(GROUP_SORT_MAX + 1, dtype=np.int64)
    assert grouped_order(group, group, group, group) is None
    assert grouped_order(group[1:], group[1:], group[1:], group[1:]).tolist() == list(range(GROUP_SORT_MAX))


def run_members(household, person, birth_day, from_day, pack):
    """members_kernel over plain columns (person ids 1..len(birth_day), every to_day open): (ok, offsets, member32)."""
    n, households = len(household), len(np.unique(household))
    months, month_low = _month_table()
    offsets, member32 = np.empty(households + 1, np.int64), np.empty((n if pack else 0, 4), np.int32)
    loose = [np.empty(0 if pack else n, dtype) for dtype in (np.int32, np.int8, np.int32, np.int32)]
    work = np.empty((MEMBER_WORK_ROWS, member_work_columns(n)), np.int64)
    ok = members_kernel(household, person, (np.arange(n) % 3).astype(np.int16), from_day, np.zeros(0, np.int32), 1,
                        len(birth_day), np.zeros(0, np.int32), birth_day, months, month_low, GROUP_SORT_MAX, pack,
                        offsets, *loose, member32, work)
    if not pack:
        member32 = np.stack([loose[0], loose[1], loose[2], loose[3]], axis=1).astype(np.int32)
    return ok, offsets, member32


def assert_placed_as_lexsort(sizes, seed, pack):
    rng = np.random.default_rng(seed)
    household = np.repeat(np.arange(len(sizes), dtype=np.int64) * 3 + 5, sizes)
    n, persons = len(household), max(len(household), 1)
    birth_day = rng.integers(-3, 3, persons).astype(np.int32)  # few distinct days: ties in birth day are common
    person = rng.integers(1, persons + 1, n).astype(np.int64)
    from_day = rng.choice(np.array([-400, 0, 0, 30, NO_DAY], np.int32), n)
    ok, offsets, member32 = run_members(household, person, birth_day, from_day, pack)
    assert ok
    index = person - 1
    order = np.lexsort((from_day, index, birth_day[index], household))
    assert np.array_equal(member32[:, 0], index[order])
    assert np.array_equal(member32[:, 1], (np.arange(n) % 3)[order])
    assert offsets.tolist() == [0] + np.cumsum(sizes).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 17), min_size=0, max_size=12), st.integers(0, 2**32 - 1), st.booleans())
def test_members_are_placed_as_lexsort_orders_them(sizes, seed, pack):
    """Households of 1 row to past the kernel's window (counted whole), the same person twice in a household (a tie
    in birth day and person, ordered by member_from, equal rows in file order), all placed as np.lexsort orders
    (household, birth day, person, member_from), with or without the packed copy."""
    assert_placed_as_lexsort(sizes, seed, pack)


@pytest.mark.parametrize("seed", range(3))
def test_members_of_several_blocks_are_placed_as_lexsort_orders_them(seed):
    """More memberships than a block of the kernel's work, households across the blocks' nominal ends (a block
    ends with its last household), some larger than the window."""
    sizes = np.random.default_rng(seed).choice([1, 2, 3, 5, 8, 9, 20, GROUP_SORT_MAX], 2 * MEMBER_BLOCK_ROWS // 3)
    assert sizes.sum() > 2 * MEMBER_BLOCK_ROWS
    assert_placed_as_lexsort(sizes.tolist(), seed, seed % 2 == 0)


def test_members_refuse_what_the_general_path_sorts():
    """Household ids decreasing, a household of more than GROUP_SORT_MAX rows, a person id that is not a person's:
    False, the general path's work."""
    birth_day = np.zeros(GROUP_SORT_MAX + 1, np.int32)
    for household, person in ((np.array([2, 1], np.int64), np.array([1, 2], np.int64)),
                              (np.zeros(GROUP_SORT_MAX + 1, np.int64), np.arange(1, GROUP_SORT_MAX + 2)),
                              (np.array([1, 2], np.int64), np.array([1, GROUP_SORT_MAX + 2], np.int64))):
        assert not run_members(household, person, birth_day, np.zeros(len(household), np.int32), True)[0]
