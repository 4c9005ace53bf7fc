"""Freed memory kept for the next array while a step's large arrays come and go (glibc's malloc only).

glibc serves an allocation of more than 32 MiB (an int64 array of 4 M items or more) with a fresh memory map and
gives the map back to the system when the array is freed; the next such array gets new pages, which the system
clears before handing them over. At national scale the calculate step's arrays come and go by the gigabyte and
that clearing was a third of its CPU time (`perf`: clear_page_erms under the page faults of numpy's outputs).

`Retention` lets malloc serve large arrays from its heap and keep what is freed there (mallopt M_MMAP_MAX 0 and
M_TRIM_THRESHOLD -1, glibc's documented "no trimming"), so a freed array's pages serve the next one as they are.
Threads other than the main one mostly allocate from arenas of at most 64 MiB, so their larger arrays stay maps:
the gain is mostly the main thread's.
Its `end()` restores the limits and hands every free page back to the system (malloc_trim). What is freed during
a retention stays resident until it ends, so a caller ends it before a phase that would add much to the peak
(calculate: before the lines). The heap keeps its free chunks after the end: a later array may be served from
one and stay resident when freed, so a caller that frees gigabytes afterwards calls `trim()`. The limits are the
process's: overlapping retentions (threads) keep them until the last one ends, and a child forked meanwhile
starts without them. Setting a limit ends glibc's own adjustment of the mmap threshold for the process, so end()
sets the values that adjustment reaches once large arrays have been freed (32 MiB, trimming past 64 MiB): a
process that set its own (MALLOC_MMAP_THRESHOLD_ and the like) gets these after a calculate. Without glibc (musl,
macOS, Windows) both do nothing; the results never depend on them, only the time and the memory do.
"""
import ctypes
import os
import threading

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
NO_TRIMMING = -1  # glibc: M_TRIM_THRESHOLD -1 disables trimming completely
# what end() sets: glibc's maximum number of maps (DEFAULT_MMAP_MAX), and the mmap threshold and trim threshold its
# dynamic rule reaches for large arrays (DEFAULT_MMAP_THRESHOLD_MAX, and twice that)
MMAP_MAX_DEFAULT = 65536
MMAP_THRESHOLD_AFTER = 32 << 20
TRIM_THRESHOLD_AFTER = 64 << 20

_LOCK = threading.Lock()
_ACTIVE = [0]  # retentions begun and not ended, in this process
_LIBC: list = []  # [the C library when it is glibc, else None], looked up on first use
_HOLES = [False]  # a retention ended in this process: its heap may hold free chunks that later arrays reuse
_LIMITS = [False]  # a retention's limits may be set: from before its first mallopt until the restore is done


def glibc():
    """The process's C library when it is glibc (it has mallopt and malloc_trim), else None."""
    if not _LIBC:
        library = None
        try:
            if os.name != "posix":  # ctypes.CDLL(None) is the process's own symbols on POSIX only
                raise OSError("no C library of the process to open")
            candidate = ctypes.CDLL(None)
            if hasattr(candidate, "gnu_get_libc_version") and hasattr(candidate, "malloc_trim"):
                candidate.mallopt.argtypes, candidate.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                candidate.malloc_trim.argtypes, candidate.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
                library = candidate
        except OSError:  # no C library to open this way (Windows)
            library = None
        _LIBC.append(library)
    return _LIBC[0]


class Retention:
    """Freed memory kept by malloc from construction to end() (or the end of a `with` block); end() is
    idempotent."""

    def __init__(self):
        self.active, self.pid = False, os.getpid()
        library = glibc()
        if library is None:
            return
        with _LOCK:
            if _ACTIVE[0] == 0:
                _HOLES[0] = _LIMITS[0] = True
                try:
                    _set(library, M_MMAP_MAX, 0)
                    _set(library, M_TRIM_THRESHOLD, NO_TRIMMING)
                except BaseException:  # a refused limit, or an interrupt between the two
                    _restore(library)
                    raise
            _ACTIVE[0] += 1
            self.active = True

    def end(self) -> None:
        """Restore malloc's limits (the last retention of the process) and give its free pages back."""
        with _LOCK:
            if not self.active or self.pid != os.getpid():  # ended, or a forked child's copy (never counted there)
                self.active = False
                return
            self.active = False
            _ACTIVE[0] -= 1
            assert _ACTIVE[0] >= 0
            if _ACTIVE[0] == 0:
                _restore(glibc())

    def __enter__(self) -> "Retention":
        return self

    def __exit__(self, *exc) -> None:
        self.end()


def _set(library, parameter: int, value: int) -> None:
    if library.mallopt(parameter, value) != 1:
        raise OSError(f"mallopt({parameter}, {value}) refused")


def _restore(library) -> None:
    """The limits end() leaves, then every free page given back."""
    _set(library, M_MMAP_MAX, MMAP_MAX_DEFAULT)
    _set(library, M_MMAP_THRESHOLD, MMAP_THRESHOLD_AFTER)
    _set(library, M_TRIM_THRESHOLD, TRIM_THRESHOLD_AFTER)
    _LIMITS[0] = False
    library.malloc_trim(0)


def _after_fork_in_child() -> None:
    """A child forked during a retention (the parent's threads, which would end it, are not the child's): the limits
    restored and no retention counted."""
    global _LOCK
    _LOCK = threading.Lock()  # a parent's thread may have held it at the fork
    _ACTIVE[0] = 0
    if _LIMITS[0]:  # also when the fork came while a thread set or restored them (mallopt runs without the GIL)
        _restore(glibc())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def trim() -> None:
    """Give back to the system the free pages in malloc's heap, once a retention has ended in this process (else
    nothing: without one, large arrays are maps that go back when freed). The heap a retention grew keeps its free
    chunks after end(), cleared but free: a later array may be served from one, and its pages stay resident when
    it is freed, until the next trim. A caller that frees arrays by the gigabyte trims after doing so."""
    library = glibc()
    if library is not None and _HOLES[0] and _ACTIVE[0] == 0:
        library.malloc_trim(0)
