"""`isplata db init` and `isplata ledger ...` through click's CliRunner, on SQLite and PostgreSQL."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import main
from ledgers import PostingsBuilder, open_ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    # the commands take plain postgresql:// URLs, as a user would type them
    return request.getfixturevalue("pg_schema_url").replace("postgresql+psycopg://", "postgresql://", 1)


def run(db_url: str, *args: str):
    return CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)


def post_payroll(db_url: str, period: int, rights: int) -> None:
    book = open_ledger(db_url)
    right = np.arange(1, rights + 1)
    amount = right * 1_000
    refs = np.array([f"E2E-{period}-{r}" for r in right])
    builder = PostingsBuilder(period)
    builder.add_transfer(("benefit_expense", 1), ("benefits_payable", right + 500), amount, "due", right_id=right,
                         payee_id=right + 500, payment_ref=refs)
    book.append_batch("approve", f"PR-{period}", builder,
                      {"payment_ref": refs, "payee_id": right + 500, "amount_minor": amount})
    book.close()


def test_init_then_audit_commands(db_url, tmp_path):
    assert run(db_url, "db", "init").exit_code == 0
    result = run(db_url, "db", "init", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["schema_version"] == 3  # 2: events, holds and payroll records chained; 3: the country too
    post_payroll(db_url, 660, 4)
    post_payroll(db_url, 661, 3)
    digest = run(db_url, "ledger", "digest").output.strip()
    assert len(digest) == 64
    verified = json.loads(run(db_url, "ledger", "verify", "--json", "--digest", digest).output)
    assert verified == {"ok": True, "batches": 2, "postings": 14, "digest": digest, "first_bad_batch": None,
                        "reason": "", "records": []}
    balance = json.loads(run(db_url, "ledger", "balance", "--account", "benefits_payable", "--key", "501",
                             "--json").output)
    assert balance["total_minor"] == -2_000
    assert "benefit expense" in run(db_url, "ledger", "balance").output
    proof_file = tmp_path / "proof.json"
    assert run(db_url, "ledger", "prove", "E2E-660-2", "--out", str(proof_file)).exit_code == 0
    checked = CliRunner().invoke(main, ["ledger", "check-proof", str(proof_file), "--digest", digest])
    assert checked.exit_code == 0 and "batch 1" in checked.output
    forged = json.loads(proof_file.read_text())
    forged["payment"]["amount_minor"] += 100
    proof_file.write_text(json.dumps(forged))
    refused = CliRunner().invoke(main, ["ledger", "check-proof", str(proof_file), "--digest", digest, "--json"])
    assert refused.exit_code == 1 and json.loads(refused.output)["ok"] is False
    exported = json.loads(run(db_url, "ledger", "export", "--out", str(tmp_path / "audit"), "--json").output)
    assert exported["digest"] == digest and (tmp_path / "audit" / "postings.parquet").exists()


def test_balance_filters_and_as_of_is_the_accounting_period(db_url):
    run(db_url, "db", "init")
    post_payroll(db_url, 660, 4)  # 2025-01: rights 1..4, 1,000 .. 4,000
    post_payroll(db_url, 661, 3)  # 2025-02: rights 1..3; both batches are booked today
    balance = lambda *args: json.loads(run(db_url, "ledger", "balance", "--account", "benefits_payable", *args,
                                           "--json").output)
    assert balance()["total_minor"] == -16_000
    january = balance("--as-of", "2025-01")
    assert january["total_minor"] == -10_000 and january["as_of"] == "2025-01"  # not every posting booked by today
    assert balance("--period", "2025-02")["total_minor"] == -6_000
    assert balance("--right", "2", "--as-of", "2025-02")["total_minor"] == -4_000
    assert balance("--payee", "504")["total_minor"] == -4_000
    bad = run(db_url, "ledger", "balance", "--as-of", "2025-13", "--json")
    assert bad.exit_code == 2 and json.loads(bad.output)["problems"][0]["file"] == "--as-of"
    unknown = run(db_url, "ledger", "balance", "--benefit", "XX_NONE")
    assert unknown.exit_code == 2 and "no benefit 'XX_NONE'" in unknown.output


def test_verify_exits_1_naming_the_batch(db_url):
    run(db_url, "db", "init")
    post_payroll(db_url, 660, 4)
    post_payroll(db_url, 661, 4)
    book = open_ledger(db_url)
    with book.engine.begin() as conn:
        if book.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER ledger_postings_no_update")
        conn.exec_driver_sql("UPDATE ledger_postings SET amount_minor = 1 WHERE posting_id = 10")
    book.close()
    result = run(db_url, "ledger", "verify")
    assert result.exit_code == 1 and "batch 2" in result.output
    assert json.loads(run(db_url, "ledger", "verify", "--json").output)["first_bad_batch"] == 2


def test_usage_errors_exit_2(db_url, tmp_path):
    result = run(db_url, "ledger", "digest")
    assert result.exit_code == 2 and "db init" in result.output
    run(db_url, "db", "init")
    assert run(db_url, "ledger", "prove", "NOPE", "--out", str(tmp_path / "p.json")).exit_code == 2
    assert run(db_url, "ledger", "balance", "--account", "petty_cash").exit_code == 2
    (tmp_path / "bad.json").write_text("{not json")
    assert CliRunner().invoke(main, ["ledger", "check-proof", str(tmp_path / "bad.json"), "--digest", "0" * 64]
                              ).exit_code == 2
    # a digest that is not 64 hex digits is mistyped, not a failed check
    assert run(db_url, "ledger", "verify", "--digest", "abc").exit_code == 2
    (tmp_path / "proof.json").write_text("{}")
    assert CliRunner().invoke(main, ["ledger", "check-proof", str(tmp_path / "proof.json"), "--digest", "xyz"]
                              ).exit_code == 2


def test_unreachable_database_exits_2():
    result = CliRunner().invoke(main, ["--db", "postgresql://nobody@127.0.0.1:1/none", "ledger", "verify"])
    assert result.exit_code == 2 and "cannot open the database" in result.output


def test_verify_names_the_batches_cut_from_the_end_of_the_chain_without_a_digest(tmp_path):
    """The export's batch (the last) deleted behind dropped triggers: the batch chain still links to the genesis,
    but the hash-chained `exported` event names the batch, so verify fails (exit 1) without a saved digest."""
    import sqlite3

    from acceptance.test_contracts import PAYROLL, export_september

    export_september(tmp_path)
    db = tmp_path / "isplata.db"
    with sqlite3.connect(db) as con:
        [(batch_id,)] = con.execute("SELECT batch_id FROM ledger_batches WHERE kind = 'export'").fetchall()
        assert batch_id == con.execute("SELECT max(batch_id) FROM ledger_batches").fetchone()[0]
        for table in ("ledger_postings", "ledger_payments", "ledger_expense_columns", "ledger_batches"):
            con.execute(f"DROP TRIGGER {table}_no_delete")
            con.execute(f"DELETE FROM {table} WHERE batch_id = ?", (batch_id,))
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "ledger", "verify", "--json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    assert found["ok"] is False and found["first_bad_batch"] is None
    assert f"(exported {PAYROLL}) names batch {batch_id}, which the ledger no longer holds" in found["reason"]


@pytest.mark.parametrize("args", [("payroll", "lines", "{payroll}", "--out", "{missing}/lines.parquet"),
                                  ("report", "{payroll}", "--html", "{missing}/report.html"),
                                  ("ledger", "export", "--out", "{missing}/ledger"),
                                  ("ledger", "prove", "{payroll}-0000001", "--out", "{missing}/proof.json")])
def test_an_output_in_a_missing_folder_is_refused_and_no_folder_is_made(tmp_path, args):
    """As export and reconcile refuse an --out whose parent is missing, every output does: exit 2, the path in the
    message, nothing written and no new tree of folders."""
    from acceptance.test_contracts import PAYROLL, export_september

    export_september(tmp_path)
    missing = tmp_path / "no" / "such"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'isplata.db'}",
                                       *(arg.format(payroll=PAYROLL, missing=missing) for arg in args)])
    assert result.exit_code == 2, result.output
    assert f"its parent folder {missing}" in result.output and not (tmp_path / "no").exists()


def test_a_refused_command_leaves_an_empty_file_and_another_database_as_they_were(tmp_path):
    """A command refused for want of a ledger changes nothing: an empty file stays empty (not a WAL database), and
    another program's SQLite database stays byte for byte what it was."""
    import sqlite3

    empty, other = tmp_path / "empty.db", tmp_path / "other.db"
    empty.touch()
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE accounts (id INTEGER)")
    before = other.read_bytes()
    for path in (empty, other):
        result = CliRunner().invoke(main, ["--db", f"sqlite:///{path}", "payroll", "list"])
        assert result.exit_code == 2 and "has no ledger" in result.output
    assert empty.stat().st_size == 0 and other.read_bytes() == before
    assert not list(tmp_path.glob("*-wal")) and not list(tmp_path.glob("*-shm"))
    assert CliRunner().invoke(main, ["--db", f"sqlite:///{empty}", "db", "init"]).exit_code == 0  # init still may
