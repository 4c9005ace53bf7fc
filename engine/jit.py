"""Every JIT option of the project in one place, so kernels compile the same way and cache on disk."""
import numba

JIT_OPTIONS = dict(nogil=True, cache=True, error_model="python", boundscheck=False)


def kernel(*args, **kwargs):
    """numba.njit with the project's options; explicit signatures may be passed positionally."""
    options = dict(JIT_OPTIONS)
    options.update(kwargs)
    return numba.njit(*args, **options)
