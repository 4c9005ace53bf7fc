"""Synthetic register generation (synthetic.register.generate_register): households, persons, rights with
versions, payees with IBANs and addresses, deduction orders, all written as Parquet.

The normal test run uses a tiny size (benchmarks are disabled, each runs once); the goal is 100,000 rights
in well under 10 s, and 1,000,000 rights shows the per-chunk scaling towards national sizes:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_generator.py --benchmark-enable
"""
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from synthetic.next_month import advance_register
from synthetic.register import generate_register

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
SIZES = [100_000, 1_000_000] if FULL else [2_000]


@pytest.mark.parametrize("n_rights", SIZES)
def test_generate_register(benchmark, tmp_path, n_rights):
    rounds = 5 if n_rights <= 100_000 else 1
    summary = benchmark.pedantic(generate_register, args=(tmp_path, n_rights, 7, "2025-11", "me"),
                                 rounds=rounds, iterations=1)
    assert summary["rights"] == n_rights
    rights = pq.read_table(tmp_path / "rights.parquet", columns=["right_id"])
    assert len(pc.unique(rights["right_id"])) == n_rights


@pytest.mark.parametrize("n_rights", SIZES[:1])
def test_generate_ukrainian_register_with_its_fact_tables(benchmark, tmp_path, n_rights):
    """Ukraine in 2026-02: every issue-17 benefit in force, so the housing costs and maintenance titles are
    written beside the rights (the subsidy and the IDP allowance are most of its rights)."""
    summary = benchmark.pedantic(generate_register, args=(tmp_path, n_rights, 7, "2026-02", "ua"),
                                 rounds=3 if FULL else 1, iterations=1)
    assert summary["rights"] == n_rights
    assert summary["housing_costs"] == summary["rights_by_benefit"]["UA_SUBS"] > 0


@pytest.mark.parametrize("n_rights", SIZES[:1])
def test_advance_register(benchmark, tmp_path, n_rights):
    generate_register(tmp_path / "src", n_rights, 7, "2025-11", "me")
    summary = benchmark.pedantic(advance_register, args=(tmp_path / "src", tmp_path / "out", 8, "2025-12"),
                                 rounds=3 if FULL else 1, iterations=1)
    assert summary["new_rights"] > 0 and summary["period"] == "2025-12"
