"""The ledger's tables, its chart of accounts, code tables and the append-only triggers, for SQLite and PostgreSQL.

Postings are numbered by a global `posting_id`; a batch owns the contiguous range [first_posting,
first_posting + n_postings), which is how verification reads a batch without a second index. Amounts are signed
int64 minor units: a debit is positive, a credit negative, and every batch sums to zero. Strings that enter the
hash (components, account kinds) are integer codes whose meaning ledgers.codes fixes: they may only ever be
appended to, and `seed_tables` records appended ones in an existing ledger. `init_schema` is idempotent and records SCHEMA_VERSION.

Version 2 chains the event stream (each event carries the SHA-256 of its content chained to the previous event;
a batch records the event head it saw) and lets a batch commit to the record it posts (an approval to its
payroll's row). Tables kept beside the ledger whose rows decide money (RECORD_TABLES) are append-only too, and
each of their rows is copied into the event chain when inserted, so `ledger verify` names any edit of them.
On PostgreSQL the role APP_ROLE (created when the connecting user may) holds SELECT and INSERT only.

Version 3 adds the row that binds the ledger to its country and currency (`ledger_country`) to those tables:
`db init` copies a row that a version 2 ledger holds outside the chain into it.
"""
from contextlib import contextmanager

import sqlalchemy as sa

from formats.errors import UserError
# the vocabulary of codes lives in ledgers.codes; ACCOUNT, COMPONENT... stay importable from here
from ledgers.codes import (ACCOUNT, ACCOUNT_KINDS, BATCH_KINDS, COMPONENT, LEDGER_COMPONENTS,  # noqa: F401
                           code_conflicts, code_rows, missing_codes)

SCHEMA_VERSION = 3

metadata = sa.MetaData()

schema_table = sa.Table(
    "ledger_schema", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_us", sa.BigInteger, nullable=False),
)
accounts = sa.Table(
    "ledger_accounts", metadata,
    sa.Column("account_kind", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("key_meaning", sa.Text, nullable=False),
    sa.Column("normal_side", sa.Text, nullable=False),
)
codes = sa.Table(
    "ledger_codes", metadata,
    sa.Column("domain", sa.Text, primary_key=True),
    sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.UniqueConstraint("domain", "name", name="ledger_codes_name"),
)
batches = sa.Table(
    "ledger_batches", metadata,
    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("period", sa.Integer, nullable=False),       # month index of the payroll month
    sa.Column("booked_on", sa.Integer, nullable=False),    # accounting date, days since 1970-01-01
    sa.Column("created_us", sa.BigInteger, nullable=False),  # UTC microseconds since 1970
    sa.Column("first_posting", sa.BigInteger, nullable=False),
    sa.Column("n_postings", sa.BigInteger, nullable=False),
    sa.Column("n_payments", sa.BigInteger, nullable=False),
    sa.Column("debit_minor", sa.BigInteger, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("postings_sha256", sa.Text, nullable=False),
    sa.Column("merkle_root", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("record_sha256", sa.Text, nullable=False, server_default=""),  # canonical.OPTIONAL_HEADER_FIELDS
    sa.Column("events_head", sa.Text, nullable=False, server_default=""),
    # the natural idempotency key: one batch per (kind, source)
    sa.UniqueConstraint("kind", "source_id", name="ledger_batches_source"),
)
# No btree primary key on postings: inserts stay at COPY speed; PostgreSQL gets a BRIN index on the
# monotonic posting_id, SQLite makes posting_id the rowid. Verification checks ids are unique and contiguous.
# The stored column order is not the canonical one (canonical.POSTING_COLUMNS, which every query names): 8-byte
# columns first, then 4- and 2-byte ones, so a PostgreSQL row carries no alignment padding (106 bytes instead of
# 122 with a typical reference), which is less heap and WAL to write on every append.
postings = sa.Table(
    "ledger_postings", metadata,
    sa.Column("posting_id", sa.BigInteger, nullable=False),
    sa.Column("batch_id", sa.BigInteger, nullable=False),
    sa.Column("account_key", sa.BigInteger, nullable=False),
    sa.Column("right_id", sa.BigInteger, nullable=False),
    sa.Column("payee_id", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("period", sa.Integer, nullable=False),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("account_kind", sa.SmallInteger, nullable=False),
    sa.Column("component", sa.SmallInteger, nullable=False),
    sa.Column("payment_ref", sa.Text, nullable=False),
)
# A batch's payments are numbered by leaf 0..n-1. PostgreSQL: no btree key (maintaining one cost about as much
# as writing the rows) but a BRIN index on the monotonic batch_id, which is how payments are read; SQLite: the
# key (batch_id, leaf) is the table itself (WITHOUT ROWID), so there is no second b-tree to maintain. Verification
# checks each batch's leaves are exactly 0..n-1, so a duplicated or missing payment is found without the key.
payments = sa.Table(
    "ledger_payments", metadata,
    sa.Column("batch_id", sa.BigInteger, nullable=False),
    sa.Column("leaf", sa.BigInteger, nullable=False),
    sa.Column("payment_ref", sa.Text, nullable=False),  # no index: only `prove` looks payments up by reference
    sa.Column("payee_id", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
)
events = sa.Table(
    "ledger_events", metadata,
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.UniqueConstraint("prev_hash", name="ledger_events_chain"),  # two writers can never fork the chain
)
# Per batch, its benefit-expense postings as three little-endian column blobs (right_id int64, month int32,
# amount_minor int64): what `recognised` reads, a few rows instead of millions. Derived data, so verify checks
# every blob against the batch's postings.
expense_columns = sa.Table(
    "ledger_expense_columns", metadata,
    sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("n_postings", sa.BigInteger, nullable=False),
    sa.Column("right_id", sa.LargeBinary, nullable=False),
    sa.Column("month", sa.LargeBinary, nullable=False),
    sa.Column("amount_minor", sa.LargeBinary, nullable=False),
)
# tables beside the ledger (table, key column) whose every row is copied into the event chain ("rows" events):
# the payroll's records, its totals and input digests, the holds and their releases, and the country and
# currency the ledger's amounts are in
RECORD_TABLES = (("payrolls", "payroll_id"), ("payroll_holds", "hold_id"), ("ledger_country", "binding_id"))
RECORD_EVENT = "rows"
APP_ROLE = "isplata_app"
APPEND_ONLY_TABLES = ("ledger_schema", "ledger_accounts", "ledger_codes", "ledger_batches", "ledger_postings",
                      "ledger_payments", "ledger_events", "ledger_expense_columns")

SQLITE_POSTINGS = """
CREATE TABLE IF NOT EXISTS ledger_postings (
    posting_id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL, account_kind INTEGER NOT NULL,
    account_key INTEGER NOT NULL, right_id INTEGER NOT NULL, payee_id INTEGER NOT NULL, period INTEGER NOT NULL,
    month INTEGER NOT NULL, component INTEGER NOT NULL, amount_minor INTEGER NOT NULL, payment_ref TEXT NOT NULL)
"""
SQLITE_PAYMENTS = """
CREATE TABLE IF NOT EXISTS ledger_payments (
    batch_id INTEGER NOT NULL, leaf INTEGER NOT NULL, payment_ref TEXT NOT NULL, payee_id INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL, PRIMARY KEY (batch_id, leaf)) WITHOUT ROWID
"""
SQLITE_OWN_DDL = ("ledger_postings", "ledger_payments")

PG_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only: %% on %% refused (post a reversing batch instead)', TG_OP, TG_TABLE_NAME;
END $$
"""


def append_only(conn: sa.Connection, tables) -> None:
    """Triggers refusing UPDATE and DELETE (and TRUNCATE on PostgreSQL) on `tables`; on PostgreSQL also the
    application role's privileges (SELECT and INSERT only). Idempotent; the caller holds the init lock."""
    if conn.dialect.name == "sqlite":
        for table in tables:
            for ddl in _sqlite_trigger_ddl(table):
                conn.exec_driver_sql(ddl)
        return
    conn.exec_driver_sql(PG_REFUSE_FUNCTION)
    for table in tables:
        for ddl in _pg_trigger_ddl(table):
            conn.exec_driver_sql(ddl)
    grant_app_role(conn, tables)


PG_CREATE_ROLE = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- created by a concurrent init
END $$
"""


def grant_app_role(conn: sa.Connection, tables) -> None:
    """APP_ROLE may read and append, never UPDATE, DELETE or TRUNCATE: officers' logins are made members of it
    (`CREATE ROLE ana LOGIN IN ROLE isplata_app`), so even a dropped trigger leaves them unable to edit. Created
    only when the connecting user may create roles; otherwise the privileges are the administrator's to set."""
    may = conn.exec_driver_sql("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").scalar()
    exists = conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}'").scalar()
    if not may and not exists:
        return
    if not exists:
        conn.exec_driver_sql(PG_CREATE_ROLE)
    where = _current_schema(conn)
    for statement in (f"GRANT USAGE ON SCHEMA {where} TO {APP_ROLE}",
                      f"GRANT SELECT, INSERT ON {', '.join(tables)} TO {APP_ROLE}",
                      # every isplata table of the schema, and the ones its owner creates later (the country binding)
                      f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {where} TO {APP_ROLE}",
                      f"REVOKE UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {where} FROM {APP_ROLE}",
                      f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {APP_ROLE}",
                      f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT SELECT, INSERT ON TABLES TO {APP_ROLE}",
                      f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}"):
        conn.exec_driver_sql(statement)


def owned_elsewhere(conn: sa.Connection, table: str) -> bool:
    """PostgreSQL: `table` exists and the connecting role does not own it (an officer's login in APP_ROLE): its
    DDL is the owner's business, so init leaves it alone instead of failing on CREATE OR REPLACE TRIGGER."""
    if conn.dialect.name != "postgresql":
        return False
    owned = conn.exec_driver_sql(
        "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
        "WHERE schemaname = current_schema() AND tablename = %(table)s", {"table": table}).scalar()
    return owned is False


def _current_schema(conn: sa.Connection) -> str:
    return conn.exec_driver_sql("SELECT quote_ident(current_schema())").scalar()


def _sqlite_trigger_ddl(table: str) -> list[str]:
    message = f"ledger is append-only: {table} refuses %s (post a reversing batch instead)"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{message % op}'); END"
        for op in ("UPDATE", "DELETE")
    ]


def _pg_trigger_ddl(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    ]


def _account_rows(codes=None) -> list[dict]:
    return [dict(account_kind=code, name=name, key_meaning=key, normal_side=side)
            for code, name, key, side in ACCOUNT_KINDS if codes is None or code in codes]


def read_codes(conn: sa.Connection) -> list[dict]:
    """The ledger's code table (every domain) as rows of domain, code, name."""
    return [dict(row._mapping) for row in conn.execute(sa.select(codes.c.domain, codes.c.code, codes.c.name))]


def refuse_code_conflicts(conn: sa.Connection) -> None:
    """UserError when the ledger's code table gives a component or account code another meaning than
    ledgers.codes (its hashes would then say something else than its postings read here)."""
    conflicts = code_conflicts(read_codes(conn))
    if conflicts:
        raise UserError("the ledger's codes disagree with this isplata's (" + "; ".join(conflicts) + "): it was "
                        "written by another isplata; use that one, nothing was written")


def append_new_codes(conn: sa.Connection) -> None:
    """Codes appended to ledgers.codes since the ledger was created, recorded in its tables."""
    missing = missing_codes(read_codes(conn))
    if not missing:
        return
    conn.execute(codes.insert(), missing)
    accounts_missing = {row["code"] for row in missing if row["domain"] == "account"}
    if accounts_missing:
        conn.execute(accounts.insert(), _account_rows(accounts_missing))


def create_tables(conn: sa.Connection) -> None:
    """Create tables, indexes and triggers if missing (caller holds the init lock)."""
    dialect = conn.dialect.name
    tables = [t for t in metadata.sorted_tables if t.name not in SQLITE_OWN_DDL]
    metadata.create_all(conn, tables=tables, checkfirst=True)
    if dialect == "sqlite":
        conn.exec_driver_sql(SQLITE_POSTINGS)
        conn.exec_driver_sql(SQLITE_PAYMENTS)
        append_only(conn, APPEND_ONLY_TABLES)
        return
    metadata.create_all(conn, tables=[postings, payments], checkfirst=True)
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ledger_postings_id_brin ON ledger_postings "
                         "USING brin (posting_id)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ledger_payments_batch_brin ON ledger_payments "
                         "USING brin (batch_id)")
    # The expense blobs (235 MB a batch at 10 M rights) are compressed with lz4 where the server has it: a third of
    # the bytes to store and log, which costs the server less time than it saves (pglz compression of megabyte
    # blobs costs more than the disk it saves); without lz4 they are stored as they are. Reads are the same. On an
    # existing ledger (`db init` again) only later batches' blobs are compressed: stored ones stay as they were.
    lz4 = conn.exec_driver_sql("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                               "WHERE name = 'default_toast_compression'").scalar()
    for column in ("right_id", "month", "amount_minor"):
        alter = f"ALTER TABLE ledger_expense_columns ALTER COLUMN {column}"
        conn.exec_driver_sql(f"{alter} SET STORAGE EXTENDED, ALTER COLUMN {column} SET COMPRESSION lz4" if lz4
                             else f"{alter} SET STORAGE EXTERNAL")
    append_only(conn, APPEND_ONLY_TABLES)


def migrate(conn: sa.Connection, now_us: int) -> bool:
    """Bring a ledger of an older schema version up to SCHEMA_VERSION (`db init`, under the init lock, in its
    transaction); True if it did. From 1: batches gain the optional header columns (empty: their hashes, the
    digest and proofs are unchanged); the events written so far are numbered 1..n and chained in their order (the
    payroll tables are brought along by payroll.store.init_schema, which chains their rows). SCHEMA_VERSION is
    recorded; the caller then copies the ledger's country row, written outside the chain until version 3, into it
    in the same transaction (ledgers.store.chain_binding, which writes events)."""
    if not sa.inspect(conn).has_table(schema_table.name):
        return False
    versions = [row[0] for row in conn.execute(sa.select(schema_table.c.version))]
    if not versions or max(versions) >= SCHEMA_VERSION:
        return False
    if max(versions) == 1:
        for table, column in (("ledger_batches", "record_sha256"), ("ledger_batches", "events_head"),
                              ("ledger_events", "prev_hash"), ("ledger_events", "hash")):
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        with triggers_off(conn, events.name):
            _chain_existing_events(conn)
        conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS ledger_events_chain ON ledger_events (prev_hash)")
    conn.execute(schema_table.insert(), [dict(version=SCHEMA_VERSION, applied_us=now_us)])
    return True


def _chain_existing_events(conn: sa.Connection) -> None:
    from ledgers.canonical import GENESIS_HASH, event_hash

    rows = conn.execute(sa.select(events.c.event_id, events.c.kind, events.c.subject, events.c.payload,
                                  events.c.created_us).order_by(events.c.event_id)).fetchall()
    prev = GENESIS_HASH
    for number, row in enumerate(rows, start=1):  # ascending: a row's new id is never another row's current id
        digest = event_hash(prev, number, row.kind, row.subject, row.payload, row.created_us)
        conn.execute(events.update().where(events.c.event_id == row.event_id).values(
            event_id=number, prev_hash=prev, hash=digest))
        prev = digest


@contextmanager
def triggers_off(conn: sa.Connection, table: str):
    """The append-only triggers of `table` out of the way inside this transaction (a migration only): SQLite
    drops them (create_tables puts them back), PostgreSQL disables them until the block ends."""
    if conn.dialect.name == "sqlite":
        for op in ("update", "delete"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        yield
        return
    conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_change")
    yield
    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_change")


def seed_tables(conn: sa.Connection, now_us: int) -> None:
    """Insert the chart, the code tables and the schema version once; refuse a database of another version."""
    versions = [row[0] for row in conn.execute(sa.select(schema_table.c.version))]
    if versions and max(versions) != SCHEMA_VERSION:
        raise UserError(f"ledger schema version {max(versions)} found, this isplata needs {SCHEMA_VERSION} "
                        "(version 2 chains events, holds and payroll records, version 3 the ledger's country "
                        "too): run `isplata db init` to bring an older ledger up to date, or use the isplata that "
                        "wrote it")
    if versions:
        refuse_code_conflicts(conn)
        append_new_codes(conn)
        return
    conn.execute(accounts.insert(), _account_rows())
    conn.execute(codes.insert(), code_rows())
    conn.execute(schema_table.insert(), [dict(version=SCHEMA_VERSION, applied_us=now_us)])
