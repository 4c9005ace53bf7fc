"""Numba kernels of the register conversion (formats/convert.py): the steps that numpy and Arrow do in several
passes, or through a general sort or hash table, done here in one pass over the columns.

- text codes: each cell of an Arrow text column compared with a handful of names (roles, benefit codes) byte by
  byte, straight from the column's buffers; equal to pyarrow.compute.index_in, -1 for nulls and unknown text;
- grouped order: rows already grouped by a key (household memberships are written household by household) are
  ordered by the other keys within each group by insertion sort; equal to a stable lexicographic sort.
"""
import numpy as np
import pyarrow as pa

from engine.jit import kernel

GROUP_SORT_MAX = 64
RUN_CHECK_NAMES_MIN = 4  # text_codes tries the previous cell's name first when there are more names than this  # insertion sort within a group up to this many rows; larger groups take the general sort


# ---- text codes ----------------------------------------------------------------------------------------------

def text_codes(column, names) -> np.ndarray | None:
    """Index in `names` of each cell of an Arrow text column (int64, -1 for null and unknown text), or None when
    the column is not plain (large) text: the caller then uses pyarrow.compute.index_in."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    encoded = [name.encode("utf-8") for name in names]
    name_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(name) for name in encoded], out=name_offsets[1:])
    name_bytes = np.frombuffer(b"".join(encoded) + bytes(8), dtype=np.uint8)
    name_keys = np.array([_prefix_key(name) for name in encoded], dtype=np.uint64)
    out = np.empty(len(column), dtype=np.int64)
    start = 0
    offset_type = np.int32 if pa.types.is_string(column.type) else np.int64
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        validity, offsets, data = chunk.buffers()
        rows = len(chunk)
        offsets = np.frombuffer(offsets, dtype=offset_type)[chunk.offset:chunk.offset + rows + 1] \
            if rows else np.zeros(1, dtype=offset_type)
        data = np.frombuffer(data, dtype=np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
        valid = np.frombuffer(validity, dtype=np.uint8) if validity is not None and chunk.null_count \
            else np.zeros(0, dtype=np.uint8)
        text_codes_kernel(offsets, data, valid, chunk.offset, name_offsets, name_bytes, name_keys,
                          out[start:start + rows])
        start += rows
    return out


def _prefix_key(text: bytes) -> int:
    """The first 8 bytes of a text as a little-endian number, zeros past its end (text_codes_kernel's key)."""
    return int.from_bytes(text[:8].ljust(8, b"\0"), "little")


@kernel
def text_codes_kernel(offsets, data, valid, bit_offset, name_offsets, name_bytes, name_keys, out):
    """out[i] = index of the first name equal to cell i, -1 when none is or the cell is null (bit clear in `valid`;
    an empty `valid`: no nulls). Each cell is compared with every name by length and first 8 bytes without
    branching (mixed values, such as roles in household order, defeat branch prediction), the rest of a longer
    name only when those agree."""
    assert offsets.shape[0] == out.shape[0] + 1
    assert name_keys.shape[0] == name_offsets.shape[0] - 1
    last, last_length, last_key = -1, -1, np.uint64(0)
    many = name_keys.shape[0] > RUN_CHECK_NAMES_MIN
    for i in range(out.shape[0]):
        begin, length = offsets[i], offsets[i + 1] - offsets[i]
        key = np.uint64(0)
        if begin + 8 <= data.shape[0]:
            for c in range(8):
                key |= np.uint64(data[begin + c]) << np.uint64(8 * c)
            if length < 8:
                key &= (np.uint64(1) << np.uint64(8 * length)) - np.uint64(1)
        else:
            for c in range(min(length, 8)):
                key |= np.uint64(data[begin + c]) << np.uint64(8 * c)
        # columns such as benefit codes come in runs of one text: with many names the previous cell's is tried
        # first (with a few, such as roles, comparing them all costs less than a mispredicted branch)
        if many and last >= 0 and length <= 8 and length == last_length and key == last_key:
            code = last
        else:
            code = -1
            for k in range(name_keys.shape[0] - 1, -1, -1):  # backwards: the first equal name is assigned last
                same = (name_offsets[k + 1] - name_offsets[k] == length) & (name_keys[k] == key)
                if same and length > 8:
                    same = _same_rest(data, begin + 8, name_bytes, name_offsets[k] + 8, length - 8)
                code = k if same else code
        last, last_length, last_key = code, length, key
        if valid.shape[0]:
            bit = bit_offset + i
            code = code if (valid[bit >> 3] >> (bit & 7)) & 1 else -1
        out[i] = code


@kernel(inline="always")
def _same_rest(data, begin, name_bytes, name_begin, length):
    """data[begin:begin + length] == name_bytes[name_begin:name_begin + length]."""
    assert length > 0
    assert begin >= 0
    for c in range(length):
        if data[begin + c] != name_bytes[name_begin + c]:
            return False
    return True


# ---- grouped order -------------------------------------------------------------------------------------------

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


@kernel(inline="always")
def _after(a, b, first, second, third):
    """Row a sorts strictly after row b by (first, second, third)."""
    assert a >= 0
    assert b >= 0
    if first[a] != first[b]:
        return first[a] > first[b]
    if second[a] != second[b]:
        return second[a] > second[b]
    return third[a] > third[b]
