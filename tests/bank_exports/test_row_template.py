"""row_template: the kernel's bytes equal a plain-Python rendering of the same template, row by row, for columns
with nulls, empty strings, several chunks and offsets, amounts at every exponent; the pain.001 templates equal the
elements the XSD orders."""
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_exports import row_template
from bank_exports.row_template import AMOUNT, GROUP, GROUP_END, LITERAL, OPTIONAL, VALUE, TemplateBuilder
from formats.amounts import format_amount

TEXT = st.one_of(st.none(), st.text(alphabet="aZ9 <&;é€ш", max_size=6))


def reference(template, table: pa.Table, rows, amounts, scale: int, exponent: int) -> bytes:
    """What the kernel must write, one op at a time in Python."""
    literals = [bytes(template.literal_bytes[start:end]) for start, end in
                zip(np.r_[0, template.literal_ends[:-1]], template.literal_ends)]
    columns = {name: table.column(name).to_pylist() for name in template.columns}
    out = bytearray()
    for row in rows:
        def value(slot):
            return columns[template.columns[slot]][row]
        op = 0
        while op < len(template.ops):
            kind, slot, literal = (int(x) for x in template.ops[op])
            if kind in (LITERAL, GROUP_END):
                out += literals[literal]
            elif kind == VALUE:
                out += value(slot).encode()
            elif kind == OPTIONAL and value(slot) is not None:
                out += literals[literal] + value(slot).encode() + literals[literal + 1]
            elif kind == AMOUNT:
                out += format_amount(int(amounts[row]) * scale, exponent).encode()
            elif kind == GROUP:
                if all(value(int(template.ops[inner][1])) is None for inner in range(op + 1, op + 1 + slot)):
                    op += slot + 1
                else:
                    out += literals[literal]
            op += 1
    return bytes(out)


def template_of_every_op():
    rows = TemplateBuilder()
    rows.literal("<T><Id>")
    rows.value("id")
    rows.literal("</Id>")
    rows.literal("<A>")  # merged with the literal before
    rows.amount()
    rows.literal("</A>")
    rows.optional("<B>", "bic", "</B>")
    rows.group("<Adr>", [("S", "street"), ("C", "country")], "</Adr>")
    rows.optional("<R>", "street", "</R>")  # a column read twice keeps one slot
    rows.literal("</T>\n")
    return rows.build()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abc-1", min_size=1, max_size=5), TEXT, TEXT, TEXT,
                          st.integers(1, 10**12)), min_size=1, max_size=30),
       st.integers(0, 5), st.sampled_from([1, 10, 1000]), st.data())
def test_the_kernel_writes_what_the_reference_writes(records, exponent, scale, data):
    template = template_of_every_op()
    assert template.columns == ("id", "bic", "street", "country")
    ids, bics, streets, countries, amounts = (list(column) for column in zip(*records))
    table = pa.table({"id": pa.chunked_array([ids[:1], ids[1:]], pa.string()), "bic": pa.array(bics, pa.string()),
                      "street": pa.array(streets, pa.string()), "country": pa.array(countries, pa.string())})
    if data.draw(st.booleans()) and len(ids) > 1:  # arrays that start at an offset
        table, amounts = table.slice(1), amounts[1:]
    rows = np.array(data.draw(st.lists(st.integers(0, table.num_rows - 1), max_size=40)), np.int64)
    amounts = np.array(amounts, np.int64)
    columns = row_template.string_columns(table, template)
    out, ends = row_template.render(template, columns, rows, amounts, scale, exponent)
    assert out.tobytes() == reference(template, table, rows, amounts, scale, exponent)
    assert out.size <= row_template.size_bound(template, columns, rows)
    assert ends.shape == rows.shape and (ends.size == 0 or ends[-1] == out.size)
    for position, row in enumerate(rows):  # each row's end is where its own bytes end
        start = ends[position - 1] if position else 0
        assert out[start:ends[position]].tobytes() == reference(template, table, [row], amounts, scale, exponent)


def test_a_null_required_value_and_an_amount_past_int64_are_refused():
    template = template_of_every_op()
    table = pa.table({name: pa.array(values, pa.string()) for name, values in
                      {"id": ["a", None], "bic": [None, None], "street": [None, None], "country": [None, None]}.items()})
    columns = row_template.string_columns(table, template)
    with pytest.raises(AssertionError, match="required value is null"):
        row_template.render(template, columns, np.array([0, 1]), np.array([5, 5], np.int64), 1, 2)
    with pytest.raises(AssertionError, match="passes int64"):
        row_template.render(template, columns, np.array([0]), np.array([2**62, 5], np.int64), 10, 2)


def test_the_kernel_never_writes_past_its_buffer():
    """The buffer is allocated at a bound, not measured: a buffer one byte short of the rows is refused."""
    template = template_of_every_op()
    table = pa.table({"id": ["abc"], "bic": ["B"], "street": ["S"], "country": [None]}).cast(
        pa.schema([(name, pa.string()) for name in ("id", "bic", "street", "country")]))
    columns = row_template.string_columns(table, template)
    rows, amounts = np.array([0], np.int64), np.array([12345], np.int64)
    out, ends = row_template.render(template, columns, rows, amounts, 1, 2)
    assert out.size == len(reference(template, table, rows, amounts, 1, 2))
    # short by one byte, empty, and ending inside the amount (after "<T><Id>abc</Id><A>1")
    for size, refused in ((out.size - 1, "a row"), (0, "a row"), (len("<T><Id>abc</Id><A>1"), "an amount")):
        with pytest.raises(AssertionError, match=f"{refused} passes the size bound"):
            row_template.render_rows_kernel(rows, template.ops, template.literal_bytes, template.literal_ends,
                                            columns.offsets, columns.data, columns.validity, columns.bit_offsets,
                                            amounts, 1, 2, np.empty(1, np.int64), np.empty(size, np.uint8))


def test_renders_through_one_shared_buffer_write_what_separate_renders_write():
    """pain.001 renders every file of an export into one RenderBuffer: each render's bytes are those of a render
    with a buffer of its own, and a larger render grows the buffer."""
    template = template_of_every_op()
    table = pa.table({name: pa.array(values, pa.string()) for name, values in
                      {"id": ["a", "bb", "ccc"], "bic": ["B", None, "BIC"], "street": [None, "S", "Street"],
                       "country": ["ME", None, "RS"]}.items()})
    columns = row_template.string_columns(table, template)
    amounts = np.array([5, 123456, 70], np.int64)
    buffer = row_template.RenderBuffer()
    sizes = []
    for rows in ([0], [2, 1, 0, 2], [1]):  # small, larger (the buffer grows), small again (reused)
        rows = np.array(rows, np.int64)
        shared, ends = row_template.render(template, columns, rows, amounts, 1, 2, buffer)
        own, own_ends = row_template.render(template, columns, rows, amounts, 1, 2)
        assert shared.tobytes() == own.tobytes() == reference(template, table, rows, amounts, 1, 2)
        assert np.array_equal(ends, own_ends)
        sizes.append(buffer.at_least(0).base.shape[0])
    assert sizes[0] < sizes[1] == sizes[2]  # grown once, then reused
