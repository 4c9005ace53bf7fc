"""formats.convert's one pass per table against the conversion it stands in for (formats.convert's general path of
sorts and searches, the conversion before the one pass, run alone by holding the one-pass kernels unready): every array equal, same dtypes, the packed copy included, with pack and
without; the same Problems on bad input; the one pass really taken on a register in order once its kernels are
compiled, and the general path taken (alike) while they are not."""
import datetime as dt
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from benchmarks import workloads
from engine import jit
from engine.entitlement import pack_register
from formats import convert, ordered_register
from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.register import read_register
from synthetic.register import generate_register



class reference_convert:  # noqa: N801  the oracle: formats.convert by its general path alone
    @staticmethod
    def register_arrays(tables, catalogue, pack=True):
        with mock.patch.object(ordered_register, "kernels_ready", lambda: False):
            return convert.register_arrays(tables, catalogue, pack=pack)

PERIOD = "2025-11"


@pytest.fixture(autouse=True, scope="module")
def compiled_one_pass():
    """The one pass runs only once its kernels are compiled or cached (a machine's first run takes the general
    path rather than compile them on its critical path): compiled here, so every test below exercises it."""
    for kernel in ordered_register.ONE_PASS_KERNELS:
        kernel.compile_declared()
    assert ordered_register.kernels_ready()


def assert_same(got, expected, where=""):
    """Field by field: arrays equal with the same dtype, named tuples (packed, titles) field by field."""
    assert type(got) is type(expected), where
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype, where
        assert got.shape == expected.shape, where
        assert np.array_equal(got, expected), where
    elif hasattr(expected, "_fields"):
        for name in expected._fields:
            assert_same(getattr(got, name), getattr(expected, name), f"{where}.{name}")
    else:
        assert got == expected, where


def both(tables, catalogue, pack=True):
    """(new arrays or problems, reference arrays or problems)."""
    def run(module):
        try:
            return module.register_arrays(dict(tables), catalogue, pack=pack)
        except InputError as error:
            return error.problems
    return run(convert), run(reference_convert)


def assert_equal_conversions(tables, catalogue):
    for pack in (True, False):
        got, expected = both(tables, catalogue, pack)
        if isinstance(expected, list):
            assert got == expected
        else:
            assert_same(got, expected, f"pack={pack}")
            if pack:
                assert_same(got.packed, pack_register(got), "packed = pack_register")
    return got


@pytest.fixture(scope="module", params=["me", "rs", "ua"])
def generated(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"register_{request.param}")
    generate_register(folder, 400, 5, PERIOD, country=request.param)
    catalogue = load_catalogue(country=request.param)
    return dict(read_register(folder, catalogue)), catalogue


def test_generated_registers_convert_alike(generated):
    tables, catalogue = generated
    assert_equal_conversions(tables, catalogue)


def test_the_one_pass_is_taken_on_a_register_in_order(generated, monkeypatch):
    tables, catalogue = generated
    expected = reference_convert.register_arrays(dict(tables), catalogue)

    def general(*_args, **_kwargs):
        raise AssertionError("the general path ran on a register in order")
    for name in ("_persons", "_members", "_versions", "_household_ids", "pack_register"):
        monkeypatch.setattr(convert, name, general)
    assert_same(convert.register_arrays(dict(tables), catalogue), expected)


def test_kernels_not_compiled_yet_take_the_general_path_alike(generated, monkeypatch):
    tables, catalogue = generated
    expected = reference_convert.register_arrays(dict(tables), catalogue)
    monkeypatch.setattr(ordered_register, "kernels_ready", lambda: False)

    def refused(*_args, **_kwargs):
        raise AssertionError("a one-pass kernel ran before it was compiled")
    for name in ("persons_in_order", "members_in_order", "versions_in_order", "household_ids_in_order",
                 "payee_ids_in_order"):
        monkeypatch.setattr(convert, name, refused)
    monkeypatch.setattr(convert, "string_codes", refused)
    assert_same(convert.register_arrays(dict(tables), catalogue), expected)


def test_kernels_wait_for_a_background_compile_only(monkeypatch):
    monkeypatch.setattr(ordered_register, "_READY", [])
    monkeypatch.setattr(jit, "compiling_elsewhere", True)
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: dispatcher is not ordered_register.versions_kernel)
    assert not ordered_register.kernels_ready()  # one kernel still compiling in the background
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: True)
    assert ordered_register.kernels_ready() and ordered_register.kernels_ready()
    monkeypatch.setattr(ordered_register, "_READY", [])
    monkeypatch.setattr(jit, "compiling_elsewhere", False)
    monkeypatch.setattr(jit, "is_ready", lambda dispatcher: False)
    assert ordered_register.kernels_ready()  # no background compile: the first call compiles them


def test_the_compare_workload_converts_alike():
    households = workloads.make_households(3_000)
    for code, country in (("ME_MO", "me"), ("RS_NSP", "rs"), ("UA_DSD", "ua")):
        income = np.arange(households.households, dtype=np.int64) * 7 % 50_000
        tables = workloads.register_tables(households, code, income)
        assert_equal_conversions(tables, load_catalogue(country=country))


def shuffled(table, seed):
    return table.take(pa.array(np.random.default_rng(seed).permutation(table.num_rows)))


def chunked(table, pieces=3):
    """The same rows in several record batches, the middle ones Arrow slices (offset > 0)."""
    rows = table.num_rows
    bounds = np.linspace(0, rows, pieces + 1).astype(int)
    return pa.Table.from_batches([batch for start, end in zip(bounds, bounds[1:]) if end > start
                                  for batch in table.slice(start, end - start).to_batches()], schema=table.schema)


def encoded(table, column):
    position = table.column_names.index(column)
    return table.set_column(position, table.schema.field(column).name, pc.dictionary_encode(table.column(column)))


@pytest.mark.parametrize("variant", ["shuffled persons", "shuffled households", "shuffled rights", "chunked",
                                     "dictionaries", "sliced", "large household", "spells"])
def test_unusual_layouts_convert_alike(generated, variant):
    tables, catalogue = generated
    tables = dict(tables)
    if variant == "shuffled persons":
        tables["persons"] = shuffled(tables["persons"], 1)
    elif variant == "shuffled households":
        tables["households"] = shuffled(tables["households"], 2)
    elif variant == "shuffled rights":
        tables["rights"] = shuffled(tables["rights"], 3)
    elif variant == "chunked":
        tables = {name: chunked(table) for name, table in tables.items()}
    elif variant == "dictionaries":
        tables["households"] = encoded(chunked(tables["households"]), "role")
        tables["rights"] = encoded(tables["rights"], "benefit")
    elif variant == "sliced":  # every table an Arrow slice of a larger one
        tables = {name: pa.concat_tables([table, table]).combine_chunks().slice(table.num_rows, table.num_rows)
                  for name, table in tables.items()}
    elif variant == "large household":  # more members than the one pass orders: the general sort
        households = tables["households"]
        first = households.column("household_id")[0]
        leading = pc.less(pa.array(np.arange(households.num_rows)), ordered_register.GROUP_SORT_MAX + 5)
        ids = pc.if_else(leading, first, households.column("household_id"))
        tables["households"] = households.set_column(0, "household_id", ids)
    elif variant == "spells":  # a member twice in one household: ordered by member_from, equal rows as written
        rows = []
        for position, row in enumerate(tables["households"].to_pylist()):
            rows.append(row)
            if position % 3 == 0:
                earlier = dict(row, member_from=row["member_from"] - dt.timedelta(days=400), member_to=None)
                ended = dict(row, member_to=row["member_from"] + dt.timedelta(days=30))  # a tie: file order
                rows += [earlier, ended, dict(earlier, role="adult" if row["role"] == "child" else "child")]
        tables["households"] = pa.Table.from_pylist(rows, schema=tables["households"].schema)
    assert_equal_conversions(tables, catalogue)


def set_value(table, column, row, value):
    values = table.column(column).to_pylist()
    values[row] = value
    position = table.column_names.index(column)
    return table.set_column(position, table.schema.field(column), pa.array(values, table.schema.field(column).type))


@pytest.mark.parametrize("table, column, row, value", [
    ("persons", "person_id", 3, 1),                      # a duplicate id
    ("persons", "birth_date", 0, None),
    ("households", "person_id", 5, 10**9),               # a member who is not a person
    ("households", "role", 2, "boss"),
    ("households", "household_id", 4, 10**9),            # memberships out of household order
    ("rights", "person_id", 2, 10**9),
    ("rights", "payee_id", 1, 10**9),
    ("rights", "benefit", 0, "NO_SUCH_BENEFIT"),
    ("rights", "household_id", 0, 10**9),                # a household without members
    ("rights", "household_id", 1, None),
    ("rights", "income_minor", 3, -5),
    ("rights", "grade", 2, 99),
    ("rights", "version", 0, 7),                          # versions out of order
    ("rights", "valid_to", 0, None),
    ("rights", "applied_on", 1, None),
    ("payees", "payee_id", 1, 1),                         # a duplicate payee
])
def test_bad_or_unusual_values_give_the_same_arrays_or_problems(generated, table, column, row, value):
    tables, catalogue = generated
    tables = dict(tables)
    if column not in tables[table].column_names:
        pytest.skip(f"{table}.{column} not in this register")
    tables[table] = set_value(tables[table], column, row, value)
    assert_equal_conversions(tables, catalogue)


def test_ids_far_apart_and_sparse_convert_alike(generated):
    """Person ids spread (a direct lookup table, then too sparse for one: binary search)."""
    tables, catalogue = generated
    for step in (3, 10**6):
        spread = dict(tables)
        for name, column in (("persons", "person_id"), ("households", "person_id"), ("rights", "person_id")):
            table = spread[name]
            ids = pc.multiply(table.column(column), step)
            spread[name] = table.set_column(table.column_names.index(column), column, ids)
        assert_equal_conversions(spread, catalogue)


def test_string_codes_equal_index_in():
    names = ("head", "adult", "child", "a-much-longer-name", "")
    values = pa.array(["child", "head", "adult", "a-much-longer-name", "", "child", "head", "adult", "adult"])
    codes = ordered_register.string_codes(pa.chunked_array([values, values.slice(2)]), names)
    expected = pc.index_in(pa.chunked_array([values, values.slice(2)]), value_set=pa.array(list(names)))
    assert codes.tolist() == expected.to_pylist()
    for unknown in (["heads"], ["hea"], ["chile"], ["a-much-longer-nam3"]):
        with pytest.raises(ordered_register.Unusual):
            ordered_register.string_codes(pa.chunked_array([pa.array(unknown)]), names)


@pytest.mark.parametrize("seed", range(6))
def test_short_codes_agree_with_the_general_kernel(seed):
    """The short-string pass (register_columns.short_codes_kernel) gives string_codes_kernel's code wherever it gives
    one, -1 elsewhere, and counts its -1s; string_codes gives pc.index_in's codes either way: names of one byte to
    past eight, two names sharing a length and last byte, the empty name, strings in the data's last eight bytes,
    sliced chunks."""
    from engine.register_columns import short_codes_kernel, string_codes_kernel
    from formats.ordered_register import code_tables
    rng = np.random.default_rng(seed)
    names = ["head", "adult", "child", "x", "ab", "ba", "cb", "ME_MO", "UA_POHOV", "a-much-longer-name", ""][
        :rng.integers(3, 12)]
    others = ["heads", "hea", "chile", "b", "a-much-longer-nam3", "UA_POHOW", "M", "ME_MO "]
    pool = names + (others if seed % 2 else [])
    values = pa.array([pool[i] for i in rng.integers(0, len(pool), int(rng.integers(1, 400)))])
    for column in (values, values.slice(int(rng.integers(0, len(values))))):
        _, offsets, data = column.buffers()
        offsets = np.frombuffer(offsets, np.int32, count=column.offset + len(column) + 1)[column.offset:]
        data = np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
        name_offsets, name_data, candidates, keys = code_tables(names)
        short, general = np.empty(len(column), np.int16), np.empty(len(column), np.int16)
        missing = short_codes_kernel(offsets, data, candidates, keys, short)
        string_codes_kernel(offsets, data, name_offsets, name_data, candidates, keys, general)
        assert missing == int((short == -1).sum())
        assert np.array_equal(short[short >= 0], general[short >= 0])
        assert (short[general < 0] == -1).all()
        strings = column.to_pylist()
        alone = [0 < len(text.encode()) <= 8 and candidates[len(text.encode()) * 256 + text.encode()[-1]] >= 0
                 for text in strings]  # the short pass decides these itself
        assert np.array_equal(short[alone], general[alone])
        expected = pc.index_in(column, value_set=pa.array(names, pa.string())).to_numpy(zero_copy_only=False)
        if seed % 2 == 0 or not np.isnan(expected.astype(float)).any():
            assert ordered_register.string_codes(pa.chunked_array([column]), names).tolist() == expected.tolist()
        else:
            with pytest.raises(ordered_register.Unusual):
                ordered_register.string_codes(pa.chunked_array([column]), names)


def test_household_ids_are_made_on_the_worker_unless_tables_are_given_back(generated, monkeypatch):
    """The household ids run on the conversion's worker beside the persons (this thread's longer path), and on this
    thread when the caller gives the tables back as they are read (done: nothing runs beside)."""
    import threading

    tables, catalogue = generated
    threads = []
    made = ordered_register.household_ids_in_order

    def recorded(*args):
        threads.append(threading.current_thread())
        return made(*args)
    monkeypatch.setattr(convert, "household_ids_in_order", recorded)
    expected = reference_convert.register_arrays(dict(tables), catalogue)
    assert_same(convert.register_arrays(dict(tables), catalogue), expected)
    assert_same(convert.register_arrays(dict(tables), catalogue, done=lambda _name: None), expected)
    assert threads[0] is not threading.main_thread() and threads[1] is threading.main_thread()
