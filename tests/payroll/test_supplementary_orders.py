"""A supplementary payroll takes a fixed order's monthly amount only once a month.

January is approved on a small generated register. A decision dated in January then lowers to 0 the income of
the ME_MO rights that carry fixed-amount orders (their January due goes up), and January is calculated again: a
supplementary payroll. Each fixed order may take, in the two January payrolls together, no more than its monthly
amount (it took 22.00 of a 22.00 instalment in the first and 22.00 again in the supplementary; an alimony order of
85.00 took 74.77 then 10.64); a percentage order takes its share of the supplementary's gross as before, and audit
recompute proves the supplementary (it reads the same earlier orders).
"""
import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from payroll import audit, cycle, store
from synthetic.register import generate_register

DECIDED = dt.date(2025, 1, 25)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    work = tmp_path_factory.mktemp("supplementary")
    before, after = work / "before", work / "after"
    generate_register(before, 300, 5, "2025-01")
    rights, orders = pq.read_table(before / "rights.parquet"), pq.read_table(before / "deductions.parquet")
    rows = rights.to_pylist()
    versions = rights.group_by("right_id").aggregate([("version", "count")]).to_pylist()
    single = {row["right_id"] for row in versions if row["version_count"] == 1}
    fixed = {row["right_id"] for row in orders.to_pylist() if row["fixed_minor"]}
    targets = {row["right_id"] for row in rows if row["right_id"] in fixed & single and row["benefit"] == "ME_MO"
               and (row["income_minor"] or 0) > 0 and row["valid_to"] is None}
    assert len(targets) >= 3, "the generated register has too few ME_MO rights with fixed orders"
    added = []
    for row in rows:
        if row["right_id"] in targets:
            row["valid_to"] = DECIDED.replace(day=1) - dt.timedelta(days=1)
            added.append(dict(row, version=2, valid_from=DECIDED.replace(day=1), valid_to=None, decided_on=DECIDED,
                              income_minor=0))
    shutil.copytree(before, after)
    pq.write_table(pa.Table.from_pylist(rows + added, schema=rights.schema)
                   .sort_by([("right_id", "ascending"), ("version", "ascending")]), after / "rights.parquet")
    db = f"sqlite:///{work / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    january = cycle.calculate(db, before, "2025-01", "ana", store_dir=work / "store")["payroll"]
    cycle.approve(db, january, "marko")
    supplementary = cycle.calculate(db, after, "2025-01", "ana", store_dir=work / "store")["payroll"]
    cycle.approve(db, supplementary, "marko")
    with cycle.open_db(db).engine.connect() as conn:
        taken = [store.read_orders(store.get_payroll(conn, payroll)) for payroll in (january, supplementary)]
    return dict(db=db, orders=orders, targets=targets, taken=taken, supplementary=supplementary)


def taken_per_order(table: pa.Table) -> dict:
    rows = table.filter(pc.greater_equal(table.column("order_id"), 0)).to_pylist()
    return {row["order_id"]: row["amount_minor"] for row in rows}


def test_fixed_orders_take_their_monthly_amount_once(case):
    first, second = (taken_per_order(table) for table in case["taken"])
    fixed = {row["order_id"]: row["fixed_minor"] for row in case["orders"].to_pylist()
             if row["fixed_minor"] and row["right_id"] in case["targets"]}
    assert any(first.get(order) == amount for order, amount in fixed.items()), "no instalment was whole in January"
    assert any(second.get(order) for order in fixed), "the supplementary took nothing: the case proves nothing"
    for order, amount in fixed.items():
        assert first.get(order, 0) + second.get(order, 0) <= amount, order
        if first.get(order, 0) < amount:  # what January left of the instalment, as far as the caps allow
            assert second.get(order, 0) > 0 or first.get(order, 0) == 0, order


def test_percentage_orders_take_their_share_of_the_supplementary(case):
    second = taken_per_order(case["taken"][1])
    percent = [row["order_id"] for row in case["orders"].to_pylist()
               if row["percent_bp"] and row["right_id"] in case["targets"]]
    assert percent and all(second.get(order, 0) > 0 for order in percent)


def test_audit_recompute_proves_the_supplementary(case):
    assert audit.recompute(case["db"], case["supplementary"])["ok"]
