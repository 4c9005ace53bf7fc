"""A decision on a right that another right's due reads reaches that due too (payroll/compute.py linked_starts).

ME_DD pays 60.00 for a child who holds ME_LI (RULES.md Readings 6). Payrolls for 2025-01 and 2025-02 are approved on
a small generated register; the register for 2025-03 then grants ME_LI to a child of an ME_DD household from
2025-01, decided in March. March must pay the ME_LI months and ME_DD's higher child rate for January and February
as arrears, exactly the difference of ME_DD's dues with and without the grant, and nothing more after approval.
"""
import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from engine.months import parse_period
from formats.catalogue import load_catalogue
from payroll import cycle
from synthetic.register import generate_register
from tests.payroll.test_legacy_baseline import amounts, dues, lines_of

FROM, DECIDED = dt.date(2025, 1, 1), dt.date(2025, 3, 10)
MONTHS = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]


def child_without_li(rights: pa.Table, members: pa.Table, persons: pa.Table) -> tuple[dict, int]:
    """An ME_DD right with one open version and a child (under 10 in 2025) of its household who holds no ME_LI."""
    born = dict(zip(persons.column("person_id").to_pylist(), persons.column("birth_date").to_pylist()))
    holders = set(pc.filter(rights.column("person_id"), pc.equal(rights.column("benefit"), "ME_LI")).to_pylist())
    counts = dict(zip(*rights.group_by("right_id").aggregate([("version", "count")]).to_pydict().values()))
    for row in rights.filter(pc.equal(rights.column("benefit"), "ME_DD")).to_pylist():
        if counts[row["right_id"]] != 1 or row["valid_to"] is not None or row["valid_from"] > dt.date(2024, 6, 1):
            continue
        mine = members.filter(pc.equal(members.column("household_id"), row["household_id"])).column("person_id")
        for person in mine.to_pylist():
            if person not in holders and born[person] > dt.date(2015, 6, 1):
                return row, person
    raise AssertionError("the generated register has no such household")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    work = tmp_path_factory.mktemp("linked")
    catalogue = load_catalogue()
    before = work / "before"
    generate_register(before, 300, 5, "2025-01")
    rights = pq.read_table(before / "rights.parquet")
    dd, child = child_without_li(rights, pq.read_table(before / "households.parquet"),
                                 pq.read_table(before / "persons.parquet"))
    li = rights.filter(pc.equal(rights.column("benefit"), "ME_LI")).slice(0, 1).to_pylist()[0]
    li_id = int(pc.max(rights.column("right_id")).as_py()) + 1
    added = dict(li, right_id=li_id, version=1, person_id=child, household_id=dd["household_id"],
                 payee_id=dd["payee_id"], valid_from=FROM, valid_to=None, decided_on=DECIDED, applied_on=FROM)
    after = work / "after"
    shutil.copytree(before, after)
    pq.write_table(pa.Table.from_pylist(rights.to_pylist() + [added], schema=rights.schema), after / "rights.parquet")
    first, last = parse_period("2025-01"), parse_period("2025-03")
    old, now = (dues(folder, catalogue, [dd["right_id"], li_id], first, last) for folder in (before, after))
    db = f"sqlite:///{work / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    for period in ("2025-01", "2025-02"):
        cycle.approve(db, cycle.calculate(db, before, period, "ana", store_dir=work / "store")["payroll"], "marko")
    march = cycle.calculate(db, after, "2025-03", "ana", store_dir=work / "store")
    return dict(work=work, after=after, db=db, dd=dd["right_id"], li=li_id, old=old, now=now, march=march)


def test_a_child_rate_granted_back_in_time_pays_the_household_allowance_difference(case):
    right = case["dd"]
    expected = {m: case["now"][right][m] - case["old"][right][m] for m in MONTHS}
    assert all(value > 0 for value in expected.values())  # the child's rate went up to 60.00
    lines = lines_of(case["db"], case["march"]["payroll"])
    assert amounts(lines, right, ["arrears"]) == expected
    assert amounts(lines, case["li"], ["arrears"]) == {m: case["now"][case["li"]][m] for m in MONTHS}


def test_paid_once(case):
    cycle.approve(case["db"], case["march"]["payroll"], "marko")
    again = cycle.calculate(case["db"], case["after"], "2025-03", "ana", store_dir=case["work"] / "store")
    assert again["net_minor"] == 0 and again["payments"] == 0
