"""engine.heap.Retention: malloc keeps freed memory for the next large array (glibc), restores its limits when the
last retention ends, and does nothing without glibc. The checks on the real allocator run in a fresh interpreter
each: the limits are the process's, and what an earlier test left in the heap would change what they see."""
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from engine import heap


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
    monkeypatch.setattr(heap, "_HOLES", [False])
    monkeypatch.setattr(heap, "_LIMITS", [False])
    return libc


KEEP = [("mallopt", heap.M_MMAP_MAX, 0), ("mallopt", heap.M_TRIM_THRESHOLD, heap.NO_TRIMMING)]
RESTORE = [("mallopt", heap.M_MMAP_MAX, heap.MMAP_MAX_DEFAULT),
           ("mallopt", heap.M_MMAP_THRESHOLD, heap.MMAP_THRESHOLD_AFTER),
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


def test_a_refused_limit_is_restored_and_raised(fake, monkeypatch):
    monkeypatch.setattr(fake, "mallopt", lambda parameter, value: 0 if parameter == heap.M_TRIM_THRESHOLD else 1)
    with pytest.raises(OSError, match="refused"):
        heap.Retention()
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
    assert fake.calls[-4:] == RESTORE  # the last to end restored the limits
    sets = [call for call in fake.calls if call == KEEP[0]]
    restores = [call for call in fake.calls if call == RESTORE[0]]
    assert len(sets) == len(restores) >= 1


def test_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_LIBC", [None])
    monkeypatch.setattr(heap, "_ACTIVE", [0])
    with heap.Retention() as retention:
        assert not retention.active
    assert heap._ACTIVE == [0]


def test_trim_only_after_a_retention_ended(fake):
    heap.trim()
    assert fake.calls == []  # no retention yet: large arrays were maps, nothing to give back
    retention = heap.Retention()
    heap.trim()
    assert fake.calls == KEEP  # not while one keeps memory
    retention.end()
    del fake.calls[:]
    heap.trim()
    assert fake.calls == [("malloc_trim", 0)]


def _run(body: str) -> str:
    """`body` in a fresh interpreter (the project importable: tests/conftest.py puts it on PYTHONPATH); its
    output."""
    prelude = textwrap.dedent("""
        import resource
        import numpy as np
        from engine import heap
        BIG = 256 << 20  # past glibc's largest automatic mmap threshold (32 MiB)
        def faults_of_a_fresh_array():
            np.ones(BIG, np.uint8)  # allocated, written and freed
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            again = np.empty(BIG, np.uint8)
            again.fill(1)
            return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        def resident_mib():
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * resource.getpagesize() / 2 ** 20
        """)
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(body)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


needs_glibc = pytest.mark.skipif(heap.glibc() is None or not os.path.exists("/proc/self/statm"),
                                 reason="malloc's limits are glibc's (Linux)")


@needs_glibc
def test_glibc_serves_a_freed_array_again_without_new_pages():
    """The point of it, on the real allocator: outside a retention a large array is a fresh map whose every page
    faults in (4 KiB pages, or 2 MiB ones with transparent huge pages: at least BIG / 2 MiB = 128 faults); inside,
    the freed array's pages serve the next one and almost nothing faults; after it, fresh maps again."""
    plain, kept, after = map(int, _run("""
        plain = faults_of_a_fresh_array()
        with heap.Retention():
            faults_of_a_fresh_array()  # the heap grows to hold one
            kept = faults_of_a_fresh_array()
        print(plain, kept, faults_of_a_fresh_array())
        """).split())
    assert plain >= 128 and after >= 128, (plain, after)
    assert kept < 16, kept


@needs_glibc
def test_trim_gives_back_an_array_a_hole_served():
    """What trim() is for: arrays freed in a retention below one that lives on leave a hole in the heap; after
    end(), a large array served from that hole stays resident when freed, until trim()."""
    held, given_back = map(float, _run("""
        with heap.Retention():
            freed = [np.ones(BIG // 4, np.uint8) for _ in range(3)]  # 64 MiB each
            kept = np.ones(BIG // 64, np.uint8)  # above them in the heap
            del freed
        before = resident_mib()
        again = np.ones(BIG // 2, np.uint8)  # 128 MiB, from the hole
        del again
        held = resident_mib() - before
        heap.trim()
        print(held, resident_mib() - before)
        """).split())
    assert held > 120, held  # still resident
    assert given_back < 16, given_back


def test_a_child_forked_while_the_limits_are_set_restores_them(fake, monkeypatch):
    """A fork that came between the parent's mallopt calls (they drop the GIL): the child counts no retention yet
    the limits may be set, and it restores them."""
    heap._LIMITS[0] = True
    heap._after_fork_in_child()
    assert heap._ACTIVE == [0] and fake.calls == RESTORE and heap._LIMITS == [False]
    del fake.calls[:]
    heap._after_fork_in_child()
    assert fake.calls == []  # nothing set, nothing to restore


@needs_glibc
def test_a_child_forked_during_a_retention_starts_without_it():
    """The parent's threads that would end it are not the child's: the child counts none, its limits are restored
    (a large array is a fresh map again) and its copy of the parent's retention ends nothing."""
    out = _run("""
        import os
        retention = heap.Retention()
        pid = os.fork()
        if pid == 0:
            counted = heap._ACTIVE[0]
            retention.end()
            ok = counted == 0 and heap._ACTIVE[0] == 0 and faults_of_a_fresh_array() >= 128
            with heap.Retention():  # and the child may keep its own
                ok = ok and heap._ACTIVE[0] == 1
            os._exit(0 if ok and heap._ACTIVE[0] == 0 else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), heap._ACTIVE[0])
        retention.end()
        """)
    assert out.split() == ["0", "1"], out
