"""engine.jit's dispatcher: explicit signatures compile on the first call (not at import) and still refuse other
types; a helper called with constants compiles once with plain types; the compile lock serialises two processes
compiling one kernel."""
import importlib
import os
import subprocess
import sys
import textwrap
import time

import numba
import numpy as np
import pytest
from numba import types

from engine import jit

KERNELS = textwrap.dedent("""
    from numba import types

    from engine.jit import I64_RO, helper, kernel


    @helper
    def _scaled(value, factor):
        assert factor > 0
        assert value >= 0
        return value * factor


    @helper(types.int64(types.int64, types.int64))
    def plus(value, other):
        assert value >= 0
        assert other >= 0
        return value + other


    @kernel(types.int64(I64_RO, types.int64))
    def total(values, factor):
        assert values.ndim == 1
        assert factor > 0
        out = 0
        for i in range(values.shape[0]):
            out = plus(out, _scaled(values[i], 3))
            out = plus(out, _scaled(values[i], factor))
        return out


    @kernel
    def summed(values):
        assert values.ndim == 1
        assert values.shape[0] >= 0
        out = 0
        for i in range(values.shape[0]):
            out += values[i]
        return out
""")


def _probe_module(tmp_path, monkeypatch, name: str):
    """KERNELS as module `name`, compiled into an empty cache folder; dropped from sys.modules afterwards."""
    (tmp_path / f"{name}.py").write_text(KERNELS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("numba.config.CACHE_DIR", str(tmp_path / "cache"))
    sys.modules.pop(name, None)
    yield importlib.import_module(name)
    sys.modules.pop(name, None)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A module of kernels compiled into an empty cache folder."""
    yield from _probe_module(tmp_path, monkeypatch, "jit_probe")


def test_explicit_signatures_compile_on_the_first_call(fresh):
    assert fresh.total.signatures == [] and fresh.total.declared  # nothing compiled at import
    assert fresh.total(np.arange(4, dtype=np.int64), 2) == 30
    assert len(fresh.total.signatures) == 1 and not fresh.total.declared
    assert fresh.total(np.arange(4, dtype=np.int64)[::1].copy(), 1) == 24  # a writable array: the read-only type
    with pytest.raises(TypeError):
        fresh.total(np.arange(4, dtype=np.float64), 2)  # as numba.njit with a signature: no other types
    assert len(fresh.total.signatures) == 1


def test_a_helper_compiles_once_with_plain_types(fresh):
    fresh.total(np.arange(3, dtype=np.int64), 5)
    # the constant 3 and the argument factor: one int64 specialisation, no Literal[int](3) one
    assert [str(sig) for sig in fresh._scaled.signatures] == ["(int64, int64)"]
    assert [str(sig) for sig in fresh.plus.signatures] == ["(int64, int64)"]


LOCKED = textwrap.dedent("""
    import sys, time
    from engine import jit
    import jit_probe
    with jit.compile_lock(jit_probe.total):
        print("locked", flush=True)
        time.sleep(float(sys.argv[1]))
""")


def _holding_the_lock(fresh, tmp_path, seconds: float) -> subprocess.Popen:
    """Another process that holds `fresh.total`'s compile lock for `seconds` (it prints "locked" once it holds it)."""
    fresh.total._cache._cache_file._load_index()  # the cache folder exists for this kernel
    env_path = f"{tmp_path}:{':'.join(sys.path)}"
    return subprocess.Popen([sys.executable, "-c", LOCKED, str(seconds)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": env_path, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})


def test_the_compile_lock_waits_for_another_process(fresh, tmp_path):
    holder = _holding_the_lock(fresh, tmp_path, 1.5)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        assert fresh.total(np.arange(2, dtype=np.int64), 1) == 4  # waits for the holder, then compiles
        assert time.perf_counter() - started >= 0.5
    finally:
        holder.wait(timeout=30)


def test_a_kernel_another_process_compiles_is_left_to_it_when_asked_not_to_wait(fresh, tmp_path):
    """compile_declared(wait=False) (payroll.warmup's two processes share the kernels): while another process holds
    the kernel's compile lock it returns False at once and leaves the signatures declared; afterwards it compiles."""
    holder = _holding_the_lock(fresh, tmp_path, 3)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with jit.compile_lock(fresh.total, wait=False) as held:
            assert not held
        assert fresh.total.compile_declared(wait=False) is False
        assert time.perf_counter() - started < 1.5 and fresh.total.declared and not fresh.total.signatures
    finally:
        holder.wait(timeout=30)
    assert fresh.total.compile_declared(wait=False) is True
    assert not fresh.total.declared and len(fresh.total.signatures) == 1
    assert fresh.total(np.arange(2, dtype=np.int64), 1) == 4


COMPILING = textwrap.dedent("""
    import sys, time
    from numba import types
    from engine import jit
    import jit_probe
    with jit.compile_lock(jit_probe.summed):
        print("locked", flush=True)
        time.sleep(float(sys.argv[1]))
        jit_probe.summed.compile((types.Array(types.int64, 1, "C"),))
""")


def test_a_kernel_compiled_by_another_process_is_waited_for_and_loaded(fresh, tmp_path):
    """compile_for_arguments (engine.entitlement's first call of its chunk kernel) waits while a background process
    compiles the same specialisation, then loads it from the cache instead of compiling it again."""
    fresh.summed._cache._cache_file._load_index()  # the cache folder exists for this kernel
    env_path = f"{tmp_path}:{':'.join(sys.path)}"
    holder = subprocess.Popen([sys.executable, "-c", COMPILING, "1.0"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": env_path, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    values = np.arange(4, dtype=np.int64)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        jit.compile_for_arguments(fresh.summed, (values,))
        assert time.perf_counter() - started >= 0.5
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0
    assert sum(fresh.summed.stats.cache_hits.values()) == 1 and not sum(fresh.summed.stats.cache_misses.values())
    assert fresh.summed(values) == 6 and len(fresh.summed.signatures) == 1
    jit.compile_for_arguments(fresh.summed, (values,))  # compiled in this process: nothing to do
    assert sum(fresh.summed.stats.cache_hits.values()) == 1


def test_a_signature_not_cached_is_reported_so(fresh):
    signature = (types.Array(types.int64, 1, "C"),)
    assert not jit.cached_for(fresh.summed, signature)
    jit.compile_signature(fresh.summed, signature)
    assert jit.cached_for(fresh.summed, signature)
    assert not jit.cached_for(fresh.summed, (types.Array(types.int32, 1, "C"),))


def test_threads_calling_a_new_kernel_get_its_one_signature(fresh):
    from concurrent.futures import ThreadPoolExecutor

    values = np.arange(5, dtype=np.int64)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda factor: fresh.total(values, factor), [1, 2, 3, 4]))
    assert results == [10 * (3 + factor) for factor in (1, 2, 3, 4)]
    assert len(fresh.total.signatures) == 1


def test_python_calls_a_helper_through_its_twin(fresh):
    assert fresh.total(np.arange(3, dtype=np.int64), 1) == 12  # compiles _scaled and plus into total
    assert fresh._scaled(7, 3) == 21 and fresh.plus(2, 5) == 7  # from Python: the twins, with a Python wrapper
    assert fresh._scaled.twin is not None and fresh._scaled.twin.signatures
    assert [str(sig) for sig in fresh.plus.twin.signatures] == ["(int64, int64)"]  # the helper's signature


def test_a_helper_links_into_its_callers_without_machine_code_of_its_own(fresh):
    """A helper's library is only linked into the kernels that call it (engine.jit.LinkOnlyLibrary): its symbol is
    not in the JIT engine (no machine code, no module-level optimisation of its own), while the calling kernel, its
    cache entry and a second kernel process load it all work."""
    from numba.core.registry import cpu_target

    if not jit.LINK_ONLY_HELPERS:
        pytest.skip(f"numba {numba.__version__}: helpers compile the usual way (engine.jit.link_only_supported)")
    values = np.arange(6, dtype=np.int64)
    assert fresh.total(values, 4) == 15 * 7
    engine = cpu_target.target_context.codegen()._engine
    for helper_dispatcher in (fresh._scaled, fresh.plus):
        (result,) = helper_dispatcher.overloads.values()
        assert isinstance(result.library, jit.LinkOnlyLibrary)
        assert not engine.is_symbol_defined(result.fndesc.mangled_name)
        with pytest.raises(AssertionError):
            result.library.get_pointer_to_function(result.fndesc.mangled_name)
    (kernel_result,) = fresh.total.overloads.values()
    assert not isinstance(kernel_result.library, jit.LinkOnlyLibrary)
    assert engine.is_symbol_defined(kernel_result.fndesc.mangled_name)
    loaded = subprocess.run([sys.executable, "-c", "import numpy as np, jit_probe; "
                             "print(jit_probe.total(np.arange(6, dtype=np.int64), 4), "
                             "sum(jit_probe.total.stats.cache_hits.values()))"],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": f"{os.path.dirname(fresh.__file__)}:{':'.join(sys.path)}",
                                 "NUMBA_CACHE_DIR": str(os.path.join(os.path.dirname(fresh.__file__), "cache"))})
    assert loaded.stdout.split() == [str(15 * 7), "1"]  # from the cache, helpers' code inside


PRINTING = textwrap.dedent("""
    from numba import types

    from engine.jit import I64_RO, helper, kernel


    @helper
    def _told(value):
        assert value >= 0
        print("told", value)
        return value + 1


    @kernel(types.int64(I64_RO))
    def telling(values):
        assert values.ndim == 1
        out = 0
        for i in range(values.shape[0]):
            out += _told(values[i])
        return out
""")


def test_a_helper_that_uses_its_environment_compiles_the_usual_way(tmp_path):
    """A helper whose code reads its Numba environment (print, here) is set up by the JIT engine only when its
    library is loaded there: link-only, a first run's kernel would hang on the print (nogil) or fail. Such a helper
    compiles the usual way; fresh and from the cache, the kernel prints and returns its sum."""
    (tmp_path / "jit_printing.py").write_text(PRINTING, encoding="utf-8")
    code = "import numpy as np, jit_printing; print('sum', jit_printing.telling(np.arange(3, dtype=np.int64)))"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    for _run in ("fresh", "cached"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                             timeout=120)
        assert out.stdout.split("\n")[:4] == ["told 0", "told 1", "told 2", "sum 6"], out.stdout + out.stderr


def test_link_only_helpers_are_used_with_the_numba_they_were_written_for():
    """With the Numba the project is tested with (0.68) the link-only helpers are on; with another release, or
    should a private piece they rely on be gone, they are off (test_helpers_compile_the_usual_way_when_off)."""
    assert jit.link_only_supported() == numba.__version__.startswith("0.68.")


def test_helpers_compile_the_usual_way_when_off(fresh_off):
    """LINK_ONLY_HELPERS off (another Numba release): a helper gets Numba's own pipeline and code library, and the
    kernels calling it give the same results."""
    assert fresh_off.total(np.arange(6, dtype=np.int64), 4) == 15 * 7
    for helper_dispatcher in (fresh_off._scaled, fresh_off.plus):
        (result,) = helper_dispatcher.overloads.values()
        assert not isinstance(result.library, jit.LinkOnlyLibrary)
    assert fresh_off._scaled(7, 3) == 21


@pytest.fixture
def fresh_off(tmp_path, monkeypatch):
    """The kernels of `fresh`, made while engine.jit.LINK_ONLY_HELPERS is off."""
    monkeypatch.setattr(jit, "LINK_ONLY_HELPERS", False)
    yield from _probe_module(tmp_path, monkeypatch, "jit_probe_off")


def test_a_declared_kernel_and_another_compile_take_the_locks_in_one_order(fresh):
    """A thread compiling some kernel holds Numba's compiler lock while it types a call to a declared kernel (which
    takes engine.jit's declared-signatures lock); a thread compiling a declared kernel meanwhile must not hold the
    declared lock while it waits for Numba's, or the two wait for each other forever."""
    import threading

    from numba.core.compiler_lock import global_compiler_lock

    from engine import jit

    holding, done = threading.Event(), []

    def other_compile():  # stands for typing inside another kernel's compile
        with global_compiler_lock:
            holding.set()
            time.sleep(0.5)  # the declared kernel's first call is under way meanwhile
            with jit._DECLARED_LOCK:
                done.append("other")

    def first_call():
        holding.wait()
        fresh.total.compile_declared()
        done.append("declared")

    threads = [threading.Thread(target=target, daemon=True) for target in (other_compile, first_call)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(done) == ["declared", "other"], "the two compiles deadlocked"
    assert fresh.total(np.arange(3, dtype=np.int64), 1) == 12


@pytest.mark.parametrize("how", ["-O", "PYTHONOPTIMIZE"])
def test_no_kernel_runs_without_its_asserts(how):
    """A program calling the library itself (not the command line, which refuses -O first) under -O or
    PYTHONOPTIMIZE: the first kernel it would compile or load raises StrippedAsserts, before anything runs."""
    script = textwrap.dedent("""
        import numpy as np
        from engine import jit
        from engine.register_columns import increasing_runs_kernel
        from engine.entitlement import reference_minus_per_capita
        for kernel, arguments in ((increasing_runs_kernel, (np.arange(3, dtype=np.int64),)),  # declared signature
                                  (reference_minus_per_capita, (1000, 2, 300, 0))):  # typed at the call
            try:
                kernel(*arguments)
            except jit.StrippedAsserts as exc:
                print("refused:", exc)
        """)
    env = dict(os.environ)  # the project on PYTHONPATH (tests/conftest.py)
    env.pop("PYTHONOPTIMIZE", None)
    if how == "PYTHONOPTIMIZE":
        env["PYTHONOPTIMIZE"] = "1"
    done = subprocess.run([sys.executable] + (["-O"] if how == "-O" else []) + ["-c", script], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    refused = [line for line in done.stdout.splitlines()
               if line.startswith("refused: Python runs with -O or PYTHONOPTIMIZE")]
    assert len(refused) == 2, done.stdout + done.stderr


def test_a_cached_kernel_is_stale_once_any_source_it_may_hold_changes(fresh, tmp_path):
    """The cache index's stamp holds the digest of the sources a kernel can take code or constants from (a helper
    of another module, a parameter offset), so that a change there recompiles instead of loading old code."""
    values = np.arange(4, dtype=np.int64)
    values.flags.writeable = False
    assert fresh.total(values, 2) == 30
    cache_file = fresh.total._cache._cache_file
    assert cache_file._source_stamp[1] == jit.sources_digest() and jit.cached_on_disk(fresh.total)
    cache_file._source_stamp = (cache_file._source_stamp[0], "another digest")
    assert not jit.cached_on_disk(fresh.total)  # as a process with other sources finds it: stale

    for package in jit.COMPILED_PACKAGES:
        (tmp_path / "tree" / package).mkdir(parents=True)
        (tmp_path / "tree" / package / "rules.py").write_text("OFFSET = 1\n", encoding="utf-8")
    before = jit.sources_digest(str(tmp_path / "tree"))
    (tmp_path / "tree" / "engine" / "rules.py").write_text("OFFSET = 2\n", encoding="utf-8")
    assert jit.sources_digest.__wrapped__(str(tmp_path / "tree")) != before
