"""Column-wise XML fragments: one string per row built by pyarrow compute, written straight from Arrow buffers.

Used by every writer that emits one element per payment (pain.001 transactions, camt entries, pain.002 statuses),
so no Python code runs per row. Values must already be escaped (text.clean_text does it).
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports.checks import flat


def wrapped(opening: str, column, closing: str) -> pa.Array:
    """opening + value + closing per row, '' where the value is null (the optional element is left out)."""
    return pc.binary_join_element_wise(opening, column, closing, "").fill_null("")


def element(tag: str, column) -> pa.Array:
    return wrapped(f"<{tag}>", column, f"</{tag}>")


def join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def write_strings(out, strings) -> None:
    """Write the concatenation of a string array straight from its data buffer (no Python string per row)."""
    strings = flat(strings)
    if len(strings) == 0:
        return
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset:][: len(strings) + 1]
    out.write(memoryview(strings.buffers()[2])[int(offsets[0]): int(offsets[-1])])
