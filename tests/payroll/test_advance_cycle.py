"""A maintenance advance through the whole cycle, worked by hand (Ukraine, temporary aid UA_TYMCH, research #11).

Family 10: carer 1 and child 2 (born 2021-05-05, under 6), household income 4,000.00 -> 2,000.00 per capita;
2,817.00 - 2,000.00 = 817.00 is under the floor, so the advance is 50 % of the 2026 ПМ: 1,408.50 a month, paid to
the carer while the title of child 2 against debtor 3 is in force.
Debtor 3 lives alone, works-able, no income, and receives UA_DSD: 60 % of 3,328.00 = 1,996.80 a month.

January 2026: the carer is paid 1,408.50 and the debtor owes the fund 1,408.50 (nothing to recover yet: the
claim appears with this approval). February: the debtor's 1,996.80 gives up 50 % (the alimony cap): 998.40 is
recovered and he is paid 998.40; the fund books February's advance: 1,408.50 x 2 - 998.40 = 1,818.60 owed.
A supplementary February payroll pays and recovers nothing. March: another 998.40; 1,818.60 + 1,408.50 - 998.40 =
2,228.70 owed. The ledger verifies and `audit recompute` proves every payroll.
"""
from pathlib import Path

import pytest

from ledgers.schema import ACCOUNT
from ledgers.store import Ledger
from ledgers.verify import verify
from payroll import audit, cycle, explain, session, store
from tests.payroll.test_legacy_baseline import assert_state_equals_scans

FILES = {
    "persons.csv": """\
person_id,birth_date,family_name,given_name,municipality
1,1990-02-02,Коваленко,Олена,Київ
2,2021-05-05,Коваленко,Марія,Київ
3,1983-03-03,Коваленко,Петро,Львів
""",
    "households.csv": """\
household_id,person_id,role,member_from
10,1,head,2015-01-01
10,2,child,2021-05-05
30,3,head,2020-01-01
""",
    "rights.csv": """\
right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on,income_minor
100,1,UA_TYMCH,2,10,1001,2026-01-01,2026-06-30,2025-12-20,400000
200,1,UA_DSD,3,30,3003,2026-01-01,2026-06-30,2025-12-20,0
""",
    "payees.csv": """\
payee_id,channel,kind,name,street,house_number,postcode,town,country
1001,post,guardian,Олена Коваленко,Хрещатик,1,01001,Київ,UA
3003,post,person,Петро Коваленко,Городоцька,5,79000,Львів,UA
""",
    "deductions.csv": """\
order_id,right_id,kind,priority,fixed_minor,percent_bp,outstanding_minor,creditor_payee_id,valid_from,valid_to
""",
    "maintenance_titles.csv": """\
title_id,child_id,debtor_id,monthly_minor,valid_from,valid_to
1,2,3,,2025-06-01,
""",
}
ADVANCE, DSD, RECOVERED = 140_850, 199_680, 99_840


def register(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def record(db: str, identifier: str) -> store.PayrollRecord:
    with Ledger(db) as ledger, ledger.engine.connect() as conn:
        return store.get_payroll(conn, identifier)


def lines(db: str, identifier: str) -> dict:
    rows = store.read_lines(record(db, identifier)).to_pylist()
    out = {}
    for row in rows:
        key = (row["right_id"], row["component"])
        out[key] = out.get(key, 0) + row["amount_minor"]
    return out


def owed(db: str) -> dict:
    with Ledger(db) as ledger:
        return {row["key"]: row["balance_minor"]
                for row in ledger.balances(account=ACCOUNT["advances_receivable"]) if row["balance_minor"]}


def run_month(db: str, data: Path, period: str, tmp_path: Path) -> str:
    summary = cycle.calculate(db, data, period, "ana", store_dir=tmp_path / "store", country="ua")
    cycle.approve(db, summary["payroll"], "marko")
    return summary["payroll"]


def fresh_ledger(tmp_path: Path, backend: str, request) -> str:
    db = f"sqlite:///{tmp_path / 'ledger.db'}" if backend == "sqlite" else request.getfixturevalue("pg_schema_url")
    with Ledger(db) as ledger:
        ledger.init()
        store.init_schema(ledger.engine)
    return db


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_advance_booked_on_the_debtor_then_recovered_from_his_benefit(tmp_path, backend, request):
    db = fresh_ledger(tmp_path, backend, request)
    data = register(tmp_path / "register")

    january = run_month(db, data, "2026-01", tmp_path)
    assert lines(db, january) == {(100, "due"): ADVANCE, (200, "due"): DSD}
    assert owed(db) == {3: ADVANCE}

    february = run_month(db, data, "2026-02", tmp_path)
    assert lines(db, february) == {(100, "due"): ADVANCE, (200, "due"): DSD, (200, "advance_recovery"): -RECOVERED}
    assert owed(db) == {3: 2 * ADVANCE - RECOVERED}
    totals = record(db, february).totals
    assert totals["totals_minor"]["advance_recovery"] == -RECOVERED
    assert totals["advances_minor"] == {"booked": ADVANCE, "taken_back": 0, "recovered": RECOVERED}
    [shown] = explain.explain(db, 200, "2026-02", february)["deductions"]
    assert (shown["kind"], shown["amount_minor"]) == ("advance_recovery", -RECOVERED)
    assert shown["cap"].startswith("50 % of the gross (priority 1)")

    supplementary = cycle.calculate(db, data, "2026-02", "ana", store_dir=tmp_path / "store", country="ua")
    assert supplementary["net_minor"] == 0
    cycle.approve(db, supplementary["payroll"], "marko")
    assert owed(db) == {3: 2 * ADVANCE - RECOVERED}  # never recovered twice

    march = run_month(db, data, "2026-03", tmp_path)
    assert lines(db, march)[(200, "advance_recovery")] == -RECOVERED
    assert owed(db) == {3: 3 * ADVANCE - 2 * RECOVERED}

    with Ledger(db) as ledger:
        assert verify(ledger).ok
        fund = ledger.balance(account=ACCOUNT["advances_recoverable"])
        assert fund == -3 * ADVANCE  # the contra of every claim booked; recoveries leave it alone
        assert ledger.balance() == 0  # double entry: everything balances
    assert_state_equals_scans(db)  # advances booked and owed, receivables, deductions taken
    for identifier in (january, february, supplementary["payroll"], march):
        result = audit.recompute(db, identifier)
        assert result["ok"], result["differences"]


def test_ending_the_title_back_in_time_takes_the_claim_back(tmp_path, request):
    """The debtor paid January after all: the title now ends on 2025-12-31 (no new decision on the right: the
    title's end is an event of the register, found within the event lookback). February's payroll raises the
    carer's January advance as an overpayment and takes the claim back from the debtor: he owes nothing, so
    nothing is recovered from his February benefit."""
    db = fresh_ledger(tmp_path, "sqlite", request)
    data = register(tmp_path / "register")
    run_month(db, data, "2026-01", tmp_path)
    assert owed(db) == {3: ADVANCE}
    (data / "maintenance_titles.csv").write_text(FILES["maintenance_titles.csv"].replace(",2025-06-01,",
                                                                                         ",2025-06-01,2025-12-31"))
    february = run_month(db, data, "2026-02", tmp_path)
    got = lines(db, february)
    assert got[(100, "overpayment")] == -ADVANCE and (100, "due") not in got
    assert (200, "advance_recovery") not in got
    assert owed(db) == {}
    assert audit.recompute(db, february)["ok"]


def test_audit_names_an_altered_titles_file(tmp_path, request):
    """The titles decide money: audit recompute checks their file's digest like every register file."""
    db = fresh_ledger(tmp_path, "sqlite", request)
    data = register(tmp_path / "register")
    january = run_month(db, data, "2026-01", tmp_path)
    (data / "maintenance_titles.csv").write_text(FILES["maintenance_titles.csv"].replace(",,", ",100000,"))
    result = audit.recompute(db, january)
    assert not result["ok"]
    assert any("maintenance_titles.csv was altered" in text for text in result["differences"])
