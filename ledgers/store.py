"""The Ledger: open a database, initialise it, append hash-chained batches, read balances and recognised amounts.

A batch is written in one transaction under a lock that serialises writers (PostgreSQL advisory transaction
lock, SQLite BEGIN IMMEDIATE), so the head read at the start is still the head at commit and two writers can
never fork the chain. The batch's shape is checked before the lock (or, for postings still being built, once
they are, while its payments stream in); its values are checked, and the Merkle tree and the postings digest
computed, on other threads while the postings stream in, and nothing commits before the checks passed. The BRIN
summaries are made on a second connection meanwhile. (kind, source_id) is the batch's natural key: writing the same
batch again returns the stored one (created=False), writing different content under the same key is refused.
"""
import datetime as dt
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from engine.months import date_to_days, parse_period
from formats.bounds import MONTHS as MONTHS_MAX  # month indexes 0..2399, as prepare_batch enforces
from formats.errors import UserError
from formats.i18n import N_
from ledgers import schema
from ledgers.bulk import insert_blob_row, insert_rows, read_columns, read_posting_range, sort_by
from ledgers.canonical import (GENESIS_HASH, POSTING_COLUMNS, batch_hash, event_hash, header_of, merkle_root,
                               postings_sha256)
from ledgers.postings import PreparedBatch, built, payments_first, prepare_batch_deferred

PG_LOCK_CLASS = 0x15A1  # first key of pg_advisory_xact_lock; the second is the schema's name hash
PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))"
POSTING_DTYPES = dict(POSTING_COLUMNS)
INT_POSTING_DTYPES = {name: dtype for name, dtype in POSTING_COLUMNS if name != "payment_ref"}
READ_PARTS = 2                # cores of the reference machine
READ_SPLIT_POSTINGS = 200_000  # below this a second connection costs more than it saves
READ_PIECE_POSTINGS_MAX = 4_000_000  # x 35 bytes of references: one aggregated value stays < 150 MB
# The BRIN indexes summarise the batch's pages before its commit (0.5 s of server time for 2.4M postings, against
# 2.6 s for their COPY; after the commit it costs half as much again, for the hint bits) instead of whenever
# autovacuum comes by: until then a read of one batch would scan every unsummarised page of the table.
# to_regclass: a ledger created before the payments index existed has none.
PG_SUMMARIZE = ("SELECT brin_summarize_new_values(index) FROM (VALUES (to_regclass('ledger_postings_id_brin')), "
                "(to_regclass('ledger_payments_batch_brin'))) AS brin(index) WHERE index IS NOT NULL")
# The postings' index is summarised on a second connection while the batch's own goes on with the payments (the
# server works on two cores). A summary is no part of the ledger: it says which
# posting ids a range of pages may hold, built from every tuple there, the batch's uncommitted ones included
# (as autovacuum summarises beside a running COPY); were the step rolled back, a range would merely claim ids
# it does not hold, which costs a read a few more pages and never hides a posting.
PG_SUMMARIZE_POSTINGS = ("SELECT brin_summarize_new_values(index) FROM (VALUES "
                         "(to_regclass('ledger_postings_id_brin'))) AS brin(index) WHERE index IS NOT NULL")
ASIDE_LOCK_TIMEOUT = "1s"
# While a COPY runs, its new ranges are summarised this often: each round reads what the COPY wrote since (about
# 1.5 M postings at 2 s), and the batch's later inserts into the round's last, partly filled range widen its
# summary (a few thousand index updates a round).
ASIDE_SUMMARY_EVERY_S = 2.0
PG_SUMMARIZE_PAYMENTS = ("SELECT brin_summarize_new_values(index) FROM (VALUES "
                         "(to_regclass('ledger_payments_batch_brin'))) AS brin(index) WHERE index IS NOT NULL")
PAYMENT_INT_DTYPES = {"batch_id": "<i8", "leaf": "<i8", "payee_id": "<i8", "amount_minor": "<i8"}
PAYMENT_READ_DTYPES = {name: dtype for name, dtype in PAYMENT_INT_DTYPES.items() if name != "batch_id"}


class LedgerRefused(UserError):
    """The ledger refuses a write (unbalanced, conflicting duplicate); nothing was written."""


class DuplicateBatch(LedgerRefused):
    pass


@dataclass(frozen=True)
class BatchRecord:
    batch_id: int
    kind: str
    source_id: str
    period: int
    booked_on: int
    created_us: int
    first_posting: int
    n_postings: int
    n_payments: int
    debit_minor: int
    prev_hash: str
    postings_sha256: str
    merkle_root: str
    hash: str
    record_sha256: str = ""  # what the batch commits to (an approval: its payroll's row), "" for none
    events_head: str = ""    # hash of the last event when the batch was written, "" for none
    created: bool = True  # False when append_batch found the identical batch already written

    def header(self) -> dict:
        """The hashed header: the fixed fields, and record_sha256 / events_head when set."""
        return header_of(self.as_dict())

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def normalise_url(url: str) -> str:
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def open_ledger(url: str) -> "Ledger":
    return Ledger(url)


class Ledger:
    def __init__(self, url: str):
        self.url = normalise_url(url)
        if not (self.url.startswith("sqlite") or self.url.startswith("postgresql+psycopg")):
            raise UserError(N_("unsupported database URL {url}: use sqlite:///FILE or postgresql://...",
                               url=repr(url)))
        self.engine = sa.create_engine(self.url, **_engine_options(self.url))
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_on_connect)
            sa.event.listen(self.engine, "begin", _sqlite_on_begin)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- transactions ------------------------------------------------------------------------------------

    @contextmanager
    def step(self):
        """One step of the cycle as one transaction: a SQLAlchemy connection that holds the ledger's write lock
        (SQLite BEGIN IMMEDIATE, PostgreSQL the advisory transaction lock) from its first statement to commit.

        A step checks its precondition, appends its batch (append_batch(conn=...)), events and holds, and records
        its status change through this connection: all of it commits together or not at all, and a second
        officer's step waits for the lock and then sees the first one's result."""
        with write_locked(self.engine) as conn:
            yield conn

    @contextmanager
    def _locked(self, conn: sa.Connection | None = None):
        """A raw DBAPI connection inside a transaction that holds the ledger's write lock; with `conn` (a step's
        connection, see step()), that connection's own transaction, neither committed nor rolled back here."""
        if conn is not None:
            raw = conn.connection.driver_connection
            if self.dialect == "postgresql":
                raw.execute(PG_LOCK_SQL, (PG_LOCK_CLASS,))  # re-entrant: already held by step()
            yield raw
            return
        proxy = self.engine.raw_connection()
        raw = proxy.driver_connection
        try:
            if self.dialect == "sqlite":
                raw.execute("BEGIN IMMEDIATE")
            else:
                raw.execute(PG_LOCK_SQL, (PG_LOCK_CLASS,))
            yield raw
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            proxy.close()

    @contextmanager
    def _reading(self, ranges: bool = False):
        """A raw DBAPI connection for reads, in one transaction that is always rolled back.

        ranges: the reads select a batch's postings or payments by their monotonic ids. PostgreSQL then scans
        only the BRIN ranges that hold them; without statistics (a table not yet analysed) the planner would
        otherwise read the whole table for every batch, which makes reading all batches quadratic.
        """
        proxy = self.engine.raw_connection()
        raw = proxy.driver_connection
        try:
            if self.dialect == "sqlite":
                raw.execute("BEGIN")
            else:
                # string_agg cannot run in parallel workers: a parallel scan only adds a tuple queue to the
                # leader; large reads use two connections instead (read_postings). JIT-compiling the aggregate
                # expressions of a large read costs more than it saves (2.8 s -> 2.2 s for 2.4M postings).
                raw.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                raw.execute("SET LOCAL jit = off")
                if ranges:
                    raw.execute("SET LOCAL enable_seqscan = off")
            yield raw
        finally:
            raw.rollback()
            proxy.close()

    def _fetch_binary(self, raw, sql: str, params: tuple) -> list:
        """Rows of a query returning blobs; PostgreSQL sends them in binary (text would be hex, twice the size)."""
        if self.dialect == "sqlite":
            return raw.execute(sql, params).fetchall()
        return raw.execute(self._q(sql), params, binary=True).fetchall()

    def _q(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    # ---- schema ------------------------------------------------------------------------------------------

    def init(self) -> None:
        """Create the schema if missing and record its version; safe to run again and from two processes."""
        with self.schema_lock() as conn:
            if not schema.owned_elsewhere(conn, schema.batches.name):
                if schema.migrate(conn, _now_us()):
                    chain_binding(conn)  # version 3: the country row in the chain, or nothing migrated
                schema.create_tables(conn)
            schema.seed_tables(conn, _now_us())

    def schema_lock(self):
        return schema_lock(self.engine)

    def sqlite_file(self) -> str | None:
        """The file of a SQLite ledger ("" for an in-memory one); None on PostgreSQL."""
        if self.dialect != "sqlite":
            return None
        database = self.engine.url.database
        if database and database.startswith("file:"):  # sqlite:///file:PATH?mode=ro&uri=true
            database = database.removeprefix("file:").split("?", 1)[0]
        return "" if database in (None, "", ":memory:") else database

    def schema_version(self) -> int | None:
        """The ledger's schema version; None when the database holds no ledger. Never creates anything: a SQLite
        file that does not exist is not opened (opening it would create it)."""
        path = self.sqlite_file()
        if path is not None and (path == "" or not Path(path).is_file() or not sqlite_has_ledger(path)):
            return None
        with database_errors(self.url):
            if not sa.inspect(self.engine).has_table("ledger_schema"):
                return None
            with self.engine.connect() as conn:
                return conn.execute(sa.select(sa.func.max(schema.schema_table.c.version))).scalar()

    def require_schema(self) -> None:
        """Refuses (exit 2) a database without a ledger: only `db init` (and `demo`) create one; and a ledger of
        an older schema version, which `db init` brings up to date."""
        version = self.schema_version()
        if version is None:
            path = self.sqlite_file()
            where = f"{path} does not exist" if path and not Path(path).exists() else f"{self.url} has no ledger"
            raise UserError(N_("no ledger: {where}; nothing was written. Check --db / ISPLATA_DB, or create the "
                               "ledger with `isplata db init --db {url}`", where=where, url=self.url))
        if version != schema.SCHEMA_VERSION:
            raise UserError(N_("the ledger in {url} has schema version {version}, this isplata needs "
                               "{schema_version}: run `isplata db init` to bring it up to date",
                               url=self.url, version=version, schema_version=schema.SCHEMA_VERSION))
        self.require_codes()

    def require_codes(self) -> None:
        """Refuses (exit 2) a ledger whose code table gives a component or account code another meaning than
        ledgers.codes, or lacks codes appended since it was created (`db init` records them)."""
        with database_errors(self.url), self.engine.connect() as conn:
            schema.refuse_code_conflicts(conn)
            missing = schema.missing_codes(schema.read_codes(conn))
        if missing:
            names = ", ".join(f"{row['domain']} {row['name']}" for row in missing)
            raise UserError(f"the ledger in {self.url} lacks codes this isplata uses ({names}): run "
                            "`isplata db init` to record them; nothing was written")

    # ---- writing -----------------------------------------------------------------------------------------

    def append_batch(self, kind: str, source_id: str, postings, payments=None, period=None,
                     booked_on: dt.date | None = None, created_at: dt.datetime | None = None,
                     conn: sa.Connection | None = None, record_sha256: str = "") -> BatchRecord:
        """Write one balanced batch (postings: dict of arrays or PostingsBuilder) and return its record. With
        `conn` (a step's connection), inside that transaction: it commits with the step's events and holds.

        `postings` may also be a Future of them, still being built on another thread (approve builds its batch
        while it holds the step's lock): the payments are then written first, while the postings are built, so
        the database is at work from the start. The batch is refused as it would be otherwise, by the same
        problems in the same order, and nothing commits before every check passed.

        record_sha256: the SHA-256 of the record the batch posts (canonical.record_sha256 of a payroll's row),
        hashed into the chain with the head of the event chain the batch saw."""
        period_index = parse_period(period) if isinstance(period, str) else period
        early = payments_first(kind, source_id, payments, period_index) if isinstance(postings, Future) else None

        def prepare():  # the batch checked and canonicalised, once its postings are there
            return prepare_batch_deferred(kind, source_id, built(postings), payments, period_index, early)

        stamps = (date_to_days(booked_on or dt.datetime.now(dt.timezone.utc).date()),
                  _now_us() if created_at is None else int(created_at.timestamp() * 1_000_000), record_sha256)
        # the checks of every value and the hashing run on other threads (numba kernels, numpy and large hashlib
        # updates release the GIL) while the database ingests the postings: the server starts at once instead of
        # after the checks. Nothing commits before the checks passed: a refused batch is rolled back whole.
        # `aside`: the BRIN summaries on a second connection (PostgreSQL), while this one goes on writing.
        with ThreadPoolExecutor(max_workers=2) as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="summarize") as aside:
            if early is None:
                prepared, check = prepare()  # shape problems raise here, before the lock
                checked = pool.submit(check)
                early_pay = None
            pay = early or {name: getattr(prepared, name) for name in ("pay_refs", "pay_payee", "pay_amount")}
            root = pool.submit(merkle_root, pay["pay_refs"], pay["pay_payee"], pay["pay_amount"])
            with self._locked(conn) as raw:
                existing = self._find(raw, kind, source_id)
                head = self._head(raw)
                columns = None
                if early is not None:
                    prepared, check, columns, early_pay = self._payments_first(raw, head, early, existing, prepare,
                                                                               pool, aside)
                    checked = pool.submit(check)
                if existing is not None:
                    checked.result()
                    return self._same_or_refuse(existing, prepared, root.result())
                record, postings_aside = self._write_postings(raw, head, prepared, columns, checked, root, pool,
                                                              aside, stamps, early is None)
                if self.dialect == "postgresql":  # what could not be summarised aside is summarised here
                    done = (postings_aside.result(), early_pay is not None and early_pay.result())
                    left = {(True, True): None, (True, False): PG_SUMMARIZE_PAYMENTS,
                            (False, True): PG_SUMMARIZE_POSTINGS, (False, False): PG_SUMMARIZE}[done]
                    if left is not None:
                        _summarize_brin(raw, left)
        return record

    def _payments_first(self, raw, head, pay: dict, existing, prepare, pool, aside):
        """append_batch with postings still being built: the payments written (unless the batch exists) while
        they are, and prepared with their canonical columns on `pool` once they are; the payments' index
        summarised aside (PostgreSQL). Raises what prepare_batch raises; a payment the database refused is refused
        as the checks refuse it, when they find it. Returns prepared, check, the posting columns (None for a batch
        that exists) and the aside summary (a Future of True when done there, or None)."""

        def ready():  # the postings' own COPY can start the moment the payments' ends
            prepared, check = prepare()
            columns = None if existing is not None else prepared.columns(*_place_of(head))
            return prepared, check, columns

        failed, summarized, ready = None, None, pool.submit(ready)
        if existing is None:
            try:
                self._insert_payments(raw, _place_of(head)[0], pay["pay_refs"], pay["pay_payee"], pay["pay_amount"])
            except Exception as exc:  # raised below, after the problems of the batch's values if it has any
                failed = exc
            if failed is None and self.dialect == "postgresql":
                summarized = aside.submit(self._summarize_aside, PG_SUMMARIZE_PAYMENTS)
        prepared, check, columns = ready.result()  # the postings' builder's or shapes' refusal is raised here
        if failed is not None:
            check()
            raise failed
        return prepared, check, columns, summarized

    def _write_postings(self, raw, head, prepared: PreparedBatch, columns: dict | None, checked, root, pool, aside,
                        stamps, with_payments: bool):
        """The batch's postings (`columns`: their canonical columns if made already), its expense columns, its row
        and (with_payments) its payments, under the lock; returns the record and the Future of the postings'
        summary aside (None on SQLite)."""
        booked, created_us, record_sha256 = stamps
        batch_id, first = _place_of(head)
        columns = columns if columns is not None else prepared.columns(batch_id, first)
        digest = pool.submit(postings_sha256, columns)
        expense = pool.submit(projection_of, prepared.account_kind, prepared.right_id, prepared.month,
                              prepared.amount_minor)  # ready when the expense columns follow the postings
        copied, sound = threading.Event(), threading.Event()
        # the ranges the COPY has filled are summarised as it goes, and the rest after it while this connection
        # writes the batch's row and expense columns (not after a round still running when the COPY ended)
        summarized = aside.submit(self._summarize_until, copied, sound, PG_SUMMARIZE_POSTINGS) \
            if self.dialect == "postgresql" else None
        try:
            try:
                self._insert_postings(raw, columns)
            except Exception:
                checked.result()  # values the database refused (e.g. not UTF-8) are the checks' problems
                raise
            checked.result()
            sound.set()
        finally:
            copied.set()
        header = dict(batch_id=batch_id, kind=prepared.kind, source_id=prepared.source_id, period=prepared.period,
                      booked_on=booked, created_us=created_us, first_posting=first,
                      n_postings=prepared.n_postings, n_payments=prepared.n_payments,
                      debit_minor=prepared.debit_minor, record_sha256=record_sha256 or "",
                      events_head=self._events_head(raw))
        prev = GENESIS_HASH if head is None else head.hash
        record = BatchRecord(**header, prev_hash=prev, postings_sha256=digest.result(), merkle_root=root.result(),
                             hash=batch_hash(prev, header, digest.result(), root.result()))
        self._insert_batch(raw, record, expense.result())
        if with_payments:
            self._insert_payments(raw, batch_id, prepared.pay_refs, prepared.pay_payee, prepared.pay_amount)
        return record, summarized

    def _summarize_until(self, done: threading.Event, sound: threading.Event, statement: str) -> bool:
        """_summarize_aside every ASIDE_SUMMARY_EVERY_S until `done` is set (the postings' COPY is over), so the
        summary left after the COPY covers only what it added last instead of every page of the batch: the step
        no longer waits for it. A round that fails leaves its ranges to the next one, or to the last. The last
        runs when `sound` was set before `done` (the COPY ended and the checks passed; a refused or failed step is
        rolled back and not kept waiting for it) and returns what _summarize_aside returns (False: the step's own
        connection summarises); True without it. An error of a round other than the database's is raised."""
        while not done.wait(ASIDE_SUMMARY_EVERY_S):
            self._summarize_aside(statement)
        return self._summarize_aside(statement) if sound.is_set() else True

    def _summarize_aside(self, statement: str) -> bool:
        """One of the PG_SUMMARIZE statements on a connection of its own, committed at once; False if it could
        not run there (the step's connection then summarises as before). A writer that may not summarise (not the
        indexes' owner) is done: the step's connection could not either. Its lock on the table waits at most
        ASIDE_LOCK_TIMEOUT: a session queued for a lock that conflicts with the step's COPY (CREATE INDEX, ALTER,
        REINDEX) would otherwise hold it back while the step waits for it, a wait PostgreSQL cannot see."""
        import psycopg

        try:
            proxy = self.engine.raw_connection()
        except (sa.exc.SQLAlchemyError, psycopg.Error):  # no connection left on the server or in the pool
            return False
        raw = proxy.driver_connection
        try:
            raw.execute(f"SET LOCAL lock_timeout = '{ASIDE_LOCK_TIMEOUT}'")  # this transaction only, not the pool's
            raw.execute(statement)
            raw.commit()
            return True
        except psycopg.errors.InsufficientPrivilege:
            raw.rollback()
            return True
        except psycopg.Error:
            raw.rollback()
            return False
        finally:
            proxy.close()

    def _same_or_refuse(self, existing: BatchRecord, prepared: PreparedBatch, root: str) -> BatchRecord:
        digest = postings_sha256(prepared.columns(existing.batch_id, existing.first_posting))
        if digest == existing.postings_sha256 and root == existing.merkle_root:
            return BatchRecord(**{**existing.as_dict(), "created": False})
        raise DuplicateBatch(
            N_("a {kind} batch for source {source_id} is already in the ledger (batch {batch_id}) with different "
               "postings; post a correction batch instead of rewriting it",
               kind=existing.kind, source_id=repr(existing.source_id), batch_id=existing.batch_id))

    def _insert_postings(self, raw, columns: dict) -> None:
        ints = {name: columns[name] for name in INT_POSTING_DTYPES}
        insert_rows(raw, self.dialect, "ledger_postings", ints, INT_POSTING_DTYPES, "payment_ref",
                    columns["payment_ref"])

    def _insert_batch(self, raw, record: BatchRecord, expense: tuple) -> None:
        row = record.as_dict()
        row.pop("created")
        marks = ", ".join("?" * len(row))
        raw.execute(self._q(f"INSERT INTO ledger_batches ({', '.join(row)}) VALUES ({marks})"),
                    tuple(row.values()))
        insert_blob_row(raw, self.dialect, "ledger_expense_columns",
                        {"batch_id": record.batch_id, "n_postings": len(expense[0])},
                        dict(zip(("right_id", "month", "amount_minor"), expense)))

    def _insert_payments(self, raw, batch_id: int, refs: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        """The batch's payments, numbered by leaf 0..n-1 (the Merkle tree's order)."""
        if len(refs):
            pay = {"batch_id": np.full(len(refs), batch_id, np.int64), "leaf": np.arange(len(refs), dtype=np.int64),
                   "payee_id": payee, "amount_minor": amount}
            insert_rows(raw, self.dialect, "ledger_payments", pay, PAYMENT_INT_DTYPES, "payment_ref", refs)

    # ---- batches -----------------------------------------------------------------------------------------

    def _find(self, raw, kind: str, source_id: str) -> BatchRecord | None:
        cur = raw.execute(self._q(f"SELECT {_BATCH_COLS} FROM ledger_batches WHERE kind = ? AND source_id = ?"),
                          (kind, source_id))
        row = cur.fetchone()
        return None if row is None else _record(row)

    def _events_head(self, raw) -> str:
        row = raw.execute("SELECT hash FROM ledger_events ORDER BY event_id DESC LIMIT 1").fetchone()
        return "" if row is None else row[0]

    def _head(self, raw) -> BatchRecord | None:
        row = raw.execute(f"SELECT {_BATCH_COLS} FROM ledger_batches ORDER BY batch_id DESC LIMIT 1").fetchone()
        return None if row is None else _record(row)

    def find_batch(self, kind: str, source_id: str, conn: sa.Connection | None = None) -> BatchRecord | None:
        """The batch written for this (kind, source), e.g. whether a returns file (sha256) was already posted."""
        if conn is not None:
            return self._find(conn.connection.driver_connection, kind, source_id)
        with self._reading() as raw:
            return self._find(raw, kind, source_id)

    def source_posted(self, source_id: str, kind: str | None = None) -> bool:
        sql = "SELECT 1 FROM ledger_batches WHERE source_id = ?" + (" AND kind = ?" if kind else "")
        with self._reading() as raw:
            return raw.execute(self._q(sql), (source_id, kind) if kind else (source_id,)).fetchone() is not None

    def batches(self) -> list[BatchRecord]:
        with self._reading() as raw:
            rows = raw.execute(f"SELECT {_BATCH_COLS} FROM ledger_batches ORDER BY batch_id").fetchall()
        return [_record(row) for row in rows]

    def digest(self) -> str:
        """The chain head: hash of the last batch (GENESIS_HASH for an empty ledger)."""
        with self._reading() as raw:
            head = self._head(raw)
        return GENESIS_HASH if head is None else head.hash

    def read_postings(self, first: int, count: int, batch_id: int | None = None) -> dict:
        """Postings [first, first + count) as canonical numpy columns, sorted by posting_id.

        With batch_id, only that batch's postings (the fast path verify and export use). A large range is
        read as two halves on two connections at once: the database formats values on one core per
        connection, so both cores work. Ranges of an append-only table do not change between the snapshots.
        """
        return self.read_postings_counted(first, count, batch_id)[0]

    def read_postings_counted(self, first: int, count: int, batch_id: int | None = None) -> tuple[dict, int]:
        """read_postings, and the number of rows in the range that belong to another batch than batch_id (0
        without batch_id): verify counts the stray rows inside the batches' ranges as it reads them."""
        parts = READ_PARTS if count >= READ_SPLIT_POSTINGS else 1
        parts = max(parts, -(-count // READ_PIECE_POSTINGS_MAX))  # keep each aggregated value far below 1 GB
        if parts > 1:  # whole rounds of READ_PARTS pieces: a last round of one piece would leave a core idle
            parts = -(-parts // READ_PARTS) * READ_PARTS
        bounds = [first + count * part // parts for part in range(parts + 1)]
        if parts == 1:
            return self._read_range(first, first + count, batch_id)
        # each piece is copied into its slice of the result as soon as it arrives (no concatenation at the end,
        # and at most READ_PARTS pieces are held besides the result); a piece with more or fewer rows than its
        # range (a damaged ledger) is kept whole and the result is concatenated from the pieces instead
        out = {name: np.empty(count, dtype) for name, dtype in POSTING_COLUMNS}

        def fill(start: int, stop: int):
            piece, others = self._read_range(start, stop, batch_id)
            if len(piece["posting_id"]) != stop - start:
                return piece, others
            for name, values in piece.items():
                out[name][start - first:stop - first] = values
            return None, others

        with ThreadPoolExecutor(max_workers=READ_PARTS) as pool:
            odd, others = zip(*pool.map(fill, bounds[:-1], bounds[1:]))
        if not any(piece is not None for piece in odd):
            return out, sum(others)
        pieces = [piece if piece is not None else {name: out[name][start - first:stop - first] for name in out}
                  for piece, start, stop in zip(odd, bounds[:-1], bounds[1:])]
        return {name: np.concatenate([piece[name] for piece in pieces]) for name in out}, sum(others)

    def _read_range(self, start: int, stop: int, batch_id: int | None = None) -> tuple[dict, int]:
        with self._reading(ranges=True) as raw:
            if batch_id is not None:
                return read_posting_range(raw, self.dialect, start, stop, batch_id, INT_POSTING_DTYPES)
            source = self._q("SELECT * FROM ledger_postings WHERE posting_id >= ? AND posting_id < ?")
            columns = read_columns(raw, self.dialect, source, (start, stop), INT_POSTING_DTYPES, "payment_ref")
        return sort_by(columns, "posting_id"), 0

    def count_outside(self, postings: int, batches: int) -> tuple[int, int, int]:
        """Rows that no batch's read selects, apart from the rows of other batches inside a batch's posting range
        (read_postings_counted counts those): postings whose id is outside 1..postings, payments and expense
        column rows whose batch id is outside 1..batches, NULL ids included. Index look-ups (BRIN ranges that
        may hold such ids, the expense columns' key), not scans of the tables. SQLite stores whatever it is given
        in an integer column that is not the rowid, so there an id that is not an integer (1.5, text) counts too:
        a reader selecting `batch_id = 1` would never see it, and one that rounds it would count it twice."""
        # PostgreSQL's bigint columns hold integers only; SQLite's typeof() names a stored REAL or TEXT
        not_integer = " OR typeof({key}) <> 'integer'" if self.dialect == "sqlite" else ""
        with self._reading(ranges=True) as raw:
            return tuple(int(raw.execute(self._q(f"SELECT count(*) FROM {table} WHERE {key} < ? OR {key} > ? "
                                                 f"OR {key} IS NULL" + not_integer.format(key=key)),
                                         (1, bound)).fetchone()[0])
                         for table, key, bound in (("ledger_postings", "posting_id", postings),
                                                   ("ledger_payments", "batch_id", batches),
                                                   ("ledger_expense_columns", "batch_id", batches)))

    def read_expense_columns(self, batch_id: int):
        """The stored (right_id, month, amount_minor) expense blobs of a batch, or None if missing."""
        with self._reading() as raw:
            rows = self._fetch_binary(raw, "SELECT right_id, month, amount_minor, n_postings "
                                           "FROM ledger_expense_columns WHERE batch_id = ?", (batch_id,))
        if not rows:
            return None
        row = rows[0]
        return tuple(bytes(row[i]) for i in range(3)), int(row[3])

    def read_posting(self, posting_id: int, batch_id: int) -> dict | None:
        """One posting of a batch as a dict of its columns (None if there is none): an indexed look-up, where
        read_postings would load its kernels for one row."""
        sql = self._q("SELECT * FROM ledger_postings WHERE posting_id = ? AND batch_id = ?")
        with self._reading(ranges=True) as raw:
            cursor = raw.execute(sql, (posting_id, batch_id))
            row = cursor.fetchone()
            return None if row is None else dict(zip([column[0] for column in cursor.description], row))

    def read_payments(self, batch_id: int) -> dict:
        """The batch's payments as canonical columns, sorted by leaf. Only rows of that batch are selected, so
        batch_id is not read back (one aggregate less per payment) but filled in."""
        source = self._q("SELECT * FROM ledger_payments WHERE batch_id = ?")
        with self._reading(ranges=True) as raw:
            columns = read_columns(raw, self.dialect, source, (batch_id,), PAYMENT_READ_DTYPES, "payment_ref")
        columns["batch_id"] = np.full(len(columns["leaf"]), batch_id, PAYMENT_INT_DTYPES["batch_id"])
        return sort_by({name: columns[name] for name in [*PAYMENT_INT_DTYPES, "payment_ref"]}, "leaf")

    # ---- queries -----------------------------------------------------------------------------------------

    def balances(self, as_of: dt.date | None = None, account: str | int | None = None, key: int | None = None,
                 payee_id: int | None = None, right_id: int | None = None, period: int | None = None,
                 period_to: int | None = None, benefit_code: int | None = None) -> list[dict]:
        """Balance per (account, key) of postings booked on or before `as_of` (all when None), filtered: by
        account, key, payee, right; by accounting period (`period` exactly, or every period up to `period_to`,
        month indexes); by benefit (the rights whose expense postings carry that ledger benefit code)."""
        where, params = ["1 = 1"], []
        if as_of is not None:
            where.append("b.booked_on <= ?")
            params.append(date_to_days(as_of))
        for column, value in (("p.account_kind", _account_code(account)), ("p.account_key", key),
                              ("p.payee_id", payee_id), ("p.right_id", right_id), ("p.period", period)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(int(value))
        if period_to is not None:
            where.append("p.period <= ?")
            params.append(int(period_to))
        if benefit_code is not None:
            where.append("p.right_id IN (SELECT DISTINCT e.right_id FROM ledger_postings e WHERE e.account_kind = ? "
                         "AND e.account_key = ?)")
            params += [schema.ACCOUNT["benefit_expense"], int(benefit_code)]
        sql = ("SELECT p.account_kind, p.account_key, SUM(p.amount_minor) FROM ledger_postings p "
               "JOIN ledger_batches b ON b.batch_id = p.batch_id WHERE " + " AND ".join(where) +
               " GROUP BY p.account_kind, p.account_key ORDER BY p.account_kind, p.account_key")
        names = {code: name for code, name, _, _ in schema.ACCOUNT_KINDS}
        with self._reading() as raw:
            rows = raw.execute(self._q(sql), tuple(params)).fetchall()
        return [{"account": names.get(int(kind), str(kind)), "account_kind": int(kind), "key": int(k),
                 "balance_minor": int(total)} for kind, k, total in rows]

    def balance(self, **filters) -> int:
        """Sum of the balances selected by the filters of `balances` (e.g. one payee's payable)."""
        return sum(row["balance_minor"] for row in self.balances(**filters))

    def recognised(self, right_ids=None, first_month: int | None = None, last_month: int | None = None,
                   batch_mark: int | None = None):
        """Net entitlement recognised per (right, month): the net of benefit-expense postings.

        Returns (right_id int64, month int32, amount_minor int64), sorted by right then month, one entry per
        pair that has any expense posting (a pair whose postings cancel appears with 0). `batch_mark` stops
        at that batch id (the ledger state a calculation saw). Reads the per-batch expense column blobs.
        """
        sql = "SELECT right_id, month, amount_minor FROM ledger_expense_columns"
        params = ()
        if batch_mark is not None:
            sql, params = sql + " WHERE batch_id <= ?", (int(batch_mark),)
        with self._reading() as raw:
            rows = self._fetch_binary(raw, sql + " ORDER BY batch_id", params)
        right = np.concatenate([np.frombuffer(row[0], "<i8") for row in rows] or [np.zeros(0, np.int64)])
        month = np.concatenate([np.frombuffer(row[1], "<i4") for row in rows] or [np.zeros(0, np.int32)])
        amount = np.concatenate([np.frombuffer(row[2], "<i8") for row in rows] or [np.zeros(0, np.int64)])
        keep = np.ones(len(right), bool)
        if first_month is not None:
            keep &= month >= first_month
        if last_month is not None:
            keep &= month <= last_month
        if right_ids is not None:
            keep &= np.isin(right, np.asarray(right_ids, np.int64))
        return net_per_right_month(right[keep], month[keep], amount[keep])

    # ---- codes -------------------------------------------------------------------------------------------

    def benefit_codes(self, names) -> dict[str, int]:
        """Integer codes for benefit names (the key of benefit_expense accounts); new names get the next code."""
        wanted = sorted(set(str(name) for name in names))
        with self._locked() as raw:
            known = dict(raw.execute(self._q("SELECT name, code FROM ledger_codes WHERE domain = ?"),
                                     ("benefit",)).fetchall())
            next_code = max(known.values(), default=0) + 1
            for name in wanted:
                if name not in known:
                    raw.execute(self._q("INSERT INTO ledger_codes (domain, code, name) VALUES (?, ?, ?)"),
                                ("benefit", next_code, name))
                    known[name] = next_code
                    next_code += 1
        return {name: known[name] for name in wanted}

    def code_names(self, domain: str) -> dict[int, str]:
        with self._reading() as raw:
            rows = raw.execute(self._q("SELECT code, name FROM ledger_codes WHERE domain = ?"), (domain,))
            return {int(code): name for code, name in rows.fetchall()}

    # ---- events ------------------------------------------------------------------------------------------

    def append_event(self, kind: str, subject: str, payload=None, conn: sa.Connection | None = None) -> int:
        """Append one status event (payroll or payment), chained to the previous event (append_event_row);
        payload is a JSON-able value or a JSON string. With `conn`, inside the caller's transaction (the event
        commits or rolls back with what it records); never commits the caller's transaction."""
        if conn is not None:
            return append_event_row(conn, kind, subject, payload)
        with self.writing() as own:
            return append_event_row(own, kind, subject, payload)

    writing = step  # a connection in a transaction holding the ledger's write lock (see step)

    def events_head(self) -> str:
        """Hash of the last event (GENESIS_HASH when none): with the digest, what an auditor keeps of the events."""
        with self._reading() as raw:
            return self._events_head(raw) or GENESIS_HASH

    def event_rows(self) -> list[dict]:
        """Every event as stored (payload as its JSON text), in chain order: what verification rehashes."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.events).order_by(schema.events.c.event_id)).mappings().all()
        return [dict(row) for row in rows]

    def events(self, subject: str | None = None, kind: str | None = None,
               conn: sa.Connection | None = None) -> list[dict]:
        """Events in the order they were appended, optionally of one subject and/or kind (with `conn`, as that
        transaction sees them)."""
        query = sa.select(schema.events).order_by(schema.events.c.event_id)
        if subject is not None:
            query = query.where(schema.events.c.subject == subject)
        if kind is not None:
            query = query.where(schema.events.c.kind == kind)
        if conn is not None:
            rows = conn.execute(query).mappings().all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).mappings().all()
        return [{**row, "payload": json.loads(row["payload"])} for row in rows]


@contextmanager
def write_locked(engine: sa.Engine):
    """A connection in a transaction that holds the ledger's write lock from its first statement to commit
    (SQLite BEGIN IMMEDIATE, PostgreSQL the advisory transaction lock): Ledger.step, and any writer of events
    that takes no other lock first (taken later, after a row lock, two writers could each wait for the other)."""
    with engine.connect() as conn:
        conn.execution_options(ledger_write_lock=True)  # SQLite: BEGIN IMMEDIATE (see _sqlite_on_begin)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(PG_LOCK_SQL, (PG_LOCK_CLASS,))
            else:
                conn.exec_driver_sql("SELECT 1")  # the first statement begins the IMMEDIATE transaction
            yield conn


def schema_lock(engine: sa.Engine):
    """A connection in a transaction holding the ledger's write lock, for DDL (init); commits on success."""
    return write_locked(engine)


DATABASE_PROBLEMS = (
    ("file is not a database", "it is not an isplata ledger (not a SQLite database); check --db / ISPLATA_DB"),
    ("readonly database", "the database is read-only; run with a user that may write it, or use a copy"),
    ("disk is full", "the disk is full; free space and run the step again"),
    ("no space left", "the disk is full; free space and run the step again"),
    ("unable to open database", "the database file cannot be opened; check --db / ISPLATA_DB and the folder"),
)


def database_problem(exc: BaseException, url: str | None = None) -> UserError | None:
    """A database failure the officer can act on (not a database, read-only, disk full, unreachable server) as
    a UserError with the fix; None for anything else, which is a programmer error and stays a traceback."""
    import sqlite3

    import psycopg

    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, (sqlite3.IntegrityError, sqlite3.ProgrammingError, psycopg.IntegrityError,
                          psycopg.ProgrammingError)):
        return None
    if not isinstance(cause, (sqlite3.OperationalError, sqlite3.DatabaseError, psycopg.OperationalError)):
        return None
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    fix = next((fix for needle, fix in DATABASE_PROBLEMS if needle in text.lower()),
               "check --db / ISPLATA_DB, that the database server runs and that the file or folder is writable")
    where = f" {url}" if url else ""
    return UserError(N_("cannot open the database{where} or write to it ({text}): {fix}; nothing of this step was "
                        "written", where=where, text=text, fix=fix))


@contextmanager
def database_errors(url: str):
    """Turns database_problem failures into UserError (exit 2) naming the database."""
    try:
        yield
    except Exception as exc:
        problem = database_problem(exc, url)
        if problem is None:
            raise
        raise problem from exc


def append_event_row(conn: sa.Connection, kind: str, subject: str, payload=None) -> int:
    """Append one event in the caller's transaction: its id follows the last event's and its hash chains the
    last event's hash to its content (canonical.event_hash). PostgreSQL serialises appenders with the ledger's
    advisory write lock (re-entrant: a step that holds it already appends at once), held to the caller's commit;
    SQLite writers are serialised by the database lock (a caller starts its transaction with BEGIN IMMEDIATE, see
    Ledger.writing). The unique prev_hash refuses a fork either way. Never commits."""
    text = payload if isinstance(payload, str) else json.dumps(payload or {}, sort_keys=True, default=str)
    json.loads(text)  # a programmer error to pass something that is not JSON
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_CLASS}, hashtext(current_schema()))")
    table = schema.events
    head = conn.execute(sa.select(table.c.event_id, table.c.hash).order_by(table.c.event_id.desc()).limit(1)).first()
    event_id = 1 if head is None else int(head.event_id) + 1
    prev = GENESIS_HASH if head is None else head.hash
    created = _now_us()
    conn.execute(table.insert().values(event_id=event_id, kind=kind, subject=subject, payload=text,
                                       created_us=created, prev_hash=prev,
                                       hash=event_hash(prev, event_id, kind, subject, text, created)))
    return event_id


def append_rows(conn: sa.Connection, table: str, rows: list[dict]) -> int | None:
    """Copy rows just inserted into a RECORD_TABLES table into the event chain (one "rows" event), in the
    caller's transaction: `ledger verify` compares the table with these copies and names any edit."""
    if not rows:
        return None
    return append_event_row(conn, schema.RECORD_EVENT, table, {"table": table, "rows": rows})


def sqlite_has_ledger(path: str) -> bool:
    """Whether the SQLite file holds a ledger, looked at read-only: an empty file, or another program's database,
    is left exactly as it was (the engine's connection would turn it into a database in WAL mode). True when the
    read-only look cannot tell (the engine's own connection then says what is wrong)."""
    import sqlite3
    from contextlib import closing
    from urllib.parse import quote

    if Path(path).stat().st_size == 0:
        return False
    try:
        with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)) as con:
            found = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_schema'")
            return found.fetchone() is not None
    except sqlite3.Error:
        return True


def chain_binding(conn: sa.Connection) -> None:
    """The row of `ledger_country` (payroll/store.py; none while no init or payroll bound the ledger, and no table
    in a ledger older than it) copied into the event chain, unless it is there already. Refused (UserError,
    nothing migrated) when it names another country or currency than the ledger's first payroll: every payroll
    is refused unless it is the binding's, so the row was changed behind the triggers, and chaining it would make
    the change unseen."""
    table = "ledger_country"
    if not sa.inspect(conn).has_table(table):
        return
    rows = [dict(row) for row in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings()]
    events = schema.events
    chained = conn.execute(sa.select(events.c.event_id).where(events.c.kind == schema.RECORD_EVENT,
                                                              events.c.subject == table).limit(1)).first()
    if not rows or chained is not None:
        return
    first = conn.execute(sa.text("SELECT payroll_id, country, currency FROM payrolls ORDER BY created_at, "
                                 "payroll_id LIMIT 1")).first() if sa.inspect(conn).has_table("payrolls") else None
    row = rows[0]
    if first is not None and (first.country.lower(), first.currency) != (row["country"], row["currency"]):
        raise UserError(f"the ledger's country row names {row['country'].upper()} ({row['currency']}) but its first "
                        f"payroll {first.payroll_id} is {first.country.upper()} ({first.currency}): the row was "
                        "changed behind the append-only triggers; nothing was brought up to date. Restore the "
                        "ledger from a backup taken before the change")
    append_rows(conn, table, rows)


def projection_of(account_kind, right_id, month, amount_minor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The benefit-expense postings of a batch as (right_id <i8, month <i4, amount_minor <i8) columns."""
    expense = np.asarray(account_kind) == schema.ACCOUNT["benefit_expense"]
    return (np.ascontiguousarray(right_id[expense], "<i8"), np.ascontiguousarray(month[expense], "<i4"),
            np.ascontiguousarray(amount_minor[expense], "<i8"))


def net_per_right_month(right: np.ndarray, month: np.ndarray, amount: np.ndarray):
    """Sum amounts per (right, month) pair; pairs sorted by right then month."""
    if len(right) == 0:
        return right.astype(np.int64), month.astype(np.int32), amount.astype(np.int64)
    key = right.astype(np.int64) * MONTHS_MAX + month  # right ids < 2^63 / MONTHS_MAX: checked on append
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    starts = np.flatnonzero(np.concatenate([[True], key_sorted[1:] != key_sorted[:-1]]))
    totals = np.add.reduceat(amount[order], starts)
    firsts = order[starts]
    return right[firsts].astype(np.int64), month[firsts].astype(np.int32), totals.astype(np.int64)


_BATCH_COLS = ", ".join(f.name for f in fields(BatchRecord) if f.name != "created")


def _summarize_brin(raw, statement: str = PG_SUMMARIZE) -> None:
    """PG_SUMMARIZE (or one index's statement) in a savepoint: a writer that does not own the indexes (summarising
    needs ownership) still appends; its batches are then summarised by autovacuum, and reads are only slower
    until then."""
    import psycopg

    try:
        with raw.transaction():
            raw.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        pass


def _place_of(head: BatchRecord | None) -> tuple[int, int]:
    """The next batch's id and first posting id after `head` (the last batch, None for none)."""
    return (1, 1) if head is None else (head.batch_id + 1, head.first_posting + head.n_postings)


def _record(row) -> BatchRecord:
    return BatchRecord(*row)


def _account_code(account) -> int | None:
    if account is None or isinstance(account, int):
        return account
    if account not in schema.ACCOUNT:
        raise UserError(N_("unknown account {account}; accounts: {value}",
                           account=repr(account), value=', '.join(schema.ACCOUNT)))
    return schema.ACCOUNT[account]


def _now_us() -> int:
    return time.time_ns() // 1000


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 120}}
    return {"pool_pre_ping": False}


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # the driver no longer begins transactions itself (see _sqlite_on_connect), so SQLAlchemy's begin does it:
    # every engine.begin()/connect() block stays one atomic transaction, as on PostgreSQL
    lock = conn.get_execution_options().get("ledger_write_lock")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if lock else "BEGIN")


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # autocommit at the driver so that BEGIN / BEGIN IMMEDIATE (the writer lock) are ours to issue
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    # a large batch keeps its pages in memory until commit instead of spilling them to the WAL as it goes
    # (about a tenth off appending 1M postings); memory is only taken as pages are used
    dbapi_connection.execute("PRAGMA cache_size=-262144")
