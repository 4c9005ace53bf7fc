"""Arrays of zeros on pages the operating system maps only when first written: for the large outputs and offsets
that a kernel writes sparsely or not at all (a cell's rule_missing and reason, the special-rate links and register
amounts of a register without any). np.zeros gives such pages only when the allocator asks the system for new
memory; once earlier arrays have been freed it hands their memory back and clears all of it first, every byte
written, about 0.5 ms per megabyte on pages the system has to make resident again. An anonymous memory map is
zero by definition: a page nobody writes costs nothing, and reading one reads the system's one page of zeros."""
import mmap

import numpy as np

MAPPED_BYTES_MIN = 1 << 18  # below this a memory map's system calls cost more than clearing the bytes
# an anonymous private map (POSIX); elsewhere np.zeros
PRIVATE_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS if hasattr(mmap, "MAP_ANONYMOUS") else None


def untouched_zeros(count: int, dtype) -> np.ndarray:
    """A writable 1-d array of `count` zeros of `dtype` whose pages are made resident only where written; the map
    is released with the last array that refers to it."""
    dtype = np.dtype(dtype)
    assert count >= 0, count
    if count * dtype.itemsize < MAPPED_BYTES_MIN or PRIVATE_FLAGS is None:
        return np.zeros(count, dtype)
    # private: a page read before it is written is the system's shared page of zeros (a shared map, mmap's
    # default, would make every page read resident memory of its own)
    return np.frombuffer(mmap.mmap(-1, count * dtype.itemsize, flags=PRIVATE_FLAGS), dtype=dtype)
