"""formats/keys.py against numpy's own lexsort / unique / membership, on small random keys of every width
(ties, negative values, spans beyond int64, already sorted input) and at the size where its fast paths matter."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.keys import index_of, is_lex_sorted, lex_order, repeated_values, sorted_distinct
from formats.register_checks import blank_mask

INT64 = st.integers(-(2**63), 2**63 - 1)
widths = st.sampled_from([st.integers(-3, 3), st.integers(0, 2**20), st.integers(-(2**40), 2**40), INT64])


@st.composite
def key_columns(draw):
    rows = draw(st.integers(0, 60))
    count = draw(st.integers(1, 4))
    columns = []
    for _ in range(count):
        values = draw(st.lists(draw(widths), min_size=rows, max_size=rows))
        if draw(st.booleans()):
            values.sort()
        columns.append(np.array(values, dtype=np.int64))
    return columns


@settings(max_examples=300, deadline=None)
@given(key_columns())
def test_lex_order_is_numpy_lexsort(keys):
    expected = np.lexsort(keys[::-1]) if len(keys[0]) else np.zeros(0, dtype=np.int64)
    assert lex_order(*keys).tolist() == expected.tolist()
    assert is_lex_sorted(*keys) == all(np.array_equal(key, key[expected]) for key in keys)


def test_lex_order_with_many_ties_on_the_leading_keys():
    rng = np.random.default_rng(3)
    rows = 200_000  # 18 index bits: the first two keys fill the word, the last two settle their ties
    keys = [rng.integers(0, 50, rows), rng.integers(0, 2**40, rows) // 2**30, rng.integers(0, 2**40, rows),
            rng.integers(-5, 5, rows)]
    assert np.array_equal(lex_order(*keys), np.lexsort(keys[::-1]))
    small = [key.astype(np.int32) for key in (keys[0], keys[3])]
    assert np.array_equal(lex_order(*small), np.lexsort(small[::-1]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([st.integers(-5, 5), INT64]).flatmap(lambda s: s), max_size=40),
       st.lists(INT64 | st.integers(-6, 6), max_size=30), st.booleans())
def test_distinct_repeated_and_index_of_match_numpy(values, queries, sort_first):
    values = np.array(sorted(values) if sort_first else values, dtype=np.int64)
    distinct, counts = np.unique(values, return_counts=True)
    assert sorted_distinct(values).tolist() == distinct.tolist()
    assert repeated_values(values).tolist() == distinct[counts > 1].tolist()
    expected = [distinct.tolist().index(q) if q in distinct else -1 for q in queries]
    assert index_of(distinct, np.array(queries, dtype=np.int64)).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=40, unique=True), st.integers(0, 3))
def test_index_of_dense_contiguous_and_sparse_ids(ids, spread):
    base = np.array(sorted(ids), dtype=np.int64)
    for targets in (base, np.arange(base[0] // 2**40, base[0] // 2**40 + len(ids)) * (spread + 1)):
        targets = np.unique(targets)
        queries = np.concatenate([targets, targets + 1, targets - 1, [np.iinfo(np.int64).max]])
        expected = [targets.tolist().index(q) if q in targets else -1 for q in queries.tolist()]
        assert index_of(targets, queries).tolist() == expected


TEXT = st.text(alphabet=st.sampled_from(["a", "Đ", "ж", " ", "\t", "\n", "\x1c", "\x85", "\xa0", "\u1680",
                                         "\u2003", "\u2028", "\u3000", "\ufeff", "x"]), max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | TEXT, max_size=30), st.integers(0, 5), st.booleans())
def test_blank_mask_matches_pyarrow(texts, cut, large):
    column = pa.array(texts, pa.large_string() if large else pa.string())
    sliced = column.slice(min(cut, len(texts)))  # a slice starts its offsets inside the buffer
    for array in (column, sliced, pa.chunked_array([column, sliced], column.type)):
        expected = pc.fill_null(pc.or_(pc.equal(pc.utf8_length(array), 0), pc.utf8_is_space(array)), False)
        assert blank_mask(array).tolist() == expected.to_pylist()
        assert blank_mask(pc.dictionary_encode(array)).tolist() == expected.to_pylist()  # as Parquet's dictionary
