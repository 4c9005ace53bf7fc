"""'Payment sent': the export batch debits the payable per payment and right and credits payments in transit per
channel; a ledger whose export was posted an earlier way (a credit per payment, or per payment and
right) exports again without posting anything and still verifies (reconcile reverses returned payments per right
from the payroll's lines, never from this batch)."""
import pytest
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


def test_debits_per_payment_and_right_and_transit_credited_per_channel(approved):  # noqa: F811
    cli, folder = approved
    db = f"sqlite:///{folder / 'isplata.db'}"
    manifest = cycle.export(db, PAYROLL, folder / "out")
    posted = export_batch(db)
    credits = np.isin(posted["account_kind"], TRANSIT)
    assert (posted["amount_minor"][credits] < 0).all() and (posted["amount_minor"][~credits] > 0).all()
    assert credits.sum() == len(np.unique(posted["account_kind"][credits]))  # one per channel (a small payroll)
    assert -posted["amount_minor"][credits].sum() == manifest["ctrl_sum_minor"]
    assert len(np.unique(posted["payment_ref"][~credits])) == manifest["payments"]
    assert (posted["right_id"][~credits] > 0).all() and (posted["right_id"][credits] == 0).all()


@pytest.mark.parametrize("scheme", ["export_postings_per_right", "export_postings_per_payment"])
def test_an_export_posted_by_an_earlier_scheme_is_found_done(approved, monkeypatch, scheme):  # noqa: F811
    cli, folder = approved
    db = f"sqlite:///{folder / 'isplata.db'}"
    sent_batch = payment_export.sent_batch
    monkeypatch.setattr(payment_export, "sent_batch",
                        lambda record, scheme=getattr(postings, scheme): sent_batch(record, scheme))
    first = cycle.export(db, PAYROLL, folder / "old")
    monkeypatch.undo()
    old = export_batch(db)
    credits = (old["amount_minor"] < 0).sum()
    assert first["new_postings"] and np.isin(old["account_kind"], TRANSIT).sum() == credits
    assert credits == ((old["amount_minor"] > 0).sum() if scheme.endswith("right") else first["payments"])
    again = cycle.export(db, PAYROLL, folder / "new")
    assert again["new_postings"] is False and again["manifest_sha256"] == first["manifest_sha256"]
    assert export_batch(db)["amount_minor"].shape == old["amount_minor"].shape  # nothing posted again
    ledger = open_db(db)
    try:
        assert verify(ledger).ok
    finally:
        ledger.close()
