"""Numba kernels of the ledger: payment-reference byte work (validate and rebuild the NUL-padded 35-byte
references in one pass, duplicate and bounds checks). Hashing is not here: every SHA-256 goes through hashlib
(ledgers.canonical), since owning cryptographic code is not worth the third of a second a million payments
would save.
"""
import numpy as np
from numba import types

from engine.jit import I32_RO, I64_OUT, I64_RO, U8_2D_OUT, U8_2D_RO, U8_RO, U64_OUT, kernel

@kernel(types.boolean(U8_2D_RO))
def refs_well_formed(matrix):
    """True if every row is printable ASCII (0x20-0x7E) followed only by NUL padding."""
    assert matrix.ndim == 2
    assert matrix.shape[1] > 0 or matrix.shape[0] == 0
    for row in range(matrix.shape[0]):
        ended = False
        for col in range(matrix.shape[1]):
            byte = matrix[row, col]
            if byte == 0:
                ended = True
            elif ended or byte < 0x20 or byte > 0x7E:
                return False
    return True


@kernel(types.boolean(I64_RO, U8_RO, U8_2D_OUT))
def scatter_refs(lengths, data, out):
    """Place the concatenated reference bytes `data` into NUL-padded rows of `out`; False if sizes disagree."""
    assert lengths.shape[0] == out.shape[0]
    assert out.shape[1] > 0
    pos = 0
    for row in range(lengths.shape[0]):
        length = lengths[row]
        if length < 0 or length > out.shape[1] or pos + length > data.shape[0]:
            return False
        for i in range(length):
            out[row, i] = data[pos + i]
        pos += length
    return pos == data.shape[0]


@kernel(types.void(U8_2D_RO, U64_OUT))
def fnv1a_rows(matrix, out):
    """out[i] = 64-bit FNV-1a of row i of a uint8 matrix (a sort key for duplicate checks, not a security hash)."""
    assert out.shape[0] == matrix.shape[0]
    assert matrix.ndim == 2 and out.ndim == 1
    for row in range(matrix.shape[0]):
        value = np.uint64(0xCBF29CE484222325)
        for col in range(matrix.shape[1]):
            value = (value ^ np.uint64(matrix[row, col])) * np.uint64(0x100000001B3)
        out[row] = value


def rows_unique(matrix: np.ndarray) -> bool:
    """True if no two rows of a uint8 matrix are equal: rows are sorted by a 64-bit hash and only rows that
    share a hash are compared byte for byte (np.unique on byte strings costs about ten times more)."""
    count = matrix.shape[0]
    if count < 2:
        return True
    hashes = np.empty(count, np.uint64)
    fnv1a_rows(np.ascontiguousarray(matrix, np.uint8), hashes)
    order = np.argsort(hashes)
    ordered = hashes[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if same.size == 0:
        return True
    suspects = np.unique(np.concatenate([order[same], order[same + 1]]))
    rows = np.ascontiguousarray(matrix[suspects]).view(f"V{matrix.shape[1]}").reshape(-1)
    return len(np.unique(rows)) == len(rows)


@kernel(types.int64(I64_RO, types.int64, types.int64, I64_OUT),
        types.int64(I32_RO, types.int64, types.int64, I64_OUT))
def rows_outside(values, low, high, found):
    """The first len(found) row numbers whose value is below `low` or above `high`, written into found; returns
    how many were written (0: every value is inside the bounds)."""
    assert found.shape[0] > 0
    assert low <= high
    count = 0
    for row in range(values.shape[0]):
        value = values[row]
        if value < low or value > high:
            found[count] = row
            count += 1
            if count == found.shape[0]:
                break
    return count


@kernel(types.int64(U8_RO, U8_2D_OUT))
def split_lines(data, out):
    """Newline-separated references from `data` into the zeroed, NUL-padded rows of `out`, in one pass.

    Returns the number of rows found; -1 if a reference is wider than a row or there are more rows than `out`
    holds (the caller reports either as corrupt). An empty `data` is one empty reference.
    """
    assert out.shape[0] > 0 and out.shape[1] > 0
    assert data.ndim == 1
    row = 0
    col = 0
    for i in range(data.shape[0]):
        byte = data[i]
        if byte == 10:
            row += 1
            col = 0
            if row >= out.shape[0]:
                return -1
        else:
            if col >= out.shape[1] or row >= out.shape[0]:
                return -1
            out[row, col] = byte
            col += 1
    return row + 1
