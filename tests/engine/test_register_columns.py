"""engine/register_columns.py against the general paths it stands in for: Arrow's index_in and np.lexsort."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.register_columns import GROUP_SORT_MAX, grouped_order, text_codes

NAMES = ("ME_MO", "ME_RODITELJ_SMETNJE", "ME_RODITELJ_SMETNJX", "a", "", "ĐŠ", "head", "adult", "child")
TEXTS = st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=24))


def index_in(column, names) -> np.ndarray:
    return pc.fill_null(pc.index_in(column, value_set=pa.array(list(names), pa.string())), -1).to_numpy()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(TEXTS, max_size=30), min_size=1, max_size=4), st.integers(0, 5))
def test_text_codes_equal_index_in(chunks, cut):
    column = pa.chunked_array([pa.array(chunk, pa.string()) for chunk in chunks], pa.string())
    column = column.slice(min(cut, len(column)))  # sliced chunks start inside their buffers
    expected = index_in(column, NAMES)
    assert text_codes(column, NAMES).tolist() == expected.tolist()
    assert text_codes(column.cast(pa.large_string()), NAMES).tolist() == expected.tolist()
    assert text_codes(column.combine_chunks(), NAMES).tolist() == expected.tolist()
    few = NAMES[-3:]  # a few names: compared all at once, without trying the previous cell's first
    assert text_codes(column, few).tolist() == index_in(column, few).tolist()


def test_text_codes_leave_other_types_to_arrow():
    assert text_codes(pa.chunked_array([pa.array(["a"]).dictionary_encode()]), NAMES) is None


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
