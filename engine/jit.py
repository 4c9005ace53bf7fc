"""Every JIT option of the project in one place, so kernels compile the same way and cache on disk, and the
array types of explicit kernel signatures: inputs read-only (Arrow buffers are read-only, and a kernel typed
for writable arrays rejects them), outputs writable.

A first run compiles every kernel it calls (the cold start), so the dispatcher here differs from numba.njit's in
two ways that make that compile shorter and change no compiled code:
- explicit signatures compile on the kernel's first call, not at import: a command compiles only the kernels it
  runs (`isplata --help` none), and a kernel loaded from the on-disk cache is loaded then too;
- a call from another kernel is typed with the arguments' plain types: a constant offset is an int64, not
  Literal[int](66), and a counter that starts at 0 is not compiled once more as Literal[int](0) while type
  inference is still under way; one specialisation serves every call site with the same plain types.
A third change makes it shorter again but does change the compiled code: a helper (`helper`) compiles to LLVM IR that
its callers link in, and nothing more (HelperCompiler): no machine code and no module-level optimisation of its own,
which the calling kernel's module passes do once for the whole, so the kernels' machine code differs from what
numba.njit would make of them. Integer code: the amounts are the same bit for bit; the speed was measured unchanged
(compute_due on 200,000 rights of each country, 2026-12-07).
"""
import contextlib
import functools
import hashlib
import os
import sys
import threading
from pathlib import Path

import numba
from numba import types
from numba import _dynfunc
from numba.core import base, codegen, compiler, typeinfer, typed_passes
from numba.core.compiler_lock import global_compiler_lock
from numba.core.compiler_machinery import register_pass
from numba.core.registry import CPUDispatcher

_DECLARED_LOCK = threading.RLock()  # one thread compiles a kernel's explicit signatures, others wait

try:
    import fcntl
except ImportError:  # not POSIX: no lock between processes
    fcntl = None

JIT_OPTIONS = dict(nogil=True, cache=True, error_model="python", boundscheck=False)
# a helper is compiled into its callers: inlined by LLVM, without NRT reference counts (helpers allocate nothing),
# without Python and C wrappers and without a cache entry of its own (the calling kernel's cache holds its code)
HELPER_OPTIONS = dict(forceinline=True, _nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True, cache=False)


class LinkOnlyLibrary(codegen.JITCodeLibrary):
    """The code library of a helper: only ever linked into its callers' libraries (forceinline), which optimise the
    linked code with their own at the module level and emit the machine code. Numba would otherwise optimise each
    helper's module on its own and emit machine code that nothing calls (a sixth of the entitlement kernel's first
    compile). A kernel loaded from the cache holds its helpers' code already, so it never needs them."""

    def _optimize_final_module(self) -> None:
        pass  # the caller's module passes run over this code once it is linked in

    def _finalize_final_module(self) -> None:
        # CPUCodeLibrary._finalize_final_module without adding the module to the JIT engine (no machine code)
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True

    def get_pointer_to_function(self, name):
        raise AssertionError(f"a helper has no machine code of its own: {self.name}")


@register_pass(mutates_CFG=True, analysis_only=False)
class LinkOnlyLowering(typed_passes.NativeLowering):
    """NativeLowering into a LinkOnlyLibrary, without machine code (Numba's no_compile, as for its own internal
    functions), then registered as Numba registers a compiled function, so that callers' calls resolve to it. The
    entry point's address is 0, as a helper's always was (it has no Python wrapper): HelperDispatcher never calls
    it from Python."""
    _name = "isplata_link_only_lowering"

    def run_pass(self, state):
        assert state.flags.no_cpython_wrapper and state.flags.forceinline, "only helpers link without machine code"
        state.library = LinkOnlyLibrary(state.targetctx.codegen(), state.func_id.func_qualname)
        state.flags.no_compile = True
        super().run_pass(state)
        lowered = state["cr"]
        fndesc = lowered.fndesc
        if uses_environment(state.library, state.targetctx.get_env_name(fndesc)):
            # its environment (print, objmode, calls that need the GIL) is set only when the JIT engine loads a
            # library: such a helper compiles the usual way
            state.library, state.flags.no_compile = None, False
            return typed_passes.NativeLowering.run_pass(self, state)
        entry_point = _dynfunc.make_function(fndesc.lookup_module(), fndesc.qualname.split(".")[-1],
                                             f"helper {fndesc.qualname!r}", 0, lowered.env, (state.library,))
        state.targetctx.insert_user_function(entry_point, fndesc, [state.library])
        state.reload_init.extend(state.library._reload_init)
        state["cr"] = lowered._replace(cfunc=entry_point)
        return True


def link_only_supported() -> bool:
    """LinkOnlyLowering reaches into Numba's code libraries and lowering pass, whose private layout may change in
    any release: it is used with the releases it was written and tested against (0.68), where every piece it
    relies on is found; with any other, helpers compile the usual way (machine code of their own, unused), which
    costs compile time only."""
    version = tuple(int(part) for part in numba.__version__.split(".")[:2] if part.isdigit())
    library = codegen.JITCodeLibrary
    return version == (0, 68) and all(hasattr(library, name) for name in (
        "_optimize_final_module", "_finalize_final_module", "_finalize_dynamic_globals",
        "_verify_declare_only_symbols")) and hasattr(_dynfunc, "make_function") \
        and "cfunc" in getattr(getattr(compiler, "_LowerResult", None), "_fields", ()) \
        and hasattr(base.BaseContext, "insert_user_function")


LINK_ONLY_HELPERS = link_only_supported()


def uses_environment(library, env_name: str) -> bool:
    """The lowered code reads its Numba environment (the global `env_name`) beyond defining it."""
    return library.get_llvm_str().count(env_name) > 1


class HelperCompiler(compiler.CompilerBase):
    """Numba's nopython pipeline with LinkOnlyLowering in place of NativeLowering."""

    def define_pipelines(self):
        assert not self.state.flags.force_pyobject
        manager = compiler.DefaultPassBuilder.define_nopython_pipeline(self.state)
        lowering = [i for i, (pass_class, _) in enumerate(manager.passes) if pass_class is typed_passes.NativeLowering]
        assert len(lowering) == 1, manager.passes
        manager.passes[lowering[0]] = (LinkOnlyLowering, "link-only lowering of a helper")
        manager.finalize()
        return [manager]


class StrippedAsserts(RuntimeError):
    """A kernel was to be compiled or loaded in a Python that strips assert statements (-O, PYTHONOPTIMIZE)."""


def refuse_stripped_asserts() -> None:
    """StrippedAsserts under -O or PYTHONOPTIMIZE: the kernels check their bounds and invariants with assert, and
    Numba compiles the bytecode Python made, from which -O removed them, so an index out of range would read or
    write memory unchecked. The command line refuses such a run before any command (cli.main.refuse_optimized);
    this refuses it for a program that calls the library itself, at the first kernel it would run, so no kernel
    without its checks is compiled, run or written to the on-disk cache. (With NUMBA_DISABLE_JIT the kernels are
    plain Python, whose own indexing is checked: nothing is refused then.)"""
    if sys.flags.optimize > 0:
        raise StrippedAsserts("Python runs with -O or PYTHONOPTIMIZE, which strips the assert statements isplata's "
                              "kernels check their bounds and invariants with: no kernel runs so; run Python "
                              "without -O and with PYTHONOPTIMIZE unset")


class LazyDispatcher(CPUDispatcher):
    """Numba's CPU dispatcher with the two changes of the module docstring (declared: the explicit signatures not
    compiled yet), which compiles nothing under -O (refuse_stripped_asserts)."""
    declared: tuple = ()
    signatures_given: tuple = ()

    def compile(self, sig):
        """Every specialisation is compiled or loaded from the cache here (a declared signature, a call's types, a
        call from another kernel)."""
        refuse_stripped_asserts()
        return super().compile(sig)

    def compile_declared(self, wait: bool = True) -> bool:
        """Compile (or load from the cache) the explicit signatures, then accept no other types, as numba.njit
        does at import. A second thread calling meanwhile waits for the first. Numba's compiler lock is taken
        first: a thread compiling another kernel holds it while typing a call to this one (get_call_template), so
        taking the two the other way round could deadlock two threads that compile at once. wait=False: when
        another process holds the kernel's compile_lock, return False at once and leave the signatures declared
        (payroll.warmup's processes share the kernels this way); True once compiled or loaded."""
        with global_compiler_lock, _DECLARED_LOCK:
            signatures, self.declared = self.declared, ()
            if signatures:
                try:
                    with compile_lock(self, wait) as held, typeinfer.register_dispatcher(self):
                        if not held:
                            self.declared = signatures
                            return False
                        for signature in signatures:
                            self.compile(signature)
                except BaseException:
                    self.declared = signatures  # the next call tries again and raises the real error
                    raise
                self.disable_compile()
        return True

    def _compile_for_args(self, *args, **kws):
        """A call from Python that no compiled specialisation matches: returns what the call is dispatched to."""
        if self.signatures_given:  # compile the declared signatures; dispatching again picks one or refuses the types
            self.compile_declared()
            return self
        return super()._compile_for_args(*args, **kws)

    def get_call_template(self, args, kws):
        self.compile_declared()
        return super().get_call_template(tuple(types.unliteral(a) for a in args),
                                         {k: types.unliteral(v) for k, v in kws.items()})


class HelperDispatcher(LazyDispatcher):
    """A helper: compiled without a Python wrapper, so a call from Python could not run it. Such a call (tests,
    payroll.explain) runs a twin kernel of the same function instead, with the wrapper and its own cache entry,
    made and compiled on the first such call; the kernels that call the helper never compile the twin."""
    twin = None

    def __call__(self, *args, **kws):
        if self.twin is None:
            self.twin = _dispatcher(self.py_func, self.signatures_given, JIT_OPTIONS)
        return self.twin(*args, **kws)


# set once a background process compiles the declared kernels (payroll.warmup.compile_in_background): code with
# a slower path that needs no compile may take it meanwhile instead of compiling on the command's critical path
compiling_elsewhere = False


def cached_on_disk(dispatcher) -> bool:
    """True when the dispatcher's on-disk cache index exists and matches its source (Numba's own check)."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except (AttributeError, OSError, EOFError, ValueError):  # no cache or another Numba layout: assume a compile
        return False


def declared_lock() -> threading.RLock:
    """The lock under which a thread compiles a kernel's explicit signatures (payroll.warmup forks under it)."""
    return _DECLARED_LOCK


def cached_declared(dispatcher) -> bool:
    """True when the on-disk cache holds every explicit signature of the dispatcher (a kernel without explicit
    signatures: cached_on_disk), so that a process that died between two signatures leaves the kernel to compile."""
    given = getattr(dispatcher, "signatures_given", ())
    if not given:
        return cached_on_disk(dispatcher)
    try:
        keys = {key[0] for key in dispatcher._cache._cache_file._load_index()}
    except (AttributeError, OSError, EOFError, ValueError, TypeError, IndexError):  # another Numba layout
        return False
    return all(signature in keys for signature in given)


def cached_for(dispatcher, signature: tuple) -> bool:
    """True when the dispatcher's on-disk cache holds a specialisation for `signature` (a tuple of argument types,
    as a call from Python compiles it) that matches its source."""
    try:
        return any(key[0] == signature for key in dispatcher._cache._cache_file._load_index())
    except (AttributeError, OSError, EOFError, ValueError, TypeError, IndexError):  # another Numba layout
        return False


def compile_signature(dispatcher, signature: tuple) -> None:
    """Compile (or load from the on-disk cache) the dispatcher's specialisation for `signature` (a tuple of
    argument types, the cache key a call from Python with such arguments uses) unless this process has it, under
    compile_lock: when a background process compiles it (payroll.warmup), this one waits and then loads what that
    one cached instead of compiling it a second time. Numba's compiler lock is taken first, as in
    LazyDispatcher.compile_declared."""
    if numba.config.DISABLE_JIT or signature in dispatcher.signatures:
        return
    with global_compiler_lock, compile_lock(dispatcher):
        dispatcher.compile(signature)


def compile_for_arguments(dispatcher, arguments: tuple) -> None:
    """compile_signature for the types a call with these arguments is dispatched on."""
    if not numba.config.DISABLE_JIT:
        compile_signature(dispatcher, tuple(dispatcher.typeof_pyval(value) for value in arguments))


def is_ready(dispatcher) -> bool:
    """True when a call compiles nothing: compiled in this process, or cached on disk (loaded at the call)."""
    return bool(dispatcher.signatures and not getattr(dispatcher, "declared", ())) or cached_on_disk(dispatcher)


@contextlib.contextmanager
def compile_lock(dispatcher, wait: bool = True):
    """Held while a process compiles (or loads) a kernel's explicit signatures: another process compiling the same
    kernel (payroll.warmup compiles in the background) finishes first, and this one then loads what it cached. The
    two never write one cache index at once. No lock where the platform or the cache folder offers none. Yields
    True once held (or without a lock); with wait=False, False at once when another process holds it."""
    index_path = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
    handle = None
    if fcntl is not None and index_path is not None:
        try:
            os.makedirs(os.path.dirname(index_path), exist_ok=True)
            handle = open(index_path + ".lock", "a")
        except OSError:
            handle = None
    if handle is None:
        yield True
        return
    with handle:
        held = True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at close
        except BlockingIOError:  # wait=False and another process holds it
            held = False
        except OSError:  # a file system without locks (some NFS): compile unlocked, as where fcntl is missing
            pass
        yield held  # outside the except clauses: an error of the caller's block is not chained to theirs


def _dispatcher(function, signatures: tuple, options: dict):
    if numba.config.DISABLE_JIT:
        return function
    options = dict(options)
    cache = options.pop("cache", False)
    helper_kind = bool(options.get("no_cpython_wrapper"))
    dispatcher = (HelperDispatcher if helper_kind else LazyDispatcher)(
        py_func=function, locals={}, targetoptions=options,
        pipeline_class=HelperCompiler if helper_kind and LINK_ONLY_HELPERS else compiler.Compiler)
    if cache:
        dispatcher.enable_caching()
        stamp_with_sources(dispatcher)
    dispatcher.declared = dispatcher.signatures_given = tuple(signatures)
    return dispatcher


# The packages whose code a kernel's machine code holds: its own module, the helpers it inlines and the module
# constants (parameter offsets, codes) Numba freezes into it, from whichever of these packages they come.
COMPILED_PACKAGES = ("engine", "formats", "ledgers", "bank_exports", "payroll")


@functools.lru_cache(maxsize=None)
def sources_digest(root: str = str(Path(__file__).resolve().parents[1])) -> str:
    """SHA-256 of the Python sources of COMPILED_PACKAGES under `root` (names and contents)."""
    digest = hashlib.sha256()
    for package in COMPILED_PACKAGES:
        for path in sorted((Path(root) / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stamp_with_sources(dispatcher) -> None:
    """Numba's on-disk cache is fresh while the kernel's own file keeps its time and size; a helper it inlines from
    another module, or a constant it froze, can change meanwhile (a `git pull` of an editable install changes only
    the files that changed), and the stale machine code would compute with the old rule. The cache index's stamp
    therefore also holds the digest of every source a kernel can take code from (sources_digest): any change
    there recompiles, never computes with old code."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, sources_digest())


def _decorate(args: tuple, options: dict):
    """`@decorator` on a function, or `@decorator(signature, ...)` returning the decorator."""
    if len(args) == 1 and callable(args[0]) and not isinstance(args[0], types.Type):
        return _dispatcher(args[0], (), options)
    return lambda function: _dispatcher(function, args, options)


def kernel(*args, **kwargs):
    """numba.njit with the project's options; explicit signatures may be passed positionally (compiled on the
    first call)."""
    options = dict(JIT_OPTIONS)
    options.update(kwargs)
    return _decorate(args, options)


def helper(*args):
    """A helper of kernels (explicit signatures may be passed positionally), compiled as its own function and
    inlined by LLVM into its callers (forceinline), not by Numba's IR-level inline="always", which copies the
    callee's IR with its whole scope at every call site and took most of the first compile. Python code may call
    it too (HelperDispatcher)."""
    options = dict(JIT_OPTIONS)
    options.update(HELPER_OPTIONS)
    return _decorate(args, options)


I64_RO = types.Array(types.int64, 1, "C", readonly=True)   # an int64 input column
BOOL_RO = types.Array(types.boolean, 1, "C", readonly=True)
I64_OUT = types.Array(types.int64, 1, "C")                  # an int64 output the caller allocated
I32_RO = types.Array(types.int32, 1, "C", readonly=True)   # an int32 input column (months, days, dense indexes)
I32_OUT = types.Array(types.int32, 1, "C")
I8_OUT = types.Array(types.int8, 1, "C")
I32_2D_RO = types.Array(types.int32, 2, "C", readonly=True)  # record matrices (engine.entitlement.PackedRegister)
I64_2D_RO = types.Array(types.int64, 2, "C", readonly=True)
U8_RO = types.Array(types.uint8, 1, "C", readonly=True)     # bytes (Arrow buffers)
U8_2D_RO = types.Array(types.uint8, 2, "C", readonly=True)  # fixed-width byte rows (payment references)
U8_OUT = types.Array(types.uint8, 1, "C")                   # bytes being written
U8_2D_OUT = types.Array(types.uint8, 2, "C")
U64_OUT = types.Array(types.uint64, 1, "C")
I16_RO = types.Array(types.int16, 1, "C", readonly=True)    # small codes (benefits, grades)
I16_OUT = types.Array(types.int16, 1, "C")
U64_RO = types.Array(types.uint64, 1, "C", readonly=True)
I32_2D_OUT = types.Array(types.int32, 2, "C")               # record matrices being written
I64_2D_OUT = types.Array(types.int64, 2, "C")
