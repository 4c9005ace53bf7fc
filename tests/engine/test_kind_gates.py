"""The entitlement kernel compiled for a catalogue's formula kinds (engine.entitlement.kind_gates): the gates follow
the catalogue, each catalogue gets its own specialisation in one process, and a kernel cut to the kinds of a
catalogue pays every cell exactly as the kernel with every formula does."""
import inspect

import numpy as np
import pytest

from engine import catalogue as cat
from engine import entitlement
from engine.entitlement import compute_due, kind_gates
from engine.months import parse_period
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.register import read_register
from synthetic.register import generate_register

PERIOD = "2025-12"
WINDOW = 14


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_gates_follow_the_catalogue(country):
    loaded = load_catalogue(country=country)
    period = parse_period(PERIOD)
    compiled = loaded.compile_window(period - WINDOW + 1, period)
    kinds, scheduled, rate_days, days = kind_gates(compiled.kind, compiled.prorate_days)
    used = {b.kind for b in loaded.benefits}
    assert {cat.KINDS[k] for k, gate in enumerate(kinds) if gate is not None} == used
    assert all(gate in (None, 1) for gate in kinds)
    assert (scheduled is not None) == bool(used & {"lump_sum_instalments", "one_off"})
    assert (rate_days is not None) == ("monthly_rate_times_days" in used)
    assert (days is not None) == bool(compiled.prorate_days.any())


def test_no_benefit_no_gate():
    kinds, scheduled, rate_days, days = kind_gates(np.zeros(0, np.int8), np.zeros(0, np.bool_))
    assert kinds == (None,) * len(cat.KINDS) and (scheduled, rate_days, days) == (None, None, None)


def cells_of(folder, loaded):
    period = parse_period(PERIOD)
    arrays = register_arrays(read_register(folder, loaded), loaded)
    cells = compute_due(arrays, loaded.compile_window(period - WINDOW + 1, period), period, period - WINDOW + 1)
    return np.column_stack([cells.right_index, cells.month, cells.due_minor, cells.rule_missing, cells.reason])


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_compute_due_calls_the_specialisation_compiled_in_the_background(tmp_path, country):
    """payroll.warmup compiles chunk_due_signature(gates) for the command's catalogue before the command needs it:
    compute_due must call exactly that specialisation, or the command would compile another one itself."""
    loaded = load_catalogue(country=country)
    generate_register(tmp_path / country, 200, 5, PERIOD, country)
    before = set(entitlement.chunk_due_kernel.signatures)
    cells_of(tmp_path / country, loaded)
    compiled = loaded.compile(loaded.first_month(), loaded.first_month())  # as payroll.warmup reads the gates
    expected = entitlement.chunk_due_signature(kind_gates(compiled.kind, compiled.prorate_days))
    assert expected in entitlement.chunk_due_kernel.signatures
    assert set(entitlement.chunk_due_kernel.signatures) - before <= {expected}


def test_the_specialisation_is_looked_up_once_per_catalogue(tmp_path, monkeypatch):
    """Typing the kernel's arguments to find its specialisation costs about a millisecond: due_kernel does it on
    the first call with a catalogue's gates only, later calls go straight to the kernel."""
    loaded = load_catalogue(country="me")
    generate_register(tmp_path / "me", 200, 5, PERIOD, "me")
    calls = []
    monkeypatch.setattr(entitlement, "_GATES_LOADED", set())
    monkeypatch.setattr(entitlement.jit, "compile_for_arguments", lambda kernel, arguments: calls.append(kernel))
    first = cells_of(tmp_path / "me", loaded)
    assert np.array_equal(cells_of(tmp_path / "me", loaded), first)
    assert calls == [entitlement.chunk_due_kernel]


def test_cut_kernels_pay_as_the_whole_kernel(tmp_path, monkeypatch):
    """Two catalogues in one process (ME, UA, ME again): each call runs its own specialisation, and every cell
    equals the kernel compiled with every formula kind on."""
    registers = {}
    for country in ("me", "ua"):
        generate_register(tmp_path / country, 300, 5, PERIOD, country)
        registers[country] = (tmp_path / country, load_catalogue(country=country))
    cut = {country: cells_of(*registers[country]) for country in ("me", "ua")}
    assert np.array_equal(cells_of(*registers["me"]), cut["me"])
    kinds_at = list(inspect.signature(entitlement.chunk_due_kernel.py_func).parameters).index("kinds")
    gate_types = {str(sig[kinds_at]) for sig in entitlement.chunk_due_kernel.signatures}
    assert len(gate_types) >= 2, gate_types  # one specialisation per catalogue's kinds
    monkeypatch.setattr(entitlement, "kind_gates",
                        lambda kind, prorate_days: ((1,) * len(cat.KINDS), 1, 1, 1))  # every formula compiled in
    for country in ("me", "ua"):
        whole = cells_of(*registers[country])
        assert np.array_equal(whole, cut[country]), country
        assert whole[:, 2].sum() > 0
