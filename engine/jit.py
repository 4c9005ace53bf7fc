"""Every JIT option of the project in one place, so kernels compile the same way and cache on disk, and the
array types of explicit kernel signatures: inputs read-only (Arrow buffers are read-only, and a kernel typed
for writable arrays rejects them), outputs writable."""
import numba
from numba import types
from numba.core.registry import CPUDispatcher

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


HELPER_OPTIONS = dict(forceinline=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)


class HelperDispatcher(CPUDispatcher):
    """Types a call from a kernel with the arguments' plain types: a constant offset is an int64, not
    Literal[int](66), and a counter that starts at 0 is not compiled once as Literal[int](0) while type inference
    is still under way. One specialisation then serves every call site with the same plain types."""

    def get_call_template(self, args, kws):
        return super().get_call_template(tuple(types.unliteral(a) for a in args),
                                         {k: types.unliteral(v) for k, v in kws.items()})


def helper(function=None, *, python: bool = False):
    """A private helper of kernels, compiled as its own function and inlined by LLVM into its callers (forceinline),
    without NRT reference counts (helpers allocate nothing). Not Numba's IR-level inline="always": that copies the
    callee's IR with its whole scope at every call site, which took most of the first compile. No Python wrapper
    and no cache entry of its own (the calling kernel's cache holds its code); python=True keeps both, for a
    helper Python code calls too."""
    if function is None:
        return lambda f: helper(f, python=python)
    if numba.config.DISABLE_JIT:
        return function
    options = {key: value for key, value in JIT_OPTIONS.items() if key != "cache"}
    options.update(HELPER_OPTIONS)
    if python:
        options.update(no_cpython_wrapper=False, no_cfunc_wrapper=False)
    dispatcher = HelperDispatcher(py_func=function, locals={}, targetoptions=options)
    if python:
        dispatcher.enable_caching()
    return dispatcher
