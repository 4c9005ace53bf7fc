"""Numba kernels of the ledger: SHA-256 over many short fixed-length messages, and payment-reference byte work.

A Merkle tree needs one SHA-256 per payment and per inner node: through hashlib that is one Python call each,
here it is one kernel call per tree level (released GIL, no Python per payment). SHA-256 words are uint32,
every sum cast back to uint32 (numba widens integer arithmetic); tests check every output against hashlib.
The reference kernels validate and rebuild the NUL-padded 35-byte references in one pass.
"""
import numpy as np

from engine.jit import kernel

ROUND_CONSTANTS = np.array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
], np.uint32)
INITIAL_STATE = np.array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                          0x5be0cd19], np.uint32)


@kernel(inline="always")
def _rotr(x, n):
    return np.uint32((x >> np.uint32(n)) | (x << np.uint32(32 - n)))


@kernel
def _compress(state, block, offset, w, k):
    """One 64-byte block at block[offset:] folded into state (8 uint32 words); w is scratch for the schedule."""
    for i in range(16):
        base = offset + 4 * i
        w[i] = (np.uint32(block[base]) << np.uint32(24)) | (np.uint32(block[base + 1]) << np.uint32(16)) | \
            (np.uint32(block[base + 2]) << np.uint32(8)) | np.uint32(block[base + 3])
    for i in range(16, 64):
        early, late = w[i - 15], w[i - 2]
        s0 = _rotr(early, 7) ^ _rotr(early, 18) ^ (early >> np.uint32(3))
        s1 = _rotr(late, 17) ^ _rotr(late, 19) ^ (late >> np.uint32(10))
        w[i] = np.uint32(w[i - 16] + s0 + w[i - 7] + s1)
    a, b, c, d, e, f, g, h = state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]
    for i in range(64):
        s1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        choose = (e & f) ^ (~e & g)
        t1 = np.uint32(h + s1 + choose + k[i] + w[i])
        s0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
        majority = (a & b) ^ (a & c) ^ (b & c)
        t2 = np.uint32(s0 + majority)
        h, g, f, e, d, c, b, a = g, f, e, np.uint32(d + t1), c, b, a, np.uint32(t1 + t2)
    state[0] = np.uint32(state[0] + a)
    state[1] = np.uint32(state[1] + b)
    state[2] = np.uint32(state[2] + c)
    state[3] = np.uint32(state[3] + d)
    state[4] = np.uint32(state[4] + e)
    state[5] = np.uint32(state[5] + f)
    state[6] = np.uint32(state[6] + g)
    state[7] = np.uint32(state[7] + h)


@kernel
def sha256_rows(messages, k, initial, out):
    """out[i] = SHA-256(messages[i]) for a (rows, length) uint8 matrix; out is (rows, 32) uint8."""
    assert out.shape[0] == messages.shape[0] and out.shape[1] == 32
    assert k.shape[0] == 64 and initial.shape[0] == 8
    length = messages.shape[1]
    padded = ((length + 9 + 63) // 64) * 64
    buffer = np.zeros(padded, np.uint8)
    bits = length * 8
    for i in range(8):
        buffer[padded - 1 - i] = (bits >> (8 * i)) & 0xFF
    buffer[length] = 0x80  # the padding is the same for every row: only the message bytes are rewritten
    w = np.zeros(64, np.uint32)
    state = np.zeros(8, np.uint32)
    for row in range(messages.shape[0]):
        for i in range(length):
            buffer[i] = messages[row, i]
        for i in range(8):
            state[i] = initial[i]
        for offset in range(0, padded, 64):
            _compress(state, buffer, offset, w, k)
        for i in range(8):
            for j in range(4):
                out[row, 4 * i + j] = (state[i] >> np.uint32(24 - 8 * j)) & np.uint32(0xFF)


def sha256_matrix(messages: np.ndarray) -> np.ndarray:
    """SHA-256 of every row of a uint8 matrix -> (rows, 32) uint8."""
    messages = np.ascontiguousarray(messages, np.uint8)
    out = np.empty((messages.shape[0], 32), np.uint8)
    sha256_rows(messages, ROUND_CONSTANTS, INITIAL_STATE, out)
    return out


@kernel
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


@kernel
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


@kernel
def fnv1a_rows(matrix, out):
    """out[i] = 64-bit FNV-1a of row i of a uint8 matrix (a sort key for duplicate checks, not a security hash)."""
    assert out.shape[0] == matrix.shape[0]
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


@kernel
def rows_outside(values, low, high, found):
    """The first len(found) row numbers whose value is below `low` or above `high`, written into found; returns
    how many were written (0: every value is inside the bounds)."""
    count = 0
    for row in range(values.shape[0]):
        value = values[row]
        if value < low or value > high:
            found[count] = row
            count += 1
            if count == found.shape[0]:
                break
    return count


@kernel
def split_lines(data, out):
    """Newline-separated references from `data` into the zeroed, NUL-padded rows of `out`, in one pass.

    Returns the number of rows found; -1 if a reference is wider than a row or there are more rows than `out`
    holds (the caller reports either as corrupt). An empty `data` is one empty reference.
    """
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
