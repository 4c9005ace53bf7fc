"""Whether the engine's kernels will compile in this process: Numba caches them on disk (engine/jit.py,
cache=True), and a kernel compiles again on the first run on a machine, after an update of its source, or when
the cache folder cannot be written. The command line says so before a step that runs the engine, because a
compile takes seconds of CPU and a silent wait looks like a hang, and starts compiling in a second process the
kernels whose types are known beforehand (explicit signatures: the register's months and windows, arrears,
deductions, netting, payroll totals, advances, the ledger's references and hashes) while the command goes on. The
entitlement kernel, whose types follow the catalogue and whose compile is the longest, compiles in a third process
from the moment the command knows its catalogue (compile_due_in_background).
Both processes are forked from the command (_start), which has imported what they need.
Once the entitlement kernel is compiled, its process shares the others with the warm-up, from the last back
(share_from_the_end). When the command reaches a kernel it loads it from the cache; engine.jit's compile lock
keeps any two processes from compiling one kernel at once. The compiled code is the same whichever process compiles
it.

    python -m payroll.warmup     # compile (or load) every kernel with explicit signatures into the cache
    python -m payroll.warmup --due GATES   # the entitlement kernel for a catalogue's gates (JSON of kind_gates),
                                           # then the kernels above from the last back (share_from_the_end)
"""
import importlib
import json
import os
import signal
import subprocess
import sys

from numba.core.caching import NullCache
from numba.core.compiler_lock import global_compiler_lock

from engine import jit

# every module with kernels, in the order a payroll month needs them (the payment files' writer last), then the
# export's grouping pass and the register conversion's one pass: a first run groups and converts by the general
# paths (payroll.postings._sent_group_arrays, formats.ordered_register.kernels_ready), so they serve the next run
ENGINE_MODULES = ("engine.entitlement", "engine.arrears", "engine.advances", "engine.deductions", "engine.netting",
                  "engine.payroll_kernel", "ledgers.kernels", "ledgers.copy_binary", "formats.text_scan",
                  "payroll.simulate_sums", "bank_exports.row_template", "engine.sent_groups", "engine.register_columns")
# compiled last, once the kernels a command waits for are done: the register conversion's one pass and the export's
# grouping (a first run takes the general paths, so these serve the next run), fact_values' kernel (checks and
# reports only), and kernels the demo's cycle never calls: the titles of advances' cells (a register with
# maintenance advances) and the payment references read back from a database (refs_from_concat)
LATER = ("engine.register_columns.", "engine.entitlement.fact_values_kernel", "engine.sent_groups.",
         "engine.advances.title_of_cells_kernel", "ledgers.kernels.scatter_refs")
LATER_NICENESS = 10
# kernels compiled by calling a function of their module that first loads what the compile links: libcrypto for
# sha256_rows_openssl (openssl_rows_ready loads it, then checks the kernel against hashlib)
COMPILED_BY = {"ledgers.kernels.sha256_rows_openssl": "openssl_rows_ready"}
COMPILE_NOTICE = ("compiling the engine's kernels: the first run on this machine (or after an update) takes "
                  "about 10 seconds once; later runs load them from the cache")


FORK = True  # start the background processes by os.fork (POSIX) rather than a new interpreter
WATCHDOG_SECONDS = 900  # a forked process ends after this long whatever it is doing (a compile takes seconds)


class Forked:
    """A process _fork started: `stdin` is the pipe to its standard input (None without one)."""

    def __init__(self, stdin):
        self.stdin = stdin


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


is_cached = jit.cached_declared  # the dispatcher's on-disk cache matches its source, every explicit signature in it


def kernels_to_compile() -> list[str]:
    """Names of the engine's kernels that will compile on their first call in this process."""
    return [kernel_name(d) for d in dispatchers() if not is_cached(d)]


def compile_notice() -> str | None:
    """The notice to show before running the engine, or None when every kernel compiled ahead (those with
    explicit signatures, which every step needs) loads from the cache. A kernel typed at its call compiles only
    if the step calls it (the PostgreSQL COPY kernels never are on SQLite): counting those showed the notice on
    every run, with nothing compiled."""
    pending = [d for d in dispatchers() if getattr(d, "signatures_given", ()) and not is_cached(d)]
    return f"{COMPILE_NOTICE} ({len(pending)} kernels)" if pending else None


def declared_to_compile() -> list:
    """The kernels with explicit signatures not yet compiled in this process nor cached on disk."""
    return [d for d in dispatchers() if getattr(d, "declared", ()) and not is_cached(d)]


def compile_in_background() -> subprocess.Popen | Forked | None:
    """Start `python -m payroll.warmup` when a kernel with explicit signatures has no cache yet (None otherwise),
    once per process: it compiles them on the other core while this process goes on. It only writes Numba's
    cache, so it may outlive the command. A first run also starts, before it, `python -m payroll.warmup --due -`,
    which compiles the entitlement kernel once the command knows its catalogue (compile_due_in_background)."""
    if jit.fcntl is None:  # no lock between processes
        return None
    if not _enabled:
        _enabled.append(True)
    pending = [] if _started else declared_to_compile()
    if pending and not _waiting and _writable(pending[0]):
        # a first run: the entitlement kernel's process starts now and waits for the catalogue's gates
        # (compile_due_in_background), its imports done by the time the command has loaded its catalogue
        _waiting.append(_start(["--due", "-"], stdin=subprocess.PIPE))
    if not pending or not _writable(pending[0]):  # a cache it could not write
        return None
    _started.append(True)
    jit.compiling_elsewhere = True
    return _start([])


_started: list = []  # not empty once this process started its background compile
_enabled: list = []  # not empty once compile_in_background ran in this process (a command with the engine's steps)
_waiting: list = []  # the process started by compile_in_background that waits for the gates on its standard input
_due_started: list = []  # the gates (JSON) whose entitlement kernel this process had compiled in the background


def compile_due_in_background(catalogue, period: int) -> subprocess.Popen | Forked | None:
    """In a command that compiles in the background (compile_in_background ran), have `python -m payroll.warmup
    --due` compile chunk_due_kernel's specialisation for this catalogue's formula kinds
    (engine.entitlement.chunk_due_signature), the longest compile of a first run, unless it is cached: on the other
    core from the moment the command knows its catalogue, while the command reads and checks the register;
    compute_due then waits for it and loads it from the cache instead of compiling it a second time
    (engine.jit.compile_signature). The process compile_in_background started gets the gates on its standard
    input; a later catalogue starts one of its own. Returns that process, or None."""
    if not _enabled:
        return None
    from engine import entitlement

    compiled = catalogue.compile(period, period)  # the kinds and proration of its benefits, whatever the month
    gates = entitlement.kind_gates(compiled.kind, compiled.prorate_days)
    text = json.dumps(gates)
    kernel = entitlement.chunk_due_kernel
    wanted = (text not in _due_started and _writable(kernel)
              and not jit.cached_for(kernel, entitlement.chunk_due_signature(gates)))
    process = _waiting.pop() if _waiting else None
    if process is not None:
        try:
            with process.stdin:  # closed: the process compiles the gates written, or ends without any
                process.stdin.write((text + "\n").encode() if wanted else b"")
        except OSError:  # it ended (killed): start another
            process = None
    if not wanted:
        return None
    _due_started.append(text)
    return process or _start(["--due", text])


def _start(arguments: list, stdin=subprocess.DEVNULL) -> subprocess.Popen | Forked:
    """Start `python -m payroll.warmup ARGUMENTS` in a session of its own (the terminal's Ctrl-C stops the command,
    not the cache write), forked from this process where it can be (_fork): a new interpreter would spend about
    half a second of CPU importing again what this process has imported, on a first run whose limit is the CPU.
    Returns the process, whose `stdin` takes what `--due -` reads when stdin is subprocess.PIPE."""
    if FORK and hasattr(os, "fork"):
        try:
            return _fork(arguments, stdin is subprocess.PIPE)
        except OSError:  # fork refused (EAGAIN, ENOMEM): a new interpreter, which raises if it cannot start either
            pass
    return subprocess.Popen([sys.executable, "-m", "payroll.warmup", *arguments], stdin=stdin,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _fork(arguments: list, with_stdin: bool) -> Forked:
    """Fork twice (the first child forks the process that works, then ends at once and is collected here, so that
    nothing is left for this process to collect) a process that leads a session of its own (yield_cpu) and runs
    `run(arguments)` with its standard output and error on os.devnull, its standard input the pipe returned (or
    os.devnull), and ends by os._exit: neither this process's buffered output nor its exit handlers run there."""
    read, write = os.pipe() if with_stdin else (None, None)
    # forked holding Numba's compiler lock and engine.jit's (after any thread of this process that compiles): the
    # child, whose one thread is this one, finds them held by itself (re-entrant), never by a thread it lacks
    with global_compiler_lock, jit.declared_lock():
        try:
            first = os.fork()
        except OSError:  # refused: the pipe is not left open (_start then starts a new interpreter)
            for end in (read, write):
                if end is not None:
                    os.close(end)
            raise
        if first == 0:  # pragma: no cover (a forked child: coverage does not follow it)
            code = 1
            try:
                code = _run_forked(arguments, read, write) if os.fork() == 0 else 0
            finally:
                os._exit(code)
    os.waitpid(first, 0)
    if read is None:
        return Forked(None)
    os.close(read)
    return Forked(os.fdopen(write, "wb"))


def _run_forked(arguments: list, read: int | None, write: int | None) -> int:  # pragma: no cover (forked child)
    """In the forked process: its session, standard streams, then run(arguments); the exit code."""
    try:
        signal.alarm(WATCHDOG_SECONDS)  # should a compile ever hang, the process ends (SIGALRM) and its locks with it
        os.setsid()
        for process in _waiting:  # another process's pipe: its reader must see the end when the command closes it
            if isinstance(process, Forked) and process.stdin is not None:
                os.close(process.stdin.fileno())
        if write is not None:
            os.close(write)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull if read is None else read, 0)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdin = open(0, closefd=False)
        sys.stdout = sys.stderr = open(1, "w", closefd=False)
        sys.argv = [sys.executable, "-m", "payroll.warmup", *arguments]
        _started.clear()
        _enabled.clear()
        _waiting.clear()
        _due_started.clear()
        jit.compiling_elsewhere = False  # as in a new interpreter: this process is the one that compiles
        run(arguments)
        return 0
    except BaseException:
        return 1


def compile_due(text: str) -> bool:
    """Compile (or load) the entitlement kernel for the gates compile_due_in_background wrote as JSON ("-": read
    them from the standard input once the imports are done; nothing there, nothing to compile: False)."""
    from engine import entitlement

    text = sys.stdin.readline() if text == "-" else text
    if not text.strip():
        return False
    kinds, *others = json.loads(text)
    entitlement.compile_chunk_kernel((tuple(kinds), *others))
    return True


def _writable(dispatcher) -> bool:
    index_path = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
    folder = os.path.dirname(index_path) if index_path else None
    return bool(folder) and os.access(folder if os.path.isdir(folder) else os.path.dirname(folder), os.W_OK)


def kernel_name(dispatcher) -> str:
    return f"{dispatcher.py_func.__module__}.{dispatcher.py_func.__name__}"


def main(later_niceness: int = 0) -> None:
    """Compile the pending kernels in the cycle's order (the command needs the first ones first), those of LATER
    last, with the process's niceness raised by later_niceness (yield_cpu): on a busy machine they wait rather than
    slow the command that started this process. Before LATER, a kernel cached meanwhile or being compiled by
    another process (the entitlement kernel's process works from the other end: share_from_the_end) is skipped."""
    pending = declared_to_compile()
    later = [dispatcher for dispatcher in pending if kernel_name(dispatcher).startswith(LATER)]
    busy = [dispatcher for dispatcher in pending if dispatcher not in later and not is_cached(dispatcher)
            and not _compile(dispatcher, wait=False)]
    for dispatcher in busy:  # another process had it: it loads from the cache now, or compiles what one left undone
        if not is_cached(dispatcher):
            _compile(dispatcher)
    if later and later_niceness:
        yield_cpu(later_niceness)
    for dispatcher in later:
        _compile(dispatcher)


def share_from_the_end() -> None:
    """In the entitlement kernel's process, once that kernel is compiled: the kernels main compiles before LATER,
    from the last back, skipping those cached or being compiled (by main, or by the command), so that the two
    processes meet in the middle. The command waits for the entitlement kernel, then needs the others almost at
    once: the two background processes finish about together instead of one after the other."""
    pending = [dispatcher for dispatcher in declared_to_compile() if not kernel_name(dispatcher).startswith(LATER)]
    for dispatcher in reversed(pending):
        if not is_cached(dispatcher):
            _compile(dispatcher, wait=False)


AUTOGROUP = "/proc/self/autogroup"  # Linux: "/autogroup-123 nice 0", the CPU share of this process's session


def yield_cpu(increment: int) -> None:
    """Raise this process's niceness by `increment`, and its session's (the background processes are started in
    sessions of their own): where Linux groups the tasks of each session (sched_autogroup, on by default in most
    distributions' kernels) a task's niceness only ranks it among its own session's tasks, and the sessions share
    the CPU as equals, so os.nice alone would leave this process an equal share against the command."""
    os.nice(increment)
    if os.getsid(0) != os.getpid():  # run from a shell (not by _start): its session's share is not this process's
        return
    try:
        with open(AUTOGROUP) as group:
            niceness = int(group.read().split()[-1])
        with open(AUTOGROUP, "w") as group:
            group.write(str(min(19, niceness + increment)))
    except (OSError, ValueError, IndexError):  # not Linux, no autogroups, or another format: os.nice alone
        pass


def _compile(dispatcher, wait: bool = True) -> bool:
    """Compile (or load) a kernel; wait=False: nothing when another process holds its compile lock (False; best
    effort for a kernel of COMPILED_BY, whose lock is probed, then taken by its own function)."""
    prepare = COMPILED_BY.get(kernel_name(dispatcher))
    if prepare is None:
        return dispatcher.compile_declared(wait)
    if not wait:
        with jit.compile_lock(dispatcher, wait=False) as free:
            pass  # a probe: `prepare` takes the lock itself (a second lock here would wait for this one)
        if not free:
            return False
    getattr(importlib.import_module(dispatcher.py_func.__module__), prepare)()
    return True


def run(arguments: list) -> None:
    """`python -m payroll.warmup ARGUMENTS` (see the module docstring)."""
    if arguments[:1] == ["--due"]:
        if compile_due(arguments[1]):
            share_from_the_end()
    else:
        main(LATER_NICENESS)


if __name__ == "__main__":
    run(sys.argv[1:])
