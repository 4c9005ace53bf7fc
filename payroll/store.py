"""Where payrolls live: one insert-only row per payroll in the database, its lines and payments as Parquet files.

A payroll row records who calculated it, the period, the SHA-256 of every register file and of the catalogue it
was computed from, its totals, and the folder holding `lines.parquet` (the DESIGN.md payroll lines, exactly) and
`payments.parquet` (one row per payment with the payee's details that export needs). The folder is
`<store>/<payroll id>/`, where `<store>` is `--store DIR`, else `ISPLATA_STORE`, else next to a SQLite database
(`<db file stem>-payrolls/`), else `./isplata-payrolls`. Rows are never updated: a payroll's status (approved,
exported, cancelled) is derived from the ledger's batches and event stream. Holds that reconciliation places on
a right (MD07, deceased) or on a payee's bank channel (closed or invalid account), holds an officer places on a
right or a payee, and their releases are insert-only rows too.

Both tables are append-only like the ledger (ledgers.schema.append_only: triggers, and on PostgreSQL the
application role's privileges), and every row is copied into the ledger's event chain in the transaction that
inserts it (ledgers.store.append_rows), so `ledger verify` and `audit recompute` name any edit. The functions
that write take the caller's connection and never commit on their own.
"""
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine.months import format_period, parse_period
from formats.bounds import ID_MAX
from formats.i18n import N_
from ledgers import schema as ledger_schema
from ledgers.canonical import record_sha256
from ledgers.store import append_rows, schema_lock
from payroll.errors import Refused, UserError

metadata = sa.MetaData()

payrolls = sa.Table(
    "payrolls", metadata,
    sa.Column("payroll_id", sa.String(35), primary_key=True),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("run_no", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("minor_exponent", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("data_folder", sa.Text, nullable=False),
    sa.Column("input_sha256", sa.Text, nullable=False),        # JSON {file name: sha256}
    sa.Column("catalogue_path", sa.Text, nullable=False),
    sa.Column("catalogue_sha256", sa.String(64), nullable=False),
    sa.Column("store_folder", sa.Text, nullable=False),
    sa.Column("lines_sha256", sa.String(64), nullable=False),
    sa.Column("payments_sha256", sa.String(64), nullable=False),
    sa.Column("rights", sa.BigInteger, nullable=False),
    sa.Column("payments", sa.BigInteger, nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("batch_mark", sa.BigInteger, nullable=False),   # last ledger batch the calculation read
    sa.Column("hold_mark", sa.BigInteger, nullable=False),    # last hold it applied
    sa.Column("totals_json", sa.Text, nullable=False),        # JSON {component: sum} and the breakdowns
    sa.UniqueConstraint("country", "period", "run_no", name="payrolls_run_unique"),
)

# The country and currency a ledger belongs to (payroll/country.py): one row, written once.
ledger_country = sa.Table(
    "ledger_country", metadata,
    sa.Column("binding_id", sa.Integer, primary_key=True, autoincrement=False),   # always 1: one row per ledger
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("bound_by", sa.Text, nullable=False),       # "db init" or the payroll that fixed it
    sa.Column("bound_at", sa.String(40), nullable=False),
    sa.Column("catalogue_name", sa.Text),                  # the catalogue named then (its rules may be indexed
    sa.Column("catalogue_sha256", sa.String(64)),          # later: recorded, never required to stay the same)
    sa.CheckConstraint("binding_id = 1", name="ledger_country_one_row"),
)
COUNTRY_REFUSAL = "the country and currency of a ledger are recorded once and never changed"   # no quote: SQL

holds = sa.Table(
    "payroll_holds", metadata,
    sa.Column("hold_id", sa.BigInteger, primary_key=True, autoincrement=False),  # 1, 2, ... in chain order
    sa.Column("kind", sa.String(20), nullable=False),          # HOLD_KINDS
    sa.Column("right_id", sa.BigInteger, nullable=False),      # -1 for a payee-level hold
    sa.Column("payee_id", sa.BigInteger, nullable=False),
    sa.Column("reason_code", sa.String(8), nullable=False),
    sa.Column("payment_ref", sa.String(35), nullable=False),   # the returned payment that caused it
    sa.Column("iban", sa.String(34)),                          # a bank hold lasts while the payee keeps it
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("placed_by", sa.String(200), nullable=False),     # RECONCILE for reconcile's, else the officer
    sa.Column("note", sa.Text, nullable=False, server_default=""),  # why (an officer's hold or release)
    sa.UniqueConstraint("kind", "right_id", "payee_id", "payment_ref", name="payroll_holds_unique"),
)
HOLD_KINDS = ("right", "bank_channel", "payee")  # payee: an officer's hold on every payment to the payee
RECONCILE = "reconcile"      # who placed reconciliation's automatic holds
MANUAL_REASON = "MANUAL"     # reason code of an officer's hold
RELEASE_KIND = "release"  # a row that lifts the hold with the same right, payee and payment (rows are never edited)
RELEASE_REASON = "RELEASED"

LINES_FILE = "lines.parquet"
PAYMENTS_FILE = "payments.parquet"
ORDERS_FILE = "orders.parquet"            # the deduction orders as calculated (SHA-256: totals["orders_sha256"])
VERSIONS_FILE = "versions.parquet"        # per right the versions read (SHA-256: totals["versions_sha256"])
ASSIGNMENTS_FILE = "assignments.parquet"  # where export put each payment (SHA-256: the `exported` event)


@dataclass(frozen=True)
class PayrollRecord:
    payroll_id: str
    country: str
    period: str
    run_no: int
    currency: str
    minor_exponent: int
    created_by: str
    created_at: str
    data_folder: str
    input_sha256: dict
    catalogue_path: str
    catalogue_sha256: str
    store_folder: str
    lines_sha256: str
    payments_sha256: str
    rights: int
    payments: int
    net_minor: int
    batch_mark: int
    hold_mark: int
    totals: dict

    @property
    def lines_path(self) -> Path:
        return Path(self.store_folder) / LINES_FILE

    @property
    def payments_path(self) -> Path:
        return Path(self.store_folder) / PAYMENTS_FILE

    def path(self, name: str) -> Path:
        """Where the payroll's file `name` (ORDERS_FILE, ASSIGNMENTS_FILE...) lives."""
        return Path(self.store_folder) / name


def init_schema(engine: sa.Engine) -> None:
    """Create the tables if missing, append-only like the ledger's (idempotent, under the ledger's init lock);
    bring the tables of a version 1 ledger up to date. Writes nothing when they are present and current."""
    inspector = sa.inspect(engine)
    if inspector.has_table(payrolls.name) and inspector.has_table(holds.name) and \
            "placed_by" in {column["name"] for column in inspector.get_columns(holds.name)}:
        return
    with schema_lock(engine) as conn:
        if ledger_schema.owned_elsewhere(conn, payrolls.name):
            return  # an officer's login (PostgreSQL APP_ROLE): the owner created the tables and their triggers
        metadata.create_all(conn, checkfirst=True)
        migrate_v1(conn)
        ledger_schema.append_only(conn, [table.name for table in metadata.sorted_tables])


def migrate_v1(conn: sa.Connection) -> None:
    """Tables of a version 1 ledger (no placed_by on holds): add the new hold columns (its holds were all placed
    by reconciliation) and copy every payroll and hold row written so far into the event chain."""
    if "placed_by" in {column["name"] for column in sa.inspect(conn).get_columns(holds.name)}:
        return
    conn.exec_driver_sql(f"ALTER TABLE payroll_holds ADD COLUMN placed_by VARCHAR(200) NOT NULL DEFAULT '{RECONCILE}'")
    conn.exec_driver_sql("ALTER TABLE payroll_holds ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    for table, key in ((payrolls, payrolls.c.payroll_id), (holds, holds.c.hold_id)):
        append_rows(conn, table.name, [dict(row) for row in conn.execute(sa.select(table).order_by(key)).mappings()])


def default_store(db_url: str) -> Path:
    """The payroll store when none is given: ISPLATA_STORE, else next to a SQLite file, else the working dir."""
    if os.environ.get("ISPLATA_STORE"):
        return Path(os.environ["ISPLATA_STORE"])
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.parent / f"{database.stem}-payrolls"
    return Path("isplata-payrolls")


def next_run_no(conn: sa.Connection, country: str, period: str) -> int:
    query = sa.select(sa.func.max(payrolls.c.run_no)).where(
        payrolls.c.country == country, payrolls.c.period == period)
    latest = conn.execute(query).scalar()
    return 1 if latest is None else int(latest) + 1


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class _HashingFile:
    """A write-only binary file that hashes what goes through it (Parquet is written front to back), so the
    SHA-256 of a stored table needs no second read of the file."""

    def __init__(self, path: Path):
        self._file = open(path, "wb", buffering=1 << 20)
        self._hash = hashlib.sha256()
        self._position = 0
        self.closed = False

    def write(self, data) -> int:
        self._hash.update(data)
        self._position += len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        self._file.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            self.closed = True

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def write_table(table: pa.Table, path: Path) -> str:
    """Writes Parquet deterministically (no timestamps inside) through a temporary name; returns its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two processes writing one file never share it
    sink = _HashingFile(temporary)
    try:
        pq.write_table(table, sink, compression="lz4", write_statistics=False)
    finally:
        sink.close()
    os.replace(temporary, path)
    return sink.hexdigest()


def payroll_row(record: PayrollRecord) -> dict:
    """The payroll's row exactly as stored (and as chained): column -> value."""
    row = {name: getattr(record, name) for name in PayrollRecord.__dataclass_fields__}
    row["input_sha256"] = json.dumps(row["input_sha256"], sort_keys=True)
    row["totals_json"] = json.dumps(row.pop("totals"), sort_keys=True)
    return row


def payroll_sha256(record: PayrollRecord) -> str:
    """What the approval batch commits to: the SHA-256 of the payroll's row (maker, inputs' SHA-256, lines and
    payments SHA-256, totals), as ledgers.verify recomputes it from the table."""
    return record_sha256(payroll_row(record))


def insert_payroll(conn: sa.Connection, record: PayrollRecord) -> None:
    """Insert the payroll's row and chain a copy of it, in the caller's transaction."""
    row = payroll_row(record)
    conn.execute(payrolls.insert().values(**row))
    append_rows(conn, payrolls.name, [row])


def _record(row) -> PayrollRecord:
    values = dict(row._mapping)
    values["input_sha256"] = json.loads(values["input_sha256"])
    values["totals"] = json.loads(values.pop("totals_json"))
    return PayrollRecord(**values)


def get_payroll(conn: sa.Connection, identifier: str) -> PayrollRecord:
    row = conn.execute(sa.select(payrolls).where(payrolls.c.payroll_id == identifier)).first()
    if row is None:
        raise Refused(N_("no payroll {identifier} in this database; `isplata payroll list` shows the payrolls",
                         identifier=repr(identifier)))
    return _record(row)


def newer_runs(conn: sa.Connection, identifier: str) -> list[str]:
    """Payrolls of the same country and period calculated after this one (run numbers above its own)."""
    mine = sa.select(payrolls.c.country, payrolls.c.period, payrolls.c.run_no).where(
        payrolls.c.payroll_id == identifier).subquery()
    query = sa.select(payrolls.c.payroll_id).join(mine, sa.and_(
        payrolls.c.country == mine.c.country, payrolls.c.period == mine.c.period,
        payrolls.c.run_no > mine.c.run_no)).order_by(payrolls.c.run_no)
    return [row[0] for row in conn.execute(query)]


def list_payrolls(conn: sa.Connection, period: str | None = None) -> list[PayrollRecord]:
    query = sa.select(payrolls).order_by(payrolls.c.period, payrolls.c.country, payrolls.c.run_no)
    if period is not None:
        query = query.where(payrolls.c.period == period)
    return [_record(row) for row in conn.execute(query)]


# columns of the lines with few distinct values: read as Arrow dictionaries when a step only computes on them
LINE_CODE_COLUMNS = ("payroll", "benefit", "channel", "component")


def read_lines(record: PayrollRecord, verify: bool = True, columns: list[str] | None = None,
               coded: bool = False) -> pa.Table:
    """The payroll's lines (checked against their SHA-256); `coded` reads LINE_CODE_COLUMNS as dictionaries."""
    return read_checked(record.lines_path, record.lines_sha256, verify, columns,
                         list(LINE_CODE_COLUMNS) if coded else None)


def read_payments(record: PayrollRecord, verify: bool = True, columns: list[str] | None = None) -> pa.Table:
    return read_checked(record.payments_path, record.payments_sha256, verify, columns)


def read_orders(record: PayrollRecord) -> pa.Table:
    """The deduction orders the payroll was calculated with (checked against the SHA-256 in its totals)."""
    return read_checked(record.path(ORDERS_FILE), record.totals["orders_sha256"], True)


def write_assignments(record: PayrollRecord, assignments: pa.Table) -> str:
    """Export's assignments (EndToEndId, MsgId, PmtInfId, channel, amount) in the payroll's folder; returns the
    SHA-256 that the `exported` event records."""
    return write_table(assignments, record.path(ASSIGNMENTS_FILE))


def assignments_sha256(conn: sa.Connection, payroll_id: str) -> str | None:
    """The SHA-256 of the assignments recorded by the payroll's first `exported` event; None when it was not
    exported, or exported by an isplata that did not record it yet."""
    events = ledger_schema.events
    payload = conn.execute(sa.select(events.c.payload).where(events.c.kind == "exported",
                                                           events.c.subject == payroll_id)
                           .order_by(events.c.event_id).limit(1)).scalar()
    return json.loads(payload).get("assignments_sha256") if payload else None


def read_assignments(record: PayrollRecord, sha256: str | None, columns: list[str] | None = None,
                     dictionaries: list[str] | None = None) -> pa.Table | None:
    """Export's assignments, checked against `sha256`, what its `exported` event recorded (assignments_sha256;
    None for a payroll exported by an isplata that did not record it: read as they are); None when the payroll
    was never exported with payments."""
    if not record.path(ASSIGNMENTS_FILE).exists():
        return None
    return read_checked(record.path(ASSIGNMENTS_FILE), sha256 or "", sha256 is not None, columns, dictionaries)


def require_file(path: Path) -> None:
    """Refused (exit 2, nothing recorded) when a file the payroll store should hold is missing."""
    if not path.exists():
        raise Refused(N_("{path} is missing: the payroll store was moved or deleted; restore it from backup",
                         path=path))


def read_checked(path: Path, sha256: str, verify: bool, columns: list[str] | None = None,
                  dictionaries: list[str] | None = None) -> pa.Table:
    require_file(path)
    if verify and sha256_file(path) != sha256:
        raise Refused(N_("{path} no longer has the SHA-256 recorded at calculation ({sha256}...): it was altered; "
                         "restore the original file or calculate a new payroll", path=path, sha256=sha256[:12]))
    return pq.read_table(path, columns=columns, read_dictionary=dictionaries)


def insert_holds(conn: sa.Connection, rows: list[dict]) -> int:
    """Inserts holds not yet present (same kind, right, payee and payment), numbered after the last hold and
    chained, in the caller's transaction; returns how many were new. placed_by defaults to RECONCILE."""
    if not rows:
        return 0
    existing = {(r.kind, r.right_id, r.payee_id, r.payment_ref) for r in conn.execute(
        sa.select(holds.c.kind, holds.c.right_id, holds.c.payee_id, holds.c.payment_ref))}
    fresh = [row for row in rows
             if (row["kind"], row["right_id"], row["payee_id"], row["payment_ref"]) not in existing]
    return len(_append_hold_rows(conn, fresh))


def _append_hold_rows(conn: sa.Connection, rows: list[dict]) -> list[dict]:
    """Insert hold (or release) rows with the next ids and every column set, and chain their copies."""
    first, stamp = hold_mark(conn) + 1, now_text()
    full = [{"hold_id": first + i, "kind": row["kind"], "right_id": int(row["right_id"]),
             "payee_id": int(row["payee_id"]), "reason_code": row["reason_code"], "payment_ref": row["payment_ref"],
             "iban": row.get("iban"), "created_at": stamp, "placed_by": row.get("placed_by", RECONCILE),
             "note": row.get("note", "")} for i, row in enumerate(rows)]
    if full:
        _insert_hold_rows(conn, full)
        append_rows(conn, holds.name, full)
    return full


def _insert_hold_rows(conn: sa.Connection, rows: list[dict]) -> None:
    """PostgreSQL takes the rows as one COPY stream (reconcile places tens of thousands at national scale, which an
    executemany sends as as many statements); SQLite an executemany. Same rows, same caller's transaction."""
    if conn.dialect.name != "postgresql":
        conn.execute(holds.insert(), rows)
        return
    names = [column.name for column in holds.columns]
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {holds.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name in names))


def hold_mark(conn: sa.Connection) -> int:
    latest = conn.execute(sa.select(sa.func.max(holds.c.hold_id))).scalar()
    return 0 if latest is None else int(latest)


def read_holds(conn: sa.Connection, mark: int | None = None, released: bool = False) -> pa.Table:
    """Holds in force (up to hold `mark` when given: what a calculation saw), in the order they were placed.

    A hold stays in force until a later release row names the same right, payee and payment; with
    `released=True` the lifted holds are listed too (column `released`). Every table has `hold_id`."""
    lifted = holds.alias("lifted")
    release = sa.select(sa.func.min(lifted.c.hold_id)).where(
        lifted.c.kind == RELEASE_KIND, lifted.c.right_id == holds.c.right_id,
        lifted.c.payee_id == holds.c.payee_id, lifted.c.payment_ref == holds.c.payment_ref,
        lifted.c.hold_id > holds.c.hold_id)
    if mark is not None:
        release = release.where(lifted.c.hold_id <= mark)
    query = sa.select(holds.c.hold_id, holds.c.kind, holds.c.right_id, holds.c.payee_id, holds.c.reason_code,
                      holds.c.payment_ref, holds.c.iban, holds.c.created_at, holds.c.placed_by, holds.c.note,
                      release.scalar_subquery().label("released_by")).where(holds.c.kind.in_(HOLD_KINDS))
    if mark is not None:
        query = query.where(holds.c.hold_id <= mark)
    result = [row for row in conn.execute(query.order_by(holds.c.hold_id)).fetchall()
              if released or row.released_by is None]
    columns = ("hold_id", "kind", "right_id", "payee_id", "reason_code", "payment_ref", "iban", "created_at",
               "placed_by", "note")
    types = (pa.int64(), pa.string(), pa.int64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string(),
             pa.string(), pa.string())
    table = {name: pa.array([row[i] for row in result], type=kind) for i, (name, kind) in enumerate(zip(columns, types))}
    if released:
        table["released"] = pa.array([row.released_by is not None for row in result], type=pa.bool_())
        table["released_by"] = pa.array([row.released_by for row in result], type=pa.int64())  # the release row
    return pa.table(table)


def held_from(conn: sa.Connection, lifted: pa.Table, period: int) -> pa.Table:
    """The lifted holds whose release no payroll of an earlier period has seen yet (the first calculation after a
    release pays what the hold left unpaid; later ones find nothing more) and that held a payroll of `period` or
    before (one applied the hold: its hold_mark reached it)."""
    rows = conn.execute(sa.select(payrolls.c.period, payrolls.c.hold_mark)).fetchall()
    periods = np.array([parse_period(row[0]) for row in rows], np.int64)
    marks = np.array([row[1] for row in rows], np.int64)
    held = np.asarray(lifted.column("hold_id").to_numpy(zero_copy_only=False), np.int64)
    release = np.asarray(pc.fill_null(lifted.column("released_by"), 0).to_numpy(zero_copy_only=False), np.int64)
    keep = np.zeros(held.shape[0], bool)
    if periods.size:
        applied = (marks[None, :] >= held[:, None]) & (periods[None, :] <= period)
        seen_before = (marks[None, :] >= release[:, None]) & (periods[None, :] < period)
        keep = applied.any(axis=1) & ~seen_before.any(axis=1)
    return lifted.filter(pa.array(keep))


def holds_since(conn: sa.Connection, mark: int) -> list[dict]:
    """Holds in force placed after hold `mark` (what a calculation saw): a draft computed before them pays them."""
    return [row for row in read_holds(conn).to_pylist() if row["hold_id"] > mark]


def release_hold(conn: sa.Connection, hold_id: int, by: str, note: str = "") -> dict:
    """Lift one hold by appending a chained release row (in the caller's transaction); returns the hold.

    Maker-checker: the officer who releases must not be the one who placed the hold (reconciliation's holds are
    placed by RECONCILE, so any officer may release those). UserError if unknown, already lifted, or same officer."""
    found = read_holds(conn, released=True).to_pylist()
    hold = next((row for row in found if row["hold_id"] == hold_id), None)
    if hold is None:
        known = ", ".join(str(row["hold_id"]) for row in found if not row["released"]) or "none"
        raise UserError(N_("no hold {hold_id}; holds in force: {known} (see `isplata hold list`)",
                           hold_id=hold_id, known=known))
    if hold["released"]:
        raise UserError(N_("hold {hold_id} was already released; nothing to do", hold_id=hold_id))
    if by.strip().casefold() == (hold["placed_by"] or "").strip().casefold():
        raise UserError(N_("{by} placed hold {hold_id} and cannot also release it (maker-checker): a second "
                           "officer must run `isplata hold release`", by=by, hold_id=hold_id))
    _append_hold_rows(conn, [{"kind": RELEASE_KIND, "right_id": hold["right_id"], "payee_id": hold["payee_id"],
                              "reason_code": RELEASE_REASON, "payment_ref": hold["payment_ref"],
                              "iban": hold["iban"], "placed_by": by, "note": note}])
    return hold


def place_hold(conn: sa.Connection, by: str, reason: str, right_id: int | None = None,
               payee_id: int | None = None) -> dict:
    """An officer's hold on one right (kind "right") or on every payment to one payee (kind "payee"), appended
    and chained in the caller's transaction; the next calculation leaves them unpaid and carried. Returns it."""
    if (right_id is None) == (payee_id is None):
        raise UserError(N_("name exactly one of --right ID or --payee ID"))
    kind, target = ("right", int(right_id)) if right_id is not None else ("payee", int(payee_id))
    if not 1 <= target <= ID_MAX:
        raise UserError(N_("{kind} id {target} is outside 1 .. {id_max} (the ledger's id bounds)",
                           kind=kind, target=target, id_max=format(ID_MAX, ",")))
    in_force = [row for row in read_holds(conn).to_pylist() if row["reason_code"] == MANUAL_REASON
                and row["kind"] == kind and (row["right_id"] if kind == "right" else row["payee_id"]) == target]
    if in_force:
        raise UserError(N_("{kind} {target} is already held by hold {hold_id} (placed by {placed_by}); nothing to "
                           "do", kind=kind, target=target, hold_id=in_force[0]["hold_id"],
                           placed_by=in_force[0]["placed_by"]))
    row = {"kind": kind, "right_id": target if kind == "right" else -1, "payee_id": target if kind == "payee" else -1,
           "reason_code": MANUAL_REASON, "payment_ref": f"manual-{hold_mark(conn) + 1}", "iban": None,
           "placed_by": by, "note": reason}
    return _append_hold_rows(conn, [row])[0]


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
