"""Ledger fixtures: a fresh ledger on each backend and a maker of realistic approve/export batches."""
import datetime as dt

import numpy as np
import pytest

from ledgers import PostingsBuilder, open_ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def ledger(ledger_url):
    book = open_ledger(ledger_url)
    book.init()
    yield book
    book.close()


def approve_batch(period: int, rights: int, seed: int = 0, arrears_months: int = 2):
    """Postings of an approved payroll: expense debit / payable credit per right and month, plus payments."""
    rng = np.random.default_rng(seed)
    right = np.arange(1, rights + 1, dtype=np.int64)
    payee = right + 1000
    builder = PostingsBuilder(period)
    due = rng.integers(1_000, 50_000, rights)
    refs = np.array([f"ISP-{period}-{seed}-{r}" for r in right])
    builder.add_transfer(("benefit_expense", 1 + right % 3), ("benefits_payable", payee), due, "due",
                         right_id=right, payee_id=payee, month=period, payment_ref=refs)
    paid = due.copy()
    for back in range(1, arrears_months + 1):
        arrears = rng.integers(0, 3, rights) * 1_000
        keep = arrears > 0
        builder.add_transfer(("benefit_expense", 1 + right[keep] % 3), ("benefits_payable", payee[keep]),
                             arrears[keep], "arrears", right_id=right[keep], payee_id=payee[keep],
                             month=period - back, payment_ref=refs[keep])
        paid += arrears
    payments = {"payment_ref": refs, "payee_id": payee, "amount_minor": paid}
    return builder, payments


def append_approve(book, period: int, rights: int, seed: int = 0, booked_on: dt.date | None = None):
    builder, payments = approve_batch(period, rights, seed)
    return book.append_batch("approve", f"PR-{period}-{seed}", builder, payments, booked_on=booked_on)


@pytest.fixture
def approve():
    """append_approve(book, period, rights, seed=0, booked_on=None) -> BatchRecord."""
    return append_approve


@pytest.fixture
def approve_arrays():
    """approve_batch(period, rights, seed=0) -> (PostingsBuilder, payments)."""
    return approve_batch
