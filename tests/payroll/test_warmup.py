"""The first-compile notice: shown exactly when a kernel has no valid on-disk cache."""
import importlib
import sys
from types import SimpleNamespace

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


def test_the_background_compile_starts_only_for_uncached_declared_kernels(monkeypatch):
    started = []
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda args, **kwargs: started.append(args) or "process")
    monkeypatch.setattr(warmup, "_started", [])
    monkeypatch.setattr(warmup, "_writable", lambda dispatcher: True)
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: [])
    assert warmup.compile_in_background() is None and started == []
    monkeypatch.setattr(warmup, "declared_to_compile", lambda: ["a kernel"])
    assert warmup.compile_in_background() == "process"
    assert started == [[sys.executable, "-m", "payroll.warmup"]]
    assert warmup.compile_in_background() is None and len(started) == 1  # once per process


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

    def __init__(self, module, name, compiled):
        self.py_func = SimpleNamespace(__module__=module, __name__=name)
        self.compiled = compiled

    def compile_declared(self):
        self.compiled.append(warmup.kernel_name(self))


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
    monkeypatch.setattr(warmup.os, "nice", niceness.append)
    warmup.main(7)
    assert compiled == ["engine.deductions.deduct_rights", "openssl_rows_ready",
                        "bank_exports.row_template.render_rows_kernel", "engine.register_columns.persons_kernel",
                        "engine.entitlement.fact_values_kernel"]
    assert niceness == [7]
