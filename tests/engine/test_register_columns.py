"""engine/register_columns.py against the general path it stands in for: np.lexsort."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.register_columns import GROUP_SORT_MAX, grouped_order


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
