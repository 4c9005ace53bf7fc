"""The maternity benefit of the uninsured (UA_VAGITNIST, kind monthly_rate_times_days, research UA #2) through the
payroll cycle, worked by hand: 7,000.00 / 30 = 233.33 a day.

Right 10: leave 2026-01-20 .. 2026-05-25 (126 days), decided 2026-01-22: January pays 233.33 x 126 = 29,399.58 as
the due of January; February and March pay nothing more (the ledger recognised January's due).
Right 20: leave 2026-01-05 .. 2026-05-10 (126 days), decided only on 2026-02-10: nothing in January (not decided
by its end); February pays 29,399.58 as arrears of January.
Right 30: leave 2026-01-10 .. 2026-05-15 (126 days), then a second version 2026-05-16 .. 2026-05-29 (14 more days
after a complicated birth) decided on 2026-03-05: January pays 29,399.58; March pays 233.33 x 14 = 3,266.62 as
arrears of January (January's due is now 140 days, 32,666.20). A supplementary March payroll pays nothing.
"""
from pathlib import Path

from ledgers.store import Ledger
from ledgers.verify import verify
from payroll import cycle, store

FILES = {
    "persons.csv": """\
person_id,birth_date,family_name,given_name,municipality
1,1994-02-02,Коваленко,Олена,Київ
2,1998-07-07,Шевченко,Ірина,Львів
3,1991-11-11,Бондаренко,Оксана,Одеса
""",
    "households.csv": """\
household_id,person_id,role,member_from
""",
    "rights.csv": """\
right_id,version,benefit,person_id,household_id,payee_id,valid_from,valid_to,decided_on
10,1,UA_VAGITNIST,1,,1,2026-01-20,2026-05-25,2026-01-22
20,1,UA_VAGITNIST,2,,2,2026-01-05,2026-05-10,2026-02-10
30,1,UA_VAGITNIST,3,,3,2026-01-10,2026-05-15,2026-01-12
30,2,UA_VAGITNIST,3,,3,2026-05-16,2026-05-29,2026-03-05
""",
    "payees.csv": """\
payee_id,channel,kind,name,street,house_number,postcode,town,country
1,post,person,Олена Коваленко,Хрещатик,1,01001,Київ,UA
2,post,person,Ірина Шевченко,Городоцька,5,79000,Львів,UA
3,post,person,Оксана Бондаренко,Дерибасівська,3,65000,Одеса,UA
""",
    "deductions.csv": """\
order_id,right_id,kind,priority,fixed_minor,percent_bp,outstanding_minor,creditor_payee_id,valid_from,valid_to
""",
}
DAYS_126, DAYS_14 = 2_939_958, 326_662


def register(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def lines(db: str, payroll_id: str) -> dict:
    with Ledger(db) as ledger, ledger.engine.connect() as conn:
        rows = store.read_lines(store.get_payroll(conn, payroll_id)).to_pylist()
    out = {}
    for row in rows:
        key = (row["right_id"], row["component"], row["month"].isoformat()[:7])
        out[key] = out.get(key, 0) + row["amount_minor"]
    return out


def run_month(db: str, data: Path, period: str, tmp_path: Path) -> str:
    summary = cycle.calculate(db, data, period, "ana", store_dir=tmp_path / "store", country="ua")
    cycle.approve(db, summary["payroll"], "marko")
    return summary["payroll"]


def test_a_period_of_days_is_paid_once_retroactive_decisions_and_lengthenings_as_arrears(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(db) as ledger:
        ledger.init()
        store.init_schema(ledger.engine)
    data = register(tmp_path / "register")

    january = run_month(db, data, "2026-01", tmp_path)
    assert lines(db, january) == {(10, "due", "2026-01"): DAYS_126, (30, "due", "2026-01"): DAYS_126}
    february = run_month(db, data, "2026-02", tmp_path)
    assert lines(db, february) == {(20, "arrears", "2026-01"): DAYS_126}
    march = run_month(db, data, "2026-03", tmp_path)
    assert lines(db, march) == {(30, "arrears", "2026-01"): DAYS_14}
    assert DAYS_126 + DAYS_14 == 3_266_620   # 140 days: the published 32,666.20

    supplementary = cycle.calculate(db, data, "2026-03", "ana", store_dir=tmp_path / "store", country="ua")
    assert supplementary["net_minor"] == 0   # never paid twice
    april = run_month(db, data, "2026-04", tmp_path)
    assert lines(db, april) == {}
    with Ledger(db) as ledger:
        assert verify(ledger).ok
