"""The binary COPY packer against a plain-Python struct-based reading of the PostgreSQL format."""
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import threading

import pytest

from ledgers.copy_binary import COPY_HEADER, COPY_TRAILER, blob_row_chunks, copy_chunks, prefetched

FORMATS = {2: ">h", 4: ">i", 8: ">q"}


def parse_copy(buffer: bytes, widths: list[int], has_text: bool):
    """Reference reader: header, rows of (field count, (length, value)*), trailer."""
    assert buffer.startswith(COPY_HEADER) and buffer.endswith(COPY_TRAILER)
    pos, rows = len(COPY_HEADER), []
    while buffer[pos:pos + 2] != COPY_TRAILER:
        (fields,) = struct.unpack_from(">h", buffer, pos)
        pos += 2
        assert fields == len(widths) + has_text
        row = []
        for width in widths:
            (length,) = struct.unpack_from(">i", buffer, pos)
            assert length == width
            row.append(struct.unpack_from(FORMATS[width], buffer, pos + 4)[0])
            pos += 4 + width
        if has_text:
            (length,) = struct.unpack_from(">i", buffer, pos)
            row.append(buffer[pos + 4:pos + 4 + length])
            pos += 4 + length
        rows.append(tuple(row))
    assert pos + 2 == len(buffer)
    return rows


ints16 = st.integers(-2**15, 2**15 - 1)
ints32 = st.integers(-2**31, 2**31 - 1)
ints64 = st.integers(-2**63, 2**63 - 1)
refs = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=35)


@given(st.lists(st.tuples(ints16, ints32, ints64, refs), max_size=30))
@settings(max_examples=80, deadline=None)
def test_packed_rows_read_back_exactly(rows):
    a = np.array([r[0] for r in rows], np.int16)
    b = np.array([r[1] for r in rows], np.int32)
    c = np.array([r[2] for r in rows], np.int64)
    text = np.zeros((len(rows), 35), np.uint8)
    for i, r in enumerate(rows):
        text[i, :len(r[3])] = np.frombuffer(r[3].encode(), np.uint8)
    buffer = b"".join(bytes(chunk) for chunk in copy_chunks([a, b, c], text))
    assert parse_copy(buffer, [2, 4, 8], True) == [(x, y, z, s.encode()) for x, y, z, s in rows]


def parse_blob_row(buffer: bytes, ints: int) -> tuple:
    """Reference reader of one row: `ints` int64 fields, then length-prefixed byte fields."""
    assert buffer.startswith(COPY_HEADER) and buffer.endswith(COPY_TRAILER)
    pos = len(COPY_HEADER)
    (fields,) = struct.unpack_from(">h", buffer, pos)
    pos, row = pos + 2, []
    for field in range(fields):
        (length,) = struct.unpack_from(">i", buffer, pos)
        if field < ints:
            assert length == 8
            row.append(struct.unpack_from(">q", buffer, pos + 4)[0])
        else:
            row.append(buffer[pos + 4:pos + 4 + length])
        pos += 4 + length
    assert pos + 2 == len(buffer)
    return tuple(row)


@given(st.lists(ints64, min_size=1, max_size=3), st.lists(st.lists(ints64, max_size=40), max_size=3),
       st.integers(1, 64))
@settings(max_examples=80, deadline=None)
def test_a_blob_row_reads_back_exactly_in_pieces_of_any_size(ints, blobs, piece_bytes):
    arrays = [np.array(blob, "<i8") for blob in blobs]
    chunks = list(blob_row_chunks(ints, arrays, piece_bytes))
    assert all(len(chunk) <= max(piece_bytes, len(COPY_HEADER) + 2, 12) for chunk in chunks[1:-1])
    row = parse_blob_row(b"".join(bytes(chunk) for chunk in chunks), len(ints))
    assert row == (*ints, *(array.tobytes() for array in arrays))


def test_blob_pieces_are_views_of_the_callers_array():
    """A blob is sent as slices of the array itself, never as a copy of its bytes."""
    blob = np.arange(1000, dtype="<i4")
    pieces = [chunk for chunk in blob_row_chunks([7], [blob], piece_bytes=1024)
              if isinstance(chunk, memoryview)]
    assert sum(len(piece) for piece in pieces) == blob.nbytes and len(pieces) == 4
    assert all(np.shares_memory(np.frombuffer(piece, np.uint8), blob) for piece in pieces)


def test_columns_in_any_order_and_width():
    rng = np.random.default_rng(1)
    count = 70_000  # two chunks, the second one partial
    columns = [rng.integers(-2**63, 2**63 - 1, count, dtype=np.int64), rng.integers(-2**15, 2**15, count).astype(
        np.int16), rng.integers(-2**31, 2**31, count).astype(np.int32), np.full(count, -1, np.int16)]
    rows = parse_copy(b"".join(bytes(chunk) for chunk in copy_chunks(columns, None)), [8, 2, 4, 2], False)
    assert rows == list(zip(*(column.tolist() for column in columns)))


def test_many_chunks_without_text():
    count = 200_000  # more than one CHUNK_ROWS
    values = np.arange(count, dtype=np.int64) - 7
    buffer = b"".join(bytes(chunk) for chunk in copy_chunks([values], None))
    rows = parse_copy(buffer, [8], False)
    assert len(rows) == count and rows[0] == (-7,) and rows[-1] == (count - 8,)


def test_prefetched_chunks_are_the_same_bytes_in_the_same_order():
    column = np.arange(200_000, dtype=np.int64)
    text = np.frombuffer(b"".join(b"ref-%031d" % i for i in range(200_000)), np.uint8).reshape(-1, 35)
    plain = b"".join(bytes(chunk) for chunk in copy_chunks([column], text))
    ahead = b"".join(bytes(chunk) for chunk in prefetched(copy_chunks([column], text), depth=2))
    assert ahead == plain


def test_prefetched_raises_the_producers_error_after_what_it_yielded():
    def failing():
        yield b"a"
        yield b"b"
        raise ValueError("packing failed")

    seen = []
    with pytest.raises(ValueError, match="packing failed"):
        for item in prefetched(failing(), depth=1):
            seen.append(item)
    assert seen == [b"a", b"b"]


def test_prefetched_stops_its_thread_when_the_consumer_stops_early():
    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield len(produced)

    before = threading.active_count()
    with pytest.raises(RuntimeError):
        for item in prefetched(endless(), depth=2):
            if item == 5:
                raise RuntimeError("the server refused the COPY")
    assert threading.active_count() == before  # the producer was joined, not left running
    assert len(produced) <= 5 + 2 + 1
