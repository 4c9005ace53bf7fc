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


def binfo_of(compiled) -> np.ndarray:
    return np.column_stack([compiled.settings, compiled.kind, compiled.prorate_days]).astype(np.int32)


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_gates_follow_the_catalogue(country):
    loaded = load_catalogue(country=country)
    period = parse_period(PERIOD)
    compiled = loaded.compile_window(period - WINDOW + 1, period)
    kinds, scheduled, rate_days, days = kind_gates(binfo_of(compiled))
    used = {b.kind for b in loaded.benefits}
    assert {cat.KINDS[k] for k, gate in enumerate(kinds) if gate is not None} == used
    assert all(gate in (None, 1) for gate in kinds)
    assert (scheduled is not None) == bool(used & {"lump_sum_instalments", "one_off"})
    assert (rate_days is not None) == ("monthly_rate_times_days" in used)
    assert (days is not None) == bool(compiled.prorate_days.any())


def test_no_benefit_no_gate():
    kinds, scheduled, rate_days, days = kind_gates(np.zeros((0, entitlement.B_PRORATE + 1), dtype=np.int32))
    assert kinds == (None,) * len(cat.KINDS) and (scheduled, rate_days, days) == (None, None, None)


def cells_of(folder, loaded):
    period = parse_period(PERIOD)
    arrays = register_arrays(read_register(folder, loaded), loaded)
    cells = compute_due(arrays, loaded.compile_window(period - WINDOW + 1, period), period, period - WINDOW + 1)
    return np.column_stack([cells.right_index, cells.month, cells.due_minor, cells.rule_missing, cells.reason])


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
                        lambda binfo: ((1,) * len(cat.KINDS), 1, 1, 1))  # every formula compiled in
    for country in ("me", "ua"):
        whole = cells_of(*registers[country])
        assert np.array_equal(whole, cut[country]), country
        assert whole[:, 2].sum() > 0
