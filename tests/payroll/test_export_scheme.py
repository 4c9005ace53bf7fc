"""'Payment sent' once per payment: the export batch credits payments in transit once per payment; a ledger whose
export was posted the earlier way (a credit per payment and right) exports again without posting anything and
still verifies (reconcile reverses returned payments per right from the payroll's lines, never from this batch)."""
import numpy as np

from acceptance.test_contracts import PAYROLL
from ledgers.schema import ACCOUNT
from ledgers.verify import verify
from payroll import cycle, payment_export, postings, store
from payroll.session import open_db
from tests.payroll.test_export_dates import approved  # noqa: F401 (fixture)

TRANSIT = (ACCOUNT["in_transit_bank"], ACCOUNT["in_transit_post"])


def export_batch(db: str) -> dict:
    ledger = open_db(db)
    try:
        batch = ledger.find_batch("export", PAYROLL)
        return ledger.read_postings(batch.first_posting, batch.n_postings)
    finally:
        ledger.close()


def test_one_transit_credit_per_payment(approved):  # noqa: F811
    cli, folder = approved
    db = f"sqlite:///{folder / 'isplata.db'}"
    manifest = cycle.export(db, PAYROLL, folder / "out")
    posted = export_batch(db)
    credits = np.isin(posted["account_kind"], TRANSIT)
    assert credits.sum() == manifest["payments"] and (posted["amount_minor"][credits] < 0).all()
    assert -posted["amount_minor"][credits].sum() == manifest["ctrl_sum_minor"]
    assert (posted["right_id"][~credits] > 0).all() and (posted["right_id"][credits] == 0).all()


def test_an_export_posted_per_payment_and_right_is_found_done(approved, monkeypatch):  # noqa: F811
    cli, folder = approved
    db = f"sqlite:///{folder / 'isplata.db'}"
    sent_batch = payment_export.sent_batch
    monkeypatch.setattr(payment_export, "sent_batch",
                        lambda record, scheme=None: sent_batch(record, postings.export_postings_per_right))
    first = cycle.export(db, PAYROLL, folder / "old")
    monkeypatch.undo()
    old = export_batch(db)
    assert first["new_postings"] and np.isin(old["account_kind"], TRANSIT).sum() == (old["amount_minor"] > 0).sum()
    again = cycle.export(db, PAYROLL, folder / "new")
    assert again["new_postings"] is False and again["manifest_sha256"] == first["manifest_sha256"]
    ledger = open_db(db)
    try:
        assert verify(ledger).ok
    finally:
        ledger.close()
