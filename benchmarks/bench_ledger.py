"""Ledger speed: append one hash-chained batch, verify the chain, read recognised amounts, on SQLite and PostgreSQL.

Workload: an approved payroll of N postings (N/2 rights, benefit expense debit + benefits payable credit each,
one right in ten paying arrears of an earlier month, realistic ids and EndToEndIds) with N/10 payments in its
Merkle tree. Append is timed from numpy arrays to
commit (validation, Merkle tree, hashing, COPY / executemany); verify recomputes the whole chain from the
database; recognised reads 100k rights x 24 months (2.4M expense postings) back as arrays. The normal test run
uses tiny sizes (benchmarks disabled, each runs once); full sizes and goals (append PG >= 600k postings/s,
SQLite >= 400k/s, verify >= 1M/s, recognised well under 1 s):

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_ledger.py --benchmark-enable
    ISPLATA_BENCH_ROWS=10000000 .venv/bin/python -m pytest benchmarks/bench_ledger.py --benchmark-enable  # 1e5 .. 1e7
"""
import itertools
import os
import uuid

import numpy as np
import pytest

from benchmarks.harness import bench_size
from ledgers import ACCOUNT, COMPONENT, open_ledger
from ledgers.verify import verify

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
POSTINGS = bench_size(1_000_000, 20_000)
RECOGNISED_RIGHTS, RECOGNISED_MONTHS = (100_000, 24) if FULL else (2_000, 24)
ROUNDS = 5 if FULL else 1
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def payroll_postings(count: int, period: int = 660, seed: int = 3) -> tuple[dict, dict]:
    """count postings (count/2 rights: expense debit, payable credit) and count/10 payments."""
    rng = np.random.default_rng(seed)
    rights = count // 2
    right = np.arange(1, rights + 1, dtype=np.int64)
    payee = 1_000_000 + right // 2  # two rights per payee, as in families with two benefits
    due = rng.integers(1_000, 60_000, rights)
    refs = np.char.add(f"ISP-{period}-", np.char.zfill((payee - 1_000_000).astype(str), 9))
    arrears = right % 10 == 0  # one line in ten pays arrears of one of the three previous months
    month = np.where(arrears, period - 1 - right % 3, period).astype(np.int32)
    component = np.where(arrears, COMPONENT["arrears"], COMPONENT["due"]).astype(np.int16)
    postings = {
        "account_kind": np.repeat(np.array([ACCOUNT["benefit_expense"], ACCOUNT["benefits_payable"]]), rights),
        "account_key": np.concatenate([right % 30 + 1, payee]),
        "right_id": np.tile(right, 2), "payee_id": np.tile(payee, 2),
        "month": np.tile(month, 2), "component": np.tile(component, 2),
        "amount_minor": np.concatenate([due, -due]), "payment_ref": np.tile(refs, 2),
    }
    n_payments = count // 10
    payments = {"payment_ref": np.char.add(f"PAY-{period}-", np.arange(n_payments).astype(str)),
                "payee_id": 1_000_000 + np.arange(n_payments, dtype=np.int64),
                "amount_minor": rng.integers(1_000, 60_000, n_payments)}
    return postings, payments


def recognised_postings(rights: int, months: int) -> list[tuple[int, dict]]:
    """One approve batch per month: one expense and one payable posting per right."""
    batches = []
    right = np.arange(1, rights + 1, dtype=np.int64)
    for month in range(636, 636 + months):
        amount = (right % 97 + 1) * 100
        batches.append((month, {
            "account_kind": np.repeat(np.array([ACCOUNT["benefit_expense"], ACCOUNT["benefits_payable"]]), rights),
            "account_key": np.concatenate([np.ones(rights, np.int64), right]), "right_id": np.tile(right, 2),
            "payee_id": np.tile(right, 2), "month": np.full(2 * rights, month, np.int32),
            "component": np.full(2 * rights, COMPONENT["due"], np.int16),
            "amount_minor": np.concatenate([amount, -amount])}))
    return batches


@pytest.fixture
def pg_url():
    import psycopg

    base = os.environ.get("ISPLATA_TEST_PG", PG_DEFAULT)
    try:
        psycopg.connect(base, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    ledger = open_ledger(url)
    ledger.init()
    yield ledger
    ledger.close()


def _report(benchmark, count: int, unit: str) -> None:
    if benchmark.stats is not None:
        benchmark.extra_info[f"{unit}_per_s_median"] = round(count / benchmark.stats.stats.median)


def test_append_batch(benchmark, book):
    postings, payments = payroll_postings(POSTINGS)
    sources = (f"PR-{index}" for index in itertools.count())

    def append():
        record = book.append_batch("approve", next(sources), postings, payments, period=660)
        assert record.created and record.n_postings == POSTINGS

    benchmark.pedantic(append, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    _report(benchmark, POSTINGS, "postings")


def test_verify(benchmark, book):
    postings, payments = payroll_postings(POSTINGS)
    book.append_batch("approve", "PR-verify", postings, payments, period=660)

    def check():
        result = verify(book)
        assert result.ok and result.postings == POSTINGS

    benchmark.pedantic(check, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    _report(benchmark, POSTINGS, "postings")


def test_recognised(benchmark, book):
    for month, postings in recognised_postings(RECOGNISED_RIGHTS, RECOGNISED_MONTHS):
        book.append_batch("approve", f"PR-{month}", postings, period=month)

    def read():
        right, month, amount = book.recognised()
        assert right.shape[0] == RECOGNISED_RIGHTS * RECOGNISED_MONTHS and int(amount.min()) > 0

    benchmark.pedantic(read, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    _report(benchmark, RECOGNISED_RIGHTS * RECOGNISED_MONTHS, "cells")
