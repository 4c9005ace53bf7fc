"""Payroll storage: where lines live, the recorded digests, and refusals that protect them."""
import pyarrow.parquet as pq
import pytest

from engine import heap
from payroll import cycle, store
from payroll.errors import Refused
from synthetic.register import generate_register


def test_default_store_sits_next_to_a_sqlite_database(monkeypatch, tmp_path):
    monkeypatch.delenv("ISPLATA_STORE", raising=False)
    assert store.default_store(f"sqlite:///{tmp_path}/ledger.db") == tmp_path / "ledger-payrolls"
    assert store.default_store("postgresql+psycopg://db/x").name == "isplata-payrolls"
    monkeypatch.setenv("ISPLATA_STORE", str(tmp_path / "elsewhere"))
    assert store.default_store("sqlite:///x.db") == tmp_path / "elsewhere"


def test_a_draft_records_its_inputs_and_refuses_tampered_lines(tmp_path):
    generate_register(tmp_path / "reg", 120, 4, "2025-03")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    summary = cycle.calculate(db, tmp_path / "reg", "2025-03", "ana")
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    assert record.lines_path.parent == tmp_path / "ledger-payrolls" / summary["payroll"]
    assert set(record.input_sha256) == {f"{name}.parquet" for name in
                                        ("persons", "households", "rights", "payees", "deductions")}
    assert len(record.catalogue_sha256) == 64 and record.created_by == "ana"
    lines = pq.read_table(record.lines_path)
    pq.write_table(lines.slice(1), record.lines_path)
    with pytest.raises(Refused, match="altered"):
        cycle.approve(db, summary["payroll"], "marko")
    with pytest.raises(Refused, match="no payroll"):
        cycle.approve(db, "ME-202503-09", "marko")


def test_a_store_folder_of_another_database_is_not_overwritten(tmp_path):
    generate_register(tmp_path / "reg", 60, 4, "2025-03")
    (tmp_path / "store" / "ME-202503-01").mkdir(parents=True)
    cycle.open_db(f"sqlite:///{tmp_path / 'a.db'}", create=True).close()
    with pytest.raises(Refused, match="another database"):
        cycle.calculate(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "reg", "2025-03", "ana",
                        store_dir=tmp_path / "store")


def test_written_table_hash_is_the_hash_of_the_file_and_repeats(tmp_path):
    import pyarrow as pa

    table = pa.table({"a": list(range(50_000)), "b": [f"x{i % 97}" for i in range(50_000)]})
    first = store.write_table(table, tmp_path / "one.parquet")
    again = store.write_table(table, tmp_path / "two.parquet")
    assert first == again == store.sha256_file(tmp_path / "one.parquet") == store.sha256_file(tmp_path / "two.parquet")
    assert pq.read_table(tmp_path / "one.parquet").equals(table)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.fixture(params=["sqlite", "postgresql"])
def hold_db_url(request, tmp_path):
    """Holds go in by executemany on SQLite and by COPY on PostgreSQL: both paths."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_schema_url")


def test_hold_writers_chain_their_rows_and_commit_only_with_the_caller(hold_db_url):
    """insert_holds, place_hold and release_hold write in the caller's transaction (h-never-a's steps pass
    theirs): rolled back, neither the rows nor their chained copies remain; committed, verify finds them equal
    (on PostgreSQL the rows go in by COPY: text with a tab, a newline, a backslash and a NULL comes back as given)."""
    from ledgers.verify import record_findings
    from payroll.errors import UserError

    ledger = cycle.open_db(hold_db_url, create=True)
    try:
        reconcile_hold = {"kind": "right", "right_id": 7, "payee_id": 70, "reason_code": "MD07",
                          "payment_ref": "ME-1", "iban": None}
        odd_hold = {"kind": "bank_channel", "right_id": -1, "payee_id": 71, "reason_code": "AC04",
                    "payment_ref": "ME-2", "iban": "ME25505000012345678951", "note": "tab\there\nnew line \\N"}
        with pytest.raises(RuntimeError):
            with ledger.writing() as conn:
                store.insert_holds(conn, [reconcile_hold])
                store.place_hold(conn, "ana", "check", payee_id=70)
                raise RuntimeError("the step failed")
        assert ledger.event_rows() == []
        with ledger.writing() as conn:
            assert store.insert_holds(conn, [reconcile_hold]) == 1
            assert store.insert_holds(conn, [reconcile_hold]) == 0
            placed = store.place_hold(conn, "ana", "check", payee_id=70)
        with ledger.writing() as conn:
            with pytest.raises(UserError, match="maker-checker"):
                store.release_hold(conn, placed["hold_id"], "ANA ")
            store.release_hold(conn, placed["hold_id"], "marko", "ok")
            store.release_hold(conn, 1, "ana", "reconcile's hold: any officer")  # placed by "reconcile"
        with ledger.engine.connect() as conn:
            rows = store.read_holds(conn, released=True).to_pylist()
        assert [(r["hold_id"], r["placed_by"], r["released"]) for r in rows] == [(1, "reconcile", True),
                                                                                 (2, "ana", True)]
        assert rows[0]["iban"] is None
        with ledger.writing() as conn:
            assert store.insert_holds(conn, [odd_hold]) == 1
        with ledger.engine.connect() as conn:
            odd = store.read_holds(conn).to_pylist()[-1]
        assert (odd["iban"], odd["note"], odd["placed_by"]) == (odd_hold["iban"], odd_hold["note"], "reconcile")
        assert [e["kind"] for e in ledger.event_rows()] == ["rows"] * 5
        assert record_findings(ledger) == []
    finally:
        ledger.close()


def _downgrade_to_version_1(ledger) -> None:
    """Reshape a fresh ledger as isplata with schema version 1 left it: no chain columns, holds without who
    placed them, no copies of rows in the events, version 1 recorded."""
    with ledger.engine.begin() as conn:
        sqlite = ledger.dialect == "sqlite"
        if sqlite:
            for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql("DELETE FROM ledger_events WHERE kind = 'rows'")
        conn.exec_driver_sql("DELETE FROM ledger_schema")
        conn.exec_driver_sql("INSERT INTO ledger_schema (version, applied_us) VALUES (1, 0)")
        for table, column in (("ledger_batches", "record_sha256"), ("ledger_batches", "events_head"),
                              ("payroll_holds", "placed_by"), ("payroll_holds", "note")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        if sqlite:  # a column in a UNIQUE constraint cannot be dropped: the table is rebuilt
            conn.exec_driver_sql("CREATE TABLE old_events (event_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
                                 "subject TEXT NOT NULL, payload TEXT NOT NULL, created_us BIGINT NOT NULL)")
            conn.exec_driver_sql("INSERT INTO old_events SELECT event_id, kind, subject, payload, created_us "
                                 "FROM ledger_events")
            conn.exec_driver_sql("DROP TABLE ledger_events")
            conn.exec_driver_sql("ALTER TABLE old_events RENAME TO ledger_events")
        else:
            conn.exec_driver_sql("ALTER TABLE ledger_events DROP COLUMN prev_hash, DROP COLUMN hash")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_init_brings_a_version_1_ledger_up_to_date_keeping_its_digest(backend, request, tmp_path):
    import numpy as np

    from ledgers import PostingsBuilder
    from ledgers.schema import SCHEMA_VERSION
    from ledgers.verify import verify

    url = f"sqlite:///{tmp_path / 'v1.db'}" if backend == "sqlite" else request.getfixturevalue("pg_schema_url")
    ledger = cycle.open_db(url, create=True)
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefit_expense", 1), ("benefits_payable", np.array([5, 6])), np.array([100, 200]),
                         "due", right_id=np.array([1, 2]), payee_id=np.array([5, 6]), month=660)
    batch = ledger.append_batch("approve", "PR-660", builder, period=660)
    ledger.append_event("calculated", "PR-660", {"by": "ana"})
    hold = {"kind": "right", "right_id": 1, "payee_id": 5, "reason_code": "MD07", "payment_ref": "E2E-1", "iban": None}
    with ledger.writing() as conn:
        store.insert_holds(conn, [hold])
    ledger.append_event("approved", "PR-660", {"by": "marko"})
    _downgrade_to_version_1(ledger)
    ledger.close()

    from ledgers import open_ledger
    with open_ledger(url) as old, pytest.raises(Exception, match="schema version 1"):
        old.require_schema()
    with pytest.raises(Exception, match="schema version 1"):
        cycle.open_db(url)  # any other step
    ledger = cycle.open_db(url, create=True)  # what `isplata db init` runs
    try:
        assert ledger.schema_version() == SCHEMA_VERSION
        result = verify(ledger, batch.hash)
        assert result.ok and result.records == [], result
        rows = ledger.event_rows()
        assert [row["event_id"] for row in rows] == [1, 2, 3] and rows[-1]["kind"] == "rows"  # ids renumbered
        assert [row["kind"] for row in rows[:2]] == ["calculated", "approved"]
        with ledger.writing() as conn:
            assert store.read_holds(conn).to_pylist()[0]["placed_by"] == "reconcile"
            store.release_hold(conn, 1, "marko", "register corrected")
        later = ledger.append_batch("approve", "PR-661", builder, period=661)
        assert later.events_head == ledger.event_rows()[-1]["hash"]
        assert verify(ledger, batch.hash).ok and verify(ledger, later.hash).ok
        cycle.open_db(url, create=True).close()  # a second init changes nothing
        assert verify(ledger, later.hash).ok and len(ledger.event_rows()) == 4  # + the release's row
    finally:
        ledger.close()


def test_the_orders_and_payments_written_early_are_the_draft_and_a_failed_calculation_leaves_no_folder(tmp_path,
                                                                                                         monkeypatch):
    """calculate writes the orders and payments as compute hands them over (ready), before the lines: each is the
    Computation's own table, complete, and its file's SHA-256 the one recorded; a calculation that fails after
    the staging folder was made removes it."""
    from payroll import compute as computing

    generate_register(tmp_path / "reg", 300, 4, "2025-03")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    handed, real = {}, computing.compute

    def spy(*args, ready=None, **kwargs):
        def told(name, table):
            handed[name] = (table, table.num_rows)
            ready(name, table)
        assert heap._ACTIVE == [1 if heap.glibc() is not None else 0]  # validated in a retention, computed in it
        result = real(*args, ready=told, **kwargs)
        assert heap._ACTIVE == [0]  # ended before the lines
        assert handed["orders"][0] is result.orders and handed["payments"][0] is result.payments
        assert handed["versions"][0] is result.versions
        assert handed["payments"][1] == result.payments.num_rows > 0
        return result

    monkeypatch.setattr(computing, "compute", spy)
    summary = cycle.calculate(db, tmp_path / "reg", "2025-03", "ana", store_dir=tmp_path / "store")
    assert set(handed) == {"orders", "payments", "versions"}
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    assert store.sha256_file(record.payments_path) == record.payments_sha256
    assert store.write_table(handed["payments"][0], tmp_path / "again" / "p") == record.payments_sha256
    assert store.write_table(handed["orders"][0], tmp_path / "again" / "o") == record.totals["orders_sha256"]
    assert store.write_table(handed["versions"][0], tmp_path / "again" / "v") == record.totals["versions_sha256"]

    def fail(*args, ready=None, **kwargs):
        result = real(*args, ready=ready, **kwargs)
        raise RuntimeError("after the orders and payments were handed over")

    monkeypatch.setattr(computing, "compute", fail)
    with pytest.raises(RuntimeError, match="handed over"):
        cycle.calculate(db, tmp_path / "reg", "2025-03", "ana", store_dir=tmp_path / "store")

    def fail_first(*args, **kwargs):
        raise RuntimeError("before compute ended the retention")

    monkeypatch.setattr(computing, "compute", fail_first)
    with pytest.raises(RuntimeError, match="before compute"):
        cycle.calculate(db, tmp_path / "reg", "2025-03", "ana", store_dir=tmp_path / "store")
    assert heap._ACTIVE == [0]  # calculate ended it
    assert sorted(path.name for path in (tmp_path / "store").iterdir()) == [summary["payroll"]]
