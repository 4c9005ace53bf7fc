"""PostgreSQL binary COPY buffers built straight from numpy columns by a numba kernel (no per-row Python).

A binary COPY stream is a fixed header, then per row a 16-bit field count and per field a 32-bit length and the
big-endian value, then a -1 trailer. Integer columns arrive as one int64 matrix with their byte widths (2, 4, 8)
and at most one trailing text column as a NUL-padded byte matrix; the kernel writes rows [start, stop) so the
caller can stream chunks while the server ingests the previous one.
"""
import numpy as np

from engine.jit import kernel

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
CHUNK_ROWS = 65_536


@kernel
def _put_be(out, pos, value, width):
    for i in range(width):
        out[pos + i] = (value >> (8 * (width - 1 - i))) & 0xFF
    return pos + width


@kernel
def pack_rows(ints, widths, text, text_len, has_text, start, stop, out):
    """Write rows [start, stop) into out; returns the number of bytes written."""
    assert ints.shape[0] == widths.shape[0]
    assert stop <= ints.shape[1] and start <= stop
    fields = ints.shape[0] + (1 if has_text else 0)
    pos = 0
    for row in range(start, stop):
        pos = _put_be(out, pos, fields, 2)
        for col in range(ints.shape[0]):
            pos = _put_be(out, pos, widths[col], 4)
            pos = _put_be(out, pos, ints[col, row], widths[col])
        if has_text:
            length = text_len[row]
            pos = _put_be(out, pos, length, 4)
            for i in range(length):
                out[pos + i] = text[row, i]
            pos += length
    return pos


def row_bytes_max(widths: np.ndarray, text_width: int) -> int:
    return 2 + int(np.sum(widths + 4)) + (4 + text_width if text_width else 0)


def copy_chunks(ints: np.ndarray, widths: np.ndarray, text: np.ndarray | None):
    """Yield COPY FROM STDIN (FORMAT BINARY) data: header, row chunks, trailer, as memoryviews/bytes."""
    assert ints.ndim == 2 and ints.dtype == np.int64
    count = ints.shape[1]
    has_text = text is not None
    if has_text:
        text_len = np.count_nonzero(text, axis=1).astype(np.int64)
        text_width = text.shape[1]
    else:
        text = np.zeros((count, 1), np.uint8)
        text_len = np.zeros(count, np.int64)
        text_width = 0
    out = np.empty(min(count, CHUNK_ROWS) * row_bytes_max(widths, text_width) + 2, np.uint8)
    yield COPY_HEADER
    for start in range(0, count, CHUNK_ROWS):
        stop = min(count, start + CHUNK_ROWS)
        size = pack_rows(ints, widths, text, text_len, has_text, start, stop, out)
        yield bytes(out[:size])  # a copy: psycopg may hold the buffer while the kernel refills `out`
    yield COPY_TRAILER
