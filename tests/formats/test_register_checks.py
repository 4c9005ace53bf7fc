"""The vectorised helpers of formats/register_checks.py against plain-Python references."""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.register_checks import dangling_rows, duplicate_rows, sorted_distinct

small = st.one_of(st.none(), st.integers(-3, 3))


def reference_duplicates(*columns):
    seen, found = set(), []
    for row, key in enumerate(zip(*columns)):
        if None in key:
            continue
        if key in seen:
            found.append(row)
        seen.add(key)
    return found


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda width: st.lists(st.tuples(*[small] * width), max_size=60)))
def test_duplicate_rows_matches_reference(rows):
    width = len(rows[0]) if rows else 1
    columns = [[row[i] for row in rows] for i in range(width)]
    arrays = [pa.array(column, pa.int64()) for column in columns]
    assert duplicate_rows(*arrays).tolist() == reference_duplicates(*columns)


def test_duplicate_rows_with_dates_and_large_ids():
    ids = pa.array([2**62, 5, 2**62, 5, -(2**62)], pa.int64())
    days = pa.array([1, 2, 1, 3, 1], pa.int32()).cast(pa.date32())
    assert duplicate_rows(ids, days).tolist() == [2]


@settings(max_examples=100, deadline=None)
@given(st.lists(small, max_size=40), st.lists(st.integers(-3, 3), max_size=10))
def test_dangling_rows_matches_reference(ids, targets):
    expected = [row for row, value in enumerate(ids) if value is not None and value not in targets]
    found = dangling_rows(pa.array(ids, pa.int64()), sorted_distinct(np.array(targets, dtype=np.int64)))
    assert found.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda width: st.lists(st.tuples(*[st.integers(-3, 3)] * width), max_size=60)),
       st.lists(st.integers(0, 59), max_size=5))
def test_duplicate_rows_of_sorted_keys_match_reference(rows, null_rows):
    """Keys already in order take the side-by-side path; nulls (skipped) may sit anywhere."""
    rows = sorted(rows)
    width = len(rows[0]) if rows else 1
    columns = [[None if i in null_rows and c == 0 else row[c] for i, row in enumerate(rows)] for c in range(width)]
    arrays = [pa.array(column, pa.int64()) for column in columns]
    assert duplicate_rows(*arrays).tolist() == reference_duplicates(*columns)
