"""Register validation (formats.register.read_register): read five Parquet files, conform them to the schemas
and check every rule, on a synthetic register. The goal is about a second for 100,000 rights (~250,000
persons); 1,000,000 rights shows the scaling. The normal test run uses a tiny size, once:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_register.py --benchmark-enable
"""
import os

import pytest

from formats.catalogue import load_catalogue
from formats.generator import generate_register
from formats.register import read_register

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
SIZES = [100_000, 1_000_000] if FULL else [2_000]


@pytest.mark.parametrize("n_rights", SIZES)
def test_read_register(benchmark, tmp_path, n_rights):
    generate_register(tmp_path, n_rights, 7, "2025-11", "me")
    catalogue = load_catalogue()
    register = benchmark.pedantic(read_register, args=(tmp_path, catalogue), rounds=5 if FULL else 1,
                                  iterations=1, warmup_rounds=1 if FULL else 0)
    assert len(register["rights"].column("right_id").unique()) == n_rights
