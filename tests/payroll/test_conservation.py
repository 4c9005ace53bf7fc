"""Money is conserved through the whole pipeline: register -> lines -> ledger -> files -> returns.

For generated registers of random size and seed (hypothesis), one month calculated, approved, exported and
reconciled, then the next month: the file CtrlSums equal the sum of the payments' lines and the ledger's
in-transit postings, the expense the ledger recognised equals due + arrears - overpayments of the lines, every
ledger account sums to zero overall, and what the bank settled plus what it rejected is what was sent.
"""
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings, strategies as st

from formats.catalogue import load_catalogue
from ledgers.schema import ACCOUNT
from ledgers.store import Ledger
from payroll import cycle, demo, reconcile, store
from synthetic.next_month import advance_register
from synthetic.register import generate_register


def component_sum(lines, *names) -> int:
    chosen = lines.filter(pc.is_in(lines.column("component"), value_set=pa.array(names)))
    return int(pc.sum(chosen.column("amount_minor")).as_py() or 0)


def check_payroll(db: str, payroll_id: str, manifest: dict) -> None:
    with Ledger(db) as ledger:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, payroll_id)
        lines, payments = store.read_lines(record), store.read_payments(record)
        on_payment = lines.filter(pc.is_valid(lines.column("payment_ref")))
        paid_lines = int(pc.sum(on_payment.column("amount_minor")).as_py() or 0)
        assert manifest["ctrl_sum_minor"] == paid_lines == record.net_minor
        assert int(pc.sum(payments.column("amount_minor")).as_py() or 0) == paid_lines
        approve = ledger.find_batch("approve", payroll_id)
        approved = ledger.read_postings(approve.first_posting, approve.n_postings)
        expense = int(approved["amount_minor"][approved["account_kind"] == ACCOUNT["benefit_expense"]].sum())
        assert expense == component_sum(lines, "due", "arrears", "overpayment", "written_off")
        export = ledger.find_batch("export", payroll_id)
        sent = ledger.read_postings(export.first_posting, export.n_postings)
        transit = (sent["account_kind"] == ACCOUNT["in_transit_bank"]) | \
            (sent["account_kind"] == ACCOUNT["in_transit_post"])
        assert -int(sent["amount_minor"][transit].sum()) == manifest["ctrl_sum_minor"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rights=st.integers(min_value=40, max_value=400), seed=st.integers(min_value=0, max_value=10_000))
def test_two_months_with_returns_conserve_money(tmp_path_factory, rights, seed):
    work = tmp_path_factory.mktemp("conservation")
    db = f"sqlite:///{work / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    catalogue = load_catalogue()
    generate_register(work / "r1", rights, seed, "2025-01")
    first = cycle.calculate(db, work / "r1", "2025-01", "ana", store_dir=work / "store")
    cycle.approve(db, first["payroll"], "marko")
    manifest = cycle.export(db, first["payroll"], work / "out1")
    check_payroll(db, first["payroll"], manifest)
    bank = demo.simulate_bank(db, first["payroll"], work / "returns", catalogue, seed)
    result = reconcile.reconcile(db, bank["files"])
    assert result["unmatched"] == 0
    assert result["settled_minor"] + result["rejected_minor"] == manifest["ctrl_sum_minor"]
    with Ledger(db) as ledger:
        transit = ledger.balance(account="in_transit_bank") + ledger.balance(account="in_transit_post")
        assert transit == 0
        assert ledger.balance(account="returned_awaiting_reissue") == \
            -(result["returned_minor"] + result["rejected_minor"])
    advance_register(work / "r1", work / "r2", seed, "2025-02")
    second = cycle.calculate(db, work / "r2", "2025-02", "ana", store_dir=work / "store")
    cycle.approve(db, second["payroll"], "marko")
    check_payroll(db, second["payroll"], cycle.export(db, second["payroll"], work / "out2"))
    with Ledger(db) as ledger:
        assert sum(row["balance_minor"] for row in ledger.balances()) == 0
