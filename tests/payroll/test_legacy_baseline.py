"""The legacy baseline of a ledger's first payroll: months before the cutoff count as paid by the legacy system.

A small generated register gets three hand-made rights decided in the first payroll month (2025-01): an income
decrease of a means-tested right from 2024-10 (due goes up), an income increase of another (due goes down), and
a new right granted from 2024-10. The payroll on an empty SQLite ledger must pay (or raise) per month exactly the
difference between the due of the whole register and the due under the versions decided before the cutoff
(computed directly with the engine), pay the new right's three months in full, and neither a supplementary run
nor the next month's payroll may re-open a month before the cutoff.
"""
import datetime as dt
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from engine.entitlement import compute_due
from engine.months import parse_period
from formats.awards import award_limits
from formats.catalogue import load_catalogue
from formats.convert import register_arrays, right_index_of
from formats.register import read_register
from ledgers.store import Ledger
from payroll import audit, cycle, ledger_state, store
from synthetic.register import generate_register

PERIOD, NEXT = "2025-01", "2025-02"
RETRO_FROM = dt.date(2024, 10, 1)       # three months before the period
DECIDED = dt.date(2025, 1, 10)           # decided in the period: after the legacy cutoff
CHANGE_MINOR = 2000                      # the income change of the two retroactive versions


def month_date(month: int) -> dt.date:
    return dt.date(1970 + month // 12, month % 12 + 1, 1)


def dues(folder, catalogue, right_ids, first: int, last: int) -> dict:
    """{right_id: {month date: due}} over [first, last] with every version of the register in folder."""
    arrays = register_arrays(read_register(folder, catalogue), catalogue)
    cells = compute_due(arrays, catalogue.compile_window(first, last), last, first)
    index = right_index_of(arrays, np.asarray(right_ids, np.int64))
    out = {}
    for right_id, r in zip(right_ids, index):
        rows = np.flatnonzero(cells.right_index == r)
        out[right_id] = {month_date(int(cells.month[i])): int(cells.due_minor[i]) for i in rows}
    return out


def pick_rights(rights: pa.Table, legacy: dict, candidates) -> tuple[int, int, int]:
    """An MO right with income >= the change, another MO right due more than the change, a right to copy."""
    rows = {row["right_id"]: row for row in rights.to_pylist()}
    lowered = next(r for r in candidates["mo"] if (rows[r]["income_minor"] or 0) >= CHANGE_MINOR)
    raised = next(r for r in candidates["mo"] if r != lowered and min(legacy[r].values()) > CHANGE_MINOR)
    source = next(r for r in candidates["other"] if min(legacy[r].values()) > 0)
    return lowered, raised, source


def single_version_rights(rights: pa.Table, benefit) -> list[int]:
    """Rights of `benefit` (or any but ME_MO when None) with one open version decided long before the period."""
    counts = rights.group_by("right_id").aggregate([("version", "count")])
    single = set(pc.filter(counts.column("right_id"), pc.equal(counts.column("version_count"), 1)).to_pylist())
    chosen = []
    for row in rights.to_pylist():
        wanted = row["benefit"] == benefit if benefit else row["benefit"] not in ("ME_MO", "ME_NOVOROD", "ME_SAHRANA")
        if wanted and row["right_id"] in single and row["valid_to"] is None and \
                row["decided_on"] < dt.date(2024, 6, 1) and row["valid_from"] < dt.date(2024, 6, 1):
            chosen.append(row["right_id"])
    return chosen


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The register before and after the three decisions, and the expected dues per month."""
    work = tmp_path_factory.mktemp("legacy")
    catalogue = load_catalogue()
    before = work / "before"
    generate_register(before, 300, 11, PERIOD)
    rights = pq.read_table(before / "rights.parquet")
    first, period = parse_period("2024-10"), parse_period(PERIOD)
    candidates = {"mo": single_version_rights(rights, "ME_MO")[:40],
                  "other": single_version_rights(rights, None)[:40]}
    legacy = dues(before, catalogue, candidates["mo"] + candidates["other"], first, period)
    lowered, raised, source = pick_rights(rights, legacy, candidates)
    new_id = int(pc.max(rights.column("right_id")).as_py()) + 1
    rows = {row["right_id"]: row for row in rights.to_pylist()}
    added = [dict(rows[lowered], version=2, valid_from=RETRO_FROM, decided_on=DECIDED,
                  income_minor=rows[lowered]["income_minor"] - CHANGE_MINOR),
             dict(rows[raised], version=2, valid_from=RETRO_FROM, decided_on=DECIDED,
                  income_minor=(rows[raised]["income_minor"] or 0) + CHANGE_MINOR),
             dict(rows[source], right_id=new_id, version=1, valid_from=RETRO_FROM, decided_on=DECIDED)]
    # the changed rights' first versions end the day before the new ones start
    table = pa.Table.from_pylist(rights.to_pylist() + added, schema=rights.schema)
    ends = [RETRO_FROM - dt.timedelta(days=1) if r in (lowered, raised) and v == 1 else e
            for r, v, e in zip(table.column("right_id").to_pylist(), table.column("version").to_pylist(),
                               table.column("valid_to").to_pylist())]
    table = table.set_column(table.schema.get_field_index("valid_to"), "valid_to", pa.array(ends, pa.date32()))
    table = table.sort_by([("right_id", "ascending"), ("version", "ascending")])
    after = work / "after"
    shutil.copytree(before, after)
    pq.write_table(table, after / "rights.parquet")
    now = dues(after, catalogue, [lowered, raised, new_id], first, period)
    return dict(work=work, after=after, lowered=lowered, raised=raised, new=new_id, legacy=legacy, now=now,
                db=f"sqlite:///{work / 'ledger.db'}")


@pytest.fixture(scope="module")
def first_payroll(case):
    """The first payroll of an empty ledger, approved: (identifier, its lines)."""
    cycle.open_db(case["db"], create=True).close()
    result = cycle.calculate(case["db"], case["after"], PERIOD, "ana", store_dir=case["work"] / "store")
    cycle.approve(case["db"], result["payroll"], "marko")
    return result["payroll"], lines_of(case["db"], result["payroll"])


def lines_of(db: str, identifier: str) -> pa.Table:
    with Ledger(db) as ledger, ledger.engine.connect() as conn:
        return store.read_lines(store.get_payroll(conn, identifier))


def amounts(lines: pa.Table, right_id: int, components) -> dict:
    """{month date: amount} of the right's lines of the given components."""
    chosen = lines.filter(pc.and_(pc.equal(lines.column("right_id"), right_id),
                                  pc.is_in(lines.column("component"), value_set=pa.array(components))))
    out = {}
    for month, amount in zip(chosen.column("month").to_pylist(), chosen.column("amount_minor").to_pylist()):
        out[month] = out.get(month, 0) + amount
    return out


def before_period(case, right_id, source) -> dict:
    return {m: a for m, a in source[right_id].items() if m < dt.date(2025, 1, 1)}


def test_retroactive_income_decrease_pays_only_the_difference(case, first_payroll):
    right = case["lowered"]
    expected = {m: case["now"][right][m] - case["legacy"][right][m] for m in before_period(case, right, case["now"])}
    assert all(value > 0 for value in expected.values()) and len(expected) == 3
    assert amounts(first_payroll[1], right, ["arrears"]) == expected
    assert amounts(first_payroll[1], right, ["due"]) == {dt.date(2025, 1, 1): case["now"][right][dt.date(2025, 1, 1)]}
    # the full months would have been several times the difference
    assert sum(expected.values()) < sum(before_period(case, right, case["now"]).values())


def test_retroactive_income_increase_raises_only_the_difference_as_overpayment(case, first_payroll):
    right = case["raised"]
    expected = {m: case["now"][right][m] - case["legacy"][right][m] for m in before_period(case, right, case["now"])}
    assert all(value < 0 for value in expected.values()) and len(expected) == 3
    assert amounts(first_payroll[1], right, ["overpayment"]) == expected
    assert amounts(first_payroll[1], right, ["arrears"]) == {}


def test_new_right_granted_three_months_back_gets_its_arrears_in_full(case, first_payroll):
    right = case["new"]
    expected = before_period(case, right, case["now"])
    assert len(expected) == 3 and all(value > 0 for value in expected.values())
    assert amounts(first_payroll[1], right, ["arrears"]) == expected


def test_supplementary_run_pays_nothing(case, first_payroll):
    again = cycle.calculate(case["db"], case["after"], PERIOD, "ana", store_dir=case["work"] / "store")
    assert again["payroll"] != first_payroll[0]
    assert again["net_minor"] == 0 and again["payments"] == 0
    lines = lines_of(case["db"], again["payroll"])
    changes = lines.filter(pc.is_in(lines.column("component"), value_set=pa.array(["due", "arrears", "overpayment"])))
    assert changes.num_rows == 0


def test_next_payroll_does_not_reopen_months_before_the_cutoff(case, first_payroll):
    with Ledger(case["db"]) as ledger, ledger.engine.connect() as conn:
        assert ledger_state.read_state(conn).first_payroll_month == parse_period(PERIOD)
    second = cycle.calculate(case["db"], case["after"], NEXT, "ana", store_dir=case["work"] / "store")
    lines = lines_of(case["db"], second["payroll"])
    early = lines.filter(pc.less(lines.column("month"), pa.scalar(dt.date(2025, 1, 1))))
    assert early.num_rows == 0
    # the new right is paid its February due, nothing for earlier months
    assert list(amounts(lines, case["new"], ["due", "arrears"])) == [dt.date(2025, 2, 1)]
    # the first payroll's audit sees the ledger as it was (no payroll yet) and still agrees with it
    assert audit.recompute(case["db"], first_payroll[0])["ok"]


def test_recognised_from_the_expense_columns_equals_the_scan_of_the_postings(case, first_payroll):
    """read_state reads the recognised amounts batch by batch from the expense columns: the same integers, in
    the same order, as grouping every benefit-expense posting (at every batch mark and lookback)."""
    with Ledger(case["db"]) as ledger, ledger.engine.connect() as conn:
        for mark in range(0, ledger_state.batch_mark(conn) + 1):
            for first in (-10**9, parse_period("2024-12"), parse_period(PERIOD), parse_period(NEXT) + 1):
                scanned = ledger_state._columns(conn, ledger_state.RECOGNISED_SQL,
                                                {"mark": mark, "first_month": first}, 3)
                read = ledger_state.recognised_of(conn, mark, first)
                assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(scanned, read))
        assert ledger_state.recognised_of(conn, ledger_state.batch_mark(conn), -10**9)[0].shape[0] > 0


def scanned_balances(conn, mark: int) -> dict:
    """The state's balances as read_state computed them before, one grouped scan of the postings each."""
    from ledgers.schema import ACCOUNT, COMPONENT

    payable, receivable, deductions = (ACCOUNT[name] for name in ("benefits_payable", "overpayments_receivable",
                                                                   "deductions_payable"))
    returned, advances = ACCOUNT["returned_awaiting_reissue"], ACCOUNT["advances_receivable"]
    out, codes = "CAST(component AS BIGINT)", ", ".join(str(COMPONENT[n]) for n in ledger_state.ORDER_COMPONENTS)
    carry = f"CASE WHEN component = {COMPONENT['carry_out']} THEN amount_minor ELSE -amount_minor END"
    queries = {
        "carry": (f"SELECT right_id AS c0, CAST(sum({carry}) AS BIGINT) AS c1 FROM ledger_postings WHERE "
                  f"account_kind = {payable} AND batch_id <= :mark AND amount_minor > 0 AND component IN "
                  f"({COMPONENT['carry_out']}, {COMPONENT['carry_in']}) GROUP BY right_id HAVING sum({carry}) <> 0", 2),
        "receivable": (f"SELECT account_key AS c0, CAST(sum(amount_minor) AS BIGINT) AS c1 FROM ledger_postings "
                       f"WHERE account_kind = {receivable} AND batch_id <= :mark GROUP BY account_key "
                       "HAVING sum(amount_minor) <> 0", 2),
        "taken": (f"SELECT right_id AS c0, {out} AS c1, CAST(-sum(amount_minor) AS BIGINT) AS c2 FROM ledger_postings "
                  f"WHERE account_kind = {deductions} AND batch_id <= :mark AND amount_minor < 0 AND component IN "
                  f"({codes}) GROUP BY right_id, component", 3),
        "returned": (f"SELECT account_key AS c0, right_id AS c1, CAST(-sum(amount_minor) AS BIGINT) AS c2 FROM "
                     f"ledger_postings WHERE account_kind = {returned} AND batch_id <= :mark GROUP BY account_key, "
                     "right_id HAVING sum(amount_minor) <> 0", 3),
        "advances": (f"SELECT account_key AS c0, CAST(sum(amount_minor) AS BIGINT) AS c1 FROM ledger_postings WHERE "
                     f"account_kind = {advances} AND batch_id <= :mark GROUP BY account_key "
                     "HAVING sum(amount_minor) <> 0", 2),
        "booked": (f"SELECT right_id AS c0, CAST(month AS BIGINT) AS c1, account_key AS c2, CAST(sum(amount_minor) "
                   f"AS BIGINT) AS c3 FROM ledger_postings WHERE account_kind = {advances} AND component = "
                   f"{COMPONENT['advance']} AND batch_id <= :mark GROUP BY right_id, month, account_key "
                   "HAVING sum(amount_minor) <> 0", 4)}
    return {name: ledger_state._columns(conn, sql, {"mark": mark, "first_month": 0}, width)
            for name, (sql, width) in queries.items()}


def state_balances(state) -> dict:
    from ledgers.schema import COMPONENT

    kinds = np.array([COMPONENT[name] for name in ledger_state.ORDER_COMPONENTS])
    return {"carry": [state.carry_right, state.carry_minor],
            "receivable": [state.receivable_right, state.receivable_minor],
            "taken": [state.taken_right, kinds[state.taken_kind], state.taken_minor],
            "returned": [state.returned_payee, state.returned_right, state.returned_minor],
            "advances": [state.advance_debtor, state.advance_minor],
            "booked": [state.advance_booked_right, state.advance_booked_month, state.advance_booked_debtor,
                       state.advance_booked_minor]}


def assert_state_equals_scans(db: str) -> None:
    """At every batch mark of the ledger, read_state's balances equal one grouped scan per balance."""
    with Ledger(db) as ledger, ledger.engine.connect() as conn:
        for mark in range(0, ledger_state.batch_mark(conn) + 1):
            expected, state = scanned_balances(conn, mark), state_balances(ledger_state.read_state(conn, mark))
            for name, columns in expected.items():
                assert all(np.array_equal(a, b) for a, b in zip(columns, state[name])), (mark, name)


def test_the_states_balances_from_one_scan_equal_one_scan_per_balance(case, first_payroll):
    assert_state_equals_scans(case["db"])


def test_the_legacy_due_reads_the_rights_it_is_linked_to():
    """ME_DD pays 60.00 for a child holding ME_LI that month (Readings 6): the legacy baseline of a retroactive
    ME_DD decision counts that child at 60.00 too, so only what the decision changed is paid (was: the ME_LI
    right was not in the legacy computation, the child counted at 44.00, and 16.00 a month paid as arrears)."""
    from payroll.compute import legacy_baseline
    from tests.engine.entitlement_tables import tables

    catalogue = load_catalogue()
    persons = [dict(person_id=1, birth_date=dt.date(1985, 1, 1)), dict(person_id=2, birth_date=dt.date(2015, 1, 1)),
               dict(person_id=3, birth_date=dt.date(2017, 1, 1))]
    members = [dict(household_id=1, person_id=1, role="head", member_from=dt.date(2010, 1, 1)),
               dict(household_id=1, person_id=2, role="child", member_from=dt.date(2015, 1, 1)),
               dict(household_id=1, person_id=3, role="child", member_from=dt.date(2017, 1, 1))]
    dd = dict(right_id=1, version=1, benefit="ME_DD", person_id=1, household_id=1, valid_from=dt.date(2025, 7, 1),
              valid_to=dt.date(2025, 9, 30), decided_on=dt.date(2025, 7, 5), mo_family=True)
    versions = [dd, dict(dd, version=2, valid_from=dt.date(2025, 10, 1), valid_to=None,
                         decided_on=dt.date(2026, 5, 20), mo_family=False),
                dict(right_id=2, version=1, benefit="ME_LI", person_id=2, valid_from=dt.date(2024, 1, 1),
                     decided_on=dt.date(2024, 2, 1), grade=2)]
    arrays = register_arrays(tables(persons, members, versions), catalogue)
    cutoff, october = parse_period("2026-05"), parse_period("2025-10")
    starts = np.array([october, cutoff], np.int32)  # the retroactive decision opens ME_DD's window in October
    compiled = catalogue.compile_window(starts, cutoff)
    right, month, amount = legacy_baseline(arrays, compiled, starts, cutoff, award_limits(catalogue))
    assert set(right.tolist()) == {0} and month.tolist() == list(range(october, cutoff))
    assert set(amount.tolist()) == {6000 + 4400}  # as the legacy system paid: 60.00 (ME_LI) + 44.00 (MO family)


def test_a_month_before_the_first_payroll_cannot_be_reopened(case, first_payroll):
    """The legacy system paid 2024-12: a payroll of it would pay the whole month again (it was: due for every
    right plus the retroactive months), so even --reopen is refused, and nothing is stored."""
    from payroll.errors import Refused

    with Ledger(case["db"]) as ledger, ledger.engine.connect() as conn:
        before = len(store.list_payrolls(conn))
    with pytest.raises(Refused, match="before this ledger's first payroll"):
        cycle.calculate(case["db"], case["after"], "2024-12", "ana", store_dir=case["work"] / "store",
                        reopen="2024-12", reason="the law requires it")
    with Ledger(case["db"]) as ledger, ledger.engine.connect() as conn:
        assert len(store.list_payrolls(conn)) == before


@pytest.mark.parametrize("renewal_applied, paid_by_legacy", [(dt.date(2025, 11, 20), ["2025-09", "2025-10", "2025-11"]),
                                                             (dt.date(2025, 6, 1), ["2025-09", "2025-10", "2025-11"])])
def test_a_fixed_term_award_runs_on_in_the_legacy_baseline_no_further_than_its_end(renewal_applied, paid_by_legacy):
    """UA_DSD is awarded for 6 months (June to November 2025). A decision after the cutoff (2026-01) closes the
    award in August and a version from September runs into 2026, a renewal (another application) or a correction
    of the award: either way the legacy system paid the award through November and no further, so December is
    paid as arrears (was: the award ran on through December, counted as paid, never paid)."""
    from payroll.compute import legacy_baseline
    from tests.engine.entitlement_tables import tables

    catalogue = load_catalogue(country="ua")
    persons = [dict(person_id=1, birth_date=dt.date(1985, 1, 1))]
    members = [dict(household_id=1, person_id=1, role="head", member_from=dt.date(2010, 1, 1))]
    award = dict(right_id=1, version=1, benefit="UA_DSD", person_id=1, household_id=1, valid_from=dt.date(2025, 6, 1),
                 valid_to=dt.date(2025, 8, 31), decided_on=dt.date(2025, 6, 1), applied_on=dt.date(2025, 6, 1),
                 income_minor=0)
    later = dict(award, version=2, valid_from=dt.date(2025, 9, 1), valid_to=None, decided_on=dt.date(2026, 1, 20),
                 applied_on=renewal_applied)
    arrays = register_arrays(tables(persons, members, [award, later]), catalogue)
    cutoff = parse_period("2026-01")
    starts = np.array([parse_period("2025-09")], np.int32)
    compiled = catalogue.compile_window(starts, cutoff)
    right, month, amount = legacy_baseline(arrays, compiled, starts, cutoff, award_limits(catalogue))
    assert [month_date(int(m)).strftime("%Y-%m") for m in month] == paid_by_legacy
    assert set(amount.tolist()) == {181680}  # 60 % of 3,028.00 for a working-age adult without income
