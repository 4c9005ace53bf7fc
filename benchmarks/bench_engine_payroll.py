"""Deductions + netting + conservation check of one payroll (engine.payroll_kernel.compute_payroll).

Workload: N rights, about 0.9 rights per payee (some payees hold two rights), 70 % bank / 30 % post, 3 % of
the rights with deduction orders of every kind (1-4 orders each, fixed or percentage, some with balances that
run out), 1 % with a receivable, 20 % protected, minimums and carry-ins on a few, 0.5 % re-issue lines.
The normal test run uses a tiny size (benchmarks are disabled, each runs once); the goals are 100,000 rights
<= 15 ms warm and 10,000,000 rights <= 2 s:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_engine_payroll.py --benchmark-enable
"""
import os

import numpy as np
import pytest

from engine.deductions import DeductionCaps
from engine.payroll_kernel import compute_payroll

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
SIZES = [100_000, 10_000_000] if FULL else [2_000]
CREDITORS = 1_000


def make_payroll(n_rights: int, seed: int = 7) -> dict:
    """Keyword arguments of compute_payroll for a synthetic payroll of n_rights rights."""
    rng = np.random.default_rng(seed)
    n_people = max(1, int(n_rights * 0.9))
    payee = np.sort(rng.integers(0, n_people, n_rights)).astype(np.int64)
    n_payees = n_people + CREDITORS
    channel = (rng.random(n_people) < 0.3).astype(np.int64)[payee]  # a payee keeps one channel
    gross = rng.integers(2_000, 60_000, n_rights).astype(np.int64)
    gross[rng.random(n_rights) < 0.02] = 0
    with_orders = np.flatnonzero(rng.random(n_rights) < 0.03)
    per_right = rng.integers(1, 5, with_orders.shape[0])
    order_right = np.repeat(with_orders, per_right).astype(np.int64)
    m = order_right.shape[0]
    kind = rng.integers(1, 5, m).astype(np.int64)
    percent = np.where(rng.random(m) < 0.5, rng.integers(500, 5_001, m), -1).astype(np.int64)
    fixed = np.where(percent < 0, rng.integers(500, 20_000, m), -1).astype(np.int64)
    remaining = np.where(rng.random(m) < 0.6, rng.integers(0, 200_000, m), -1).astype(np.int64)
    creditor = np.where(kind == 3, -1, n_people + rng.integers(0, CREDITORS, m)).astype(np.int64)
    n_extra = n_rights // 200
    return dict(
        gross_minor=gross,
        carry_in_minor=np.where(rng.random(n_rights) < 0.01, rng.integers(1, 600, n_rights), 0).astype(np.int64),
        recovery_receivable_minor=np.where(rng.random(n_rights) < 0.01, rng.integers(1, 90_000, n_rights), 0),
        consent_full_recovery=rng.random(n_rights) < 0.002, protected=rng.random(n_rights) < 0.2,
        right_payee=payee, right_channel=channel,
        minimum_payable_minor=np.where(rng.random(n_rights) < 0.5, 600, 0).astype(np.int64),
        carry_below_minimum=rng.random(n_rights) < 0.5,
        order_right=order_right, order_kind=kind, order_priority=kind.copy(), order_fixed_minor=fixed,
        order_percent_bp=percent, order_remaining_minor=remaining, order_active=rng.random(m) < 0.95,
        order_creditor_payee=creditor, order_creditor_channel=np.zeros(m, dtype=np.int64),
        n_payees=n_payees, n_channels=2, caps=DeductionCaps(),
        extra_payee=rng.integers(0, n_people, n_extra).astype(np.int64),
        extra_channel=np.zeros(n_extra, dtype=np.int64),
        extra_amount_minor=rng.integers(1_000, 30_000, n_extra).astype(np.int64))


@pytest.mark.parametrize("n_rights", SIZES)
def test_bench_deductions_and_netting(benchmark, n_rights):
    payroll = make_payroll(n_rights)
    compute_payroll(**payroll)  # warm: kernels compiled or loaded from the cache
    result = benchmark(compute_payroll, **payroll)
    totals = result.totals_minor
    assert totals["forwarded"] == totals["alimony"] + totals["damages"] + totals["enforcement"] > 0
    assert result.netting.payment_net_minor.shape[0] > n_rights // 2
