"""engine.heap.Retention: malloc keeps freed memory for the next large array (glibc), restores its limits when the
last retention ends, and does nothing without glibc."""
import resource
import threading

import numpy as np
import pytest

from engine import heap

BIG = 256 << 20  # past glibc's largest automatic mmap threshold (32 MiB): served by a fresh map unless retained


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", [libc])
    monkeypatch.setattr(heap, "_ACTIVE", [0])
    return libc


KEEP = [("mallopt", heap.M_MMAP_MAX, 0), ("mallopt", heap.M_TRIM_THRESHOLD, heap.NO_TRIMMING)]
RESTORE = [("mallopt", heap.M_MMAP_MAX, heap.MMAP_MAX_DEFAULT),
           ("mallopt", heap.M_TRIM_THRESHOLD, heap.TRIM_THRESHOLD_AFTER), ("malloc_trim", 0)]


def test_limits_set_then_restored_once(fake):
    retention = heap.Retention()
    assert fake.calls == KEEP
    retention.end()
    retention.end()  # idempotent
    assert fake.calls == KEEP + RESTORE


def test_restored_when_the_block_raises(fake):
    with pytest.raises(ZeroDivisionError):
        with heap.Retention():
            1 / 0
    assert fake.calls == KEEP + RESTORE
    assert heap._ACTIVE == [0]


def test_overlapping_retentions_keep_the_limits_until_the_last_ends(fake):
    first = heap.Retention()
    second = heap.Retention()
    assert fake.calls == KEEP  # set once
    first.end()
    assert fake.calls == KEEP  # the second still runs
    second.end()
    assert fake.calls == KEEP + RESTORE


def test_threads_begin_and_end_retentions_at_once(fake):
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(200):
            with heap.Retention():
                pass
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert heap._ACTIVE == [0]
    assert fake.calls[-3:] == RESTORE  # the last to end restored the limits
    sets = [call for call in fake.calls if call == KEEP[0]]
    restores = [call for call in fake.calls if call == RESTORE[0]]
    assert len(sets) == len(restores) >= 1


def test_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_LIBC", [None])
    monkeypatch.setattr(heap, "_ACTIVE", [0])
    with heap.Retention() as retention:
        assert not retention.active
    assert heap._ACTIVE == [0]


def _faults_of_a_fresh_array() -> int:
    """Page faults of writing every byte of a newly allocated BIG array, after one was allocated and freed."""
    np.ones(BIG, np.uint8)  # allocated, written and freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    again = np.empty(BIG, np.uint8)
    again.fill(1)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del again
    return faults


@pytest.mark.skipif(heap.glibc() is None, reason="malloc's limits are glibc's")
def test_glibc_serves_a_freed_array_again_without_new_pages():
    """The point of it, on the real allocator: outside a retention a large array is a fresh map whose every page
    faults in (4 KiB pages, or 2 MiB ones with transparent huge pages: at least BIG / 2 MiB faults); inside, the
    freed array's pages serve the next one and almost nothing faults."""
    plain = _faults_of_a_fresh_array()
    with heap.Retention():
        _faults_of_a_fresh_array()  # the heap grows to hold one
        kept = _faults_of_a_fresh_array()
    assert plain >= BIG // (2 << 20), plain
    assert kept < plain // 8, (kept, plain)
    after = _faults_of_a_fresh_array()  # limits restored: fresh maps again
    assert after >= BIG // (2 << 20), after


def test_trim_only_after_a_retention_ended(fake, monkeypatch):
    monkeypatch.setattr(heap, "_HOLES", [False])
    heap.trim()
    assert fake.calls == []  # no retention yet: large arrays were maps, nothing to give back
    retention = heap.Retention()
    heap.trim()
    assert fake.calls == KEEP  # not while one keeps memory
    retention.end()
    del fake.calls[:]
    heap.trim()
    assert fake.calls == [("malloc_trim", 0)]


def _resident_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2 ** 20


@pytest.mark.skipif(heap.glibc() is None or not hasattr(resource, "getpagesize"), reason="glibc's heap")
def test_trim_gives_back_an_array_a_hole_served(monkeypatch):
    """What trim() is for: arrays freed in a retention below one that lives on leave a hole in the heap; after
    end(), a large array served from that hole stays resident when freed, until trim()."""
    monkeypatch.setattr(heap, "_HOLES", [False])
    with heap.Retention():
        freed = [np.ones(BIG // 8) for _ in range(3)]
        kept = np.ones(BIG // 64)  # above them in the heap
        del freed
    before = _resident_mib()
    again = np.ones(2 * BIG // 8)  # from the hole
    del again
    held = _resident_mib() - before
    heap.trim()
    given_back = _resident_mib() - before
    assert held > BIG / 2 ** 20, held  # still resident
    assert given_back < 32, given_back
    del kept
