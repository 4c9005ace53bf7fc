"""Recompute the whole hash chain from the first batch and name the first batch that does not add up.

Every batch is checked in order: ids and posting ranges contiguous, the previous hash, its postings read back in
bulk and re-hashed (an edited, deleted, inserted or swapped posting changes the digest or the count), its
payments' Merkle root, the zero sum, and finally its own hash. Optionally the recomputed chain must pass
through a digest the auditor saved earlier, which catches a dropped last batch or a consistent rewrite.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from ledgers.bulk import CorruptColumns
from ledgers.canonical import GENESIS_HASH, batch_hash, merkle_root, postings_sha256
from ledgers.store import BatchRecord, Ledger, projection_of


@dataclass
class VerifyResult:
    ok: bool
    batches: int
    postings: int
    digest: str
    first_bad_batch: int | None
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def verify(ledger: Ledger, digest: str | None = None) -> VerifyResult:
    """Recompute every batch hash; ok only if all match (and the chain reaches `digest` when given).

    A batch's payments (read and Merkle tree) are checked on a second thread while its postings are read and
    hashed, and the table counts for the stray-row check run alongside: the database and the hashing work at
    the same time instead of one after the other.
    """
    batches = ledger.batches()
    prev, expected_first, seen = GENESIS_HASH, 1, [GENESIS_HASH]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = pool.submit(_table_counts, ledger)
        for index, batch in enumerate(batches, start=1):
            reason, computed = _check_batch(ledger, pool, batch, index, prev, expected_first)
            if reason:
                return VerifyResult(False, len(batches), expected_first - 1, prev, batch.batch_id, reason)
            prev, expected_first = computed, expected_first + batch.n_postings
            seen.append(computed)
        postings = expected_first - 1
        stray = _stray_rows(counts.result(), postings, sum(batch.n_payments for batch in batches), len(batches))
    if stray:
        return VerifyResult(False, len(batches), postings, prev, len(batches) + 1, stray)
    if digest is not None and digest.lower() not in seen:
        reason = (f"the chain ends at batch {len(batches)} (hash {prev}) and never reaches the saved digest "
                  f"{digest}: batches after it were removed or the ledger was rewritten")
        return VerifyResult(False, len(batches), postings, prev, len(batches) + 1, reason)
    return VerifyResult(True, len(batches), postings, prev, None, "")


def _check_batch(ledger: Ledger, pool, batch: BatchRecord, index: int, prev: str, first: int) -> tuple[str, str]:
    if batch.batch_id != index:
        return f"batch ids are not contiguous: expected {index}, found {batch.batch_id}", ""
    if batch.first_posting != first:
        return f"posting range starts at {batch.first_posting}, expected {first}", ""
    if batch.prev_hash != prev:
        return "previous-hash link does not match the recomputed previous batch", ""
    payments = pool.submit(_unreadable_as_reason, _check_payments, ledger, batch)
    reason = _unreadable_as_reason(_check_postings, ledger, batch) or payments.result()
    if reason:
        return reason, ""
    computed = batch_hash(prev, batch.header(), batch.postings_sha256, batch.merkle_root)
    if computed != batch.hash:
        return "batch header (kind, source, dates, counts or hash) was changed", ""
    return "", computed


def _check_postings(ledger: Ledger, batch: BatchRecord) -> str:
    columns = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
    count = len(columns["posting_id"])
    if count != batch.n_postings:
        return f"{batch.n_postings} postings expected, {count} found (postings deleted or inserted)"
    expected_ids = np.arange(batch.first_posting, batch.first_posting + count)
    if not np.array_equal(columns["posting_id"], expected_ids):
        return "posting ids are duplicated or missing"
    if not np.all(columns["batch_id"] == batch.batch_id):
        return "a posting was moved to another batch"
    if postings_sha256(columns) != batch.postings_sha256:
        return "postings differ from their hash (an amount, account, right, payee, month or order was changed)"
    amount = columns["amount_minor"]
    if int(amount.sum()) != 0 or int(amount[amount > 0].sum()) != batch.debit_minor:
        return "postings do not sum to zero"
    return _check_projection(ledger, batch, columns)


def _check_projection(ledger: Ledger, batch: BatchRecord, columns: dict) -> str:
    stored = ledger.read_expense_columns(batch.batch_id)
    expected = projection_of(columns["account_kind"], columns["right_id"], columns["month"], columns["amount_minor"])
    if stored is None or stored[1] != len(expected[0]) or stored[0] != tuple(c.tobytes() for c in expected):
        return "the expense columns that recognised() reads differ from the batch's postings"
    return ""


def _check_payments(ledger: Ledger, batch: BatchRecord) -> str:
    payments = ledger.read_payments(batch.batch_id)
    count = len(payments["leaf"])
    if count != batch.n_payments or not np.array_equal(payments["leaf"], np.arange(count)):
        return f"{batch.n_payments} payments expected, {count} found (payments deleted or inserted)"
    root = merkle_root(payments["payment_ref"], payments["payee_id"], payments["amount_minor"])
    if root != batch.merkle_root:
        return "payments differ from their Merkle root"
    return ""


def _unreadable_as_reason(check, ledger: Ledger, batch: BatchRecord) -> str:
    try:
        return check(ledger, batch)
    except CorruptColumns as exc:
        return f"stored values unreadable: {exc}"


def _table_counts(ledger: Ledger) -> tuple[int, int, int]:
    with ledger._reading() as raw:
        return tuple(raw.execute("SELECT (SELECT count(*) FROM ledger_postings), (SELECT count(*) FROM "
                                 "ledger_payments), (SELECT count(*) FROM ledger_expense_columns)").fetchone())


def _stray_rows(counts: tuple[int, int, int], postings: int, payments: int, batches: int) -> str:
    stored_postings, stored_payments, projections = counts
    if stored_postings != postings:
        return f"{stored_postings - postings} posting(s) outside every batch's range"
    if stored_payments != payments:
        return f"{stored_payments - payments} payment(s) outside every batch"
    if projections != batches:
        return f"{projections - batches} expense column row(s) outside every batch"
    return ""
