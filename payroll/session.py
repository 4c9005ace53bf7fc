"""What every step of a session shares, apart from the cycle's own steps: opening the ledger (with the payroll
tables), output folders and their write errors, names and periods given on the command line, a payroll's
record and its derived status (never stored), and the inputs a calculation (or its audit recompute) reads.
Reconcile, audit, reports and queries import this, not the cycle."""
import datetime as dt
import errno
import importlib.metadata
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from engine.months import parse_period
from formats import i18n
from formats.errors import InputError, Problem
from formats.i18n import N_
from ledgers.store import Ledger, database_errors
from payroll import ledger_state, store
from payroll.errors import UserError


def noop(_step: str, _completed: int | None = None, _total: int | None = None) -> None:
    """The progress callback when none is given: progress(description) or, where the work is countable,
    progress(description, completed, total)."""
    return None


def software_versions() -> dict:
    """What computed a payroll: isplata and the libraries whose arithmetic or file formats it relies on. Recorded
    with the calculation, so an audit recompute under other versions says so next to any difference."""
    found = {}
    for name in ("isplata", "numpy", "numba", "pyarrow"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def open_db(db_url: str, create: bool = False) -> Ledger:
    """The ledger at db_url with the payroll tables in place. Only `db init` and `demo` pass create=True (the
    schemas are created idempotently, a SQLite file's folder too); every other step refuses a database without
    a ledger (a mistyped --db), before anything is created: no folder, no file."""
    ledger = Ledger(db_url)
    try:
        with database_errors(db_url):
            if create:
                path = ledger.sqlite_file()
                if path:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)  # a new SQLite file in a new folder
                ledger.init()
            else:
                ledger.require_schema()
            store.init_schema(ledger.engine)  # tables only where missing: nothing is written when present
    except BaseException:
        ledger.close()
        raise
    return ledger


def check_out_file(path) -> Path:
    """An output file whose folder exists; UserError (exit 2, as check_out_dir) otherwise, before anything is
    written: a mistyped path must not become a new tree of folders."""
    target = Path(path).resolve()
    if not target.parent.is_dir():
        raise UserError(N_("cannot write to {folder}: its parent folder {parent} does not exist; create it "
                           "first or correct the path (nothing was written)", folder=target, parent=target.parent))
    return target


def check_out_dir(folder: Path) -> Path:
    """An output folder that exists, or can be made in a parent that exists, and can be written; UserError
    (exit 2) naming the fix otherwise, before anything is written. A missing parent is refused rather than
    created: a mistyped path must not become a new tree of folders."""
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(N_("{folder} is a file, not a folder: give --out a folder", folder=folder))
    if not folder.exists():
        check_out_file(folder)  # its parent must exist
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise output_error(folder, exc) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(N_("cannot write to {folder}: the folder is read-only for this user; choose another --out "
                           "or fix its permissions (nothing was written)", folder=folder))
    return folder


def output_error(path: Path, exc: OSError) -> UserError:
    """A failed write of an output file (disk full, permissions) as a message with the fix."""
    reason = {errno.ENOSPC: N_("the disk is full"), errno.EDQUOT: N_("the disk quota is exhausted"),
              errno.EACCES: N_("permission denied"), errno.EROFS: N_("the file system is read-only"),
              errno.ENOENT: N_("the folder disappeared")}.get(exc.errno, exc.strerror or str(exc))
    return UserError(N_("cannot write {path}: {reason}; free space or fix the folder and run the step again "
                        "(nothing was put in place)", path=path, reason=reason))


def payroll_record(db_url: str, identifier: str) -> store.PayrollRecord:
    """The stored record of one payroll (Refused if unknown), read in a connection of its own."""
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
    finally:
        ledger.close()
    i18n.note_country(record.country)
    return record


def summary_of(record: store.PayrollRecord) -> dict:
    totals = record.totals
    return {"payroll": record.payroll_id, "period": record.period, "currency": record.currency,
            "minor_exponent": record.minor_exponent, "rights": record.rights, "payments": record.payments,
            "net_minor": record.net_minor, "totals_minor": totals["totals_minor"],
            "by_benefit_minor": totals["by_benefit_minor"], "by_channel_minor": totals["by_channel_minor"],
            "payments_by_channel": totals.get("payments_by_channel", {}),
            "by_municipality_minor": totals.get("by_municipality_minor", {}),
            "rights_paid": totals.get("rights_paid"), "rights_held": totals.get("rights_held"),
            "lines": totals.get("lines"), "created_by": record.created_by, "created_at": record.created_at}


def read_assignments(db_url: str, record: store.PayrollRecord) -> pa.Table | None:
    """Export's assignments of a payroll, checked against the SHA-256 its `exported` event recorded."""
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            sha256 = store.assignments_sha256(conn, record.payroll_id)
    finally:
        ledger.close()
    return store.read_assignments(record, sha256)


def process_alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return True  # not ours: leave it
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_period_arg(text: str) -> int:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise InputError([Problem("--period", None, "period", text, str(exc), N_("write the month as YYYY-MM"))])


def require_name(by: str, option: str = "--by") -> str:
    name = (by or "").strip()
    if not name:
        raise InputError([Problem(option, None, None, by, N_("a person's name is required"),
                                  N_("give the officer's name, e.g. --by ana"))])
    return name


POSTED_STATUSES = ("approved", "exported", "reconciled")  # the ledger holds the payroll's approval batch


def status_of(ledger: Ledger, identifier: str, conn: sa.Connection | None = None) -> dict:
    """Derived status, never stored: draft -> approved -> exported -> reconciled from the ledger's batches and
    events, or cancelled (a `cancelled` event) or superseded (a draft with a newer run of its period). With
    `conn`, as that transaction sees them: inside a step's lock, the result of any step that committed before."""
    events = ledger.events(subject=identifier, conn=conn)
    kinds = {}
    for event in events:
        kinds.setdefault(event["kind"], event)  # the first of each kind
    approved = ledger.find_batch("approve", identifier, conn) is not None or "approved" in kinds
    exported = ledger.find_batch("export", identifier, conn) is not None or "exported" in kinds
    approved_by = kinds.get("approved", {}).get("payload", {}).get("by")
    if exported:
        status = "reconciled" if reconciled(ledger, identifier, conn) else "exported"
    elif approved:
        status = "approved"
    elif "cancelled" in kinds:
        status = "cancelled"
    elif conn is not None:
        status = "superseded" if store.newer_runs(conn, identifier) else "draft"
    else:
        with ledger.engine.connect() as own:
            status = "superseded" if store.newer_runs(own, identifier) else "draft"
    return {"status": status, "approved_by": approved_by, "approved_at": event_time(kinds.get("approved")),
            "exported_at": event_time(kinds.get("exported")), "events": events}


def reconciled(ledger: Ledger, identifier: str, conn: sa.Connection | None = None) -> bool:
    """A reconciled return file matched a payment of the payroll."""
    return any(identifier in event["payload"].get("payrolls", ()) or
               identifier in event["payload"].get("returns_by_reason_minor", {})
               for event in ledger.events(kind="reconciled", conn=conn))


def event_time(event: dict | None) -> str | None:
    if event is None:
        return None
    moment = dt.datetime.fromtimestamp(event["created_us"] // 1_000_000, dt.timezone.utc)
    return moment.replace(tzinfo=None).isoformat(sep=" ") + " UTC"


# Register columns that calculate, explain and audit recompute never read (formats.register.read_register's drop:
# checked like every other column, then left out), and those they read as dictionaries.
UNREAD = {"persons": ("family_name", "given_name", "patronymic", "tax_id")}
DICTIONARIES = {"persons": ("municipality",), "households": ("role",)}  # read as codes: never decoded
# The payee details, read only by the payments, at the very end (routing reads which postal addresses are complete,
# kept as the columns are validated, and an IBAN only for a bank-channel hold): held as the payees file's
# compressed bytes meanwhile (formats.register.Deferred; 10 M rights: about 1.2 GiB of text)
DEFERRED = {"payees": ("name", "iban", "bic", "street", "house_number", "postcode", "town", "district", "region",
                       "country", "tax_id", "phone")}


def load_inputs(ledger: Ledger, data, catalogue, period: int, mark: int | None = None,
                hold_mark: int | None = None):
    """payroll.compute.Inputs: the validated register and the ledger state as of the marks. Every column is
    checked; the persons' names and tax ids, which no step computing a payroll reads (the payment files take the
    payee's details, never the beneficiary's), are not kept (UNREAD), and the municipality, which only the
    summary reads, is kept as a dictionary: at 10 M rights the names alone are gigabytes."""
    from formats.register import read_register
    from payroll import compute as computing

    prompt_release()
    register = read_register(data, catalogue, drop=UNREAD, dictionaries=DICTIONARIES, defer=DEFERRED,
                             filled={"payees": computing.POSTAL_FIELDS})  # routing's postal test, not decoded again
    with ledger.engine.connect() as conn:
        state = ledger_state.read_state(conn, mark=mark, first_month=period - computing.LOOKBACK_MONTHS - 12)
        holds = store.read_holds(conn, hold_mark, released=True)
        lifted = store.held_from(conn, holds.filter(holds.column("released")).drop_columns(["released"]), period)
        approved = approved_payrolls(conn, ledger_state.batch_mark(conn) if mark is None else mark)
        seen, latest = approved_before(conn, approved)
        holds = holds.filter(pc.invert(holds.column("released"))).drop_columns(["released", "released_by"])
        holds = holds.append_column("applied_from", pa.array(applied_from(approved, holds), pa.int64()))
        taken = orders_taken(conn, approved, np.r_[period, fixed_order_months(register, state)])
    return computing.Inputs(register, catalogue, period, state, holds, lifted, seen, latest, taken)


def approved_payrolls(conn: sa.Connection, mark: int) -> list:
    """(payroll id, period, hold_mark) of the payrolls approved by batch `mark`, in the order of approval."""
    return conn.execute(sa.text("SELECT b.source_id, p.period, p.hold_mark FROM ledger_batches b JOIN payrolls p ON "
                                "p.payroll_id = b.source_id WHERE b.kind = 'approve' AND b.batch_id <= :mark "
                                "ORDER BY b.batch_id"), {"mark": int(mark)}).fetchall()


def applied_from(approved: list, holds: pa.Table) -> np.ndarray:
    """Per hold, the earliest period of an approved payroll (approved_payrolls) calculated with the hold in force
    (its hold_mark reached it), -1 where none was: the hold may have left its rights unpaid from then on."""
    ids = np.asarray(holds.column("hold_id").to_numpy(zero_copy_only=False), np.int64)
    if not approved or ids.size == 0:
        return np.full(ids.size, -1, np.int64)
    marks = np.array([row[2] for row in approved], np.int64)
    order = np.argsort(marks, kind="stable")
    marks = marks[order]
    periods = np.array([parse_period(row[1]) for row in approved], np.int64)[order]
    suffix_min = np.minimum.accumulate(periods[::-1])[::-1]  # the earliest period among marks from here on
    position = np.searchsorted(marks, ids, side="left")  # the first payroll whose hold_mark reaches the hold
    found = position < marks.shape[0]
    return np.where(found, suffix_min[np.minimum(position, marks.shape[0] - 1)], -1)


def fixed_order_months(register: dict, state) -> np.ndarray:
    """The months still carried (LedgerState.carried_months) of the rights with a fixed-amount order: the only
    months whose instalments a calculation asks about besides its period (payroll.compute.instalments)."""
    orders = register["deductions"]
    fixed = orders.filter(pc.is_valid(orders.column("fixed_minor"))).column("right_id")
    rights = np.asarray(fixed.to_numpy(zero_copy_only=False) if len(fixed) else [], np.int64)
    return state.carried_month[np.isin(state.carried_right, rights)]


def orders_taken(conn: sa.Connection, approved: list, months) -> tuple | None:
    """What each register order took for the given months in the approved payrolls (approved_payrolls), from
    their orders files (checked against the SHA-256 their rows record; a row's `for_month` is the month the take
    was for, as a payroll that paid a carried payment took earlier months' instalments, payroll.taken.by_month;
    files written before it have `month`): (order id, month, amount) sorted by order id and month; None when no
    payroll of those months or later was approved. A payroll books instalments for no month later than those of
    the payrolls approved before it, so the payrolls read are those from the first approved of a month wanted or
    later on, whatever their own period (a month reopened afterwards). A fixed order's monthly amount is owed
    once a month (payroll.compute.instalments)."""
    wanted = np.unique(np.asarray(months, np.int64))
    first = next((i for i, row in enumerate(approved) if parse_period(row[1]) >= wanted[0]), None)
    if first is None:
        return None
    parts = []
    for row in approved[first:]:  # each file cut to the rows wanted before the next is read
        orders = store.read_orders(store.get_payroll(conn, row[0]))
        month = "for_month" if "for_month" in orders.column_names else "month"
        orders = orders.select(["kind", "order_id", month, "amount_minor"]).rename_columns(
            ["kind", "order_id", "month", "amount_minor"])
        parts.append(orders.filter(pc.and_(pc.and_(
            pc.is_in(orders.column("kind"), pa.array(ledger_state.ORDER_COMPONENTS)),
            pc.greater_equal(orders.column("order_id"), 0)), pc.is_in(orders.column("month"), pa.array(wanted)))))
    orders = pa.concat_tables(parts)
    sums = orders.group_by(["order_id", "month"]).aggregate([("amount_minor", "sum")]) \
        .sort_by([("order_id", "ascending"), ("month", "ascending")])
    return tuple(np.asarray(sums.column(name).to_numpy(), np.int64) for name in ("order_id", "month",
                                                                                   "amount_minor_sum"))


def approved_before(conn: sa.Connection, approved: list) -> tuple[pa.Table | None, int | None]:
    """What the approved payrolls (approved_payrolls) tell a calculation: the versions (payroll.compute.
    versions_seen) that the last of them read, checked against the SHA-256 its row records (None when none was
    approved, or the last was calculated by an isplata that did not record them: its decisions are then
    recomputed by their decided_on alone), and the latest period approved (None when none was)."""
    if not approved:
        return None, None
    record = store.get_payroll(conn, approved[-1][0])
    sha256 = record.totals.get("versions_sha256")
    seen = None if sha256 is None else store.read_checked(record.path(store.VERSIONS_FILE), sha256, True)
    return seen, max(parse_period(row[1]) for row in approved)


def prompt_release() -> None:
    """Memory the register's tables give back (columns dropped once checked, tables once converted) goes back to
    the system at once rather than after jemalloc's decay time: a calculation frees gigabytes of tables and
    allocates the engine's arrays in the same seconds, and the peak held both (10 M rights: about 2 GiB). Takes
    effect for the pool's arenas made after it, so before the first table is read (a fresh process's step)."""
    try:
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without jemalloc: formats.register.table_pool uses another
        pass


def distinct_strings(column) -> list[str]:
    """Sorted distinct non-null values of a string or dictionary column (no Python object per row)."""
    values = set()
    for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        if pa.types.is_dictionary(chunk.type):
            used = pc.unique(chunk.indices.drop_null())
            values.update(chunk.dictionary.take(used).to_pylist())
        else:
            values.update(pc.unique(chunk.drop_null()).to_pylist())
    return sorted(values)


def postings_in(batch: dict | None) -> int:
    """How many postings a batch of columns holds (the count a progress bar shows)."""
    return 0 if batch is None else int(batch["amount_minor"].shape[0])
