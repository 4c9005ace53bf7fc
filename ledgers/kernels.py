"""Numba kernels of the ledger: payment-reference byte work (validate and rebuild the NUL-padded 35-byte
references in one pass, duplicate and bounds checks), and SHA-256 of many short rows (Merkle leaves and nodes).

The SHA-256 itself is OpenSSL's, the library hashlib uses: no cryptographic code is owned here. hashlib costs
about 1.4 us a row in Python call overhead (a 65-byte node is two blocks, which OpenSSL hashes in about 0.15 us),
so a kernel calls OpenSSL's SHA256_Init/Update/Final for every row without returning to Python. At 10 M rights
the approval's 7.2 M payments make 14.5 M hashes: 20 s of one core through hashlib, 3 s this way. When libcrypto
or those functions cannot be loaded, or the kernel disagrees with hashlib on a self-check, callers use hashlib.
"""
import ctypes.util
import functools
import hashlib

import numpy as np
from numba import types

from engine.jit import I32_RO, I64_OUT, I64_RO, U8_2D_OUT, U8_2D_RO, U8_RO, U64_OUT, kernel

# OpenSSL's low-level SHA-256 (deprecated in OpenSSL 3 in favour of EVP, but exported and without EVP's per-call
# algorithm lookup, which makes the one-shot SHA256() as slow as hashlib). Pointers pass as intp: the same
# register on every 64-bit ABI numba supports.
SHA256_INIT = types.ExternalFunction("SHA256_Init", types.intc(types.intp))
SHA256_UPDATE = types.ExternalFunction("SHA256_Update", types.intc(types.intp, types.intp, types.intp))
SHA256_FINAL = types.ExternalFunction("SHA256_Final", types.intc(types.intp, types.intp))
SHA256_CTX_BYTES = 256  # sizeof(SHA256_CTX) is 112; room to spare


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


@kernel(types.boolean(U8_2D_RO, U8_2D_OUT))
def sha256_rows_openssl(messages, out):
    """out[i] = SHA-256 of messages[i] (C-contiguous uint8 matrices), through OpenSSL; False if a call failed.
    Declared: one specialisation serves the self-check's writable rows and a batch's read-only ones (it compiled
    once for each), and payroll.warmup compiles it in the background. Its compile links libcrypto's functions:
    openssl_rows_ready loads the library first."""
    assert messages.shape[0] == out.shape[0] and out.shape[1] == 32
    assert messages.flags.c_contiguous and out.flags.c_contiguous
    width = messages.shape[1]
    context = np.zeros(SHA256_CTX_BYTES, np.uint8)
    ctx = context.ctypes.data
    source = messages.ctypes.data
    target = out.ctypes.data
    for row in range(messages.shape[0]):
        if SHA256_INIT(ctx) != 1 or SHA256_UPDATE(ctx, source + row * width, width) != 1:
            return False
        if SHA256_FINAL(target + row * 32, ctx) != 1:
            return False
    return True


@functools.cache
def openssl_rows_ready() -> bool:
    """True once libcrypto's SHA256_* functions are loaded for the kernels and sha256_rows_openssl agrees with
    hashlib on a self-check (empty, one-block and multi-block rows); False means: use hashlib."""
    name = ctypes.util.find_library("crypto")
    if not name:
        return False
    try:
        library = ctypes.CDLL(name)
        for symbol in ("SHA256_Init", "SHA256_Update", "SHA256_Final"):
            getattr(library, symbol)
        from llvmlite import binding

        binding.load_library_permanently(name)
    except (OSError, AttributeError, RuntimeError):
        return False
    for width in (0, 52, 65, 200):
        messages = (np.arange(3 * width, dtype=np.int64) * 7 % 256).astype(np.uint8).reshape(3, width)
        out = np.zeros((3, 32), np.uint8)
        expected = b"".join(hashlib.sha256(row.tobytes()).digest() for row in messages)
        if not sha256_rows_openssl(messages, out) or out.tobytes() != expected:
            return False
    return True
