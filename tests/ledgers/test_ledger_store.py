"""The ledger on SQLite and PostgreSQL: init, append, refusals, idempotency, triggers, atomicity, concurrency."""
import datetime as dt
import multiprocessing
import threading

import numpy as np
import pytest
import sqlalchemy as sa

from formats.errors import InputError
from ledgers import GENESIS_HASH, SCHEMA_VERSION, DuplicateBatch, PostingsBuilder, UnbalancedBatch, open_ledger
from ledgers import copy_binary
from ledgers import store as store_module
from ledgers.postings import prepare_batch
from ledgers.verify import verify


def count(book, table: str) -> int:
    with book.engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()


def test_init_is_idempotent_and_records_the_version(ledger_url):
    book = open_ledger(ledger_url)
    assert book.schema_version() is None
    book.init()
    book.init()
    assert book.schema_version() == SCHEMA_VERSION
    assert count(book, "ledger_schema") == 1
    assert count(book, "ledger_accounts") == 12  # 9: overpayments written off (RULES.md Readings 11); 10-11: advances;
    # 12: bank charges on returned payments
    assert book.digest() == GENESIS_HASH
    book.close()


def test_expense_blobs_are_compressed_with_lz4_where_the_server_has_it(pg_schema_url, approve):
    """PostgreSQL: the expense columns are stored lz4-compressed (less to write and log than as they are), and
    read back exactly; a ledger made before is brought to it by `db init`."""
    book = open_ledger(pg_schema_url)
    book.init()
    with book.engine.begin() as conn:  # as a ledger made before: stored as they are
        conn.exec_driver_sql("ALTER TABLE ledger_expense_columns ALTER COLUMN month SET STORAGE EXTERNAL")
        conn.exec_driver_sql("ALTER TABLE ledger_expense_columns ALTER COLUMN month SET COMPRESSION default")
    first = approve(book, 660, 20000, seed=1)
    book.init()
    second = approve(book, 661, 20000, seed=2)
    with book.engine.connect() as conn:
        has_lz4 = conn.exec_driver_sql("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                       "WHERE name = 'default_toast_compression'").scalar()
        stored = dict(conn.exec_driver_sql(
            "SELECT attname, attstorage::text || attcompression::text FROM pg_attribute WHERE attrelid = "
            "'ledger_expense_columns'::regclass AND attname IN ('right_id', 'month', 'amount_minor')").fetchall())
        methods = conn.exec_driver_sql("SELECT batch_id, pg_column_compression(month) FROM ledger_expense_columns "
                                       "ORDER BY batch_id").fetchall()
    assert stored == dict.fromkeys(("right_id", "month", "amount_minor"), "xl" if has_lz4 else "e")
    assert methods == [(1, None), (2, "lz4" if has_lz4 else None)]
    for record in (first, second):
        postings = book.read_postings(record.first_posting, record.n_postings)
        expected = store_module.projection_of(postings["account_kind"], postings["right_id"], postings["month"],
                                              postings["amount_minor"])
        stored_blobs, n = book.read_expense_columns(record.batch_id)
        assert n == len(expected[0]) and stored_blobs == tuple(column.tobytes() for column in expected)
    assert verify(book).ok
    book.close()


def test_balanced_batch_is_written_and_reads_back(ledger, approve_arrays):
    builder, payments = approve_arrays(660, 50)
    expected = builder.arrays()
    record = ledger.append_batch("approve", "PR-660", builder, payments, booked_on=dt.date(2025, 1, 31))
    assert record.created and record.batch_id == 1 and record.first_posting == 1
    assert record.n_postings == len(expected["amount_minor"]) and record.n_payments == 50
    assert ledger.digest() == record.hash
    stored = ledger.read_postings(1, record.n_postings)
    for name in ("account_kind", "account_key", "right_id", "payee_id", "month", "component", "amount_minor",
                 "payment_ref"):
        assert np.array_equal(stored[name], expected[name]), name
    assert int(stored["amount_minor"].sum()) == 0
    assert record.debit_minor == int(payments["amount_minor"].sum())
    second = ledger.append_batch("export", "FILE-1", _payment_batch(payments), None, period=660)
    assert second.batch_id == 2 and second.prev_hash == record.hash
    assert second.first_posting == record.n_postings + 1


def _payment_batch(payments):
    builder = PostingsBuilder(660)
    builder.add_transfer(("benefits_payable", payments["payee_id"]), ("in_transit_bank", 0),
                         payments["amount_minor"], "payment", payee_id=payments["payee_id"],
                         payment_ref=payments["payment_ref"])
    return builder


def test_unbalanced_batch_is_refused_and_leaves_nothing(ledger):
    builder = PostingsBuilder(660)
    builder.add("benefit_expense", 1, [100], "due", right_id=1)
    builder.add("benefits_payable", 7, [-99], "due", right_id=1, payee_id=7)
    with pytest.raises(UnbalancedBatch):
        ledger.append_batch("approve", "PR-1", builder)
    assert count(ledger, "ledger_batches") == 0 and count(ledger, "ledger_postings") == 0


def test_same_batch_twice_is_a_no_op_and_different_content_is_refused(ledger, approve_arrays):
    builder, payments = approve_arrays(660, 20)
    first = ledger.append_batch("approve", "PR-660", builder, payments)
    again = ledger.append_batch("approve", "PR-660", builder, payments)
    assert not again.created and again.batch_id == first.batch_id and again.hash == first.hash
    assert count(ledger, "ledger_postings") == first.n_postings
    other, other_payments = approve_arrays(660, 20, seed=5)
    with pytest.raises(DuplicateBatch, match="already in the ledger"):
        ledger.append_batch("approve", "PR-660", other, other_payments)
    assert count(ledger, "ledger_batches") == 1
    assert ledger.find_batch("approve", "PR-660").hash == first.hash
    assert ledger.source_posted("PR-660") and not ledger.source_posted("PR-661")
    assert ledger.find_batch("reconcile", "PR-660") is None


@pytest.mark.parametrize("table", ["ledger_postings", "ledger_batches", "ledger_payments", "ledger_events"])
def test_triggers_refuse_update_and_delete(ledger, approve, table):
    approve(ledger, 660, 5)
    ledger.append_event("payroll.approved", "PR-660-0", {"by": "checker"})
    column = {"ledger_postings": "amount_minor", "ledger_batches": "n_postings", "ledger_payments": "amount_minor",
              "ledger_events": "created_us"}[table]
    for statement in (f"UPDATE {table} SET {column} = {column} + 1", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with ledger.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    if ledger.dialect == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with ledger.engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    assert verify(ledger).ok


def test_failure_in_the_middle_of_a_batch_leaves_no_trace(ledger, approve, approve_arrays, monkeypatch):
    approve(ledger, 659, 10)
    head = ledger.digest()
    real_insert = store_module.insert_rows

    def insert_then_fail(raw, dialect, table, *args):
        real_insert(raw, dialect, table, *args)
        if table == "ledger_payments":  # postings and payments are in; the commit never comes
            raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "insert_rows", insert_then_fail)
    builder, payments = approve_arrays(660, 30)
    with pytest.raises(RuntimeError, match="disk full"):
        ledger.append_batch("approve", "PR-660", builder, payments)
    monkeypatch.setattr(store_module, "insert_rows", real_insert)
    assert ledger.digest() == head and count(ledger, "ledger_batches") == 1
    assert count(ledger, "ledger_payments") == 10
    record = ledger.append_batch("approve", "PR-660", builder, payments)
    assert record.batch_id == 2 and verify(ledger).ok


def _append_many(url: str, worker: int, batches: int) -> None:
    book = open_ledger(url)
    for index in range(batches):
        builder = PostingsBuilder(660)
        amount = np.arange(1, 201, dtype=np.int64) + worker
        builder.add_transfer(("benefit_expense", 1), ("benefits_payable", np.arange(200)), amount, "due",
                             right_id=np.arange(200) + 1)
        book.append_batch("approve", f"W{worker}-{index}", builder)
    book.close()


def test_two_processes_appending_at_once_never_fork_the_chain(ledger, ledger_url):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(ledger_url, worker, 6)) for worker in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    batches = ledger.batches()
    assert [b.batch_id for b in batches] == list(range(1, 13))
    assert all(b.prev_hash == a.hash for a, b in zip(batches, batches[1:]))
    assert {b.source_id[:2] for b in batches} == {"W1", "W2"}
    result = verify(ledger)
    assert result.ok and result.postings == 12 * 400


def test_balances_as_of_a_date(ledger, approve_arrays):
    builder, payments = approve_arrays(660, 10, arrears_months=0)
    ledger.append_batch("approve", "PR-660", builder, payments, booked_on=dt.date(2025, 1, 31))
    ledger.append_batch("export", "FILE-660", _payment_batch(payments), None, period=660,
                        booked_on=dt.date(2025, 2, 3))
    total = int(payments["amount_minor"].sum())
    payee = int(payments["payee_id"][3])
    owed = int(payments["amount_minor"][3])
    assert ledger.balance(account="benefits_payable", as_of=dt.date(2025, 1, 31)) == -total
    assert ledger.balance(account="benefits_payable", as_of=dt.date(2025, 2, 3)) == 0
    assert ledger.balance(account="benefits_payable", key=payee, as_of=dt.date(2025, 2, 1)) == -owed
    assert ledger.balance(account="in_transit_bank") == -total
    assert ledger.balance(as_of=dt.date(2025, 1, 1)) == 0
    assert ledger.balance(payee_id=payee, account="benefit_expense") == owed
    assert ledger.balance() == 0
    with pytest.raises(Exception, match="unknown account"):
        ledger.balance(account="petty_cash")


def test_recognised_is_the_net_expense_per_right_and_month(ledger, approve_arrays):
    reference: dict[tuple[int, int], int] = {}
    for period, seed in ((660, 1), (661, 2), (661, 3)):
        builder, payments = approve_arrays(period, 40, seed=seed)
        cols = builder.arrays()
        expense = cols["account_kind"] == 8
        for r, m, a in zip(cols["right_id"][expense], cols["month"][expense], cols["amount_minor"][expense]):
            reference[(int(r), int(m))] = reference.get((int(r), int(m)), 0) + int(a)
        ledger.append_batch("approve", f"PR-{period}-{seed}", builder, payments)
    reversal = PostingsBuilder(661)  # an overpayment found later: expense credited for right 7, month 660
    reversal.add_transfer(("overpayments_receivable", 7), ("benefit_expense", 1), [500], "overpayment",
                          right_id=7, month=660)
    ledger.append_batch("correction", "OVP-7", reversal)
    reference[(7, 660)] -= 500
    right, month, amount = ledger.recognised()
    assert dict(zip(zip(right.tolist(), month.tolist()), amount.tolist())) == reference
    assert list(zip(right, month)) == sorted(zip(right, month))
    r, m, a = ledger.recognised(right_ids=[7], first_month=660, last_month=660)
    assert r.tolist() == [7] and m.tolist() == [660] and a.tolist() == [reference[(7, 660)]]


def test_events_are_an_append_only_stream(ledger):
    first = ledger.append_event("payroll.calculated", "PR-660", {"rights": 10})
    ledger.append_event("payment.returned", "E2E-1", {"reason": "AC04"})
    ledger.append_event("payroll.approved", "PR-660", '{"by": "checker"}')
    events = ledger.events(subject="PR-660")
    assert [e["kind"] for e in events] == ["payroll.calculated", "payroll.approved"]
    assert events[0]["event_id"] == first and events[1]["payload"] == {"by": "checker"}
    assert [e["subject"] for e in ledger.events(kind="payment.returned")] == ["E2E-1"]


def test_benefit_codes_are_stable(ledger):
    codes = ledger.benefit_codes(["ME_MO", "ME_DD"])
    again = ledger.benefit_codes(["ME_DD", "ME_NEW", "ME_MO"])
    assert again["ME_MO"] == codes["ME_MO"] and again["ME_DD"] == codes["ME_DD"]
    assert again["ME_NEW"] not in codes.values()
    assert ledger.code_names("benefit")[again["ME_NEW"]] == "ME_NEW"


def test_bad_input_is_refused_before_writing(ledger):
    with pytest.raises(InputError):
        ledger.append_batch("approve", "PR-1", {"account_kind": [4], "account_key": [1], "component": ["due"],
                                               "amount_minor": [0.5]}, period=660)
    assert count(ledger, "ledger_batches") == 0


def _spoiled(approve_arrays, how: str):
    builder, payments = approve_arrays(660, 30, seed=3)
    columns, payments = builder.arrays(), dict(payments)
    if how == "unbalanced":
        columns["amount_minor"][-1] -= 1
    elif how == "tab in a reference":
        columns["payment_ref"][41] = b"PR-660\t41"
    elif how == "not UTF-8":  # the database itself refuses this byte in a text column
        columns["payment_ref"][41] = b"PR-660-\xff"
    elif how == "unknown account":
        columns["account_kind"][7] = 99
    elif how == "duplicate payment":
        payments["payment_ref"] = payments["payment_ref"].copy()
        payments["payment_ref"][5] = payments["payment_ref"][4]
    return columns, payments


def _later(value):
    """A Future of `value` (or of raising it, for an exception) that resolves a moment later, as postings still
    being built on another thread: append_batch then writes the payments first."""
    import threading
    from concurrent.futures import Future

    future = Future()

    def resolve():
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    threading.Timer(0.2, resolve).start()
    return future


@pytest.mark.parametrize("postings", ["given", "built meanwhile"])
@pytest.mark.parametrize("how", ["unbalanced", "tab in a reference", "not UTF-8", "unknown account",
                                 "duplicate payment", "non-UTF-8 payment"])
def test_values_checked_while_streaming_refuse_as_prepare_batch_and_leave_nothing(ledger, approve, approve_arrays,
                                                                                   how, postings):
    first = approve(ledger, 659, 10)
    if how == "non-UTF-8 payment":  # written first when the postings are built meanwhile: the database refuses it
        columns, payments = _spoiled(approve_arrays, "not UTF-8")
        payments["payment_ref"] = payments["payment_ref"].astype("S35")
        payments["payment_ref"][3] = columns["payment_ref"][41]
    else:
        columns, payments = _spoiled(approve_arrays, how)
    with pytest.raises(InputError) as expected:
        prepare_batch("approve", "PR-660", columns, payments, 660)
    with pytest.raises(InputError) as refused:
        ledger.append_batch("approve", "PR-660", columns if postings == "given" else _later(columns), payments,
                            period=660)
    assert type(refused.value) is type(expected.value)
    assert [str(p) for p in refused.value.problems] == [str(p) for p in expected.value.problems]
    assert ledger.digest() == first.hash and count(ledger, "ledger_batches") == 1
    assert count(ledger, "ledger_postings") == first.n_postings and count(ledger, "ledger_payments") == 10
    builder, good = approve_arrays(660, 30, seed=3)
    record = ledger.append_batch("approve", "PR-660", builder, good)
    assert record.batch_id == 2 and record.first_posting == first.n_postings + 1 and verify(ledger).ok


@pytest.mark.parametrize("postings", ["given", "built meanwhile"])
def test_a_refused_duplicate_is_checked_first(ledger, approve_arrays, postings):
    builder, payments = approve_arrays(660, 20)
    ledger.append_batch("approve", "PR-660", builder, payments)
    columns, spoiled = _spoiled(approve_arrays, "duplicate payment")
    pending = (lambda value: value) if postings == "given" else _later
    with pytest.raises(InputError, match="unique"):  # not DuplicateBatch: the values are refused first, as before
        ledger.append_batch("approve", "PR-660", pending(columns), spoiled, period=660)
    with pytest.raises(InputError, match="at least one posting"):  # the shapes too
        ledger.append_batch("approve", "PR-660", pending({"account_kind": [], "account_key": [], "component": [],
                                                          "amount_minor": []}), payments, period=660)
    with pytest.raises(DuplicateBatch):
        ledger.append_batch("approve", "PR-660", pending(builder.arrays()), approve_arrays(660, 20, seed=5)[1],
                            period=660)
    again = ledger.append_batch("approve", "PR-660", pending(builder.arrays()), payments, period=660)
    assert not again.created and count(ledger, "ledger_payments") == 20


def test_postings_built_meanwhile_make_the_same_batch(ledger_url, approve_arrays):
    """Payments written while the postings are built: the same batch, hashes and rows as with the postings given,
    both indexes summarised; a builder that fails leaves nothing."""
    records = []
    for postings in ("given", "built meanwhile"):
        book = open_ledger(ledger_url + ("_2" if postings != "given" and "sqlite" in ledger_url else ""))
        book.init()
        builder, payments = approve_arrays(660, 3000, seed=4)
        if postings != "given":
            with pytest.raises(RuntimeError, match="no lines"):
                book.append_batch("approve", "PR-660", _later(RuntimeError("no lines")), payments, period=660)
            assert count(book, "ledger_payments") == 0 and count(book, "ledger_batches") == 0
        columns = builder.arrays()
        record = book.append_batch("approve", "PR-660", columns if postings == "given" else _later(columns),
                                   payments, period=660, created_at=dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc),
                                   booked_on=dt.date(2026, 6, 1))
        records.append(record)
        stored = book.read_payments(1)["payment_ref"]
        assert verify(book).ok and stored.tolist() == payments["payment_ref"].astype("S35").tolist()
        if book.dialect == "postgresql":
            with book._reading() as raw:  # nothing left to summarise: both indexes cover the batch
                assert raw.execute(store_module.PG_SUMMARIZE).fetchall() == [(0,), (0,)]
            with book.engine.begin() as conn:  # the second pass runs in a fresh schema
                conn.exec_driver_sql("DROP TABLE ledger_postings, ledger_payments, ledger_batches, "
                                     "ledger_expense_columns, ledger_events CASCADE")
        book.close()
    assert records[0] == records[1]


def test_split_reads_equal_one_read(ledger, approve, monkeypatch):
    record = approve(ledger, 660, 40)
    whole = ledger.read_postings(record.first_posting, record.n_postings)
    monkeypatch.setattr(store_module, "READ_SPLIT_POSTINGS", 10)
    split = ledger.read_postings(record.first_posting, record.n_postings)
    assert all(np.array_equal(whole[name], split[name]) for name in whole)
    assert len(split["posting_id"]) == record.n_postings and verify(ledger).ok


def test_recognised_stops_at_a_batch_mark(ledger, approve):
    first = approve(ledger, 660, 5, seed=1)
    approve(ledger, 661, 5, seed=2)
    right, month, amount = ledger.recognised(batch_mark=first.batch_id)
    assert int(month.max()) == 660 and int(amount.sum()) == first.debit_minor


def test_engine_transactions_are_atomic(ledger):
    """Other packages use ledger.engine for their tables: a failed block must leave nothing, on SQLite too."""
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
    with pytest.raises(RuntimeError):
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")
            raise RuntimeError("abort")
    assert count(ledger, "scratch") == 0


def test_bulk_read_of_a_grouped_query_matches_fetchall(ledger, approve):
    from ledgers.bulk import read_columns

    approve(ledger, 660, 30)
    sql = ("SELECT account_kind AS k, right_id AS r, CAST(sum(amount_minor) AS BIGINT) AS total "
           "FROM ledger_postings GROUP BY account_kind, right_id")
    with ledger._reading() as raw:
        columns = read_columns(raw, ledger.dialect, sql, (), {"k": "<i2", "r": "<i8", "total": "<i8"})
        rows = raw.execute(sql).fetchall()
    got = sorted(zip(columns["k"].tolist(), columns["r"].tolist(), columns["total"].tolist()))
    assert got == sorted((int(k), int(r), int(t)) for k, r, t in rows) and len(got) == 60


def test_reads_in_many_pieces_equal_one_read(ledger, approve, monkeypatch):
    record = approve(ledger, 660, 40)
    whole = ledger.read_postings(record.first_posting, record.n_postings, record.batch_id)
    monkeypatch.setattr(store_module, "READ_PIECE_POSTINGS_MAX", 7)
    pieces = ledger.read_postings(record.first_posting, record.n_postings, record.batch_id)
    assert all(np.array_equal(whole[name], pieces[name]) for name in whole)
    assert len(pieces["amount_minor"]) == record.n_postings and verify(ledger).ok


@pytest.mark.parametrize("split", [10**9, 10])
def test_rows_of_other_batches_in_a_range_are_counted_and_left_out(ledger, approve, monkeypatch, split):
    """read_postings_counted (whole or in pieces): the batch's rows as read_postings gives them, and the rows of
    other batches inside its range counted (verify's stray-row check counts them instead of scanning the table)."""
    first, second = approve(ledger, 660, 30), approve(ledger, 661, 30, seed=1)
    monkeypatch.setattr(store_module, "READ_SPLIT_POSTINGS", split)
    assert ledger.read_postings_counted(first.first_posting, first.n_postings, first.batch_id)[1] == 0
    moved = first.first_posting + 3
    statements = [f"UPDATE ledger_postings SET batch_id = {second.batch_id} WHERE posting_id = {moved}"]
    if ledger.dialect == "postgresql":  # only PostgreSQL has no key on posting_id: a second row with an id
        statements.append("INSERT INTO ledger_postings SELECT * FROM ledger_postings WHERE posting_id = "
                          f"{first.first_posting + 5}")
        statements.append(f"UPDATE ledger_postings SET batch_id = 7 WHERE ctid = (SELECT max(ctid) FROM "
                          f"ledger_postings WHERE posting_id = {first.first_posting + 5})")
    with ledger.engine.begin() as conn:
        if ledger.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS ledger_postings_no_update")
        for statement in statements:
            conn.exec_driver_sql(statement)
    columns, others = ledger.read_postings_counted(first.first_posting, first.n_postings, first.batch_id)
    assert others == (2 if ledger.dialect == "postgresql" else 1)
    assert len(columns["posting_id"]) == first.n_postings - 1
    if ledger.dialect == "postgresql":  # SQLite numbers the rowid scan instead of reading posting_id
        assert moved not in columns["posting_id"].tolist()
    plain = ledger.read_postings(first.first_posting, first.n_postings, first.batch_id)
    assert all(np.array_equal(plain[name], columns[name]) for name in plain)
    assert ledger.read_postings_counted(second.first_posting, second.n_postings, second.batch_id)[1] == 0


def test_pieces_of_a_damaged_batch_are_read_whole(ledger, approve, monkeypatch):
    """A piece that returns more or fewer rows than its range is not squeezed into the preallocated result."""
    record = approve(ledger, 660, 40)
    monkeypatch.setattr(store_module, "READ_SPLIT_POSTINGS", 10)
    with ledger.engine.begin() as conn:
        if ledger.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS ledger_postings_no_delete")
        conn.exec_driver_sql(f"DELETE FROM ledger_postings WHERE posting_id = {record.first_posting + 3}")
    columns = ledger.read_postings(record.first_posting, record.n_postings, record.batch_id)
    assert len(columns["posting_id"]) == record.n_postings - 1
    if ledger.dialect == "postgresql":  # SQLite numbers the rowid scan instead of reading posting_id
        assert record.first_posting + 3 not in columns["posting_id"].tolist()
    assert not verify(ledger).ok


def test_reading_one_batch_scans_only_its_pages(pg_schema_url, approve):
    """PostgreSQL: a batch's postings and payments are read through their BRIN index, summarised at append time,
    not by scanning the table (which made reading every batch quadratic in the number of batches)."""
    book = open_ledger(pg_schema_url)
    book.init()
    first = approve(book, 660, 20000, seed=1)  # about 900 pages: several BRIN ranges of 128 pages
    second = approve(book, 661, 500, seed=2)
    plans = {}
    with book._reading(ranges=True) as raw:
        for name, sql in (("postings", "SELECT count(*) FROM ledger_postings WHERE posting_id >= %s AND "
                                       "posting_id < %s AND batch_id = %s"),
                          ("payments", "SELECT count(*) FROM ledger_payments WHERE batch_id = %s")):
            params = (second.first_posting, second.first_posting + second.n_postings, 2) if name == "postings" \
                else (2,)
            plans[name] = "\n".join(row[0] for row in raw.execute("EXPLAIN (ANALYZE) " + sql, params).fetchall())
    book.close()
    assert "ledger_postings_id_brin" in plans["postings"] and "ledger_payments_batch_brin" in plans["payments"]
    removed = [int(line.rsplit(":", 1)[1]) for line in plans["postings"].splitlines() if "Removed by" in line]
    assert sum(removed) < first.n_postings // 4, plans["postings"]  # the first batch's pages are skipped


def test_a_writer_that_does_not_own_the_indexes_still_appends(pg_schema_url, postgres_url, approve):
    """Summarising BRIN ranges needs ownership of the index: without it the append goes ahead all the same."""
    import psycopg

    book = open_ledger(pg_schema_url)
    book.init()
    role = "isplata_writer_" + pg_schema_url.rsplit("%3D", 1)[-1][-10:]
    schema = pg_schema_url.rsplit("%3D", 1)[-1]
    with book.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(f"CREATE ROLE {role}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    try:
        def as_writer(dbapi_connection, _record):
            dbapi_connection.execute(f"SET ROLE {role}")
            dbapi_connection.commit()

        sa.event.listen(book.engine, "connect", as_writer)
        book.engine.dispose()
        with pytest.raises(sa.exc.ProgrammingError, match="must be owner"):  # the premise: it cannot summarise
            with book.engine.connect() as conn:
                conn.exec_driver_sql("SELECT brin_summarize_new_values('ledger_postings_id_brin')")
        record = approve(book, 660, 30)
        assert record.created and verify(book).ok
    finally:
        book.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def _through_the_index(book, record) -> tuple[int, str]:
    """How many postings of `record` a read through the BRIN index finds, and its plan."""
    sql = "SELECT count(*) FROM ledger_postings WHERE posting_id >= %s AND posting_id < %s AND batch_id = %s"
    params = (record.first_posting, record.first_posting + record.n_postings, record.batch_id)
    with book._reading(ranges=True) as raw:
        plan = "\n".join(row[0] for row in raw.execute("EXPLAIN (ANALYZE) " + sql, params).fetchall())
        return raw.execute(sql, params).fetchone()[0], plan


@pytest.mark.parametrize("aside", ["summarised on a second connection", "the second connection fails",
                                   "summarised while the COPY runs"])
def test_the_summaries_cover_every_uncommitted_posting(pg_schema_url, approve, monkeypatch, aside):
    """The postings' ranges are summarised on another connection before the batch commits, also while their COPY
    runs: the summary must count the batch's uncommitted tuples, and the tuples that the COPY adds afterwards to
    a range it summarised (a summary without them would hide postings from every read through the index). When
    that connection fails, the batch's own connection summarises as before."""
    if aside != "summarised while the COPY runs":  # one summary after the COPY however long it takes (busy host)
        monkeypatch.setattr(store_module, "ASIDE_SUMMARY_EVERY_S", 3600.0)
    if aside == "the second connection fails":
        monkeypatch.setattr(store_module, "PG_SUMMARIZE_POSTINGS", "SELECT no_such_function()")
    if aside == "summarised while the COPY runs":
        monkeypatch.setattr(store_module, "ASIDE_SUMMARY_EVERY_S", 0.0)
        monkeypatch.setattr(copy_binary, "CHUNK_ROWS", 500)  # many small writes: rounds fall between them
    outcomes = []
    real = store_module.Ledger._summarize_aside
    monkeypatch.setattr(store_module.Ledger, "_summarize_aside",
                        lambda self, statement: outcomes.append(real(self, statement)) or outcomes[-1])
    book = open_ledger(pg_schema_url)
    book.init()
    first = approve(book, 660, 20000, seed=1)  # about 900 pages: several BRIN ranges of 128 pages
    second = approve(book, 661, 500, seed=2)
    if aside == "summarised while the COPY runs":
        assert len(outcomes) > 4 and all(outcomes), outcomes
    else:
        assert outcomes == [aside == "summarised on a second connection"] * 2
    for record in (first, second):
        found, plan = _through_the_index(book, record)
        assert found == record.n_postings and "ledger_postings_id_brin" in plan
    removed = [int(line.rsplit(":", 1)[1]) for line in plan.splitlines() if "Removed by" in line]
    assert sum(removed) < first.n_postings // 4, plan  # summarised: the first batch's pages are skipped
    assert verify(book).ok
    book.close()


def test_the_batch_is_written_while_a_summary_round_still_runs(pg_schema_url, approve, monkeypatch):
    """A summary round still running aside when the postings' COPY ends does not hold the step back: the batch's
    row and expense columns are written meanwhile, and the last summary follows the round on the aside
    connection, so every posting is still found through the index."""
    monkeypatch.setattr(store_module, "ASIDE_SUMMARY_EVERY_S", 0.0)  # a round from the COPY's start
    written = threading.Event()
    real_insert = store_module.Ledger._insert_batch
    monkeypatch.setattr(store_module.Ledger, "_insert_batch",
                        lambda self, *args: (real_insert(self, *args), written.set())[0])
    rounds_held, round_begun = [], threading.Event()
    real = store_module.Ledger._summarize_aside

    def summarize_slowly(self, statement):  # a round that lasts until the batch's row is written (10 s at most)
        if statement == store_module.PG_SUMMARIZE_POSTINGS:
            round_begun.set()
        done = real(self, statement)
        if statement == store_module.PG_SUMMARIZE_POSTINGS and not written.is_set():
            rounds_held.append(written.wait(10))
        return done

    monkeypatch.setattr(store_module.Ledger, "_summarize_aside", summarize_slowly)
    real_postings = store_module.Ledger._insert_postings  # the COPY waits for the first round to begin, so a busy
    monkeypatch.setattr(store_module.Ledger, "_insert_postings",  # machine cannot start the round after the row
                        lambda self, *args: (round_begun.wait(10), real_postings(self, *args))[1])
    book = open_ledger(pg_schema_url)
    book.init()
    record = approve(book, 660, 5000, seed=1)
    assert rounds_held == [True]  # the step wrote its row while the round ran
    found, plan = _through_the_index(book, record)
    assert found == record.n_postings and "ledger_postings_id_brin" in plan
    assert verify(book).ok
    book.close()


def test_summaries_of_a_batch_rolled_back_hide_nothing(pg_schema_url, approve, approve_arrays, monkeypatch):
    """The second connection commits its summaries even when the batch then fails: the ranges of the rolled-back
    tuples are summarised, and the batch written again after them is read whole."""
    book = open_ledger(pg_schema_url)
    book.init()
    first = approve(book, 659, 3000, seed=1)
    real_insert = store_module.insert_rows

    def insert_then_fail(raw, dialect, table, *args):
        real_insert(raw, dialect, table, *args)
        if table == "ledger_payments":
            raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "insert_rows", insert_then_fail)
    builder, payments = approve_arrays(660, 20000, seed=2)
    with pytest.raises(RuntimeError, match="disk full"):
        book.append_batch("approve", "PR-660", builder, payments)
    monkeypatch.setattr(store_module, "insert_rows", real_insert)
    with book._reading() as raw:  # the premise: the rolled-back tuples' ranges were summarised, nothing is left
        assert raw.execute("SELECT brin_summarize_new_values('ledger_postings_id_brin')").fetchone()[0] == 0
    record = book.append_batch("approve", "PR-660", builder, payments)
    assert record.batch_id == 2 and record.first_posting == first.n_postings + 1
    for done in (first, record):
        assert _through_the_index(book, done)[0] == done.n_postings
    assert verify(book).ok
    book.close()


def test_the_second_connection_gives_way_to_a_waiting_lock(pg_schema_url, approve, monkeypatch):
    """A session holding (or queued for) a lock that conflicts with the summary's makes the second connection give
    up after its lock timeout instead of waiting while the step waits for it; the step's own connection then
    summarises as before, once that session is gone."""
    import threading
    import time

    import psycopg

    outcomes = []
    real = store_module.Ledger._summarize_aside

    def aside_while_locked(self, statement):
        with psycopg.connect(pg_schema_url.replace("postgresql+psycopg://", "postgresql://", 1)) as other:
            other.execute("LOCK TABLE ledger_postings IN SHARE UPDATE EXCLUSIVE MODE")
            started = time.monotonic()
            outcomes.append(real(self, statement))
            outcomes.append(time.monotonic() - started)
        return outcomes[0]

    monkeypatch.setattr(store_module.Ledger, "_summarize_aside", aside_while_locked)
    book = open_ledger(pg_schema_url)
    book.init()
    done = []
    writer = threading.Thread(target=lambda: done.append(approve(book, 660, 3000, seed=1)), daemon=True)
    writer.start()
    writer.join(60)
    assert done and outcomes[0] is False and outcomes[1] < 10
    found, plan = _through_the_index(book, done[0])
    assert found == done[0].n_postings and "ledger_postings_id_brin" in plan
    assert verify(book).ok
    book.close()
