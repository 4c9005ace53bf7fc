"""Reconciliation acts on the reason: MD07 holds the right and asks the register to record the death; AC04
holds the payee's bank channel (re-issue by post where possible, else held); others re-issue next payroll."""
import csv
import datetime as dt

import pyarrow.compute as pc
import pytest

from payroll import cycle, reconcile, session, store
from payroll.errors import Refused, UserError
from synthetic.bank_returns import BankReport, write_camt054
from synthetic.register import generate_register

PERIOD = "2025-01"


@pytest.fixture
def exported(tmp_path):
    generate_register(tmp_path / "reg", 500, 21, PERIOD)
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    summary = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", store_dir=tmp_path / "store")
    cycle.approve(db, summary["payroll"], "marko")
    cycle.export(db, summary["payroll"], tmp_path / "out")
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    return db, record, tmp_path


def returns_file(path, payments, reasons):
    write_camt054(path, {"end_to_end_id": payments.column("end_to_end_id"),
                         "amount_minor": payments.column("amount_minor"), "reason_code": reasons},
                  BankReport("BANK-RET-1", dt.datetime(2025, 2, 15, 18), "ME25907000000000045322", "EUR"),
                  dt.date(2025, 2, 15))


def test_reasons_hold_and_reissue(exported):
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 3)
    returns_file(tmp_path / "ret.xml", bank, ["MD07", "AC04", "MS03"])
    result = reconcile.reconcile(db, [tmp_path / "ret.xml"])
    assert result["matched"] == 3 and result["returned_minor"] == pc.sum(bank.column("amount_minor")).as_py()
    with open(result["register_out"], newline="") as handle:
        actions = {row["action"]: row for row in csv.DictReader(handle)}
    assert actions["record_death"]["payment_ref"] == bank.column("end_to_end_id")[0].as_py()
    assert actions["record_death"]["person_id"] not in ("", None)
    assert actions["new_account_needed"]["iban"] == bank.column("iban")[1].as_py()
    with cycle.open_db(db).engine.connect() as conn:
        holds = store.read_holds(conn)
    assert sorted(set(holds.column("kind").to_pylist())) == ["bank_channel", "right"]

    again = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", store_dir=tmp_path / "store")
    with cycle.open_db(db).engine.connect() as conn:
        lines = store.read_lines(store.get_payroll(conn, again["payroll"]))
    reissued = lines.filter(pc.equal(lines.column("component"), "reissue"))
    payees = bank.column("payee_id").to_pylist()
    paid_again = dict(zip(reissued.column("payee_id").to_pylist(), reissued.column("channel").to_pylist()))
    assert paid_again.get(payees[2]) == "bank"            # MS03: paid again the same way
    assert paid_again.get(payees[1]) in (None, "post")    # AC04: by post where possible, else held
    death = reissued.filter(pc.equal(reissued.column("payee_id"), payees[0]))
    assert pc.all(pc.is_null(death.column("payment_ref"))).as_py() is not False  # MD07: never paid again
    assert again["totals_minor"]["reissue"] >= bank.column("amount_minor")[2].as_py()


def test_group_reject_expands_to_every_payment_of_the_message(exported):
    from synthetic.bank_returns import write_pain002

    db, record, tmp_path = exported
    assignments = session.read_assignments(db, record)
    msg_id = assignments.column("msg_id")[0].as_py()
    of_message = assignments.filter(pc.equal(assignments.column("msg_id"), msg_id))
    path = tmp_path / "am10.xml"
    write_pain002(path, BankReport("BANK-STS-1", dt.datetime(2025, 2, 14, 9), "ME25907000000000045322", "EUR"),
                  msg_id, group_reason="AM10", group_text="control sum mismatch")
    result = reconcile.reconcile(db, [path])
    assert result["matched"] == of_message.num_rows and result["unmatched"] == 0
    assert result["rejected_minor"] == pc.sum(of_message.column("amount_minor")).as_py()
    assert reconcile.reconcile(db, [path])["already_seen"] == result["records"]


def test_released_md07_hold_pays_the_right_again(exported):
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 1)
    returns_file(tmp_path / "ret.xml", bank, ["MD07"])
    reconcile.reconcile(db, [tmp_path / "ret.xml"])
    (hold,) = reconcile.list_holds(db)
    assert hold["kind"] == "right" and hold["reason_code"] == "MD07"

    held = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", store_dir=tmp_path / "store")
    with pytest.raises(Refused):
        reconcile.release_hold(db, hold["hold_id"], "marko", " ")
    with pytest.raises(UserError, match="no hold 999"):
        reconcile.release_hold(db, 999, "marko", "withdrawn")
    released = reconcile.release_hold(db, hold["hold_id"], "marko", "death report withdrawn")
    assert released["released"] and reconcile.list_holds(db) == []
    assert [h["released"] for h in reconcile.list_holds(db, released=True)] == [True]
    with pytest.raises(UserError, match="already released"):
        reconcile.release_hold(db, hold["hold_id"], "marko", "again")
    with cycle.open_db(db).engine.connect() as conn:
        assert store.read_holds(conn, mark=held_mark(conn, held["payroll"])).num_rows == 1  # what `held` saw
    ledger = cycle.open_db(db)
    assert ledger.events(subject=f"hold:{hold['hold_id']}", kind="hold_released")[0]["payload"]["by"] == "marko"
    ledger.close()

    paid = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", store_dir=tmp_path / "store")
    assert paid["totals_minor"]["reissue"] - held["totals_minor"]["reissue"] == bank.column("amount_minor")[0].as_py()
    assert reconcile.reconcile(db, [tmp_path / "ret.xml"])["already_seen"] == 1
    assert reconcile.list_holds(db) == []  # the same file again does not put the hold back


def held_mark(conn, payroll_id):
    return store.get_payroll(conn, payroll_id).hold_mark


def test_assignments_are_read_only_with_the_sha256_export_recorded(exported):
    """payroll.store owns the assignments: export records their SHA-256 in the `exported` event, and reconcile's
    read (expanding a whole-file reject) refuses a file altered since."""
    from synthetic.bank_returns import write_pain002

    db, record, tmp_path = exported
    assignments = session.read_assignments(db, record)
    with cycle.open_db(db).engine.connect() as conn:
        recorded = store.assignments_sha256(conn, record.payroll_id)
    assert recorded == store.sha256_file(record.path(store.ASSIGNMENTS_FILE))
    report = BankReport("BANK-STS-2", dt.datetime(2025, 2, 10, 9), "ME25907000000000045322", "EUR")
    write_pain002(tmp_path / "am10.xml", report, assignments.column("msg_id")[0].as_py(), None, group_reason="AM10")
    store.write_table(assignments.slice(1), record.path(store.ASSIGNMENTS_FILE))  # one payment dropped from the file
    with pytest.raises(Refused, match="no longer has the SHA-256"):
        session.read_assignments(db, record)
    with pytest.raises(Refused, match="no longer has the SHA-256"):
        reconcile.reconcile(db, [tmp_path / "am10.xml"])


def in_transit_by_payee(db: str, payee_ids) -> dict:
    from payroll import queries

    found = {}
    for payee in payee_ids:
        rows = queries.balances(db, payee_id=payee)["balances"]
        found[payee] = sum(row["balance_minor"] for row in rows if row["account"].startswith("in_transit"))
    return found


@pytest.mark.parametrize("scheme, backend", [("export_postings", "sqlite"), ("export_postings", "postgresql"),
                                             ("export_postings_per_payment", "sqlite"),
                                             ("export_postings_per_right", "sqlite")])
def test_a_rejection_debits_in_transit_as_export_credited_it(tmp_path, monkeypatch, request, scheme, backend):
    """Export credits payments in transit per channel (right and payee 0) or, in earlier schemes, per payment
    (the payee) or per payment and right: a rejection's debit names the same, so the payee's view of in transit
    is zero after a rejection in every scheme and the channel's in transit holds only what is still out."""
    from payroll import payment_export, postings
    from synthetic.bank_returns import write_pain002

    generate_register(tmp_path / "reg", 300, 22, PERIOD)
    db = (f"sqlite:///{tmp_path / 'ledger.db'}" if backend == "sqlite"
          else request.getfixturevalue("pg_schema_url"))
    cycle.open_db(db, create=True).close()
    summary = cycle.calculate(db, tmp_path / "reg", PERIOD, "ana", store_dir=tmp_path / "store")
    cycle.approve(db, summary["payroll"], "marko")
    sent_batch = payment_export.sent_batch
    monkeypatch.setattr(payment_export, "sent_batch",
                        lambda record, scheme=getattr(postings, scheme): sent_batch(record, scheme))
    cycle.export(db, summary["payroll"], tmp_path / "out")
    monkeypatch.setattr(payment_export, "sent_batch", sent_batch)
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    assignments = session.read_assignments(db, record)
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 2)
    rejected = assignments.filter(pc.is_in(assignments.column("end_to_end_id"),
                                           value_set=bank.column("end_to_end_id")))
    path = tmp_path / "rjct.xml"
    write_pain002(path, BankReport("BANK-STS-2", dt.datetime(2025, 2, 14, 9), "ME25907000000000045322", "EUR"),
                  rejected.column("msg_id")[0].as_py(),
                  {"end_to_end_id": rejected.column("end_to_end_id"), "amount_minor": rejected.column("amount_minor"),
                   "reason_code": ["AC04"] * rejected.num_rows, "pmt_inf_id": rejected.column("pmt_inf_id")})
    result = reconcile.reconcile(db, [path], out_dir=tmp_path)
    assert result["rejected_minor"] == pc.sum(bank.column("amount_minor")).as_py()
    payees = bank.column("payee_id").to_pylist()
    assert in_transit_by_payee(db, payees) == {payee: 0 for payee in payees}
    from payroll import queries
    transit = sum(row["balance_minor"] for row in queries.balances(db, account="in_transit_bank")["balances"])
    bank_total = pc.sum(payments.filter(pc.equal(payments.column("channel"), "bank")).column("amount_minor")).as_py()
    assert -transit == bank_total - result["rejected_minor"]
