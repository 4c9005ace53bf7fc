"""PostgreSQL binary COPY buffers built straight from numpy columns by numba kernels (no per-row Python).

A binary COPY stream is a fixed header, then per row a 16-bit field count and per field a 32-bit length and the
big-endian value, then a -1 trailer. Integer columns arrive as they are (int16, int32 or int64: the width on the
wire is the column's own, and no int64 matrix of every column is built), with at most one trailing text column
as a NUL-padded byte matrix. A chunk of rows is written column by column into one buffer at precomputed row
offsets, so the caller can stream chunks while the server ingests the previous one: `prefetched` packs the next
chunks on a second thread (the kernels release the GIL) while the caller's thread writes the current one to the
socket, so packing no longer waits for the server nor the server for packing. A row of large blobs (a batch's
expense columns) is streamed the same way (blob_row_chunks).
"""
import queue
import struct
import threading

import numpy as np

from engine.jit import kernel

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
CHUNK_ROWS = 65_536
PREFETCH_CHUNKS = 3  # chunks packed ahead of the socket: ~25 MB held at most, enough to hide packing
INT_WIDTHS = (2, 4, 8)
BLOB_PIECE_BYTES = 1 << 22  # pieces of a blob handed to psycopg, which sends them on in its own smaller ones


@kernel
def row_offsets(fields, fixed_bytes, text, start, stop, out, offsets, text_len):
    """offsets[i] = where row start + i begins in `out` (offsets[-1] = bytes used); writes each field count. And
    text_len[i] = the length of text row start + i, its non-NUL bytes (the rows are NUL-padded): counted chunk by
    chunk, so the first chunk goes out at once instead of after every row of the batch was counted."""
    assert 0 <= start <= stop <= text.shape[0] and offsets.shape[0] > stop - start
    assert 0 < fields < 65_536 and out.shape[0] >= (stop - start) * fixed_bytes and text_len.shape[0] >= stop - start
    pos = 0
    for row in range(start, stop):
        length = 0
        for j in range(text.shape[1]):
            length += text[row, j] != 0
        text_len[row - start] = length
        offsets[row - start] = pos
        out[pos] = (fields >> 8) & 0xFF
        out[pos + 1] = fields & 0xFF
        pos += fixed_bytes + length
    offsets[stop - start] = pos


@kernel
def put_column(column, start, offsets, field_at, out):
    """Length word and big-endian value of column[start + i] at offsets[i] + field_at, for every row of the chunk."""
    width = column.itemsize
    assert 0 <= start and start + offsets.shape[0] - 1 <= column.shape[0]
    assert offsets.shape[0] > 0 and offsets[offsets.shape[0] - 1] <= out.shape[0]
    for i in range(offsets.shape[0] - 1):
        pos = offsets[i] + field_at
        out[pos] = 0
        out[pos + 1] = 0
        out[pos + 2] = 0
        out[pos + 3] = width
        value = np.int64(column[start + i])
        for byte in range(width):
            out[pos + 4 + byte] = (value >> (8 * (width - 1 - byte))) & 0xFF


@kernel
def put_text(text, text_len, start, offsets, field_at, out):
    """Length word and bytes of each NUL-padded text row at offsets[i] + field_at (text_len[i]: its length)."""
    assert text_len.shape[0] >= offsets.shape[0] - 1 and 0 <= start and start + offsets.shape[0] - 1 <= text.shape[0]
    assert offsets.shape[0] > 0 and offsets[offsets.shape[0] - 1] <= out.shape[0]
    for i in range(offsets.shape[0] - 1):
        pos = offsets[i] + field_at
        length = text_len[i]
        out[pos] = (length >> 24) & 0xFF
        out[pos + 1] = (length >> 16) & 0xFF
        out[pos + 2] = (length >> 8) & 0xFF
        out[pos + 3] = length & 0xFF
        for j in range(length):
            out[pos + 4 + j] = text[start + i, j]


def copy_chunks(columns: list, text: np.ndarray | None):
    """Yield COPY FROM STDIN (FORMAT BINARY) data: header, row chunks, trailer, as bytes."""
    for column in columns:
        assert column.dtype.kind == "i" and column.dtype.itemsize in INT_WIDTHS, column.dtype
        assert column.flags.c_contiguous
    count = len(text) if text is not None else len(columns[0])
    assert all(len(column) == count for column in columns)
    fields = len(columns) + (text is not None)
    text_field = 4 if text is not None else 0
    text = text if text is not None else np.zeros((count, 0), np.uint8)  # rows of no text: length 0
    fixed_bytes = 2 + sum(4 + column.dtype.itemsize for column in columns) + text_field
    text_width = text.shape[1]
    rows = min(count, CHUNK_ROWS)
    offsets = np.empty(rows + 1, np.int64)
    text_len = np.empty(rows, np.int64)
    yield COPY_HEADER
    for start in range(0, count, CHUNK_ROWS):
        stop = min(count, start + CHUNK_ROWS)
        out = np.empty(rows * (fixed_bytes + text_width), np.uint8)  # fresh: psycopg may hold the last one
        row_offsets(fields, fixed_bytes, text, start, stop, out, offsets, text_len)
        chunk_offsets = offsets[:stop - start + 1]
        field_at = 2
        for column in columns:
            put_column(column, start, chunk_offsets, field_at, out)
            field_at += 4 + column.dtype.itemsize
        if text_field:
            put_text(text, text_len, start, chunk_offsets, field_at, out)
        yield memoryview(out)[:int(chunk_offsets[-1])]
    yield COPY_TRAILER


def blob_row_chunks(ints: list, blobs: list, piece_bytes: int = BLOB_PIECE_BYTES):
    """Yield COPY FROM STDIN (FORMAT BINARY) data of one row: int64 fields, then bytea fields. Each blob (a numpy
    array, sent as its bytes) goes out in pieces of at most piece_bytes, views of the caller's array: a blob of
    hundreds of megabytes is neither copied nor built into one message, and the server reads the row as it comes."""
    assert piece_bytes > 0 and 0 < len(ints) + len(blobs) < 32_768  # the field count is a signed 16-bit word
    yield COPY_HEADER + struct.pack(">h", len(ints) + len(blobs))
    for value in ints:
        yield struct.pack(">iq", 8, value)  # struct refuses a value outside int64
    for blob in blobs:
        data = memoryview(np.ascontiguousarray(blob).reshape(-1).view(np.uint8))  # any dtype and shape, as bytes
        assert len(data) < 2**31, len(data)  # the field's length word; a bytea holds at most 1 GB anyway
        yield struct.pack(">i", len(data))
        for start in range(0, len(data), piece_bytes):
            yield data[start:start + piece_bytes]
    yield COPY_TRAILER


def prefetched(chunks, depth: int = PREFETCH_CHUNKS):
    """Yield what the iterable `chunks` yields, in order, computed on a second thread up to `depth` items ahead.

    An exception of the producer is raised here, in the consumer; when the consumer stops early (its own error,
    e.g. the server refusing the COPY), the producer is told to stop and joined before this generator closes."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for chunk in chunks:
                if not _offer(items, stop, (chunk, None)):
                    return
            _offer(items, stop, (done, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _offer(items, stop, (done, exc))

    worker = threading.Thread(target=produce, name="copy-pack", daemon=True)
    worker.start()
    try:
        while True:
            chunk, error = items.get()
            if chunk is done:
                if error is not None:
                    raise error
                return
            yield chunk
    finally:
        stop.set()
        worker.join()


def _offer(items: queue.Queue, stop: threading.Event, item) -> bool:
    """Put `item` on the queue unless the consumer has stopped; False when it has."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
