"""Issue 12, items 7 and 8 through the command line on SQLite and PostgreSQL: the tables that decide money are
append-only and chained (an edit behind dropped triggers fails `ledger verify` and `audit recompute`, naming the
table, the row and the field), a draft can be cancelled, a superseded draft shows so, an officer can hold a right
or a payee before export, and a hold is released by a second officer (maker-checker)."""
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli.main import main
from ledgers.store import Ledger
from synthetic.register import generate_register

PERIOD = "2025-01"


@pytest.fixture(scope="module")
def register_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("register") / PERIOD
    generate_register(folder, 150, 3, PERIOD)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cycle.db'}"
    return request.getfixturevalue("pg_schema_url").replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def cli(db_url, tmp_path):
    assert CliRunner().invoke(main, ["--db", db_url, "db", "init"]).exit_code == 0  # only db init creates a ledger

    def run(*args):
        extra = ["--store", str(tmp_path / "store")] if args and args[0] == "calculate" else []
        return CliRunner().invoke(main, ["--db", db_url, *args, *extra])
    assert run("db", "init").exit_code == 0
    return run


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def calculate(cli, data, by="ana") -> dict:
    return as_json(cli("calculate", "--data", str(data), "--period", PERIOD, "--by", by, "--json"))


def tamper(db_url: str, *statements: str) -> None:
    """Statements run with every trigger out of the way, as a DBA could."""
    with Ledger(db_url) as book, book.engine.begin() as conn:
        if book.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def first_right(register_dir: Path) -> int:
    return pq.read_table(register_dir / "rights.parquet", columns=["right_id"]).column(0)[0].as_py()


def failed_checks(cli, payroll: str) -> tuple[str, str]:
    verified = cli("ledger", "verify", "--json")
    assert verified.exit_code == 1, verified.output
    audited = cli("audit", "recompute", payroll, "--json")
    assert audited.exit_code == 1, audited.output
    return " | ".join(json.loads(verified.stdout)["records"]), " | ".join(json.loads(audited.stdout)["differences"])


@pytest.fixture
def approved(cli, register_dir):
    payroll = calculate(cli, register_dir)["payroll"]
    as_json(cli("approve", payroll, "--by", "marko", "--json"))
    as_json(cli("hold", "place", "--right", str(first_right(register_dir)), "--by", "ana", "--reason", "check",
                "--json"))
    assert cli("ledger", "verify").exit_code == 0
    assert as_json(cli("audit", "recompute", payroll, "--json"))["ok"]
    return payroll


@pytest.mark.parametrize("statement,field", [
    ("UPDATE payrolls SET created_by = 'marko'", "created_by"),
    ("UPDATE payrolls SET lines_sha256 = '" + "0" * 64 + "'", "lines_sha256"),
    ("UPDATE payrolls SET net_minor = net_minor + 100000", "net_minor"),
    ("UPDATE payrolls SET input_sha256 = '{}'", "input_sha256"),
])
def test_an_edited_payroll_record_fails_verify_and_audit_naming_the_field(cli, db_url, approved, statement, field):
    tamper(db_url, statement)
    verified, audited = failed_checks(cli, approved)
    assert f"payrolls payroll_id={approved}: {field} was changed" in verified
    assert "committed to" in verified  # the approval batch's commitment to the row breaks too
    assert f"payrolls payroll_id={approved}: {field} was changed" in audited


def test_a_deleted_or_inserted_payroll_row_is_named(cli, db_url, approved):
    tamper(db_url, "INSERT INTO payrolls SELECT 'ME-202501-09', country, period, 9, currency, minor_exponent, "
                   "created_by, created_at, data_folder, input_sha256, catalogue_path, catalogue_sha256, "
                   "store_folder, lines_sha256, payments_sha256, rights, payments, net_minor, batch_mark, hold_mark, "
                   "totals_json FROM payrolls")
    verified, _ = failed_checks(cli, approved)
    assert "payrolls payroll_id=ME-202501-09: the row is not in the hash chain" in verified
    tamper(db_url, f"DELETE FROM payrolls WHERE payroll_id = '{approved}'")
    verified = " | ".join(json.loads(cli("ledger", "verify", "--json").stdout)["records"])
    assert f"payrolls payroll_id={approved}: the row was deleted" in verified


@pytest.mark.parametrize("table,statement", [
    ("payrolls", "UPDATE payrolls SET created_by = 'marko'"),
    ("payrolls", "DELETE FROM payrolls"),
    ("payroll_holds", "DELETE FROM payroll_holds"),
    ("payroll_holds", "UPDATE payroll_holds SET placed_by = 'x'"),
])
def test_the_tables_around_the_ledger_refuse_update_and_delete(cli, db_url, approved, table, statement):
    import sqlalchemy as sa

    with Ledger(db_url) as book:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with book.engine.begin() as conn:
                conn.exec_driver_sql(statement)
        if book.dialect == "postgresql":
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with book.engine.begin() as conn:
                    conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")


def test_postgresql_application_role_cannot_edit_even_without_triggers(cli, db_url, approved):
    import sqlalchemy as sa

    with Ledger(db_url) as book:
        if book.dialect != "postgresql":
            pytest.skip("privileges are PostgreSQL's")
        for table in ("payrolls", "payroll_holds", "ledger_events", "ledger_batches"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with book.engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
                    conn.exec_driver_sql("SET LOCAL ROLE isplata_app")
                    conn.exec_driver_sql(f"DELETE FROM {table}")
        with book.engine.begin() as conn:  # while reading and appending are allowed
            conn.exec_driver_sql("SET LOCAL ROLE isplata_app")
            assert conn.exec_driver_sql("SELECT count(*) FROM payrolls").scalar() == 1


@pytest.mark.parametrize("statement,finding", [
    ("DELETE FROM payroll_holds", "payroll_holds hold_id=1: the row was deleted"),
    ("UPDATE payroll_holds SET placed_by = 'reconcile'", "payroll_holds hold_id=1: placed_by was changed"),
    ("UPDATE payroll_holds SET kind = 'release'", "payroll_holds hold_id=1: kind was changed"),
    ("INSERT INTO payroll_holds VALUES (2, 'release', 1, -1, 'RELEASED', 'manual-1', NULL, 'x', 'bob', '')",
     "payroll_holds hold_id=2: the row is not in the hash chain"),
])
def test_an_edited_hold_fails_verify_and_audit(cli, db_url, approved, statement, finding):
    tamper(db_url, statement)
    verified, audited = failed_checks(cli, approved)
    assert finding in verified and finding in audited
    assert "FAILED" in cli("ledger", "verify").output


# ---- item 8: cancel, superseded, holds placed by officers, maker-checker release ------------------------------

def statuses(cli) -> dict:
    return {row["payroll"]: row["status"] for row in as_json(cli("payroll", "list", "--json"))}


def test_a_cancelled_draft_is_never_approved_or_exported(cli, db_url, register_dir, tmp_path):
    payroll = calculate(cli, register_dir)["payroll"]
    assert cli("payroll", "cancel", payroll, "--by", "ana", "--reason", " ").exit_code == 2
    cancelled = as_json(cli("payroll", "cancel", payroll, "--by", "ana", "--reason", "wrong snapshot", "--json"))
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_by"] == "ana"
    assert statuses(cli) == {payroll: "cancelled"}
    assert as_json(cli("payroll", "show", payroll, "--json"))["status"] == "cancelled"
    refused = cli("approve", payroll, "--by", "marko")
    assert refused.exit_code == 2 and "cancelled" in refused.output
    refused = cli("export", payroll, "--out", str(tmp_path / "out"))
    assert refused.exit_code == 2 and "cancelled" in refused.output
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True  # nothing written
    again = cli("payroll", "cancel", payroll, "--by", "ana", "--reason", "twice")
    assert again.exit_code == 2 and "only a draft" in again.output
    assert cli("ledger", "verify").exit_code == 0
    with Ledger(db_url) as book:
        assert [e["kind"] for e in book.events(subject=payroll)] == ["calculated", "cancelled"]


def test_only_a_draft_can_be_cancelled_and_statuses_follow_the_lifecycle(cli, db_url, register_dir, tmp_path):
    first = calculate(cli, register_dir)["payroll"]
    second = calculate(cli, register_dir)["payroll"]
    assert statuses(cli) == {first: "superseded", second: "draft"}
    refused = cli("approve", first, "--by", "marko")
    assert refused.exit_code == 2 and second in refused.output
    as_json(cli("approve", second, "--by", "marko", "--json"))
    assert statuses(cli) == {first: "superseded", second: "approved"}
    refused = cli("payroll", "cancel", second, "--by", "ana", "--reason", "too late")
    assert refused.exit_code == 2 and "approved" in refused.output and "only a draft" in refused.output
    as_json(cli("export", second, "--out", str(tmp_path / "out"), "--json"))
    assert statuses(cli)[second] == "exported"
    from payroll import demo
    from formats.catalogue import load_catalogue
    files = demo.simulate_bank(db_url, second, tmp_path / "returns", load_catalogue(), seed=5)["files"]
    cli("reconcile", *files, "--json")
    assert statuses(cli) == {first: "superseded", second: "reconciled"}
    assert as_json(cli("payroll", "cancel", first, "--by", "ana", "--reason", "old run", "--json"))["status"] \
        == "cancelled"
    assert statuses(cli)[first] == "cancelled"


def lines_of(cli, payroll: str, tmp_path):
    out = tmp_path / f"{payroll}.parquet"
    assert cli("payroll", "lines", payroll, "--out", str(out)).exit_code == 0
    return pq.read_table(out)


def paid_rights(lines) -> set:
    return {row["right_id"] for row in lines.to_pylist() if row["payment_ref"] and row["component"] == "due"}


def test_an_officers_hold_stops_payment_and_needs_a_second_officer_to_release(cli, register_dir, tmp_path):
    rights = pq.read_table(register_dir / "rights.parquet", columns=["right_id", "payee_id"]).to_pylist()
    first = calculate(cli, register_dir)["payroll"]
    paid = paid_rights(lines_of(cli, first, tmp_path))
    right = next(r["right_id"] for r in rights if r["right_id"] in paid)
    payee = next(r["payee_id"] for r in rights if r["right_id"] in paid and r["right_id"] != right)
    of_payee = {r["right_id"] for r in rights if r["payee_id"] == payee}
    assert cli("payroll", "cancel", first, "--by", "ana", "--reason", "holds first").exit_code == 0

    held_right = as_json(cli("hold", "place", "--right", str(right), "--by", "ana", "--reason", "reported dead",
                             "--json"))
    held_payee = as_json(cli("hold", "place", "--payee", str(payee), "--by", "ana", "--reason", "guardian",
                             "--json"))
    assert (held_right["kind"], held_right["right_id"], held_right["placed_by"]) == ("right", right, "ana")
    assert (held_payee["kind"], held_payee["payee_id"]) == ("payee", payee)
    assert cli("hold", "place", "--right", str(right), "--payee", str(payee), "--by", "ana",
               "--reason", "x").exit_code == 2
    assert cli("hold", "place", "--right", str(2**62), "--by", "ana", "--reason", "x").exit_code == 2
    again = cli("hold", "place", "--right", str(right), "--by", "bob", "--reason", "x")
    assert again.exit_code == 2 and "already held" in again.output

    second = calculate(cli, register_dir)
    assert not (paid_rights(lines_of(cli, second["payroll"], tmp_path)) & ({right} | of_payee))
    refused = cli("hold", "release", str(held_right["hold_id"]), "--by", "ana", "--note", "mine")
    assert refused.exit_code == 2 and "maker-checker" in refused.output
    as_json(cli("hold", "release", str(held_right["hold_id"]), "--by", "marko", "--note", "alive", "--json"))
    as_json(cli("hold", "release", str(held_payee["hold_id"]), "--by", "marko", "--note", "court", "--json"))
    assert as_json(cli("hold", "list", "--json")) == []
    third = calculate(cli, register_dir)
    assert {right} | of_payee <= paid_rights(lines_of(cli, third["payroll"], tmp_path))
    assert cli("ledger", "verify").exit_code == 0


def test_officers_run_the_cycle_as_the_postgresql_application_role(db_url, register_dir, tmp_path):
    """The documented deployment: the owner runs `db init`, officers log in as members of isplata_app (here
    the role is set on connect): every step works, and an edit is refused by privileges even without triggers."""
    import sqlalchemy as sa
    from urllib.parse import quote

    if not db_url.startswith("postgresql"):
        pytest.skip("privileges are PostgreSQL's")
    app_url = db_url + quote(" -crole=isplata_app")

    def run(url, *args):
        return CliRunner().invoke(main, ["--db", url, *args])

    assert run(db_url, "db", "init").exit_code == 0
    summary = as_json(run(app_url, "calculate", "--data", str(register_dir), "--period", PERIOD, "--by", "ana",
                          "--store", str(tmp_path / "store"), "--json"))
    as_json(run(app_url, "approve", summary["payroll"], "--by", "marko", "--json"))
    as_json(run(app_url, "hold", "place", "--payee", "1", "--by", "ana", "--reason", "x", "--json"))
    assert run(app_url, "ledger", "verify").exit_code == 0
    with Ledger(app_url) as book:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with book.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE payrolls SET created_by = 'marko'")


def test_a_draft_calculated_before_a_hold_is_not_approved(cli, register_dir):
    """The hold stops the payment before export: a draft that did not see it would still pay it."""
    draft = calculate(cli, register_dir)["payroll"]
    hold = as_json(cli("hold", "place", "--payee", "1", "--by", "ana", "--reason", "x", "--json"))
    refused = cli("approve", draft, "--by", "marko")
    assert refused.exit_code == 2 and f"hold {hold['hold_id']}" in refused.output and "again" in refused.output
    as_json(cli("hold", "release", str(hold["hold_id"]), "--by", "marko", "--note", "ok", "--json"))
    fresh = calculate(cli, register_dir)["payroll"]  # a released hold is no reason to refuse
    as_json(cli("hold", "place", "--payee", "2", "--by", "ana", "--reason", "y", "--json"))
    assert cli("approve", fresh, "--by", "marko").exit_code == 2
    newest = calculate(cli, register_dir)["payroll"]
    assert as_json(cli("approve", newest, "--by", "marko", "--json"))["status"] == "approved"
