"""engine.entitlement.DueCells derives each cell's right and month from the offsets and the windows' first months;
engine.zero_pages gives the zeros the due kernel writes sparsely."""
import os

import numpy as np
import pytest

from engine.entitlement import DueCells, compute_due, month_first_day, window_starts
from engine.months import parse_period
from engine.zero_pages import MAPPED_BYTES_MIN, untouched_zeros
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.register import read_register
from synthetic.register import generate_register

PERIOD = "2025-11"


@pytest.mark.parametrize("country", ["me", "ua"])
def test_cells_name_their_right_and_month(tmp_path, country):
    """Windows of different lengths per right (window_starts after a generated month of changes), a month given
    by the caller as an array it changes afterwards: every cell's right and month are those of its place."""
    catalogue = load_catalogue(country=country)
    generate_register(tmp_path, 300, 5, PERIOD, country=country)
    period = parse_period(PERIOD)
    arrays = register_arrays(read_register(tmp_path, catalogue), catalogue)
    starts = window_starts(arrays, period, 24, month_first_day(period - 3))
    assert len(np.unique(starts)) > 1, "the windows differ, or the test shows little"
    given = starts.copy()
    cells = compute_due(arrays, catalogue.compile_window(given, period), period, given)
    given[:] = period  # the cells keep their own copy of the windows
    lengths = period - starts.astype(np.int64) + 1
    right = np.repeat(np.arange(arrays.n_rights), lengths)
    month = np.concatenate([np.arange(start, period + 1) for start in starts])
    assert cells.right_index.dtype == np.int32 and cells.month.dtype == np.int32
    assert np.array_equal(cells.right_index, right) and np.array_equal(cells.month, month)
    assert cells.right_index is cells.right_index  # derived once
    assert np.array_equal(cells.offsets, np.concatenate([[0], np.cumsum(lengths)]))


def test_cells_given_their_rights_and_months_keep_them():
    right, month = np.array([0, 0, 1], np.int32), np.array([5, 6, 6], np.int32)
    cells = DueCells(right, month, np.zeros(3, np.int64), np.zeros(3, bool), np.array([0, 2, 3]))
    assert cells.right_index is right and cells.month is month and cells.reason is None
    assert cells._fields[:3] == ("right_index", "month", "due_minor")


@pytest.mark.parametrize("count", [0, 5, MAPPED_BYTES_MIN // 8 + 3, 3_000_000])
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int64])
def test_untouched_zeros_are_writable_zeros_of_their_own(count, dtype):
    first, second = untouched_zeros(count, dtype), untouched_zeros(count, dtype)
    assert first.dtype == dtype and first.shape == (count,) and first.flags.writeable and first.flags.c_contiguous
    assert not first.any()
    if count:
        first[count // 2] = 1
        assert first.sum() == 1 and not second.any()


def _resident_bytes() -> int:
    """This process's resident memory (anonymous, file and shared pages), from /proc (Linux)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="resident memory is read from Linux's /proc")
def test_untouched_zeros_read_whole_stay_off_resident_memory():
    """Callers read these arrays whole (np.flatnonzero of a cell's reason): pages read but never written must
    stay the system's page of zeros, not become memory of their own as a shared map's would."""
    size = 256 << 20
    zeros = untouched_zeros(size // 8, np.int64)
    before = _resident_bytes()
    assert not zeros.any()
    assert _resident_bytes() - before < size // 8
    zeros[::512] = 1  # every page written (4 KiB apart) is the process's own, as with any array
    assert _resident_bytes() - before >= size // 2


def test_the_source_column_the_kernel_reads_whole_is_not_an_untouched_map(monkeypatch):
    """The chunk kernel reads every right's source (right_source[r]): on a map never written each page would fault
    in on that read, one by one (~200 faults a call at 100 k rights), so compute_due gives plain zeros."""
    import mmap

    from benchmarks import workloads
    from engine import entitlement
    households = workloads.make_households(MAPPED_BYTES_MIN // 8 + 100)  # a column a map would serve
    tables = workloads.register_tables(households, "ME_MO", households.income_eur_minor)
    catalogue = load_catalogue(country="me")
    arrays = register_arrays(tables, catalogue)
    seen = []
    kernel = entitlement.due_kernel
    monkeypatch.setattr(entitlement, "due_kernel", lambda *args: seen.append(args[18]) or kernel(*args))
    period = parse_period("2025-12")
    compute_due(arrays, catalogue.compile_window(np.full(arrays.n_rights, period - 11, np.int32), period), period,
                period - 11)
    (source,) = seen
    assert source.shape == (arrays.n_rights,) and source.dtype == np.int64 and not source.any()
    owner = source
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    owner = owner.obj if isinstance(owner, memoryview) else owner  # np.frombuffer's base: a view of the buffer
    assert not isinstance(owner, mmap.mmap), "the kernel's reads would fault every page of the map in"
