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
