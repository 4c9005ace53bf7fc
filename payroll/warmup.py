"""Whether the engine's kernels will compile in this process: Numba caches them on disk (engine/jit.py,
cache=True), and a kernel compiles again on the first run on a machine, after an update of its source, or when
the cache folder cannot be written. The command line says so before a step that runs the engine, because a
compile takes a minute or two of CPU and a silent minute looks like a hang.
"""
import importlib

from numba.core.caching import NullCache

ENGINE_MODULES = ("engine.advances", "engine.arrears", "engine.deductions", "engine.entitlement", "engine.netting",
                  "engine.payroll_kernel", "ledgers.kernels", "ledgers.copy_binary", "formats.text_scan",
                  "payroll.simulate_sums")  # every module with kernels
COMPILE_NOTICE = ("compiling the engine's kernels: the first run on this machine (or after an update) takes "
                  "1-2 minutes once; later runs load them from the cache")


def dispatchers() -> list:
    """The Numba dispatchers of the engine's public kernels (a private helper, `_name`, compiles inside the
    kernels that call it and has no cache entry of its own)."""
    found = []
    for name in ENGINE_MODULES:
        module = importlib.import_module(name)
        found += [value for key, value in vars(module).items() if not key.startswith("_")
                  and hasattr(value, "py_func") and value.__module__ == name and _caches(value)]
    return found


def _caches(dispatcher) -> bool:
    """The dispatcher keeps an on-disk cache (engine.jit's helpers do not: they compile into their callers)."""
    return not isinstance(getattr(dispatcher, "_cache", None), (NullCache, type(None)))


def is_cached(dispatcher) -> bool:
    """True when the dispatcher's on-disk cache index exists and matches its source (Numba's own check)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except (AttributeError, OSError, EOFError, ValueError):  # no cache or another Numba layout: assume a compile
        return False


def kernels_to_compile() -> list[str]:
    """Names of the engine's kernels that will compile on their first call in this process."""
    return [f"{d.py_func.__module__}.{d.py_func.__name__}" for d in dispatchers() if not is_cached(d)]


def compile_notice() -> str | None:
    """The notice to show before running the engine, or None when every kernel loads from the cache."""
    pending = kernels_to_compile()
    return f"{COMPILE_NOTICE} ({len(pending)} kernels)" if pending else None
