"""The column-wise paths of the payroll cycle agree with the straightforward ones they replace: EndToEndIds from
fixed-width bytes, the packed sort key of the lines, references read from Arrow buffers, sent groups by change
points, approval batches from dictionary-coded columns, the payments-equal-lines check."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from formats.schemas import PAYROLL_LINES
from payroll import ids, lines as line_blocks, payment_export, postings
from payroll.compute import check_payments_equal_lines


def test_refs_from_bytes_equal_formatted_refs_with_nulls_where_no_payment():
    index = np.array([0, 41, -1, 9_999_998, 7], np.int64)
    expected = [None if i < 0 else f"ME-202605-01-{i + 1:07d}" for i in index.tolist()]
    strings = ids.ref_strings("ME-202605-01", index)
    strings.validate(full=True)
    assert strings.to_pylist() == expected and strings.null_count == 1
    assert ids.ref_bytes("ME-202605-01", index).tolist() == [(e or "").encode() for e in expected]
    assert ids.payment_refs("ME-202605-01", 3).to_pylist() == [f"ME-202605-01-000000{i}" for i in (1, 2, 3)]
    with pytest.raises(AssertionError):
        ids.ref_matrix("ME-202605-01", np.array([10**ids.PAYMENT_NO_DIGITS - 1]))


@pytest.mark.parametrize("seed", range(6))
def test_packed_line_order_is_the_lexsort_order(seed):
    rng = np.random.default_rng(seed)
    n = 5_000
    payment = rng.integers(-1, 300, n)
    right = rng.integers(0, 2_000 if seed < 4 else 2**58, n)  # the last seeds need more than 63 bits
    block = rng.integers(0, 14, n)
    month = rng.integers(600, 640, n)
    expected = np.lexsort((month, block, right, np.where(payment < 0, np.iinfo(np.int64).max, payment)))
    assert np.array_equal(line_blocks.line_order(payment, right, block, month), expected)


def _string_column(values, chunks=1):
    array = pa.array(values, pa.string())
    size = -(-len(values) // chunks)
    return pa.chunked_array([array.slice(i, size) for i in range(0, len(values), size)], pa.string())


@pytest.mark.parametrize("values", [
    ["A-0000001", None, "A-0000002", "A-0000003", None],   # one width, back to back
    ["A-1", "B-22", None, "", "C-333"],                      # mixed widths: the general path
    [None, None],
    [],
])
@pytest.mark.parametrize("chunks", [1, 2])
def test_refs_of_reads_buffers_like_python_strings(values, chunks):
    column = _string_column(values, chunks) if values else pa.chunked_array([], pa.string())
    expected = np.array([(v or "").encode() for v in values], "S35")
    assert postings.refs_of(column).tolist() == expected.tolist()
    assert postings.refs_of(pc.dictionary_encode(column)).tolist() == expected.tolist()
    sliced = pa.array(["x"] + values, pa.string()).slice(1)  # an array with an offset
    assert postings.refs_of(sliced).tolist() == expected.tolist()


def _lines(rng, payments=300, rights=500):
    """Lines as calculate writes them: sorted by payment (none last), right, component; one payee and channel
    per payment; forwarded lines on creditors' payments."""
    rows = []
    for payment in range(payments):
        payee, channel = int(rng.integers(1, 10**6)), ("bank", "post")[payment % 3 == 0]
        for right in sorted(rng.choice(rights, size=int(rng.integers(1, 4)), replace=False).tolist()):
            for component in ("due", "arrears", "alimony", "forwarded", "reissue")[:int(rng.integers(1, 6))]:
                amount = -int(rng.integers(1, 5_000)) if component == "alimony" else int(rng.integers(5_000, 9_000))
                rows.append(("P", right * 10 + 7, "ME_MO", payee, channel, 19_000 + 31 * int(rng.integers(0, 3)),
                             component, amount, f"ME-202605-01-{payment + 1:07d}"))
    rows.append(("P", 70, "ME_MO", 5, "bank", 19_000, "overpayment", -500, None))
    names = [field.name for field in PAYROLL_LINES]
    table = pa.Table.from_pylist([dict(zip(names, row)) for row in rows], schema=PAYROLL_LINES)
    return table


@pytest.mark.parametrize("seed", range(3))
def test_sent_groups_by_change_points_equal_the_arrow_group_by(seed):
    table = _lines(np.random.default_rng(seed))
    forwarded = np.asarray(pc.equal(table.column("component"), "forwarded").to_numpy(zero_copy_only=False))
    paid_mask = pc.is_valid(table.column("payment_ref"))
    expected = postings._sent_groups_arrow(table.filter(paid_mask), forwarded[paid_mask.to_numpy(False)])
    assert postings.sent_groups(table).equals(expected)
    coded = table.cast(pa.schema([field.with_type(pa.dictionary(pa.int32(), pa.string()))
                                  if field.name in ("channel", "component") else field for field in PAYROLL_LINES]))
    assert postings.sent_groups(coded).equals(expected)
    shuffled = table.take(pa.array(np.random.default_rng(seed).permutation(table.num_rows)))
    assert postings.sent_groups(shuffled).equals(expected)  # unsorted lines take the Arrow path


def test_approval_batch_is_the_same_from_dictionary_coded_columns():
    table = _lines(np.random.default_rng(9))
    orders = pa.table({"right_id": [17], "payee_id": [10], "kind": ["alimony"], "order_id": [5],
                       "creditor_payee_id": [77], "amount_minor": [2_000], "month": [np.int64(637)],
                       "payment_ref": ["ME-202605-01-0000001"]})
    plain = postings.approve_postings(table, orders, {"ME_MO": 1})
    coded = table.cast(pa.schema([field.with_type(pa.dictionary(pa.int32(), pa.string()))
                                  if field.name in ("benefit", "component") else field for field in PAYROLL_LINES]))
    again = postings.approve_postings(coded, orders, {"ME_MO": 1})
    assert plain.keys() == again.keys()
    for name in plain:
        assert plain[name].dtype == again[name].dtype and np.array_equal(plain[name], again[name]), name
    assert plain["amount_minor"].sum() == 0
    with pytest.raises(AssertionError):
        postings.approve_postings(table, orders, {"ME_DD": 2})  # a benefit without a ledger code


def test_payments_equal_lines_check_is_exact():
    columns = line_blocks.order_blocks([line_blocks.LineBlock(
        "due", np.array([0, 1, 2]), np.array([5, 5, 6]), np.array([0, 0, 1]), np.array([600, 600, 600]),
        np.array([100, 250, 40]), np.array([0, 0, -1]))])
    check_payments_equal_lines(columns, np.array([350]))
    with pytest.raises(AssertionError):
        check_payments_equal_lines(columns, np.array([349]))
    with pytest.raises(AssertionError):
        check_payments_equal_lines(columns, np.array([350, 0]))


@pytest.mark.parametrize("rows", [[0, 2, 5, 9], [3, 1, 4], [2, 2, 7], [], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
def test_take_rows_equals_take_for_any_rows(rows):
    from payroll.compute import take_rows

    table = pa.table({"a": pa.chunked_array([list(range(5)), list(range(5, 10))]),
                      "s": pa.chunked_array([[f"v{i}" for i in range(5)], [None, "x", "y", "z", "w"]])})
    expected = table.take(pa.array(rows, pa.int64()))
    assert take_rows(table, np.array(rows, np.int64)).equals(expected)


def test_municipality_sums_are_the_same_whatever_the_persons_order():
    from types import SimpleNamespace

    from payroll.compute import municipality_sums

    rng = np.random.default_rng(3)
    n_persons, n_rights = 500, 300
    person_ids = np.arange(n_persons, dtype=np.int64) * 7 + 3
    towns = np.array(["Bar", "Budva", "Kotor", "Nikšić"], dtype=object)
    persons = pa.table({"person_id": person_ids, "municipality": towns[rng.integers(0, 4, n_persons)].tolist()})
    arrays = SimpleNamespace(person_ids=person_ids, ver_person=rng.integers(0, n_persons, n_rights),
                             n_rights=n_rights)
    version = np.arange(n_rights)
    rights_paid = np.sort(rng.choice(n_rights, 200, replace=False))
    right_pos = rng.choice(rights_paid, 1_000)
    amount = rng.integers(1, 10_000, 1_000)
    by_id_order = municipality_sums(persons, arrays, version, rights_paid, right_pos, amount)
    shuffled = persons.take(pa.array(rng.permutation(n_persons)))
    assert municipality_sums(shuffled, arrays, version, rights_paid, right_pos, amount) == by_id_order
    expected = {}
    for r, a in zip(right_pos.tolist(), amount.tolist()):
        town = persons.column("municipality")[int(arrays.ver_person[r])].as_py()
        expected[town] = expected.get(town, 0) + a
    assert by_id_order == {k: expected[k] for k in sorted(expected)} and sum(by_id_order.values()) == amount.sum()
    # the municipality read as Parquet's dictionaries (payroll.session.load_inputs): one per chunk, each its own
    for table in (persons, shuffled):
        names = table.column("municipality").to_pylist()
        coded = pa.chunked_array([pa.array(names[:150]).dictionary_encode(),
                                  pa.array(names[150:][::-1]).dictionary_encode().take(
                                      pa.array(np.arange(len(names) - 150)[::-1]))])
        assert coded.num_chunks == 2 and pa.types.is_dictionary(coded.type)
        lean = table.set_column(1, "municipality", coded)
        assert municipality_sums(lean, arrays, version, rights_paid, right_pos, amount) == by_id_order


def test_ids_known_is_is_in():
    from payroll.compute import ids_known

    known = np.array([3, 8, 20, 41], np.int64)
    column = pa.chunked_array([[8, 9, None, 41], [0, 3, 100, 20]], pa.int64())
    expected = pc.fill_null(pc.is_in(column, value_set=pa.array(known)), False).to_numpy(zero_copy_only=False)
    assert ids_known(known, column).tolist() == list(expected)
    assert not ids_known(np.zeros(0, np.int64), column).any()


@pytest.mark.parametrize("seed", range(3))
def test_sent_postings_straight_from_the_lines_equal_export_postings_of_sent_groups(seed, monkeypatch):
    """sent_postings_of_lines builds today's 'sent' batch from sent_groups' numpy columns: column for column the
    batch of export_postings(sent_groups(lines)), on lines as calculate writes them, dictionary-coded, shuffled
    (the Arrow path), with groups that net to zero, and with several in-transit credits per channel."""
    monkeypatch.setattr(postings, "TRANSIT_CREDIT_PAYMENTS", 7)  # several credits per channel and month
    table = _lines(np.random.default_rng(seed))
    rows = table.to_pylist()
    netted = dict(rows[0], component="arrears", amount_minor=-rows[0]["amount_minor"])  # a share netting to 0
    table = pa.Table.from_pylist([netted] + rows, schema=PAYROLL_LINES)
    coded = table.cast(pa.schema([field.with_type(pa.dictionary(pa.int32(), pa.string()))
                                  if field.name in ("channel", "component") else field for field in PAYROLL_LINES]))
    shuffled = table.take(pa.array(np.random.default_rng(seed).permutation(table.num_rows)))
    for lines in (table, coded, shuffled):
        expected = postings.export_postings(postings.sent_groups(lines))
        batch = payment_export.sent_postings_of_lines(lines)
        assert batch.keys() == expected.keys()
        for name in expected:
            assert batch[name].dtype == expected[name].dtype and np.array_equal(batch[name], expected[name]), name
        assert (expected["payee_id"] == 0).sum() > 2 and batch["amount_minor"].sum() == 0
    unpaid = table.filter(pc.is_null(table.column("payment_ref")))
    assert payment_export.sent_postings_of_lines(unpaid) is None and postings.sent_groups(unpaid).num_rows == 0
