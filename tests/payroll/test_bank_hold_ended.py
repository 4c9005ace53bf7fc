"""A bank-channel hold (AC04: account closed) holds the payee's rights while the register shows the closed IBAN;
once it shows another, the hold no longer applies, with no release row. The months it held are then paid as
arrears by the next calculation, once (payroll/compute.py ended_hold_starts): they were lost before."""
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from payroll import cycle, reconcile, store
from synthetic.bank_returns import BankReport, write_camt054
from synthetic.register import generate_register
from tests.payroll.test_legacy_baseline import amounts, lines_of

JANUARY, FEBRUARY, MARCH = dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)


def closed_accounts(tmp_path):
    """January paid and exported; 40 of its bank payments returned AC04 (account closed): (db, folder, store,
    January's id, the returned payments)."""
    folder, work = tmp_path / "reg", tmp_path / "store"
    generate_register(folder, 400, 21, "2025-01")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    january = cycle.calculate(db, folder, "2025-01", "ana", store_dir=work)["payroll"]
    cycle.approve(db, january, "marko")
    cycle.export(db, january, tmp_path / "out")
    with cycle.open_db(db).engine.connect() as conn:
        payments = store.read_payments(store.get_payroll(conn, january))
    bank = payments.filter(pc.equal(payments.column("channel"), "bank")).slice(0, 40)
    write_camt054(tmp_path / "ret.xml", {"end_to_end_id": bank.column("end_to_end_id"),
                                         "amount_minor": bank.column("amount_minor"), "reason_code": ["AC04"] * 40},
                  BankReport("BANK-RET-1", dt.datetime(2025, 2, 15, 18), "ME25907000000000045322", "EUR"),
                  dt.date(2025, 2, 15))
    reconcile.reconcile(db, [tmp_path / "ret.xml"])
    return db, folder, work, january, bank


def test_a_creditor_whose_account_closed_is_paid_by_post(tmp_path):
    """The deductions forwarded to a creditor whose account was closed go by post (it has an address), as its
    re-issue does; they were sent to the closed account again."""
    db, folder, work, _january, bank = closed_accounts(tmp_path)
    lines = lines_of(db, cycle.calculate(db, folder, "2025-02", "ana", store_dir=work)["payroll"])
    forwarded = lines.filter(pc.and_(pc.equal(lines.column("component"), "forwarded"),
                                     pc.is_in(lines.column("payee_id"), bank.column("payee_id"))))
    assert forwarded.num_rows > 0 and set(forwarded.column("channel").to_pylist()) == {"post"}


def test_months_a_closed_account_held_are_paid_once_the_register_shows_a_new_one(tmp_path):
    db, folder, work, january, bank = closed_accounts(tmp_path)
    payees = pq.read_table(folder / "payees.parquet")  # no postal address to reroute to: the payees are held
    returned = pc.is_in(payees.column("payee_id"), bank.column("payee_id"))
    street = pc.if_else(returned, pa.scalar(None, pa.string()), payees.column("street"))
    pq.write_table(payees.set_column(payees.schema.get_field_index("street"), "street", street),
                   folder / "payees.parquet")
    february = cycle.calculate(db, folder, "2025-02", "ana", store_dir=work)["payroll"]
    cycle.approve(db, february, "marko")
    lines = lines_of(db, february)
    paid = lines.filter(pc.and_(pc.equal(lines.column("component"), "due"), pc.is_valid(lines.column("payment_ref"))))
    held = sorted(set(bank.column("payee_id").to_pylist()) - set(paid.column("payee_id").to_pylist()))
    assert held, "no payee of the returned payments was held in February (all rerouted by post)"
    dues = lines_of(db, january).filter(pc.equal(lines_of(db, january).column("component"), "due"))
    held_rights = set(dues.filter(pc.is_in(dues.column("payee_id"), pa.array(held))).column("right_id").to_pylist())
    assert held_rights and not held_rights & set(paid.column("right_id").to_pylist())

    payees = pq.read_table(folder / "payees.parquet")  # the held payees give new accounts: each takes another's
    donors = payees.filter(pc.and_(pc.equal(payees.column("channel"), "bank"),
                                   pc.invert(pc.is_in(payees.column("payee_id"), pa.array(held))))).slice(0, len(held))
    new_iban = dict(zip(held, donors.column("iban").to_pylist()))
    ibans = [new_iban.get(p, i) for p, i in zip(payees.column("payee_id").to_pylist(), payees.column("iban").to_pylist())]
    payees = payees.set_column(payees.schema.get_field_index("iban"), "iban", pa.array(ibans, pa.string()))
    pq.write_table(payees, folder / "payees.parquet")

    march = cycle.calculate(db, folder, "2025-03", "ana", store_dir=work)["payroll"]
    lines = lines_of(db, march)
    for right in held_rights:
        due = amounts(lines, right, ["due"]).get(MARCH, 0)
        if due:  # the same due both months (no decision, no birthday in between): February paid as arrears
            assert amounts(lines, right, ["arrears"]).get(FEBRUARY) == due, right
    assert any(amounts(lines, right, ["arrears"]).get(FEBRUARY) for right in held_rights)
    cycle.approve(db, march, "marko")
    again = cycle.calculate(db, folder, "2025-03", "ana", store_dir=work)
    assert again["net_minor"] == 0


def test_a_decision_taken_while_held_is_paid_back_to_its_start_once_the_hold_ends(tmp_path):
    """While held, a right's arrears of any month are left unpaid, not only the held months: an income decrease
    decided in January for January, while the payee was held from February, is paid when the hold ends (was:
    February's months only, January's 20.00 lost)."""
    db, folder, work, _january, bank = closed_accounts(tmp_path)
    payees = pq.read_table(folder / "payees.parquet")
    returned = pc.is_in(payees.column("payee_id"), bank.column("payee_id"))
    street = pc.if_else(returned, pa.scalar(None, pa.string()), payees.column("street"))
    pq.write_table(payees.set_column(payees.schema.get_field_index("street"), "street", street),
                   folder / "payees.parquet")
    held = set(bank.column("payee_id").to_pylist())
    rights = pq.read_table(folder / "rights.parquet")
    rows = rights.to_pylist()
    counts = {}
    for row in rows:
        counts[row["right_id"]] = counts.get(row["right_id"], 0) + 1
    first = next(r for r in rows if r["payee_id"] in held and r["benefit"] == "ME_MO" and counts[r["right_id"]] == 1
                 and r["valid_to"] is None and (r["income_minor"] or 0) >= 2000)
    right = first["right_id"]
    lower = dict(first, version=2, valid_from=JANUARY, decided_on=dt.date(2025, 1, 25), applied_on=JANUARY,
                 income_minor=first["income_minor"] - 2000)
    rows = [dict(r, valid_to=dt.date(2024, 12, 31)) if r["right_id"] == right else r for r in rows] + [lower]
    pq.write_table(pa.Table.from_pylist(rows, schema=rights.schema)
                   .sort_by([("right_id", "ascending"), ("version", "ascending")]), folder / "rights.parquet")
    february = cycle.calculate(db, folder, "2025-02", "ana", store_dir=work)["payroll"]
    cycle.approve(db, february, "marko")
    assert amounts(lines_of(db, february), right, ["due", "arrears"]) == {}  # held
    donors = payees.filter(pc.and_(pc.equal(payees.column("channel"), "bank"), pc.invert(returned))).slice(0, len(held))
    new_iban = dict(zip(sorted(held), donors.column("iban").to_pylist()))
    payees = pq.read_table(folder / "payees.parquet")
    ibans = [new_iban.get(p, i) for p, i in zip(payees.column("payee_id").to_pylist(), payees.column("iban").to_pylist())]
    pq.write_table(payees.set_column(payees.schema.get_field_index("iban"), "iban", pa.array(ibans, pa.string())),
                   folder / "payees.parquet")
    march = lines_of(db, cycle.calculate(db, folder, "2025-03", "ana", store_dir=work)["payroll"])
    due = amounts(march, right, ["due"])[MARCH]
    assert amounts(march, right, ["arrears"]) == {JANUARY: 2000, FEBRUARY: due}
