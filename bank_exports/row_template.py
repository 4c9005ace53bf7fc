"""Rows of a table rendered into bytes by a template: literal pieces, string columns, an amount column, optional
elements and optional groups, all written by one Numba kernel straight from the Arrow buffers.

pain.001 files hold up to 100,000 transactions of ~450 bytes each, one per payment; building them with pyarrow
compute gathered every column of every block and joined a dozen string arrays per block (most of the writer's
time). Here a template is a short program of ops (RowTemplate); the kernel reads each value's bytes once, from
the column's own offsets, data and validity bitmap, and writes the file's rows into one buffer in one pass. The
buffer is allocated once at a bound of the rows' size taken from the columns' offsets (every literal, every value
and the longest amount of each row: numpy sums, ~1 ms per 100,000 rows where a measuring pass of the kernel took
~40 ms), and the kernel asserts every byte it writes lies inside it. Values must already be escaped for XML
(text.clean_text does it).
"""
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from bank_exports.checks import flat
from engine.jit import I32_RO, I64_2D_RO, I64_OUT, I64_RO, U8_OUT, U8_RO, helper, kernel

LITERAL, VALUE, OPTIONAL, AMOUNT, GROUP, GROUP_END = range(6)  # the kinds of op: ops[:, 0]
INT64_MAX = 2**63 - 1
COLUMN_SLOTS = 12  # string columns a template can read (a fixed count: the kernel's signature names it; a
# pain.001 transfer with the creditor's address reads 12)


@dataclass(frozen=True)
class RowTemplate:
    """ops: (n, 3) int64 rows of (kind, column slot, literal index); a GROUP's column field is the count of the
    OPTIONAL ops it holds, written with the group's opening and closing literals only when one of them is."""
    ops: np.ndarray
    literal_bytes: np.ndarray  # every literal, UTF-8, one after the other
    literal_ends: np.ndarray   # int64: where literal k ends in literal_bytes
    columns: tuple[str, ...]   # the column of each slot


class TemplateBuilder:
    """Builds a RowTemplate op by op; adjacent literals are merged into one."""

    def __init__(self):
        self._ops, self._literals, self._columns = [], [], []

    def literal(self, text: str) -> None:
        if self._ops and self._ops[-1][0] == LITERAL:
            self._literals[self._ops[-1][2]] += text.encode("utf-8")
        else:
            self._ops.append((LITERAL, 0, self._add(text)))

    def value(self, column: str) -> None:
        """The column's value (it must be valid in every row rendered)."""
        self._ops.append((VALUE, self._slot(column), 0))

    def optional(self, opening: str, column: str, closing: str) -> None:
        """opening + value + closing where the column is valid, nothing where it is null."""
        literal = self._add(opening)
        self._add(closing)
        self._ops.append((OPTIONAL, self._slot(column), literal))

    def amount(self) -> None:
        self._ops.append((AMOUNT, 0, 0))

    def group(self, opening: str, elements: list[tuple[str, str]], closing: str) -> None:
        """<opening><tag>value</tag>...<closing> with each (tag, column) optional; nothing at all when every
        column of the group is null."""
        self._ops.append((GROUP, len(elements), self._add(opening)))
        for tag, column in elements:
            self.optional(f"<{tag}>", column, f"</{tag}>")
        self._ops.append((GROUP_END, 0, self._add(closing)))

    def build(self) -> RowTemplate:
        ends = np.cumsum([len(text) for text in self._literals], dtype=np.int64)
        data = np.frombuffer(b"".join(self._literals) or b"\0", np.uint8)
        return RowTemplate(np.array(self._ops, np.int64).reshape(-1, 3), data, ends, tuple(self._columns))

    def _add(self, text: str) -> int:
        self._literals.append(text.encode("utf-8"))
        return len(self._literals) - 1

    def _slot(self, column: str) -> int:
        if column not in self._columns:
            assert len(self._columns) < COLUMN_SLOTS, "more string columns than the kernel's slots"
            self._columns.append(column)
        return self._columns.index(column)


@dataclass(frozen=True)
class StringColumns:
    """The Arrow buffers of a template's string columns, one slot each (unused slots hold an empty column)."""
    offsets: tuple   # int32 offsets of each row's bytes
    data: tuple      # uint8 bytes
    validity: tuple  # uint8 validity bitmaps (Arrow's, LSB first; all ones where the column has no null)
    bit_offsets: np.ndarray  # int64: each bitmap's first bit (the array's offset)
    rows: int


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


_NO_COLUMN = (_read_only(np.zeros(1, np.int32)), _read_only(np.zeros(1, np.uint8)), _read_only(np.zeros(1, np.uint8)))


def string_columns(table: pa.Table, template: RowTemplate) -> StringColumns:
    """The buffers of the template's columns of `table` (string columns, no copy of their bytes)."""
    offsets, data, validity, bit_offsets = [], [], [], []
    for name in template.columns:
        array = flat(table.column(name))
        assert pa.types.is_string(array.type), f"{name}: {array.type}"
        bitmap, offsets_buffer, data_buffer = array.buffers()
        count = len(array)
        offsets.append(np.frombuffer(offsets_buffer, np.int32)[array.offset:array.offset + count + 1]
                       if offsets_buffer is not None else _NO_COLUMN[0])
        data.append(np.frombuffer(data_buffer, np.uint8) if data_buffer is not None and data_buffer.size
                    else _NO_COLUMN[1])
        if bitmap is None or array.null_count == 0:
            validity.append(_read_only(np.full(count // 8 + 1, 255, np.uint8)))
            bit_offsets.append(0)
        else:
            validity.append(np.frombuffer(bitmap, np.uint8))
            bit_offsets.append(array.offset)
    for _ in range(COLUMN_SLOTS - len(template.columns)):
        offsets.append(_NO_COLUMN[0])
        data.append(_NO_COLUMN[1])
        validity.append(_NO_COLUMN[2])
        bit_offsets.append(0)
    return StringColumns(tuple(offsets), tuple(data), tuple(validity), np.array(bit_offsets, np.int64),
                         table.num_rows)


class RenderBuffer:
    """One output buffer for every render of a writer, grown when a render needs more: the bytes of a render are
    read (written to its file) before the next render overwrites them. A file of 100,000 payments renders ~45 MB;
    a fresh buffer per file put every page of it through a page fault again (3.4 GB of faults for a national
    payroll's files, at 0.6 to 3 CPU-s per fresh GB on a virtual machine)."""

    def __init__(self):
        self._bytes = np.empty(0, np.uint8)

    def at_least(self, size: int) -> np.ndarray:
        """The buffer's first `size` bytes (their content undefined); a larger buffer when it is too short."""
        if self._bytes.shape[0] < size:
            self._bytes = np.empty(0, np.uint8)  # the old pages given back before the new ones are taken
            self._bytes = np.empty(size, np.uint8)
        return self._bytes[:size]


def render(template: RowTemplate, columns: StringColumns, rows: np.ndarray, amounts: np.ndarray, scale: int,
           exponent: int, buffer: RenderBuffer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bytes of rows[0], rows[1], ... one after the other; int64 end of each row's bytes). Amounts (> 0) are
    written as amounts[row] * scale with `exponent` decimals. The bytes are a view of `buffer` when one is given
    (valid until its next render), else of a buffer of their own."""
    rows = np.ascontiguousarray(rows, np.int64)
    assert rows.size == 0 or (0 <= rows.min() and rows.max() < columns.rows)
    amounts = np.ascontiguousarray(amounts, np.int64)
    assert amounts.shape[0] == columns.rows
    ends = np.empty(rows.shape[0], np.int64)
    if not rows.size:
        return np.empty(0, np.uint8), ends
    # pages of the bound past the rows' real size are never touched, so never resident
    bound = size_bound(template, columns, rows)
    out = np.empty(bound, np.uint8) if buffer is None else buffer.at_least(bound)
    render_rows_kernel(rows, template.ops, template.literal_bytes, template.literal_ends, columns.offsets,
                       columns.data, columns.validity, columns.bit_offsets, amounts, scale, exponent, ends, out)
    return out[:ends[-1]], ends


AMOUNT_CHARS_MAX = 21  # an int64's 19 digits, or fewer digits padded to '0.' and 5 decimals, and the point


def size_bound(template: RowTemplate, columns: StringColumns, rows: np.ndarray) -> int:
    """Bytes that `rows` rendered by `template` cannot pass: a row writes each literal at most once (every op has
    literals of its own), each value op its column's bytes at most once, each amount AMOUNT_CHARS_MAX at most."""
    kinds, slots = template.ops[:, 0], template.ops[:, 1]
    per_row = int(template.literal_ends[-1]) if template.literal_ends.size else 0
    per_row += int(np.count_nonzero(kinds == AMOUNT)) * AMOUNT_CHARS_MAX
    total = per_row * rows.shape[0]
    for slot in range(len(template.columns)):
        reads = int(np.count_nonzero(((kinds == VALUE) | (kinds == OPTIONAL)) & (slots == slot)))
        if reads:  # a value's length fits int32 (Arrow's string offsets); their sum may not
            offsets = columns.offsets[slot]
            total += reads * int((offsets[rows + 1] - offsets[rows]).sum(dtype=np.int64))
    return total


@intrinsic
def _copy_bytes(typingctx, out, at, source, start, count):
    """memcpy of count bytes from source[start:] to out[at:] (the caller checks both ranges): one call instead of
    a loop per byte, five times faster on the short values of a payment file."""
    def codegen(context, builder, signature, args):
        target = context.make_array(signature.args[0])(context, builder, args[0])
        origin = context.make_array(signature.args[2])(context, builder, args[2])
        cgutils.raw_memcpy(builder, builder.gep(target.data, [args[1]]), builder.gep(origin.data, [args[3]]),
                           args[4], 1)
        return context.get_dummy_value()
    return types.void(out, at, source, start, count), codegen


@helper
def _put(out, at, source, start, end):
    """source[start:end] written at out[at:]; the position after it."""
    assert 0 <= at and at + end - start <= out.shape[0], "a row passes the size bound"
    assert 0 <= start <= end <= source.shape[0], "a value outside its column's bytes"
    _copy_bytes(out, at, source, start, end - start)
    return at + end - start


@helper
def _valid(bitmap, bit):
    """Bit `bit` of an Arrow validity bitmap (least significant bit first)."""
    assert bit >= 0
    assert (bit >> 3) < bitmap.shape[0], "a row past its column's validity bitmap"
    return (bitmap[bit >> 3] >> (bit & 7)) & 1 == 1


@helper
def _put_amount(out, at, value, exponent):
    """value (> 0, in 10^-exponent units) as decimal text: the whole part (at least '0'), then '.' and
    `exponent` digits when exponent > 0; written from its last digit back."""
    assert value > 0 and exponent >= 0
    whole_digits, rest = 1, value
    for _ in range(exponent):
        rest //= 10
    while rest >= 10:
        rest //= 10
        whole_digits += 1
    count = whole_digits + (exponent + 1 if exponent > 0 else 0)
    assert 0 <= at and at + count <= out.shape[0], "an amount passes the size bound"
    position = at + count - 1
    for place in range(count):
        if exponent > 0 and place == exponent:
            out[position] = 46  # '.'
        else:
            out[position] = 48 + value % 10
            value //= 10
        position -= 1
    return at + count


STRING_OFFSETS = types.UniTuple(I32_RO, COLUMN_SLOTS)
STRING_BYTES = types.UniTuple(U8_RO, COLUMN_SLOTS)


@kernel(types.void(I64_RO, I64_2D_RO, U8_RO, I64_RO, STRING_OFFSETS, STRING_BYTES, STRING_BYTES, I64_RO, I64_RO,
                   types.int64, types.int64, I64_OUT, U8_OUT))
def render_rows_kernel(rows, ops, literal_bytes, literal_ends, offsets, data, validity, bit_offsets, amounts,
                       scale, exponent, ends, out):
    """Each row of `rows` rendered by the template's ops into out (at least size_bound long), one after the
    other; ends[i] is where row i's bytes end."""
    assert ends.shape[0] == rows.shape[0] and ops.shape[1] == 3
    assert scale >= 1 and 0 <= exponent <= 5
    amount_max = INT64_MAX // scale
    at = 0
    for i in range(rows.shape[0]):
        row = rows[i]
        op = 0
        while op < ops.shape[0]:
            kind, slot, literal = ops[op, 0], ops[op, 1], ops[op, 2]
            if kind == LITERAL or kind == GROUP_END:
                at = _put(out, at, literal_bytes, literal_ends[literal - 1] if literal else 0, literal_ends[literal])
            elif kind == VALUE:
                assert _valid(validity[slot], bit_offsets[slot] + row), "a required value is null"
                at = _put(out, at, data[slot], offsets[slot][row], offsets[slot][row + 1])
            elif kind == OPTIONAL:
                if _valid(validity[slot], bit_offsets[slot] + row):
                    at = _put(out, at, literal_bytes, literal_ends[literal - 1] if literal else 0,
                              literal_ends[literal])
                    at = _put(out, at, data[slot], offsets[slot][row], offsets[slot][row + 1])
                    at = _put(out, at, literal_bytes, literal_ends[literal], literal_ends[literal + 1])
            elif kind == AMOUNT:
                assert amounts[row] <= amount_max, "amount times scale passes int64"
                at = _put_amount(out, at, amounts[row] * scale, exponent)
            else:  # GROUP: its opening when one of its `slot` optional elements is there, else skip them all
                present = False
                for inner in range(op + 1, op + 1 + slot):
                    present |= _valid(validity[ops[inner, 1]], bit_offsets[ops[inner, 1]] + row)
                if present:
                    at = _put(out, at, literal_bytes, literal_ends[literal - 1] if literal else 0,
                              literal_ends[literal])
                else:
                    op += slot + 1  # past the elements and the closing
            op += 1
        ends[i] = at
