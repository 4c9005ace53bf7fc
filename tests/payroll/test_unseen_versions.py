"""A decision recorded late: a version first seen by a payroll long after its decided_on pays back to its start;
a month skipped (calculate --reopen past it) is paid on every right.

Payrolls for 2025-01 and 2025-02 are approved on a small generated register. The register for 2025-03 then holds
two decisions the earlier ones never read, both decided in January (before the decided_on window of 2025-03, which
opens on 2025-02-01): a lower income of a means-tested right from 2025-01 (its due goes up), and a new right from
2025-01. March must pay January's and February's differences as arrears, exactly once (a supplementary March pays
nothing, April nothing before April), and audit recompute must prove the March payroll.
"""
import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from engine.months import parse_period
from formats.catalogue import load_catalogue
from ledgers.store import Ledger
from payroll import audit, cycle, store
from synthetic.register import generate_register
from tests.payroll.test_legacy_baseline import amounts, dues, lines_of, single_version_rights

DECIDED = dt.date(2025, 1, 20)        # recorded only in March's register
FROM = dt.date(2025, 1, 1)
CHANGE_MINOR = 2000
MONTHS = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    work = tmp_path_factory.mktemp("unseen")
    catalogue = load_catalogue()
    before = work / "before"
    generate_register(before, 300, 5, "2025-01")
    rights = pq.read_table(before / "rights.parquet")
    rows = {row["right_id"]: row for row in rights.to_pylist()}
    mo = single_version_rights(rights, "ME_MO")
    other = single_version_rights(rights, None)
    old = dues(before, catalogue, mo + other, parse_period("2025-01"), parse_period("2025-03"))
    lowered = next(r for r in mo if (rows[r]["income_minor"] or 0) >= CHANGE_MINOR and old[r][MONTHS[0]] > 0)
    source = next(r for r in other if min(old[r].values()) > 0)
    new_id = int(pc.max(rights.column("right_id")).as_py()) + 1
    added = [dict(rows[lowered], version=2, valid_from=FROM, decided_on=DECIDED,
                  income_minor=rows[lowered]["income_minor"] - CHANGE_MINOR),
             dict(rows[source], right_id=new_id, version=1, valid_from=FROM, decided_on=DECIDED)]
    table = pa.Table.from_pylist(rights.to_pylist() + added, schema=rights.schema)
    ends = [FROM - dt.timedelta(days=1) if r == lowered and v == 1 else e
            for r, v, e in zip(table.column("right_id").to_pylist(), table.column("version").to_pylist(),
                               table.column("valid_to").to_pylist())]
    table = table.set_column(table.schema.get_field_index("valid_to"), "valid_to", pa.array(ends, pa.date32()))
    after = work / "after"
    shutil.copytree(before, after)
    pq.write_table(table.sort_by([("right_id", "ascending"), ("version", "ascending")]), after / "rights.parquet")
    now = dues(after, catalogue, [lowered, new_id], parse_period("2025-01"), parse_period("2025-03"))
    db = f"sqlite:///{work / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    for period in ("2025-01", "2025-02"):
        made = cycle.calculate(db, before, period, "ana", store_dir=work / "store")
        cycle.approve(db, made["payroll"], "marko")
    march = cycle.calculate(db, after, "2025-03", "ana", store_dir=work / "store")
    return dict(work=work, after=after, db=db, lowered=lowered, new=new_id, old=old, now=now, march=march)


def test_late_recorded_income_change_pays_its_months_once(case):
    right = case["lowered"]
    expected = {m: case["now"][right][m] - case["old"][right][m] for m in MONTHS}
    assert all(value > 0 for value in expected.values())
    lines = lines_of(case["db"], case["march"]["payroll"])
    assert amounts(lines, right, ["arrears"]) == expected
    assert amounts(lines, right, ["due"]) == {dt.date(2025, 3, 1): case["now"][right][dt.date(2025, 3, 1)]}


def test_late_recorded_new_right_gets_its_months_in_full(case):
    lines = lines_of(case["db"], case["march"]["payroll"])
    assert amounts(lines, case["new"], ["arrears"]) == {m: case["now"][case["new"]][m] for m in MONTHS}


def test_the_draft_records_what_it_read(case):
    with Ledger(case["db"]) as ledger, ledger.engine.connect() as conn:
        record = store.get_payroll(conn, case["march"]["payroll"])
    seen = store.read_checked(record.path(store.VERSIONS_FILE), record.totals["versions_sha256"], True)
    rows = {row["right_id"]: row for row in seen.to_pylist()}
    assert rows[case["lowered"]]["last_version"] == 2 and rows[case["lowered"]]["versions"] == 2
    assert rows[case["new"]]["last_version"] == 1


def test_once_approved_nothing_is_paid_again(case):
    cycle.approve(case["db"], case["march"]["payroll"], "marko")
    assert audit.recompute(case["db"], case["march"]["payroll"])["ok"]
    again = cycle.calculate(case["db"], case["after"], "2025-03", "ana", store_dir=case["work"] / "store")
    assert again["net_minor"] == 0 and again["payments"] == 0
    april = cycle.calculate(case["db"], case["after"], "2025-04", "ana", store_dir=case["work"] / "store")
    lines = lines_of(case["db"], april["payroll"])
    assert lines.filter(pc.less(lines.column("month"), pa.scalar(dt.date(2025, 4, 1)))).num_rows == 0


def test_a_skipped_month_is_paid_on_every_right(tmp_path):
    """calculate --reopen past a month never calculated (2025-02): the next payroll pays it on every right, also
    those no decision touched (RULES.md Readings 4), and once."""
    folder = tmp_path / "reg"
    generate_register(folder, 200, 9, "2025-01")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    january = cycle.calculate(db, folder, "2025-01", "ana", store_dir=tmp_path / "store")
    cycle.approve(db, january["payroll"], "marko")
    march = cycle.calculate(db, folder, "2025-03", "ana", store_dir=tmp_path / "store", reopen="2025-03",
                            reason="February was never calculated")
    rights = pq.read_table(folder / "rights.parquet").column("right_id").unique().to_pylist()
    february = dues(folder, load_catalogue(), rights, parse_period("2025-02"), parse_period("2025-02"))
    expected = {right: cells[MONTHS[1]] for right, cells in february.items() if cells.get(MONTHS[1])}
    lines = lines_of(db, march["payroll"])
    arrears = lines.filter(pc.and_(pc.equal(lines.column("component"), "arrears"),
                                   pc.equal(lines.column("month"), pa.scalar(MONTHS[1]))))
    got = dict(zip(arrears.column("right_id").to_pylist(), arrears.column("amount_minor").to_pylist()))
    assert len(expected) > 50 and got == expected
    cycle.approve(db, march["payroll"], "marko")
    april = cycle.calculate(db, folder, "2025-04", "ana", store_dir=tmp_path / "store")
    lines = lines_of(db, april["payroll"])
    assert lines.filter(pc.less(lines.column("month"), pa.scalar(dt.date(2025, 4, 1)))).num_rows == 0


def test_explain_shows_the_months_the_payroll_recomputed(case):
    """explain reads the windows calculate used: January and February's arrears of the late decision."""
    from payroll import explain

    out = explain.explain(case["db"], case["lowered"], "2025-03", case["march"]["payroll"])
    months = {m["month"]: (m["difference_minor"], m["component"]) for m in out["months"]}
    right = case["lowered"]
    for month in MONTHS:
        assert months[month.strftime("%Y-%m")] == (case["now"][right][month] - case["old"][right][month], "arrears")


def test_a_plain_new_version_of_a_right_older_than_the_catalogue_is_computed_from_its_start(tmp_path):
    """A right granted in 2020 (the catalogue's rules begin in 2024) gets an ordinary new version from March,
    decided in March: March computes from March (was: from the right's first month, refused for the missing rules
    of 2020-2023)."""
    before, after = tmp_path / "before", tmp_path / "after"
    generate_register(before, 300, 5, "2025-01")
    rights = pq.read_table(before / "rights.parquet")
    right = single_version_rights(rights, "ME_LI")[0]
    rows = [dict(r, valid_from=dt.date(2020, 1, 1), applied_on=dt.date(2019, 12, 1), decided_on=dt.date(2019, 12, 20))
            if r["right_id"] == right else r for r in rights.to_pylist()]
    pq.write_table(pa.Table.from_pylist(rows, schema=rights.schema), before / "rights.parquet")
    first = next(r for r in rows if r["right_id"] == right)
    added = dict(first, version=2, valid_from=dt.date(2025, 3, 1), decided_on=dt.date(2025, 3, 5),
                 applied_on=dt.date(2025, 3, 1))
    shutil.copytree(before, after)
    changed = [dict(r, valid_to=dt.date(2025, 2, 28)) if r["right_id"] == right else r for r in rows] + [added]
    pq.write_table(pa.Table.from_pylist(changed, schema=rights.schema)
                   .sort_by([("right_id", "ascending"), ("version", "ascending")]), after / "rights.parquet")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    for period in ("2025-01", "2025-02"):
        cycle.approve(db, cycle.calculate(db, before, period, "ana", store_dir=tmp_path / "store")["payroll"], "marko")
    march = cycle.calculate(db, after, "2025-03", "ana", store_dir=tmp_path / "store")
    lines = lines_of(db, march["payroll"])
    assert set(amounts(lines, right, ["due", "arrears", "overpayment"])) == {dt.date(2025, 3, 1)}
