"""The first-compile notice: shown exactly when a kernel has no valid on-disk cache."""
import importlib
import io
import json
import sys
from types import SimpleNamespace

import numba
import pytest

from payroll import warmup

KERNEL_SOURCE = """
from engine.jit import kernel


@kernel
def doubled(x):
    return 2 * x
"""


def test_a_kernel_without_cache_is_reported_until_it_compiled(tmp_path, monkeypatch):
    (tmp_path / "fresh_kernels.py").write_text(KERNEL_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fresh_kernels")
    try:
        assert not warmup.is_cached(module.doubled)
        assert module.doubled(21) == 42  # compiles and writes the cache
        assert warmup.is_cached(module.doubled)
    finally:
        sys.modules.pop("fresh_kernels", None)


def test_the_engine_kernels_are_found_and_the_notice_follows_them(monkeypatch):
    names = [f"{d.py_func.__module__}.{d.py_func.__name__}" for d in warmup.dispatchers()]
    assert "engine.arrears.classify_kernel" in names and not any(n.split(".")[-1].startswith("_") for n in names)
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: False)
    assert warmup.compile_notice().startswith(warmup.COMPILE_NOTICE)
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: True)
    assert warmup.compile_notice() is None
    # a kernel typed at its call that no step of this run calls (never cached on SQLite): no notice
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: bool(getattr(dispatcher, "signatures_given", ())))
    lazy = [d for d in warmup.dispatchers() if not getattr(d, "signatures_given", ())]
    assert lazy and warmup.compile_notice() is None


def test_the_background_compile_starts_only_for_uncached_declared_kernels(monkeypatch):
    started = []
    monkeypatch.setattr(warmup, "FORK", False)  # a new interpreter, as where os.fork is missing
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda args, **kwargs: started.append(args) or "process")
    monkeypatch.setattr(warmup, "_started", [])
    monkeypatch.setattr(warmup, "_enabled", [])
    monkeypatch.setattr(warmup, "_writable", lambda dispatcher: True)
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: [])
    assert warmup.compile_in_background() is None and started == []
    monkeypatch.setattr(warmup, "_waiting", [])
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: ["a kernel"])
    assert warmup.compile_in_background() == "process"
    # first the process that will compile the entitlement kernel once the command knows its catalogue
    assert started == [[sys.executable, "-m", "payroll.warmup", "--due", "-"],
                       [sys.executable, "-m", "payroll.warmup"]]
    assert warmup._waiting == ["process"]
    assert warmup.compile_in_background() is None and len(started) == 2  # once per process


def test_declared_kernels_are_the_ones_with_explicit_signatures():
    names = {d.py_func.__name__ for d in warmup.dispatchers() if d.declared or d.signatures and not d._can_compile}
    assert {"deduct_rights", "fill_payments", "sum_rights", "title_of_cells_kernel"} <= names
    assert "chunk_due_kernel" not in names  # its types follow the catalogue: it compiles in the command
    warmup.main()  # compiles or loads them; afterwards none is left to compile
    assert warmup.declared_to_compile() == []


def test_no_background_compile_into_a_cache_it_cannot_write(monkeypatch):
    assert warmup._writable(warmup.dispatchers()[0])  # the test cache folder
    monkeypatch.setattr(warmup, "_started", [])
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda args, **kwargs: "process")
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: ["a kernel"])
    monkeypatch.setattr(warmup, "_writable", lambda dispatcher: False)
    assert warmup.compile_in_background() is None


class _Pending:
    """A stand-in dispatcher that records when it is compiled."""

    def __init__(self, module, name, compiled, busy=False):
        self.py_func = SimpleNamespace(__module__=module, __name__=name)
        self.compiled = compiled
        self.busy = busy  # another process holds its compile lock

    def compile_declared(self, wait=True):
        if self.busy and not wait:
            return False
        self.compiled.append(warmup.kernel_name(self) + ("" if wait else " (if free)"))
        return True


def test_the_next_runs_kernels_compile_last_and_sha256_through_its_self_check(monkeypatch):
    import ledgers.kernels

    compiled = []
    names = [("engine.register_columns", "persons_kernel"), ("engine.entitlement", "fact_values_kernel"),
             ("engine.deductions", "deduct_rights"), ("ledgers.kernels", "sha256_rows_openssl"),
             ("bank_exports.row_template", "render_rows_kernel")]
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: [_Pending(m, n, compiled) for m, n in names])
    # libcrypto must be loaded before the kernel that calls it compiles: openssl_rows_ready loads it and compiles
    monkeypatch.setattr(ledgers.kernels, "openssl_rows_ready", lambda: compiled.append("openssl_rows_ready"))
    niceness = []
    monkeypatch.setattr(warmup, "yield_cpu", niceness.append)
    warmup.main(7)
    assert compiled == ["engine.deductions.deduct_rights (if free)", "openssl_rows_ready",
                        "bank_exports.row_template.render_rows_kernel (if free)",
                        "engine.register_columns.persons_kernel", "engine.entitlement.fact_values_kernel"]
    assert niceness == [7]


def test_the_two_background_processes_meet_in_the_middle(monkeypatch):
    """main compiles from the first kernel on, the entitlement kernel's process (share_from_the_end) from the last
    back; each skips a kernel the other has cached or is compiling, and only main compiles those of LATER."""
    compiled, cached = [], {"engine.netting.number_payments"}
    names = [("engine.entitlement", "cell_indexes_kernel"), ("engine.arrears", "classify_kernel"),
             ("engine.deductions", "deduct_rights"), ("engine.netting", "number_payments"),
             ("bank_exports.row_template", "render_rows_kernel"), ("engine.register_columns", "persons_kernel")]
    pending = [_Pending(m, n, compiled, busy=n == "classify_kernel") for m, n in names]
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: pending)
    monkeypatch.setattr(warmup, "is_cached", lambda dispatcher: warmup.kernel_name(dispatcher) in cached)
    warmup.share_from_the_end()
    assert compiled == ["bank_exports.row_template.render_rows_kernel (if free)",
                        "engine.deductions.deduct_rights (if free)", "engine.entitlement.cell_indexes_kernel (if free)"]
    compiled.clear()
    cached.add("bank_exports.row_template.render_rows_kernel")
    warmup.main()
    # classify_kernel was busy: once past the others main takes its lock (waiting) and loads or compiles it, so that
    # a process that died holding it leaves nothing uncompiled
    assert compiled == ["engine.entitlement.cell_indexes_kernel (if free)", "engine.deductions.deduct_rights (if free)",
                        "engine.arrears.classify_kernel", "engine.register_columns.persons_kernel"]
    compiled.clear()
    cached.add("engine.arrears.classify_kernel")  # the other process cached it meanwhile: nothing more to do
    warmup.main()
    assert compiled == ["engine.entitlement.cell_indexes_kernel (if free)", "engine.deductions.deduct_rights (if free)",
                        "engine.register_columns.persons_kernel"]


def test_every_later_name_is_a_warmed_up_kernel_or_module():
    """A LATER entry that names no kernel (a typo, a renamed kernel) would leave that kernel on a first run's
    critical path: each entry is a module prefix or the full name of a kernel the warm-up compiles."""
    if numba.config.DISABLE_JIT:
        pytest.skip("NUMBA_DISABLE_JIT: no kernels to warm up")
    names = [warmup.kernel_name(d) for d in warmup.dispatchers() if d.declared or d.signatures]
    for entry in warmup.LATER:
        matched = [name for name in names if name.startswith(entry)]
        assert matched, entry
        assert entry.endswith(".") or matched == [entry], (entry, matched)


def test_yielding_the_cpu_raises_the_sessions_share_too(monkeypatch, tmp_path):
    """Where Linux groups each session's tasks (sched_autogroup), os.nice only ranks a process within its session;
    the background processes lead sessions of their own, so their session's niceness is raised too."""
    group = tmp_path / "autogroup"
    group.write_text("/autogroup-42 nice 2\n")
    monkeypatch.setattr(warmup, "AUTOGROUP", str(group))
    niceness = []
    monkeypatch.setattr(warmup.os, "nice", niceness.append)
    monkeypatch.setattr(warmup.os, "getsid", lambda pid: warmup.os.getpid())  # a session leader, as _start makes
    warmup.yield_cpu(10)
    assert niceness == [10] and group.read_text() == "12"
    warmup.yield_cpu(9)
    assert niceness == [10, 9] and group.read_text() == "19"  # at most 19, as os.nice
    monkeypatch.setattr(warmup.os, "getsid", lambda pid: 1)  # run from a shell: the shell's session is left alone
    group.write_text("/autogroup-42 nice 0\n")
    warmup.yield_cpu(5)
    assert niceness == [10, 9, 5] and group.read_text() == "/autogroup-42 nice 0\n"
    monkeypatch.setattr(warmup.os, "getsid", lambda pid: warmup.os.getpid())
    monkeypatch.setattr(warmup, "AUTOGROUP", str(tmp_path / "missing"))  # no autogroups: os.nice alone
    warmup.yield_cpu(1)
    assert niceness == [10, 9, 5, 1]


def _forked_run(folder):
    """A stand-in for warmup.run in forked processes: "--due -" writes what it reads on its standard input (once
    the command closes the pipe), any other records its session and standard output, then waits a while."""
    import os
    import time

    def run(arguments):
        name = "-".join(arguments) or "main"
        if arguments == ["--due", "-"]:
            text = sys.stdin.read()
        else:
            print("noise")  # to os.devnull, not the terminal
            text = f"{os.getsid(0) == os.getpid()} {os.readlink('/proc/self/fd/1') if os.path.exists('/proc') else ''}"
        (folder / (name + ".part")).write_text(text)
        (folder / (name + ".part")).rename(folder / name)
        if arguments != ["--due", "-"]:
            time.sleep(8)
    return run


def _appears(path, seconds: float):
    import time

    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return path.exists()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="os.fork is POSIX")
def test_the_background_processes_are_forked_with_their_own_streams_and_session(monkeypatch, tmp_path):
    """_start forks (the imports are done already): each process in a session of its own, its output on
    os.devnull; the waiting process reads what the command writes on its pipe and sees its end when the command
    closes it, although a process forked later (main) still runs: that one does not keep the pipe open."""
    monkeypatch.setattr(warmup, "run", _forked_run(tmp_path))
    monkeypatch.setattr(warmup, "_waiting", [])
    due = warmup._start(["--due", "-"], stdin=warmup.subprocess.PIPE)
    warmup._waiting.append(due)
    other = warmup._start([])
    assert isinstance(due, warmup.Forked) and other.stdin is None
    assert _appears(tmp_path / "main", 5)
    session, output = (tmp_path / "main").read_text().split(" ", 1)
    assert session == "True" and output in ("/dev/null", "")
    assert not (tmp_path / "--due--").exists()  # still waiting for the gates
    with due.stdin:
        due.stdin.write(b"[1, 2]\n")
    assert _appears(tmp_path / "--due--", 5)  # before the other process's 8 s are over
    assert (tmp_path / "--due--").read_text() == "[1, 2]\n"


def test_a_process_forked_while_another_thread_compiles_can_compile(monkeypatch, tmp_path):
    """A thread of the command that holds Numba's compiler lock (compiling a kernel) when the background process is
    forked: _fork waits for it, so the forked process, whose only thread is the forking one, can take the compiler
    lock and engine.jit's (a fork in the middle would leave them held by a thread it does not have: a hang)."""
    import threading
    import time

    from numba.core.compiler_lock import global_compiler_lock

    from engine import jit

    def run(arguments):
        took = global_compiler_lock._lock.acquire(timeout=5) and jit.declared_lock().acquire(timeout=5)
        (tmp_path / "took.part").write_text(str(took))
        (tmp_path / "took.part").rename(tmp_path / "took")
    monkeypatch.setattr(warmup, "run", run)
    holding = threading.Event()

    def compiling():  # stands for another thread's compile
        with global_compiler_lock:
            holding.set()
            time.sleep(0.5)
    other = threading.Thread(target=compiling)
    other.start()
    holding.wait(5)
    warmup._start([])
    other.join()
    assert _appears(tmp_path / "took", 15)
    assert (tmp_path / "took").read_text() == "True"


def test_a_refused_fork_starts_a_new_interpreter_and_leaves_no_pipe_open(monkeypatch):
    import os

    def refused():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    started = []
    monkeypatch.setattr(warmup.os, "fork", refused)
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda command, **options: started.append(command) or "popen")
    before = sorted(os.listdir("/proc/self/fd"))
    assert warmup._start(["--due", "-"], stdin=warmup.subprocess.PIPE) == "popen"
    assert sorted(os.listdir("/proc/self/fd")) == before
    assert started == [[sys.executable, "-m", "payroll.warmup", "--due", "-"]]


class _Waiting:
    """A stand-in for the process compile_in_background starts, waiting for the gates on its standard input."""

    def __init__(self):
        self.stdin = self
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True


def test_the_entitlement_kernel_compiles_in_the_background_for_the_catalogue(monkeypatch):
    from engine import entitlement
    from formats.catalogue import load_catalogue

    started = []
    monkeypatch.setattr(warmup, "FORK", False)
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda args, **kwargs: started.append(args) or "process")
    monkeypatch.setattr(warmup, "_writable", lambda dispatcher: True)
    monkeypatch.setattr(warmup, "_due_started", [])
    monkeypatch.setattr(warmup, "_enabled", [])
    waiting = _Waiting()
    monkeypatch.setattr(warmup, "_waiting", [waiting])
    cached = set()
    monkeypatch.setattr(warmup.jit, "cached_for", lambda kernel, signature: signature in cached)
    me, ua = load_catalogue(country="me"), load_catalogue(country="ua")
    month = me.first_month()
    assert warmup.compile_due_in_background(me, month) is None  # not a command that compiles in the background
    assert waiting.written == b"" and not hasattr(waiting, "closed")
    monkeypatch.setattr(warmup, "_enabled", [True])
    assert warmup.compile_due_in_background(me, month) is waiting  # the waiting process gets the gates
    gates = json.loads(waiting.written)
    compiled = me.compile(month, month)
    assert (tuple(gates[0]), *gates[1:]) == entitlement.kind_gates(compiled.kind, compiled.prorate_days)
    assert waiting.closed and started == []
    assert warmup.compile_due_in_background(me, month) is None  # once per catalogue's gates
    assert warmup.compile_due_in_background(ua, month) == "process"  # another catalogue: a process of its own
    assert started == [[sys.executable, "-m", "payroll.warmup", "--due", warmup._due_started[-1]]]
    compiled = ua.compile(month, month)
    cached.add(entitlement.chunk_due_signature(entitlement.kind_gates(compiled.kind, compiled.prorate_days)))
    monkeypatch.setattr(warmup, "_due_started", [])
    other = _Waiting()
    monkeypatch.setattr(warmup, "_waiting", [other])
    assert warmup.compile_due_in_background(ua, month) is None  # cached: the waiting process gets nothing, ends
    assert other.written == b"" and other.closed and len(started) == 1


def test_the_background_process_compiles_the_gates_it_reads(monkeypatch):
    from engine import entitlement

    compiled = []
    monkeypatch.setattr(entitlement, "compile_chunk_kernel", compiled.append)
    gates = ((1, None, 1), None, 1, None)
    monkeypatch.setattr(warmup.sys, "stdin", io.StringIO(json.dumps(gates) + "\n"))
    assert warmup.compile_due("-")
    monkeypatch.setattr(warmup.sys, "stdin", io.StringIO(""))
    assert not warmup.compile_due("-")  # nothing written: nothing to compile
    assert warmup.compile_due(json.dumps(gates))
    assert compiled == [gates, gates]


def test_every_module_with_kernels_is_warmed_up():
    """A module whose kernels the warm-up does not know compiles them on a first run's critical path: every project
    module that defines a kernel (engine.jit's @kernel) is in ENGINE_MODULES."""
    import pathlib
    import re

    root = pathlib.Path(warmup.__file__).resolve().parent.parent
    defining = {".".join(path.relative_to(root).with_suffix("").parts)
                for folder in ("engine", "formats", "ledgers", "payroll", "bank_exports")
                for path in (root / folder).rglob("*.py")
                if re.search(r"^@kernel\b", path.read_text(encoding="utf-8"), re.MULTILINE)}
    assert "engine.sent_groups" in defining
    assert defining <= set(warmup.ENGINE_MODULES), sorted(defining - set(warmup.ENGINE_MODULES))
