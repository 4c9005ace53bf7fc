"""Tampering by someone who disabled the triggers is caught by verify, which names the first bad batch."""
import pytest

from ledgers import open_ledger
from ledgers.verify import verify


def tamper(book, *statements: str) -> None:
    """Run statements with the append-only triggers out of the way, as an attacker with DBA rights would."""
    with book.engine.begin() as conn:
        if book.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for table in ("ledger_postings", "ledger_batches", "ledger_payments", "ledger_expense_columns"):
                for op in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        for statement in statements:
            conn.exec_driver_sql(statement)


@pytest.fixture
def three_batches(ledger, approve):
    return [approve(ledger, 660 + index, 20, seed=index) for index in range(3)]


def test_untouched_ledger_verifies(ledger, three_batches):
    result = verify(ledger, three_batches[-1].hash)
    assert result.ok and result.batches == 3 and result.first_bad_batch is None
    assert result.postings == sum(b.n_postings for b in three_batches)
    assert result.digest == three_batches[-1].hash
    assert verify(ledger, three_batches[0].hash).ok  # an older saved digest is still on the chain


def expect_bad(book, batch_id: int, reason: str, digest: str | None = None) -> None:
    result = verify(book, digest)
    assert not result.ok
    assert result.first_bad_batch == batch_id, result.reason
    assert reason in result.reason


def test_edited_amount(ledger, three_batches):
    target = three_batches[1].first_posting + 3
    tamper(ledger, f"UPDATE ledger_postings SET amount_minor = amount_minor + 1 WHERE posting_id = {target}")
    expect_bad(ledger, 2, "differ from their hash")


def test_edit_that_keeps_the_batch_balanced(ledger, three_batches):
    first = three_batches[1].first_posting
    tamper(ledger, f"UPDATE ledger_postings SET amount_minor = amount_minor + 100 WHERE posting_id = {first}",
           f"UPDATE ledger_postings SET amount_minor = amount_minor - 100 WHERE posting_id = {first + 1}")
    expect_bad(ledger, 2, "differ from their hash")


def test_deleted_posting(ledger, three_batches):
    tamper(ledger, f"DELETE FROM ledger_postings WHERE posting_id = {three_batches[1].first_posting + 5}")
    expect_bad(ledger, 2, "postings deleted or inserted")


def test_swapped_postings(ledger, three_batches):
    a = three_batches[1].first_posting + 2
    b = three_batches[1].first_posting + 30
    tamper(ledger, f"UPDATE ledger_postings SET posting_id = -1 WHERE posting_id = {a}",
           f"UPDATE ledger_postings SET posting_id = {a} WHERE posting_id = {b}",
           f"UPDATE ledger_postings SET posting_id = {b} WHERE posting_id = -1")
    expect_bad(ledger, 2, "differ from their hash")


def test_posting_inserted_after_the_last_batch(ledger, three_batches):
    last = three_batches[-1].first_posting + three_batches[-1].n_postings
    tamper(ledger, "INSERT INTO ledger_postings (posting_id, batch_id, account_kind, account_key, right_id, payee_id,"
                   f" period, month, component, amount_minor, payment_ref) VALUES ({last}, 3, 4, 1, 1, 1, 662, 662, 1,"
                   " 5, '')")
    expect_bad(ledger, 4, "outside every batch")


def test_edited_payment(ledger, three_batches):
    tamper(ledger, "UPDATE ledger_payments SET amount_minor = amount_minor * 2 WHERE batch_id = 2 AND leaf = 4")
    expect_bad(ledger, 2, "Merkle root")


def test_edited_batch_header(ledger, three_batches):
    tamper(ledger, "UPDATE ledger_batches SET booked_on = booked_on - 40 WHERE batch_id = 2")
    expect_bad(ledger, 2, "header")


def test_dropped_last_batch_against_a_saved_digest(ledger, three_batches):
    saved = ledger.digest()
    tamper(ledger, "DELETE FROM ledger_payments WHERE batch_id = 3", "DELETE FROM ledger_postings WHERE batch_id = 3",
           "DELETE FROM ledger_expense_columns WHERE batch_id = 3",
           "DELETE FROM ledger_batches WHERE batch_id = 3")
    assert verify(ledger).ok  # internally consistent: only the saved digest can tell
    expect_bad(ledger, 3, "never reaches the saved digest", digest=saved)


def test_text_in_an_integer_column(tmp_path, approve):
    book = open_ledger(f"sqlite:///{tmp_path / 'typeless.db'}")  # only SQLite lets text into an INTEGER column
    book.init()
    batches = [approve(book, 660 + index, 20, seed=index) for index in range(3)]
    tamper(book, f"UPDATE ledger_postings SET amount_minor = 'lots' WHERE posting_id = {batches[1].first_posting}")
    expect_bad(book, 2, "unreadable")
    book.close()


def test_edited_expense_columns(ledger, three_batches):
    """recognised() reads the per-batch expense blobs: changing them (and not the postings) is caught too."""
    tamper(ledger, "DELETE FROM ledger_expense_columns WHERE batch_id = 2")
    expect_bad(ledger, 2, "expense columns")


@pytest.mark.parametrize("column, value", [("month", 5000), ("account_kind", 300), ("component", -1),
                                           ("period", 99999)])
def test_out_of_range_small_column(ledger, three_batches, column, value):
    """The small columns travel packed on SQLite: a value beyond its field must not alias another posting."""
    target = three_batches[1].first_posting + 4
    tamper(ledger, f"UPDATE ledger_postings SET {column} = {value} WHERE posting_id = {target}")
    expect_bad(ledger, 2, "")


def test_duplicated_payment(ledger, three_batches):
    """Payments carry no unique key (PostgreSQL: BRIN only): a copied payment row is still caught."""
    tamper(ledger, "INSERT INTO ledger_payments (batch_id, leaf, payment_ref, payee_id, amount_minor) "
                   "SELECT batch_id, leaf + 1000, payment_ref, payee_id, amount_minor FROM ledger_payments "
                   "WHERE batch_id = 2 AND leaf = 3")
    expect_bad(ledger, 2, "payments expected")


def test_payment_leaf_repeated_or_missing(ledger, three_batches):
    # SQLite's key (batch_id, leaf) refuses a repeated leaf, so there a leaf goes missing instead
    leaf = 3 if ledger.dialect == "postgresql" else 100
    tamper(ledger, f"UPDATE ledger_payments SET leaf = {leaf} WHERE batch_id = 2 AND leaf = 4")
    expect_bad(ledger, 2, "payments")


def test_newline_in_a_reference(ledger, three_batches):
    """References travel newline-joined: a stored newline cannot shift references between postings."""
    target = three_batches[1].first_posting + 2
    tamper(ledger, f"UPDATE ledger_postings SET payment_ref = 'A' || char(10) || 'B' WHERE posting_id = {target}"
           if ledger.dialect == "sqlite" else
           f"UPDATE ledger_postings SET payment_ref = E'A\\nB' WHERE posting_id = {target}")
    expect_bad(ledger, 2, "")


@pytest.mark.parametrize("column, value", [("month", -1), ("month", -2147483648), ("period", 2147483647),
                                           ("account_kind", -32768), ("component", 32767),
                                           ("component", -1), ("account_kind", -1)])
def test_extreme_small_values_read_back_exactly(ledger, three_batches, column, value):
    """PostgreSQL reads narrow columns in packed pairs: every int2/int4 value must come back as stored."""
    batch = three_batches[1]
    before = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
    tamper(ledger, f"UPDATE ledger_postings SET {column} = {value} WHERE posting_id = {batch.first_posting + 4}")
    after = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
    assert int(after[column][4]) == value
    for name in before:  # the other half of a packed pair, and every other value, comes back unchanged
        changed = before[name] != after[name]
        assert not changed.any() if name != column else list(changed.nonzero()[0]) == [4], name
    expect_bad(ledger, 2, "")


# ---- the event chain and the records around the ledger (schema version 2) -----------------------------------

def tamper_any(book, *statements: str) -> None:
    """Like tamper, for every table (the events and the record tables too)."""
    with book.engine.begin() as conn:
        if book.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def expect_record_finding(book, *parts: str) -> list[str]:
    result = verify(book)
    assert not result.ok and result.records, result
    assert any(all(part in finding for part in parts) for finding in result.records), result.records
    assert result.reason
    return result.records


@pytest.fixture
def events_and_batches(ledger, approve):
    ledger.append_event("calculated", "PR-660-0", {"by": "ana"})
    first = approve(ledger, 660, 10)
    ledger.append_event("approved", first.source_id, {"by": "marko", "batch_id": first.batch_id})
    second = approve(ledger, 661, 10, seed=1)
    ledger.append_event("exported", "PR-661-1", {"batch_id": None})
    return first, second


def test_an_event_naming_a_batch_of_another_kind_or_source_is_named(ledger, events_and_batches):
    """An approval event names the batch its step committed: a batch of another payroll (or kind) is a finding."""
    first, second = events_and_batches
    ledger.append_event("approved", "PR-999", {"by": "marko", "batch_id": second.batch_id})
    ledger.append_event("exported", second.source_id, {"batch_id": first.batch_id})
    findings = verify(ledger).records
    assert f"(approved PR-999) names batch {second.batch_id}, which is the approve batch of {second.source_id}" \
        in findings[0]
    assert f"names batch {first.batch_id}, which is the approve batch of {first.source_id}" in findings[1]


def test_events_are_chained_and_batches_record_the_event_head(ledger, events_and_batches):
    first, second = events_and_batches
    rows = ledger.event_rows()
    assert [row["event_id"] for row in rows] == [1, 2, 3]
    assert rows[0]["prev_hash"] == "0" * 64 and rows[1]["prev_hash"] == rows[0]["hash"]
    assert first.events_head == rows[0]["hash"] and second.events_head == rows[1]["hash"]
    result = verify(ledger, second.hash)
    assert result.ok and result.records == []


@pytest.mark.parametrize("statement,parts", [
    ("UPDATE ledger_events SET payload = '{\"by\": \"ana\"}' WHERE event_id = 2", ("event_id=2", "content")),
    ("UPDATE ledger_events SET kind = 'cancelled' WHERE event_id = 3", ("event_id=3", "content")),
    ("DELETE FROM ledger_events WHERE event_id = 2", ("event 2 is missing",)),
])
def test_an_edited_or_deleted_event_is_named(ledger, events_and_batches, statement, parts):
    tamper_any(ledger, statement)
    expect_record_finding(ledger, *parts)


def test_a_consistent_rewrite_of_the_events_is_caught_by_the_batch_that_recorded_their_head(ledger,
                                                                                             events_and_batches):
    """Rehashing every event after an edit keeps the event chain consistent; the batches hashed its head."""
    from ledgers.canonical import event_hash

    rows = ledger.event_rows()
    rows[0]["payload"] = '{"by": "marko"}'
    statements, prev = [], "0" * 64
    for row in rows:
        digest = event_hash(prev, row["event_id"], row["kind"], row["subject"], row["payload"], row["created_us"])
        statements.append(f"UPDATE ledger_events SET payload = '{row['payload']}', prev_hash = '{prev}', "
                          f"hash = '{digest}' WHERE event_id = {row['event_id']}")
        prev = digest
    tamper_any(ledger, "ALTER TABLE ledger_events DROP CONSTRAINT ledger_events_chain"
               if ledger.dialect == "postgresql" else "SELECT 1", *statements)
    expect_record_finding(ledger, "batch 1", "event head")


def test_a_fork_of_the_event_chain_is_refused(ledger):
    import sqlalchemy as sa

    ledger.append_event("calculated", "PR-660", {"by": "ana"})
    row = ledger.event_rows()[0]
    with pytest.raises(sa.exc.IntegrityError):
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO ledger_events (event_id, kind, subject, payload, created_us, "
                                 f"prev_hash, hash) VALUES (7, 'x', 'y', '{{}}', 1, '{row['prev_hash']}', 'z')")


def test_verify_without_events_or_record_tables_is_ok(ledger, approve):
    approve(ledger, 660, 5)
    result = verify(ledger)
    assert result.ok and result.records == []


def test_a_saved_events_head_catches_a_consistent_rewrite_of_the_events_after_the_last_batch(ledger,
                                                                                              events_and_batches):
    """The last event (here 'exported', after batch 2) is covered by no batch; the auditor keeps events_head."""
    from ledgers.canonical import event_hash

    saved = ledger.events_head()
    assert saved == ledger.event_rows()[-1]["hash"]
    assert verify(ledger, saved).ok
    last = ledger.event_rows()[-1]
    forged = event_hash(last["prev_hash"], last["event_id"], "cancelled", last["subject"], last["payload"],
                        last["created_us"])
    tamper_any(ledger, f"UPDATE ledger_events SET kind = 'cancelled', hash = '{forged}' "
                       f"WHERE event_id = {last['event_id']}")
    assert verify(ledger).ok  # consistent, and after every batch: only the saved head shows it
    result = verify(ledger, saved)
    assert not result.ok and "never reaches the saved digest" in result.reason


# ---- the pipelined batch check judges exactly as a check of one batch after another -------------------------

def verify_in_turn(book, digest: str | None = None):
    """The oracle: every batch judged alone and in turn (link, postings, payments, own hash), then the stray
    rows and the saved digest, as verify_batches did before its reads and checks overlapped."""
    from ledgers import verify as checks
    from ledgers.canonical import GENESIS_HASH, batch_hash

    batches = book.batches()
    prev, first, seen = GENESIS_HASH, 1, [GENESIS_HASH]
    for index, batch in enumerate(batches, start=1):
        reason = (checks._link_reason(batch, index, prev, first)
                  or checks._unreadable_as_reason(postings_in_turn, book, batch)
                  or checks._unreadable_as_reason(checks._check_payments, book, batch))
        computed = batch_hash(prev, batch.header(), batch.postings_sha256, batch.merkle_root)
        if not reason and computed != batch.hash:
            reason = checks.HEADER_CHANGED
        if reason:
            return checks.VerifyResult(False, len(batches), first - 1, prev, batch.batch_id, reason)
        prev, first = computed, first + batch.n_postings
        seen.append(computed)
    postings = first - 1
    stored_postings, stored_payments, projections = table_counts(book)
    stray = checks._stray_rows(stored_postings - postings, stored_payments - sum(b.n_payments for b in batches),
                               projections - len(batches))
    if stray:
        return checks.VerifyResult(False, len(batches), postings, prev, len(batches) + 1, stray)
    if digest is not None and digest not in seen:
        reason = (f"the chain ends at batch {len(batches)} (hash {prev}) and never reaches the saved digest "
                  f"{digest}: batches after it were removed or the ledger was rewritten")
        return checks.VerifyResult(False, len(batches), postings, prev, len(batches) + 1, reason)
    return checks.VerifyResult(True, len(batches), postings, prev, None, "")


def table_counts(book) -> tuple[int, int, int]:
    """The rows of each table, counted by a scan of the whole table (what verify found stray rows by before
    it counted them as it reads)."""
    with book.engine.connect() as conn:
        return tuple(conn.exec_driver_sql("SELECT (SELECT count(*) FROM ledger_postings), (SELECT count(*) FROM "
                                          "ledger_payments), (SELECT count(*) FROM ledger_expense_columns)").one())


def postings_in_turn(book, batch) -> str:
    from ledgers import verify as checks

    return checks._check_columns(book, batch, book.read_postings(batch.first_posting, batch.n_postings,
                                                                 batch.batch_id))


def _posting_of(batch, offset: int) -> int:
    return batch.first_posting + offset


TAMPERS = {
    "none": lambda b, d: [],
    "content of 2, header of 3": lambda b, d: [
        f"UPDATE ledger_postings SET amount_minor = amount_minor + 1 WHERE posting_id = {_posting_of(b[1], 1)}",
        "UPDATE ledger_batches SET booked_on = booked_on - 40 WHERE batch_id = 3"],
    "header and content of 2": lambda b, d: [
        f"UPDATE ledger_postings SET amount_minor = amount_minor + 1 WHERE posting_id = {_posting_of(b[1], 1)}",
        "UPDATE ledger_batches SET booked_on = booked_on - 40 WHERE batch_id = 2"],
    "header of 2, content of 3": lambda b, d: [
        f"DELETE FROM ledger_postings WHERE posting_id = {_posting_of(b[2], 0)}",
        "UPDATE ledger_batches SET booked_on = booked_on - 40 WHERE batch_id = 2"],
    "link of 3 and its content": lambda b, d: [
        f"UPDATE ledger_batches SET prev_hash = '{'1' * 64}' WHERE batch_id = 3",
        f"DELETE FROM ledger_postings WHERE posting_id = {_posting_of(b[2], 0)}"],
    "range of 2, content of 3": lambda b, d: [
        "UPDATE ledger_batches SET first_posting = first_posting + 1 WHERE batch_id = 2",
        f"DELETE FROM ledger_postings WHERE posting_id = {_posting_of(b[2], 0)}"],
    "payments of 1, postings of 2": lambda b, d: [
        "UPDATE ledger_payments SET payee_id = payee_id + 1 WHERE batch_id = 1 AND leaf = 0",
        f"DELETE FROM ledger_postings WHERE posting_id = {_posting_of(b[1], 0)}"],
    "postings and payments of 3": lambda b, d: [
        "UPDATE ledger_payments SET payee_id = payee_id + 1 WHERE batch_id = 3 AND leaf = 0",
        f"UPDATE ledger_postings SET right_id = right_id + 1 WHERE posting_id = {_posting_of(b[2], 7)}"],
    "payments of 3 only": lambda b, d: ["DELETE FROM ledger_payments WHERE batch_id = 3 AND leaf = 2"],
    "moved posting": lambda b, d: [
        f"UPDATE ledger_postings SET batch_id = 3 WHERE posting_id = {_posting_of(b[1], 2)}"],
    # SQLite's key refuses a second posting id: there the stray row lies below every range
    "stray posting in a range": lambda b, d: [
        "INSERT INTO ledger_postings (posting_id, batch_id, account_kind, account_key, right_id, payee_id, period, "
        "month, component, amount_minor, payment_ref) VALUES "
        f"({_posting_of(b[0], 3) if d == 'postgresql' else -5}, 7, 4, 1, 1, 1, 662, 662, 1, 5, '')"],
    "stray payment": lambda b, d: ["INSERT INTO ledger_payments (batch_id, leaf, payment_ref, payee_id, amount_minor) "
                                "VALUES (9, 0, 'X', 1, 1)"],
    # stray rows are counted where they lie (inside a range, beyond every range, without an id): all are counted
    "stray postings inside and beyond the ranges": lambda b, d: [
        "INSERT INTO ledger_postings (posting_id, batch_id, account_kind, account_key, right_id, payee_id, period, "
        f"month, component, amount_minor, payment_ref) VALUES ({_posting_of(b[1], 5) if d == 'postgresql' else -7}, "
        f"3, 4, 1, 1, 1, 662, 662, 1, 5, ''), ({_posting_of(b[2], b[2].n_postings + 2)}, 3, 4, 1, 1, 1, 662, 662, "
        "1, 5, '')"],
    "posting without an id": lambda b, d: [
        *(["ALTER TABLE ledger_postings ALTER COLUMN posting_id DROP NOT NULL"] if d == "postgresql" else []),
        "INSERT INTO ledger_postings (posting_id, batch_id, account_kind, account_key, right_id, payee_id, period, "
        "month, component, amount_minor, payment_ref) VALUES (NULL, 2, 4, 1, 1, 1, 662, 662, 1, 5, '')"],
    "expense columns of no batch": lambda b, d: [
        "INSERT INTO ledger_expense_columns (batch_id, n_postings, right_id, month, amount_minor) VALUES "
        "(9, 0, '', '', ''), (0, 0, '', '', '')"],
    "payments of no batch": lambda b, d: [
        *(["ALTER TABLE ledger_payments ALTER COLUMN batch_id DROP NOT NULL"] if d == "postgresql" else []),
        "INSERT INTO ledger_payments (batch_id, leaf, payment_ref, payee_id, amount_minor) VALUES "
        f"(0, 0, 'X', 1, 1), ({'NULL' if d == 'postgresql' else -1}, 0, 'Y', 1, 1)"],
    # SQLite keeps 1.5 (or text) in an integer column that is not the rowid: no `batch_id = 1` read selects it, and
    # a reader that rounds it would count batch 1's expense twice; PostgreSQL's bigint refuses it (a stray row there)
    "rows of a batch id that is not an integer": lambda b, d: [
        "INSERT INTO ledger_expense_columns (batch_id, n_postings, right_id, month, amount_minor) VALUES "
        f"({'1.5' if d == 'sqlite' else 9}, 0, '', '', '')",
        "INSERT INTO ledger_payments (batch_id, leaf, payment_ref, payee_id, amount_minor) VALUES "
        f"({'2.5' if d == 'sqlite' else 9}, 0, 'X', 1, 1), ({chr(39) + 'two' + chr(39) if d == 'sqlite' else 9}, "
        "1, 'Y', 1, 1)"],
    "expense columns of 1 and postings of 2": lambda b, d: [
        "DELETE FROM ledger_expense_columns WHERE batch_id = 1",
        f"DELETE FROM ledger_postings WHERE posting_id = {_posting_of(b[1], 4)}"],
    "batch 2 deleted": lambda b, d: ["DELETE FROM ledger_batches WHERE batch_id = 2"],
    "last batch deleted": lambda b, d: ["DELETE FROM ledger_payments WHERE batch_id = 3",
                                     "DELETE FROM ledger_postings WHERE batch_id = 3",
                                     "DELETE FROM ledger_expense_columns WHERE batch_id = 3",
                                     "DELETE FROM ledger_batches WHERE batch_id = 3"],
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_pipelined_batches_judge_as_one_batch_after_another(ledger, three_batches, name):
    """verify_batches overlaps reads and checks of consecutive batches: whatever is tampered, alone or together,
    it names the same first bad batch with the same reason, postings and digest as a check in turn."""
    from ledgers.verify import verify_batches

    saved = three_batches[-1].hash
    tamper(ledger, *TAMPERS[name](three_batches, ledger.dialect))
    expected = verify_in_turn(ledger, saved)
    result = verify_batches(ledger, saved)
    assert (result.ok, result.first_bad_batch, result.postings, result.digest, result.batches) == \
        (expected.ok, expected.first_bad_batch, expected.postings, expected.digest, expected.batches)
    assert result.reason == expected.reason
    assert name == "none" or not result.ok


def test_read_payments_equals_the_rows_as_stored(ledger, three_batches):
    """read_payments fills batch_id in instead of reading it: the columns equal a plain row-wise SELECT, also
    when the rows were stored out of leaf order."""
    tamper(ledger, "DELETE FROM ledger_payments WHERE batch_id = 2 AND leaf = 0",
           "INSERT INTO ledger_payments (batch_id, leaf, payment_ref, payee_id, amount_minor) "
           f"VALUES (2, 0, 'ISP-X', 77, {2 ** 62})")
    with ledger.engine.connect() as conn:
        for batch in three_batches:
            rows = conn.exec_driver_sql("SELECT batch_id, leaf, payment_ref, payee_id, amount_minor FROM "
                                        f"ledger_payments WHERE batch_id = {batch.batch_id} ORDER BY leaf").fetchall()
            columns = ledger.read_payments(batch.batch_id)
            assert list(columns) == ["batch_id", "leaf", "payee_id", "amount_minor", "payment_ref"]
            assert all(columns[name].dtype == "<i8" for name in ["batch_id", "leaf", "payee_id", "amount_minor"])
            assert [(int(b), int(leaf), ref.decode(), int(p), int(a)) for b, leaf, p, a, ref in
                    zip(*(columns[name] for name in columns))] == [tuple(row) for row in rows]
            assert len(rows) == batch.n_payments
