"""A payment carried under the minimum owes its fixed orders' instalments when it is paid (RULES.md Readings 3).

ME_MO is made to carry payments under 150.00 (the shipped catalogue drops them). On a small generated register,
January to April are calculated and approved. A right whose payment is carried takes nothing in the months it is
carried; the payroll that pays it takes, for each fixed-amount order, one instalment for every month since the
right was last paid (it took one in all: the creditor lost the carried months' instalments), within the caps and
the order's balance. A supplementary April then takes no instalment a second time, and audit recompute proves April.
"""
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from formats.catalogue import catalogue_path
from payroll import audit, cycle, store
from synthetic.register import generate_register

PERIODS = ("2025-01", "2025-02", "2025-03", "2025-04")
KIND_CAP_BP = {"alimony": 5000, "damages": 5000, "overpayment": 2000, "enforcement": 2000}
TOTAL_CAP_BP = 5000


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    work = tmp_path_factory.mktemp("carried")
    register = work / "register"
    generate_register(register, 300, 5, "2025-01")
    shipped = catalogue_path("me").read_text(encoding="utf-8")
    marker = 'below_minimum = "drop"              # assumption: a means-tested difference under the minimum is not owed'
    assert marker in shipped
    rules = work / "montenegro.toml"
    rules.write_text(shipped.replace(marker, 'below_minimum = "carry"\nminimum_payable = "150.00"'), encoding="utf-8")
    db = f"sqlite:///{work / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    lines, orders = [], []
    for period in PERIODS:
        payroll = cycle.calculate(db, register, period, "ana", rules=rules, store_dir=work / "store")["payroll"]
        cycle.approve(db, payroll, "marko")
        with cycle.open_db(db).engine.connect() as conn:
            record = store.get_payroll(conn, payroll)
            lines.append(store.read_lines(record))
            orders.append(store.read_orders(record))
    return dict(work=work, register=register, rules=rules, db=db, payroll=payroll, lines=lines, orders=orders,
                register_orders=pq.read_table(register / "deductions.parquet"),
                rights=pq.read_table(register / "rights.parquet"))


def components(lines: pa.Table, right: int) -> dict:
    rows = lines.filter(pc.equal(lines.column("right_id"), right)).to_pylist()
    sums = {}
    for row in rows:
        sums[row["component"]] = sums.get(row["component"], 0) + row["amount_minor"]
    return sums


def test_the_paying_payroll_takes_one_instalment_per_month_carried(case):
    per_right = {}
    for order in case["register_orders"].to_pylist():
        per_right.setdefault(order["right_id"], []).append(order)
    consent = {row["right_id"] for row in case["rights"].to_pylist() if row["consent_full_recovery"]}
    checked, several = 0, 0
    for right, orders in per_right.items():
        if len(orders) != 1 or not orders[0]["fixed_minor"] or right in consent:
            continue
        order, months, taken_before = orders[0], 0, 0
        for lines, taken in zip(case["lines"], case["orders"]):
            sums = components(lines, right)
            months += 1
            took = sum(row["amount_minor"] for row in taken.to_pylist() if row["order_id"] == order["order_id"])
            if "carry_out" in sums or "due" not in sums:  # carried (or nothing due): nothing taken
                assert took == 0, (right, sums)
                continue
            base = sums.get("due", 0) + sums.get("arrears", 0) + sums.get("carry_in", 0)
            cap = min(KIND_CAP_BP[order["kind"]], TOTAL_CAP_BP) * base // 10_000
            left = None if order["outstanding_minor"] is None else order["outstanding_minor"] - taken_before
            expected = min(months * order["fixed_minor"], cap, *([] if left is None else [left]))
            assert "recovery" not in sums or order["kind"] == "overpayment" or sums["recovery"] == 0
            assert took == expected, (right, months, order, sums)
            checked += 1
            several += expected > order["fixed_minor"]
            taken_before, months = taken_before + took, 0
    assert checked and several, "no carried payment of a right with a fixed order was paid: the case proves nothing"


def test_a_supplementary_takes_no_instalment_twice(case):
    again = cycle.calculate(case["db"], case["register"], PERIODS[-1], "ana", rules=case["rules"],
                            store_dir=case["work"] / "store")
    assert again["net_minor"] == 0 and again["payments"] == 0


def test_audit_recompute_proves_the_paying_payroll(case):
    assert audit.recompute(case["db"], case["payroll"])["ok"]


def carried_right(case) -> tuple[int, dict]:
    """A right carried in January and paid in February whose only order is a fixed one (and the order)."""
    january, february = case["lines"][:2]
    carried = set(january.filter(pc.equal(january.column("component"), "carry_out")).column("right_id").to_pylist())
    carried -= set(february.filter(pc.equal(february.column("component"), "carry_out")).column("right_id")
                   .to_pylist())
    per_right = {}
    for order in case["register_orders"].to_pylist():
        per_right.setdefault(order["right_id"], []).append(order)
    for right in sorted(carried):
        orders = per_right.get(right, [])
        if len(orders) == 1 and orders[0]["fixed_minor"]:
            return right, orders[0]
    raise AssertionError("no right carried in January with one fixed order")


def edited(case, folder, right: int, versions: list) -> object:
    """A copy of the register whose `right` has the given versions (dicts of changes over its row)."""
    import shutil

    shutil.copytree(case["register"], folder)
    rows = case["rights"].to_pylist()
    row = next(r for r in rows if r["right_id"] == right)
    rows = [r for r in rows if r["right_id"] != right] + [dict(row, version=i + 1, **changes)
                                                          for i, changes in enumerate(versions)]
    pq.write_table(pa.Table.from_pylist(rows, schema=case["rights"].schema)
                   .sort_by([("right_id", "ascending"), ("version", "ascending")]), folder / "rights.parquet")
    return folder


def taken_by(db, payroll, order_id) -> dict:
    with cycle.open_db(db).engine.connect() as conn:
        orders = store.read_orders(store.get_payroll(conn, payroll)).to_pylist()
    return {row["for_month"]: row["amount_minor"] for row in orders if row["order_id"] == order_id}


def test_months_that_only_carry_the_money_on_owe_no_instalment(case, tmp_path):
    """January carried; February and March have nothing due (the carried money is withheld again); April pays
    January's and April's money: two instalments, not four."""
    import datetime as dt

    right, order = carried_right(case)
    folder = edited(case, tmp_path / "register", right, [
        dict(valid_from=dt.date(2024, 1, 1), valid_to=dt.date(2025, 1, 31), decided_on=dt.date(2024, 12, 1)),
        dict(valid_from=dt.date(2025, 4, 1), valid_to=None, decided_on=dt.date(2024, 12, 1))])
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    for period in PERIODS:
        payroll = cycle.calculate(db, folder, period, "ana", rules=case["rules"], store_dir=tmp_path / "store")
        cycle.approve(db, payroll["payroll"], "marko")
    took = taken_by(db, payroll["payroll"], order["order_id"])
    assert took and sum(took.values()) <= 2 * order["fixed_minor"] and set(took) <= {660, 663}, took


def test_a_reopened_month_takes_no_instalment_a_later_payroll_took_for_it(case, tmp_path):
    """January carried, February paid January's and February's instalments (the orders file says which month each
    was for); January reopened after a decision raising its due takes no January instalment again."""
    import datetime as dt

    right, order = carried_right(case)
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    for period in PERIODS[:2]:
        made = cycle.calculate(db, case["register"], period, "ana", rules=case["rules"], store_dir=tmp_path / "store")
        cycle.approve(db, made["payroll"], "marko")
    february = taken_by(db, made["payroll"], order["order_id"])
    assert sorted(february) == [660, 661], february  # the take split by the month it is for (posted in February)
    row = next(r for r in case["rights"].to_pylist() if r["right_id"] == right)
    income = row["income_minor"] or 0
    folder = edited(case, tmp_path / "register", right, [
        dict(valid_to=dt.date(2024, 12, 31)),
        dict(valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 1, 31), decided_on=dt.date(2025, 1, 25),
             income_minor=max(income - 2000, 0)),
        dict(valid_from=dt.date(2025, 2, 1), decided_on=dt.date(2025, 1, 25))])
    reopened = cycle.calculate(db, folder, PERIODS[0], "ana", rules=case["rules"], store_dir=tmp_path / "store",
                               reopen=PERIODS[0], reason="decision of 2025-01-25")
    cycle.approve(db, reopened["payroll"], "marko")
    assert taken_by(db, reopened["payroll"], order["order_id"]).get(660, 0) + february[660] <= order["fixed_minor"]
    assert audit.recompute(db, reopened["payroll"])["ok"]


def test_orders_taken_reads_a_month_reopened_after_later_ones(monkeypatch):
    """January reopened after March paid March's carried instalment: a supplementary March must see it, though
    that payroll's period is January (session.orders_taken reads every payroll approved from the first of a month
    wanted or later on, by their for_month)."""
    from payroll import session

    files = {  # payroll id -> its orders file (kind, order_id, month posted, for_month, amount)
        "JAN": [("alimony", 3, 660, 660, 0)], "FEB": [], "MAR": [],
        "JAN-2": [("alimony", 3, 660, 660, 2000), ("alimony", 3, 660, 661, 2000), ("alimony", 3, 660, 662, 2000),
                  ("receivable", -1, 660, 660, 500)]}
    monkeypatch.setattr(session.store, "get_payroll", lambda conn, payroll_id: payroll_id)
    monkeypatch.setattr(session.store, "read_orders", lambda payroll_id: pa.table({
        name: pa.array([row[i] for row in files[payroll_id]], pa.string() if i == 0 else pa.int64())
        for i, name in enumerate(("kind", "order_id", "month", "for_month", "amount_minor"))}))
    approved = [("JAN", "2025-01", 0), ("FEB", "2025-02", 0), ("MAR", "2025-03", 0), ("JAN-2", "2025-01", 0)]
    order_ids, months, amounts = session.orders_taken(None, approved, [662])
    assert (order_ids.tolist(), months.tolist(), amounts.tolist()) == ([3], [662], [2000])
    assert session.orders_taken(None, approved[:2], [662]) is None
