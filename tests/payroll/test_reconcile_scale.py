"""Reconciliation's column-wise paths: postings built for many records at once equal the export groups of each
payment; batch debits by MsgId and PmtInfId are checked against the export's file and block totals; a payment
reversed by an earlier file is already seen in a later one; postal payments reported paid settle one by one; a
right with several versions of the register names its beneficiary from its last row."""
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ledgers.schema import ACCOUNT, COMPONENT
from payroll import cycle, reconcile, session, store
from synthetic.bank_returns import BankReport, Settlement, write_camt053, write_camt054, write_pain002
from synthetic.register import generate_register

PERIOD = "2025-01"
REPORT = lambda msg: BankReport(msg, dt.datetime(2025, 2, 15, 18), "ME25907000000000045322", "EUR")  # noqa: E731


@pytest.fixture(scope="module")
def exported_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    generate_register(root / "reg", 600, 23, PERIOD)
    db_path = root / "ledger.db"
    db = f"sqlite:///{db_path}"
    cycle.open_db(db, create=True).close()
    summary = cycle.calculate(db, root / "reg", PERIOD, "ana", store_dir=root / "store")
    cycle.approve(db, summary["payroll"], "marko")
    cycle.export(db, summary["payroll"], root / "out")
    return root, db_path, summary["payroll"]


@pytest.fixture
def exported(exported_once, tmp_path):
    """A private copy of the exported ledger (the payroll store is only read)."""
    root, db_path, payroll = exported_once
    copy = tmp_path / "ledger.db"
    copy.write_bytes(db_path.read_bytes())
    db = f"sqlite:///{copy}"
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, payroll)
    return db, record, tmp_path


def reconcile_postings(db) -> dict:
    ledger = cycle.open_db(db)
    try:
        batches = [b for b in ledger.batches() if b.kind == "reconcile"]
        parts = [ledger.read_postings(b.first_posting, b.n_postings, b.batch_id) for b in batches]
    finally:
        ledger.close()
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]} if parts else {}


def test_many_returns_reverse_exactly_each_payments_export_groups(exported):
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank"))
    chosen = bank.take(pa.array(np.arange(0, bank.num_rows, 3)))
    write_camt054(tmp_path / "many.xml", {"end_to_end_id": chosen.column("end_to_end_id"),
                                          "amount_minor": chosen.column("amount_minor"),
                                          "reason_code": pa.array(["MS03"] * chosen.num_rows)},
                  REPORT("BANK-MANY"), dt.date(2025, 2, 15))
    result = reconcile.reconcile(db, [tmp_path / "many.xml"])
    assert (result["matched"], result["unmatched"]) == (chosen.num_rows, 0)
    assert result["returned_minor"] == pc.sum(chosen.column("amount_minor")).as_py()
    posted = reconcile_postings(db)
    credit = posted["account_kind"] == ACCOUNT["returned_awaiting_reissue"]
    assert (posted["component"] == COMPONENT["return"]).all()
    assert (posted["account_kind"][~credit] == ACCOUNT["treasury_cash"]).all()
    # per payment and right, what was returned is what the lines of that payment sent
    lines = store.read_lines(record)
    sent = lines.filter(pc.is_in(lines.column("payment_ref"), value_set=chosen.column("end_to_end_id")))
    expected = sent.group_by(["payment_ref", "right_id"]).aggregate([("amount_minor", "sum")])
    expected = {(ref, right): amount for ref, right, amount in zip(
        *(expected.column(name).to_pylist() for name in ("payment_ref", "right_id", "amount_minor_sum"))) if amount}
    returned = {}
    for ref, right, amount in zip(posted["payment_ref"][credit].tolist(), posted["right_id"][credit].tolist(),
                                  (-posted["amount_minor"][credit]).tolist()):
        returned[(ref.decode(), right)] = returned.get((ref.decode(), right), 0) + amount
    assert returned == expected


def test_a_payment_reversed_by_an_earlier_file_is_already_seen(exported):
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 2)
    columns = lambda table: {"end_to_end_id": table.column("end_to_end_id"),  # noqa: E731
                             "amount_minor": table.column("amount_minor"), "reason_code": ["MS03"] * table.num_rows}
    write_camt054(tmp_path / "first.xml", columns(bank.slice(0, 1)), REPORT("BANK-A"), dt.date(2025, 2, 15))
    write_camt054(tmp_path / "second.xml", columns(bank), REPORT("BANK-B"), dt.date(2025, 2, 16))
    first = reconcile.reconcile(db, [tmp_path / "first.xml"])
    second = reconcile.reconcile(db, [tmp_path / "second.xml"])  # another file, another run: from the ledger
    assert (first["matched"], second["matched"], second["already_seen"]) == (1, 1, 1)
    assert second["returned_minor"] == bank.column("amount_minor")[1].as_py()


@pytest.mark.parametrize("one_file", [False, True])
def test_a_return_of_a_payment_the_bank_rejected_is_an_exception(exported, one_file):
    """A pain.002 rejected the payment (it never left the account), then a camt.054 returns it: money the ledger never
    sent comes back, so nothing is booked and an officer is told (an outside audit found it counted as already
    seen, leaving treasury cash short of the bank's by its amount). A second return of a returned payment stays
    already seen."""
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 2)
    refs, amounts = bank.column("end_to_end_id").to_pylist(), bank.column("amount_minor").to_pylist()
    msg = refs[0].rsplit("-", 1)[0] + "-B001"
    rejected = {"end_to_end_id": refs[:1], "amount_minor": amounts[:1], "reason_code": ["AC01"],
                "msg_id": [msg], "pmt_inf_id": [msg + "-001"]}
    write_pain002(tmp_path / "rejects.xml", REPORT("BANK-R"), msg, rejected)
    returned = {"end_to_end_id": refs, "amount_minor": amounts, "reason_code": ["MS03", "MS03"]}
    write_camt054(tmp_path / "returns.xml", returned, REPORT("BANK-C"), dt.date(2025, 2, 16))
    if one_file:
        result = reconcile.reconcile(db, [tmp_path / "rejects.xml", tmp_path / "returns.xml"])
    else:
        reconcile.reconcile(db, [tmp_path / "rejects.xml"])
        result = reconcile.reconcile(db, [tmp_path / "returns.xml"])
    assert result["returned_minor"] == amounts[1] and result["already_seen"] == 0
    assert any("rejected" in row["problem"] for row in result["exceptions"]), result["exceptions"]
    again = reconcile.reconcile(db, [tmp_path / "returns.xml"])
    assert again["returned_minor"] == 0 and again["already_seen"] >= 1


def test_batch_debits_by_message_and_block_are_checked_against_the_export(exported):
    db, record, tmp_path = exported
    assignments = session.read_assignments(db, record)
    bank = assignments.filter(pc.equal(assignments.column("channel"), "bank"))
    msg_id = bank.column("msg_id")[0].as_py()
    block = bank.column("pmt_inf_id")[0].as_py()
    file_total = pc.sum(bank.filter(pc.equal(bank.column("msg_id"), msg_id)).column("amount_minor")).as_py()
    block_total = pc.sum(bank.filter(pc.equal(bank.column("pmt_inf_id"), block)).column("amount_minor")).as_py()
    settlements = (Settlement(msg_id, file_total - 1, 3), Settlement(msg_id, 1, 1, block),
                   Settlement(msg_id, block_total + 1, 1, block), Settlement(record.payroll_id + "-B999", 5, 1))
    write_camt053(tmp_path / "camt053.xml", REPORT("BANK-STMT"), dt.date(2025, 2, 1), settlements)
    result = reconcile.reconcile(db, [tmp_path / "camt053.xml"])
    assert (result["matched"], result["settled_minor"]) == (2, file_total)
    problems = sorted(e["problem"] for e in result["exceptions"])
    assert problems == [f"msg_id {record.payroll_id}-B999 is not a file of payroll {record.payroll_id}",
                        f"settles {block_total + 1} but the file {block} carries {block_total}"]
    posted = reconcile_postings(db)
    assert sorted(posted["payment_ref"][posted["amount_minor"] > 0].tolist()) == sorted([msg_id.encode(),
                                                                                       block.encode()])
    assert (posted["account_kind"][posted["amount_minor"] > 0] == ACCOUNT["in_transit_bank"]).all()


def test_postal_payments_reported_paid_settle_each_payment(exported):
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    post = payments.filter(pc.equal(payments.column("channel"), "post")).slice(0, 3)
    assert post.num_rows == 3
    refs = post.column("end_to_end_id").to_pylist()
    (tmp_path / "posta.csv").write_text("reference,status,reason,date\n" + "".join(
        f"{ref},paid,,2025-02-10\n" for ref in refs), encoding="utf-8")
    result = reconcile.reconcile(db, [tmp_path / "posta.csv"])
    assert (result["matched"], result["settled_minor"]) == (3, pc.sum(post.column("amount_minor")).as_py())
    posted = reconcile_postings(db)
    debit = posted["amount_minor"] > 0
    assert (posted["account_kind"][debit] == ACCOUNT["in_transit_post"]).all()
    assert (posted["account_kind"][~debit] == ACCOUNT["treasury_cash"]).all()
    assert dict(zip((r.decode() for r in posted["payment_ref"][debit].tolist()),
                    posted["amount_minor"][debit].tolist())) == dict(zip(refs, post.column("amount_minor").to_pylist()))


def test_person_of_a_right_with_several_register_rows_is_its_last(tmp_path):
    pq.write_table(pa.table({"right_id": [7, 3, 7, 5], "person_id": [70, 30, 71, 50]}), tmp_path / "rights.parquet")

    class Record:
        data_folder = str(tmp_path)

    view = type("View", (), {"record": Record()})()
    assert [reconcile.person_of(view, right) for right in (3, 5, 7, 9)] == [30, 50, 71, None]


def test_person_of_a_right_of_a_csv_register(tmp_path):
    """A hand-made register in CSV (README): the death a return reports names the person too (an outside audit
    found the register action's person_id empty)."""
    (tmp_path / "rights.csv").write_text("right_id,version,benefit,person_id,valid_from\n"
                                         "7,1,ME_LI,70,2025-01-01\n3,1,ME_LI,30,2025-01-01\n7,2,ME_LI,71,2025-03-01\n",
                                         encoding="utf-8")

    class Record:
        data_folder = str(tmp_path)

    view = type("View", (), {"record": Record()})()
    assert [reconcile.person_of(view, right) for right in (3, 7, 9)] == [30, 71, None]


def test_postal_payments_reported_paid_read_the_exports_assignments_a_few_times_not_once_each(exported, monkeypatch):
    """The settlements' room looks the payments up in the export's assignments once for every payment the run
    names (besides the file and block totals and the block ids), not once per record; a second list telling the same payments paid (a copy
    sent again) books nothing."""
    db, record, tmp_path = exported
    payments = store.read_payments(record)
    post = payments.filter(pc.equal(payments.column("channel"), "post"))
    assert post.num_rows >= 20
    (tmp_path / "posta.csv").write_text("reference,status,reason,date\n" + "".join(
        f"{ref},paid,,2025-02-10\n" for ref in post.column("end_to_end_id").to_pylist()), encoding="utf-8")
    reads = []
    original = store.read_assignments
    monkeypatch.setattr(store, "read_assignments", lambda *args, **kwargs: reads.append(args[2:3]) or
                        original(*args, **kwargs))
    result = reconcile.reconcile(db, [tmp_path / "posta.csv"])
    assert (result["matched"], result["settled_minor"]) == (post.num_rows, pc.sum(post.column("amount_minor")).as_py())
    assert len(reads) <= 4, reads  # the file and block totals, the block ids, the named payments
    (tmp_path / "posta-again.csv").write_text((tmp_path / "posta.csv").read_text(encoding="utf-8") + "\n",
                                              encoding="utf-8")
    again = reconcile.reconcile(db, [tmp_path / "posta-again.csv"])
    assert (again["settled_minor"], again["already_seen"]) == (0, post.num_rows)
