"""Every JIT option of the project in one place, so kernels compile the same way and cache on disk, and the
array types of explicit kernel signatures: inputs read-only (Arrow buffers are read-only, and a kernel typed
for writable arrays rejects them), outputs writable."""
import numba
from numba import types

JIT_OPTIONS = dict(nogil=True, cache=True, error_model="python", boundscheck=False)


def kernel(*args, **kwargs):
    """numba.njit with the project's options; explicit signatures may be passed positionally."""
    options = dict(JIT_OPTIONS)
    options.update(kwargs)
    return numba.njit(*args, **options)


I64_RO = types.Array(types.int64, 1, "C", readonly=True)   # an int64 input column
BOOL_RO = types.Array(types.boolean, 1, "C", readonly=True)
I64_OUT = types.Array(types.int64, 1, "C")                  # an int64 output the caller allocated
I32_RO = types.Array(types.int32, 1, "C", readonly=True)   # an int32 input column (months, days, dense indexes)
