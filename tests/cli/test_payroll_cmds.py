"""The monthly cycle through click's CliRunner on SQLite and PostgreSQL: calculate, approve, export, reconcile,
supplementary runs, payroll list/show/lines, report, audit recompute, and the refusals."""
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli.main import main
from formats.schemas import PAYROLL_LINES
from ledgers.store import Ledger
from payroll import demo
from synthetic.register import generate_register

PERIOD = "2025-01"
RIGHTS = 400


@pytest.fixture(scope="module")
def register_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("register") / PERIOD
    generate_register(folder, RIGHTS, 3, PERIOD)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cycle.db'}"
    return request.getfixturevalue("pg_schema_url").replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    """Runs `isplata --db URL ...` with a payroll store private to the test, on a ledger made by `db init`;
    returns the click Result."""
    def run(*args, store=True):
        extra = ["--store", str(tmp_path / "store")] if store and args and args[0] == "calculate" else []
        return CliRunner().invoke(main, ["--db", db_url, *args, *extra])
    assert run("db", "init").exit_code == 0
    monkeypatch.chdir(tmp_path)  # reconcile's outputs go to the working directory
    return run


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def calculate(cli, data, by="ana") -> dict:
    return as_json(cli("calculate", "--data", str(data), "--period", PERIOD, "--by", by, "--json"))


def file_digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def batch_count(db_url: str) -> int:
    with Ledger(db_url) as ledger:
        return len(ledger.batches())


def test_whole_cycle_with_refusals_idempotence_and_supplementary_run(cli, db_url, register_dir, tmp_path):
    summary = calculate(cli, register_dir)
    assert set(summary) == {"payroll", "period", "currency", "rights", "payments", "net_minor", "totals_minor"}
    assert summary["payroll"] == "ME-202501-01" and summary["currency"] == "EUR" and summary["payments"] > 0
    payroll = summary["payroll"]

    refused = cli("approve", payroll, "--by", "ana")
    assert refused.exit_code == 2 and "maker-checker" in refused.output
    approved = as_json(cli("approve", payroll, "--by", "marko", "--json"))
    assert approved["status"] == "approved" and approved["postings"] > 0
    again = cli("approve", payroll, "--by", "marko", "--json")
    assert again.exit_code == 2 and "already approved by marko at " in again.output

    out = tmp_path / "out"
    manifest = as_json(cli("export", payroll, "--out", str(out), "--json"))
    assert set(manifest) == {"payroll", "files", "payments", "ctrl_sum_minor", "execution_date", "debtor_iban",
                             "debtor_bic"}  # DESIGN's keys, and the ones added for the bank (issue 13)
    assert manifest["payments"] == summary["payments"] and manifest["ctrl_sum_minor"] == summary["net_minor"]
    assert json.loads((out / "manifest.json").read_text())["ctrl_sum_minor"] == summary["net_minor"]
    first_files, batches = file_digests(out), batch_count(db_url)
    assert as_json(cli("export", payroll, "--out", str(out), "--json")) == manifest
    assert file_digests(out) == first_files and batch_count(db_url) == batches

    files = demo.simulate_bank(db_url, payroll, tmp_path / "returns", _catalogue(), seed=5)["files"]
    reconciled = as_json(cli("reconcile", *files, "--json"))
    assert set(reconciled) == {"records", "matched", "unmatched", "already_seen", "rejected_minor",
                               "returned_minor", "settled_minor", "charges_minor", "not_ours", "statuses",
                               "holds_placed"}
    assert reconciled["unmatched"] == 0 and reconciled["matched"] == reconciled["records"] > 0
    assert reconciled["returned_minor"] > 0 and reconciled["rejected_minor"] > 0
    assert reconciled["settled_minor"] + reconciled["rejected_minor"] == summary["net_minor"]
    batches = batch_count(db_url)
    again = as_json(cli("reconcile", *files, "--json"))
    assert again["already_seen"] == again["records"] and again["matched"] == 0 and batch_count(db_url) == batches

    supplementary = calculate(cli, register_dir, by="ana")
    assert supplementary["payroll"] == "ME-202501-02"
    # only what reconciliation returned is paid again; nothing else changed, so nothing else is paid
    assert supplementary["net_minor"] == supplementary["totals_minor"]["reissue"]
    assert supplementary["totals_minor"]["due"] == 0 and supplementary["totals_minor"]["arrears"] == 0


def _catalogue():
    from formats.catalogue import load_catalogue
    return load_catalogue()


def test_supplementary_run_without_changes_pays_nothing(cli, register_dir, tmp_path):
    first = calculate(cli, register_dir)
    assert cli("approve", first["payroll"], "--by", "marko").exit_code == 0
    second = calculate(cli, register_dir)
    assert second["payments"] == 0 and second["net_minor"] == 0
    assert all(amount == 0 for name, amount in second["totals_minor"].items() if name != "dropped")
    # the older draft can no longer be approved once it is stale, the newer one can
    assert as_json(cli("approve", second["payroll"], "--by", "marko", "--json"))["status"] == "approved"


def test_newer_draft_and_stale_drafts_are_refused(cli, register_dir):
    first = calculate(cli, register_dir)
    second = calculate(cli, register_dir)
    refused = cli("approve", first["payroll"], "--by", "marko")
    assert refused.exit_code == 2 and second["payroll"] in refused.output
    assert cli("approve", second["payroll"], "--by", "marko").exit_code == 0


def test_failure_in_the_middle_of_approve_leaves_the_ledger_unchanged(cli, db_url, register_dir, monkeypatch):
    summary = calculate(cli, register_dir)
    with Ledger(db_url) as ledger:
        digest, batches = ledger.digest(), len(ledger.batches())

    def broken_insert(*args, **kwargs):
        raise RuntimeError("disk full (injected)")

    import ledgers.store
    monkeypatch.setattr(ledgers.store, "insert_rows", broken_insert)
    result = cli("approve", summary["payroll"], "--by", "marko")
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    monkeypatch.undo()
    with Ledger(db_url) as ledger:
        assert ledger.digest() == digest and len(ledger.batches()) == batches
    listed = as_json(cli("payroll", "list", "--json"))
    assert [row["status"] for row in listed] == ["draft"]
    assert cli("approve", summary["payroll"], "--by", "marko").exit_code == 0


def test_audit_recompute_detects_an_altered_input(cli, register_dir, tmp_path, monkeypatch):
    data = tmp_path / "register"
    shutil.copytree(register_dir, data)
    summary = calculate(cli, data)
    assert cli("approve", summary["payroll"], "--by", "marko").exit_code == 0
    audited = as_json(cli("audit", "recompute", summary["payroll"], "--json"))
    assert audited["ok"] and audited["postings"] > 0
    assert audited["calculated_with"] == audited["recomputed_with"] and "numba" in audited["calculated_with"]
    rights = pq.read_table(data / "rights.parquet")
    income = pc.if_else(pc.equal(pa.array(range(rights.num_rows)), 0), 1, rights.column("income_minor"))
    pq.write_table(rights.set_column(rights.schema.get_field_index("income_minor"), "income_minor",
                                     income.cast(pa.int64())), data / "rights.parquet")
    result = cli("audit", "recompute", summary["payroll"])
    assert result.exit_code == 1 and "rights.parquet was altered" in result.output
    from payroll import session
    monkeypatch.setattr(session, "software_versions", lambda: {"isplata": "9.9.9"})
    upgraded = cli("audit", "recompute", summary["payroll"], "--json")
    assert upgraded.exit_code == 1
    found = json.loads(upgraded.stdout)
    assert found["note"].startswith("calculated with {'isplata'") and found["difference_count"] == 1


def test_payroll_list_show_lines_and_report(cli, register_dir, tmp_path):
    summary = calculate(cli, register_dir)
    listed = as_json(cli("payroll", "list", "--json"))
    assert [(row["payroll"], row["status"]) for row in listed] == [(summary["payroll"], "draft")]
    shown = as_json(cli("payroll", "show", summary["payroll"], "--json"))
    assert shown["net_minor"] == summary["net_minor"] and len(shown["catalogue_sha256"]) == 64
    assert set(shown["input_sha256"]) >= {"rights.parquet", "payees.parquet"}
    out = tmp_path / "lines.parquet"
    assert cli("payroll", "lines", summary["payroll"], "--out", str(out)).exit_code == 0
    lines = pq.read_table(out)
    assert lines.schema.equals(PAYROLL_LINES)
    on_payment = lines.filter(pc.is_valid(lines.column("payment_ref")))
    assert pc.sum(on_payment.column("amount_minor")).as_py() == summary["net_minor"]
    assert pc.count_distinct(on_payment.column("payment_ref")).as_py() == summary["payments"]
    html = tmp_path / "report.html"
    shown_report = cli("report", summary["payroll"], "--html", str(html))
    assert shown_report.exit_code == 0 and "by benefit" in shown_report.output
    assert "Dodatak za djecu (ME_DD)" in shown_report.output  # benefits by their catalogue names
    page = html.read_text()
    assert "<section id='by-benefit'>" in page and "http" not in page and "<script" not in page


def test_unknown_reference_is_an_exception_and_exits_1(cli, register_dir, tmp_path):
    summary = calculate(cli, register_dir)
    assert cli("approve", summary["payroll"], "--by", "marko").exit_code == 0
    assert cli("export", summary["payroll"], "--out", str(tmp_path / "out")).exit_code == 0
    from synthetic.bank_returns import BankReport, write_camt054
    import datetime as dt
    path = tmp_path / "foreign.xml"
    write_camt054(path, {"end_to_end_id": ["ME-202501-77-0000001", summary["payroll"] + "-0000001"],
                         "amount_minor": [100, 1], "reason_code": ["AC01", "AC01"]},
                  BankReport("BANK-1", dt.datetime(2025, 2, 15, 18), "ME25907000000000045322", "EUR"),
                  dt.date(2025, 2, 15))
    result = cli("reconcile", str(path), "--json")
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert counts["unmatched"] == 2 and counts["matched"] == 0
    reports = list(tmp_path.glob("foreign-*-reconcile-exceptions.csv"))  # named after the returns file
    assert len(reports) == 1
    report = reports[0].read_text()
    assert "matches no payment" in report and "differs from the payment" in report


def test_bad_input_exits_2_and_writes_nothing(cli, register_dir, tmp_path):
    data = tmp_path / "bad"
    shutil.copytree(register_dir, data)
    payees = pq.read_table(data / "payees.parquet")
    iban = pc.if_else(pc.equal(pa.array(range(payees.num_rows)), 0), "ME00NOTANIBAN", payees.column("iban"))
    pq.write_table(payees.set_column(payees.schema.get_field_index("iban"), "iban", iban), data / "payees.parquet")
    result = cli("calculate", "--data", str(data), "--period", PERIOD, "--by", "ana")
    assert result.exit_code == 2 and "iban" in result.output.lower() and "Traceback" not in result.output
    assert as_json(cli("payroll", "list", "--json")) == []
    assert not (tmp_path / "store").exists()
    assert cli("calculate", "--data", str(register_dir), "--period", "2025-13", "--by", "ana").exit_code == 2


def test_every_command_has_help_with_an_example():
    for args in (["calculate"], ["approve"], ["export"], ["reconcile"], ["payroll", "list"], ["payroll", "show"],
                 ["payroll", "lines"], ["report"], ["audit", "recompute"], ["demo"]):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, args


def test_hold_list_and_release_refusals(cli):
    listed = cli("hold", "list", "--all", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    unknown = cli("hold", "release", "7", "--by", "marko", "--note", "withdrawn")
    assert unknown.exit_code == 2 and "no hold 7" in unknown.output


def test_officer_files_and_named_balances(cli, register_dir, tmp_path):
    """payroll lines and ledger export as CSV / XLSX (amounts in euros, names beside codes), and ledger balance
    in euros with benefit names, filtered by benefit; the totals equal the Parquet contract's to the cent."""
    import csv
    from decimal import Decimal

    import openpyxl

    summary = calculate(cli, register_dir)
    payroll = summary["payroll"]
    assert cli("approve", payroll, "--by", "marko").exit_code == 0
    assert cli("payroll", "lines", payroll, "--out", str(tmp_path / "lines.parquet")).exit_code == 0
    lines = pq.read_table(tmp_path / "lines.parquet")
    total_minor = pc.sum(lines.column("amount_minor")).as_py()
    written = as_json(cli("payroll", "lines", payroll, "--out", str(tmp_path / "lines.csv"), "--json"))
    assert written["format"] == "csv" and written["lines"] == lines.num_rows
    raw = (tmp_path / "lines.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw[3:].decode("utf-8").splitlines()))
    assert sum(Decimal(row["amount"]) for row in rows) == Decimal(total_minor).scaleb(-2)
    assert {row["currency"] for row in rows} == {"EUR"} and all(len(row["month"]) == 7 for row in rows)
    assert any(row["benefit"] == "ME_DD" and row["benefit_name"] == "Dodatak za djecu" for row in rows)
    assert cli("payroll", "lines", payroll, "--out", str(tmp_path / "lines.dat"), "--format", "xlsx").exit_code == 0
    sheet = openpyxl.load_workbook(open(tmp_path / "lines.dat", "rb"))["lines"]
    header = [cell.value for cell in sheet[1]]
    amounts = [row[header.index("amount")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert round(sum(Decimal(str(a)) for a in amounts), 2) == Decimal(total_minor).scaleb(-2)

    exported = as_json(cli("ledger", "export", "--out", str(tmp_path / "audit"), "--format", "xlsx", "--json"))
    assert exported["format"] == "xlsx" and "ledger.xlsx" in exported["files"]
    book = openpyxl.load_workbook(tmp_path / "audit" / "ledger.xlsx")
    assert book.sheetnames[:5] == ["batches", "postings", "payments", "events", "codes"]
    assert book["batches"]["E2"].is_date  # booked_on, a date
    as_csv = as_json(cli("ledger", "export", "--out", str(tmp_path / "audit-csv"), "--format", "csv", "--json"))
    assert set(as_csv["files"]) == {"batches.csv", "postings.csv", "payments.csv", "events.csv", "codes.csv"}

    balance = as_json(cli("ledger", "balance", "--benefit", "ME_DD", "--json"))
    expense = [row for row in balance["balances"] if row["account"] == "benefit_expense"]
    assert [row["key_name"] for row in expense] == ["Dodatak za djecu (ME_DD)"]
    assert balance["currency"] == "EUR" and "," in expense[0]["balance"]
    paid_dd = pc.sum(lines.filter(pc.and_(pc.equal(lines.column("benefit"), "ME_DD"), pc.is_in(
        lines.column("component"), pa.array(["due", "arrears", "overpayment"])))).column("amount_minor")).as_py()
    assert expense[0]["balance_minor"] == paid_dd
    shown = cli("ledger", "balance", "--benefit", "ME_DD")
    assert "Dodatak za djecu (ME_DD)" in shown.output and "total (EUR)" in shown.output


def test_report_pdf_names_its_converter_or_exits_2(cli, register_dir, tmp_path, monkeypatch):
    import shutil

    payroll = calculate(cli, register_dir)["payroll"]
    if shutil.which("chromium"):
        made = as_json(cli("report", payroll, "--pdf", str(tmp_path / "r.pdf"), "--json"))
        assert made["pdf_converter"].endswith("chromium") and (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    refused = cli("report", payroll, "--pdf", str(tmp_path / "none.pdf"), "--json")
    assert refused.exit_code == 2 and "headless Chromium" in json.loads(refused.stdout)["error"]
    assert not (tmp_path / "none.pdf").exists()
