"""The monthly cycle's steps as plain functions: calculate, approve, export (reconcile lives in payroll.reconcile).

Each step opens the database (initialising the ledger and the payroll tables idempotently), does its work and
returns a JSON-ready dict; refusals are payroll.errors.Refused with a message that says what to do next.
Each command runs in a fresh process, so the heavy parts (the engine's kernels, the file writers) are imported by
the step that needs them, not by this module. Status is never stored on the payroll row: "approved" is the ledger's approve batch (or, for a payroll with
nothing to post, its approved event), "exported" the export batch or event.
"""
import datetime as dt
import errno
import importlib.metadata
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from engine.months import format_period, month_first_date, parse_period
from formats import i18n
from formats.catalogue import load_catalogue
from formats.errors import InputError, Problem
from formats.i18n import N_
from ledgers.store import Ledger, database_errors
from payroll import country as countries
from payroll import ledger_state, postings, store
from payroll.crash import crash_point
from payroll.errors import Refused, UserError
from payroll.ids import payroll_id

ORDERS_FILE = "orders.parquet"
ASSIGNMENTS_FILE = "assignments.parquet"
POSTAL_LIST_NAME = "{payroll}-postal.csv"


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


def check_out_dir(folder: Path) -> Path:
    """An output folder that exists, or can be made in a parent that exists, and can be written; UserError
    (exit 2) naming the fix otherwise, before anything is written. A missing parent is refused rather than
    created: a mistyped path must not become a new tree of folders."""
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(N_("{folder} is a file, not a folder: give --out a folder", folder=folder))
    if not folder.exists():
        if not folder.parent.is_dir():
            raise UserError(N_("cannot write to {folder}: its parent folder {parent} does not exist; create it "
                               "first or correct the path (nothing was written)",
                               folder=folder, parent=folder.parent))
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


# ---- status ----------------------------------------------------------------------------------------------

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


# ---- periods ---------------------------------------------------------------------------------------------

# A catalogue's amounts are indexed at least yearly: a month more than this far past its latest dated line would
# be paid at amounts years out of date, so it is outside what the catalogue covers (and far-future typos such as
# 2099-01 or 9999-12 are refused as bad input).
CATALOGUE_HORIZON_MONTHS = 36


def covered_months(catalogue) -> tuple[int, int]:
    """(first, last) month index the catalogue covers: from the first month some benefit has all its
    parameters in force to CATALOGUE_HORIZON_MONTHS after its latest dated line."""
    latest = max(day for benefit in catalogue.benefits for dated in benefit.parameters.values()
                 for day, _values in dated)
    return catalogue.first_month(), parse_period(f"{latest.year:04d}-{latest.month:02d}") + CATALOGUE_HORIZON_MONTHS


def check_period_covered(period: int, text: str, catalogue) -> None:
    first, last = covered_months(catalogue)
    if not first <= period <= last:
        raise InputError([Problem("--period", None, "period", text,
                                  N_("the catalogue {country} ({name}) covers {first} to {last}",
                                     country=catalogue.country.upper(), name=Path(catalogue.path).name,
                                     first=format_period(first), last=format_period(last)),
                                  N_("give a month in that range (a typo in the year?), or add that month's rules "
                                     "to the catalogue"))])


def latest_approved(ledger: Ledger, conn: sa.Connection) -> store.PayrollRecord | None:
    """The approved payroll of the latest month (the latest run of it), or None before the first approval."""
    approved = {event["subject"] for event in ledger.events(kind="approved", conn=conn)}
    approved |= {batch.source_id for batch in ledger.batches() if batch.kind == "approve"}
    records = [record for record in store.list_payrolls(conn) if record.payroll_id in approved]
    return max(records, key=lambda r: (r.period, r.run_no)) if records else None


def period_refusal(ledger: Ledger, conn: sa.Connection, period: int) -> str | None:
    """Why calculate may not run for `period` (DESIGN.md, Command line), or None when it may: any month for a
    ledger's first payroll; then the month after the latest approved one, or that month again (supplementary)."""
    latest = latest_approved(ledger, conn)
    if latest is None:
        return None
    approved = parse_period(latest.period)
    if period in (approved, approved + 1):
        return None
    status = status_of(ledger, latest.payroll_id, conn)
    done = (f"{latest.period} is the latest approved month ({latest.payroll_id}, approved by "
            f"{status['approved_by']} at {status['approved_at']})")
    why = ("would reopen a month already paid and pay or recover its differences again" if period < approved
           else f"would skip {format_period(approved + 1)}")
    return (f"{format_period(period)} {why}: {done}. Calculate {format_period(approved + 1)} (the next month) or "
            f"{latest.period} (a supplementary payroll); if the law requires this month, rerun with "
            f"--reopen {format_period(period)} --reason TEXT (recorded in the ledger's events)")


def check_reopen(period_text: str, reopen: str | None, reason: str | None) -> dict | None:
    """The override's record, or None when none was asked for; bad input when half given or for another month."""
    if reopen is None and reason is None:
        return None
    if reopen is None or not (reason or "").strip():
        raise InputError([Problem("--reopen", None, None, reopen, N_("--reopen PERIOD and --reason TEXT go "
                                                                     "together"),
                                  N_("give both: the month to reopen and why (recorded)"))])
    if reopen.strip() != period_text.strip():
        raise InputError([Problem("--reopen", None, None, reopen, N_("reopens another month than --period "
                                                                     "{period_text}", period_text=period_text),
                                  N_("write --reopen {period_text}", period_text=period_text))])
    return {"period": period_text.strip(), "reason": reason.strip()}


# ---- calculate -------------------------------------------------------------------------------------------

def load_inputs(ledger: Ledger, data, catalogue, period: int, mark: int | None = None,
                hold_mark: int | None = None):
    """payroll.compute.Inputs: the validated register and the ledger state as of the marks."""
    from formats.register import read_register
    from payroll import compute as computing

    register = read_register(data, catalogue)
    with ledger.engine.connect() as conn:
        state = ledger_state.read_state(conn, mark=mark, first_month=period - computing.LOOKBACK_MONTHS - 12)
        holds = store.read_holds(conn, hold_mark)
    return computing.Inputs(register, catalogue, period, state, holds)


def calculate(db_url: str, data, period_text: str, by: str, rules=None, store_dir=None, progress=noop,
              country: str | None = None, reopen: str | None = None, reason: str | None = None) -> dict:
    """Validate, compute and store a draft payroll; returns its summary (see queries.calculate_contract).
    The catalogue: `rules`, else `country`'s, else that of the country the register records (payroll.country).

    The period is checked before the work and again under the ledger's lock when the draft is stored: two
    calculations of one period at once store one payroll, and the other is refused."""
    from formats.register import register_file_digests
    from payroll import compute as computing

    period = parse_period_arg(period_text)
    maker = require_name(by)
    override = check_reopen(period_text, reopen, reason)
    catalogue = countries.catalogue_for(data, rules, country)
    check_period_covered(period, period_text, catalogue)
    data_path = Path(data).resolve()
    ledger = open_db(db_url)
    try:
        countries.check_ledger(ledger.engine, catalogue, data_path)
        with ledger.engine.connect() as conn:
            refusal = period_refusal(ledger, conn, period)
            if refusal is not None and override is None:
                raise Refused(refusal)
            mark = ledger_state.batch_mark(conn)
            hold_mark = store.hold_mark(conn)
            run_no = store.next_run_no(conn, catalogue.country.upper(), format_period(period))
        progress(N_("validating the register"))
        inputs = load_inputs(ledger, data_path, catalogue, period, mark, hold_mark)
        digests = register_file_digests(data_path)
        identifier = payroll_id(catalogue.country, period, run_no)
        result = computing.compute(identifier, inputs, progress, release=True)
        del inputs  # the register: not needed to store the draft
        progress(N_("storing the draft payroll"))
        folder = Path(store_dir or store.default_store(ledger.url)).resolve() / identifier
        record = draft_record(folder, identifier, result, catalogue, period, run_no, maker, data_path, digests,
                              mark, hold_mark)
        staged = stage_draft(folder, result, record)
        record = staged[1]
        crash_point("calculate.after_files")
        store_draft(ledger, staged, result.summary["net_minor"], override)
    finally:
        ledger.close()
    return summary_of(record)


def draft_record(folder: Path, identifier: str, result, catalogue, period: int, run_no: int, maker: str,
                 data_path: Path, digests: dict, mark: int, hold_mark: int) -> store.PayrollRecord:
    """The payroll's row (its files' SHA-256 are filled in by stage_draft)."""
    totals = dict(result.summary)
    return store.PayrollRecord(
        payroll_id=identifier, country=catalogue.country.upper(), period=format_period(period), run_no=run_no,
        currency=catalogue.currency, minor_exponent=catalogue.minor_exponent, created_by=maker,
        created_at=store.now_text(), data_folder=str(data_path), input_sha256=digests,
        catalogue_path=str(Path(catalogue.path).resolve()), catalogue_sha256=catalogue.sha256,
        store_folder=str(folder), lines_sha256="", payments_sha256="",
        rights=result.summary["rights"], payments=result.summary["payments"],
        net_minor=result.summary["net_minor"], batch_mark=mark, hold_mark=hold_mark, totals=totals)


def stage_draft(folder: Path, result, record: store.PayrollRecord) -> tuple[Path, store.PayrollRecord]:
    """The draft's three Parquet files in a folder of this process (`<id>.writing-<pid>`), written at once (the
    writer runs without the GIL); returns the folder and the record with the files' SHA-256."""
    for stale in folder.parent.glob(f"{folder.name}.writing-*"):
        if not process_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)  # left by a calculation that was killed
    temporary = folder.with_name(f"{folder.name}.writing-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="store") as pool:
        written = [pool.submit(store.write_table, table, temporary / name) for table, name in
                   ((result.lines, store.LINES_FILE), (result.payments, store.PAYMENTS_FILE),
                    (result.orders, ORDERS_FILE))]
        lines_sha, payments_sha, orders_sha = (future.result() for future in written)
    totals = dict(record.totals, orders_sha256=orders_sha)
    fields = {name: getattr(record, name) for name in store.PayrollRecord.__dataclass_fields__}
    fields.update(lines_sha256=lines_sha, payments_sha256=payments_sha, totals=totals)
    return temporary, store.PayrollRecord(**fields)


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


def store_draft(ledger: Ledger, staged: tuple, net_minor: int, override: dict | None) -> None:
    """Under the ledger's lock: the period rule and the run number checked again, then the payroll row, its
    `calculated` event (and a `reopened` one for an override) and the folder renamed into place, committed
    together. A folder already there without its row is a draft a killed calculation left: taken over when it
    holds exactly these files, refused otherwise."""
    temporary, record = staged
    folder = Path(record.store_folder)
    placed = False
    try:
        with ledger.step() as conn:
            check_still_next(ledger, conn, record, override)
            countries.bind_payroll(conn, record)  # an unbound ledger is fixed by its first payroll, with it
            store.insert_payroll(conn, record)
            ledger.append_event("calculated", record.payroll_id,
                                {"by": record.created_by, "net_minor": net_minor, "software": software_versions()},
                                conn)
            if override is not None:
                ledger.append_event("reopened", record.payroll_id, {**override, "by": record.created_by}, conn)
            take_over_leftover(folder, record)
            temporary.rename(folder)
            placed = True
            crash_point("calculate.before_commit")
    except BaseException:
        if placed:
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def check_still_next(ledger: Ledger, conn: sa.Connection, record: store.PayrollRecord, override) -> None:
    latest_run = store.next_run_no(conn, record.country, record.period) - 1
    if latest_run >= record.run_no:
        other = payroll_id(record.country, parse_period(record.period), latest_run)
        made = store.get_payroll(conn, other)
        raise Refused(N_("{other} was calculated by {created_by} at {created_at} while this calculation of "
                         "{period} ran: nothing was stored; review {other}, or calculate again for a "
                         "supplementary payroll",
                         other=other, created_by=made.created_by, created_at=made.created_at, period=record.period))
    refusal = period_refusal(ledger, conn, parse_period(record.period))
    if refusal is not None and override is None:
        raise Refused(refusal + " (a payroll was approved while this calculation ran; nothing was stored)")


def take_over_leftover(folder: Path, record: store.PayrollRecord) -> None:
    if not folder.exists():
        return
    found = {name: store.sha256_file(folder / name) if (folder / name).is_file() else None
             for name in (store.LINES_FILE, store.PAYMENTS_FILE, ORDERS_FILE)}
    if found != {store.LINES_FILE: record.lines_sha256, store.PAYMENTS_FILE: record.payments_sha256,
                 ORDERS_FILE: record.totals["orders_sha256"]}:
        raise Refused(N_("{folder} already exists but this database has no payroll {payroll_id}: it belongs to "
                         "another database (or to an interrupted calculation of other inputs); pass --store DIR "
                         "(or ISPLATA_STORE) for this database, or remove that folder",
                         folder=folder, payroll_id=record.payroll_id))
    shutil.rmtree(folder)


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


# ---- approve ---------------------------------------------------------------------------------------------

def approve(db_url: str, identifier: str, by: str, progress=noop) -> dict:
    """Maker-checker approval posting the payroll's one balanced batch. The batch is built first; then, under the
    ledger's lock, the draft is checked again and its batch and `approved` event commit together: of two
    officers approving at once, one approves and the other is told by whom and when (Refused, exit 2)."""
    checker = require_name(by)
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        check_approvable(ledger, record, checker)  # refuse early, before building the batch
        progress(N_("building the approval batch"))
        batch = approval_batch(ledger, record)
        count = postings_in(batch)
        progress(N_("posting to the ledger"), 0, count)
        with ledger.step() as conn:
            check_approvable(ledger, record, checker, conn)
            result = post_approval(ledger, record, batch, checker, conn)
            crash_point("approve.before_commit")
        progress(N_("posting to the ledger"), count, count)
    finally:
        ledger.close()
    return result


def check_approvable(ledger: Ledger, record: store.PayrollRecord, checker: str,
                     conn: sa.Connection | None = None) -> None:
    identifier = record.payroll_id
    status = status_of(ledger, identifier, conn)
    if status["status"] == "cancelled":
        raise Refused(N_("{identifier} was cancelled and cannot be approved; calculate {period} again",
                         identifier=identifier, period=record.period))
    if status["status"] in POSTED_STATUSES:
        raise Refused(N_("{identifier} is already approved by {approved_by} at {approved_at}: nothing to do; "
                         "next: `isplata export {identifier} --out DIR`",
                         identifier=identifier, approved_by=status['approved_by'], approved_at=status['approved_at']))
    if checker.casefold() == record.created_by.strip().casefold():
        raise Refused(N_("{checker} calculated {identifier} and cannot also approve it (maker-checker): a second "
                         "officer must run approve", checker=checker, identifier=identifier))
    if conn is None:
        with ledger.engine.connect() as own:
            drafts = store.list_payrolls(own, record.period)
    else:
        drafts = store.list_payrolls(conn, record.period)
    newer = [p.payroll_id for p in drafts if p.country == record.country and p.run_no > record.run_no]
    if newer:
        raise Refused(N_("a newer draft {newer} exists for {period}: approve that one instead, or calculate again",
                         newer=newer[-1], period=record.period))
    check_not_stale(ledger, record, conn)


def check_not_stale(ledger: Ledger, record: store.PayrollRecord, conn: sa.Connection | None = None) -> None:
    """A draft computed before another payroll was approved would pay from an outdated ledger: refuse it."""
    later = [b for b in ledger.batches() if b.kind == "approve" and b.batch_id > record.batch_mark]
    if later:
        raise Refused(N_("payroll {source_id} was approved after {payroll_id} was calculated; calculate {period} "
                         "again and approve the new draft",
                         source_id=later[-1].source_id, payroll_id=record.payroll_id, period=record.period))
    if conn is None:
        with ledger.engine.connect() as own:
            placed = store.holds_since(own, record.hold_mark)
    else:  # inside approve's step: as its transaction sees the holds
        placed = store.holds_since(conn, record.hold_mark)
    if placed:
        hold = placed[0]
        target = (N_("right {id}", id=hold["right_id"]) if hold["right_id"] >= 0
                  else N_("payee {id}", id=hold["payee_id"]))
        raise Refused(N_("hold {hold_id} on {target} ({reason_code}, by {placed_by}) was placed after "
                         "{payroll_id} was calculated, which would still pay it: calculate {period} again and "
                         "approve the new draft", hold_id=hold["hold_id"], target=target,
                         reason_code=hold["reason_code"], placed_by=hold["placed_by"], payroll_id=record.payroll_id,
                         period=record.period))


def postings_in(batch: dict | None) -> int:
    """How many postings a batch of columns holds (the count a progress bar shows)."""
    return 0 if batch is None else int(batch["amount_minor"].shape[0])


def approval_batch(ledger: Ledger, record: store.PayrollRecord) -> dict:
    lines = store.read_lines(record, coded=True, columns=APPROVE_LINE_COLUMNS)
    orders = store._read_checked(Path(record.store_folder) / ORDERS_FILE, record.totals["orders_sha256"], True)
    benefits = distinct_strings(lines.column("benefit"))
    codes = ledger.benefit_codes(benefits) if benefits else {}
    return postings.approve_postings(lines, orders, codes)


APPROVE_LINE_COLUMNS = ["right_id", "benefit", "payee_id", "month", "component", "amount_minor", "payment_ref"]
SENT_LINE_COLUMNS = ["right_id", "payee_id", "channel", "month", "component", "amount_minor", "payment_ref"]


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


def post_approval(ledger: Ledger, record: store.PayrollRecord, batch: dict, checker: str,
                  conn: sa.Connection) -> dict:
    """The approval batch and the `approved` event, in the step's transaction `conn`."""
    period = parse_period(record.period)
    if batch["amount_minor"].shape[0] == 0:
        ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": None,
                                                            "record_sha256": store.payroll_sha256(record)}, conn)
        return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker, "batch_id": None,
                "postings": 0, "batch_hash": "(nothing to post)"}
    payments = store.read_payments(record, columns=["end_to_end_id", "payee_id", "amount_minor"])
    paid = {"payment_ref": postings.refs_of(payments.column("end_to_end_id")),
            "payee_id": payments.column("payee_id").to_numpy(), "amount_minor": payments.column("amount_minor").to_numpy()}
    batch_record = ledger.append_batch("approve", record.payroll_id, batch,
                                       payments=paid if payments.num_rows else None, period=period, conn=conn,
                                       record_sha256=store.payroll_sha256(record))
    crash_point("approve.after_batch")
    ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": batch_record.batch_id}, conn)
    return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker,
            "batch_id": batch_record.batch_id, "postings": batch_record.n_postings, "batch_hash": batch_record.hash}


# ---- export ----------------------------------------------------------------------------------------------

def export(db_url: str, identifier: str, out_dir, progress=noop, execution_date: dt.date | None = None) -> dict:
    """Write the payment files, postal list and manifest; post the payments as sent (both idempotent).

    The files are written and validated in a staging folder of this process inside `out_dir`; the 'sent' batch
    and the `exported` event commit in one transaction under the ledger's lock; only then are the files renamed
    into place, the manifest last. Exporting again (after a crash, or by a second officer at the same time)
    writes the same bytes and posts nothing twice. The requested execution date is the catalogue's payment day
    moved to the previous business day of the country, or `execution_date`; the `exported` event records it,
    and exporting again uses the recorded one (another date is refused: the bank has the first files)."""
    ledger = open_db(db_url)
    staging = None
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = check_exportable(ledger, identifier)  # refused before anything is created in out_dir
        target = check_out_dir(Path(out_dir))
        approved_at = approval_time(status["events"])
        execution = execution_date_of(record, status["events"], execution_date)
        staging = staging_folder(target, identifier)
        progress(N_("writing payment files"))
        manifest, batch = write_outputs(lambda: write_files(record, staging, approved_at,
                                                            also=lambda: sent_batch(record),
                                                            execution_date=execution), staging)
        crash_point("export.after_files")
        pa.default_memory_pool().release_unused()  # the payments' columns: give the memory back before posting
        count = postings_in(batch)
        progress(N_("posting payments as sent"), 0, count)
        with ledger.step() as conn:
            locked = check_exportable(ledger, identifier, conn)
            # an export that committed meanwhile fixed the date: files with another one are never published
            execution_date_of(record, locked["events"], execution)
            created = post_export(ledger, record, batch, conn, {"execution_date": execution.isoformat()})
        progress(N_("posting payments as sent"), count, count)
        crash_point("export.after_commit")
        write_outputs(lambda: publish(staging, target), target)
    finally:
        ledger.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    manifest.update(minor_exponent=record.minor_exponent, currency=record.currency, new_postings=created,
                    out=str(target))
    return manifest


def check_exportable(ledger: Ledger, identifier: str, conn: sa.Connection | None = None) -> dict:
    status = status_of(ledger, identifier, conn)
    if status["status"] in ("cancelled", "superseded"):
        raise Refused(N_("{identifier} is {status}: it is never exported",
                         identifier=identifier, status=status['status']))
    if status["status"] == "draft":
        raise Refused(N_("{identifier} is not approved yet: a second officer runs `isplata approve {identifier} "
                         "--by NAME` first", identifier=identifier))
    return status


def write_outputs(work, folder: Path):
    """work() with a failed write (disk full, permissions) turned into a message with the fix (exit 2)."""
    try:
        return work()
    except OSError as exc:
        raise output_error(Path(exc.filename) if exc.filename else folder, exc) from exc


STAGING_NAME = ".{payroll}.export-{pid}"


def staging_folder(target: Path, identifier: str) -> Path:
    """A folder of this process inside the target (same file system, so renames are atomic); those left by
    killed exports are removed."""
    for stale in target.glob(STAGING_NAME.format(payroll=identifier, pid="*")):
        if not process_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    folder = target / STAGING_NAME.format(payroll=identifier, pid=os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def publish(staging: Path, target: Path) -> None:
    """Every staged file renamed into the target (each rename atomic), the manifest last: a manifest in the
    folder means every file it lists is there, complete."""
    from bank_exports.manifest import MANIFEST_NAME

    names = sorted(path.name for path in staging.iterdir() if path.name != MANIFEST_NAME)
    for number, name in enumerate(names):
        os.replace(staging / name, target / name)
        if number == 0:
            crash_point("export.after_first_rename")
    os.replace(staging / MANIFEST_NAME, target / MANIFEST_NAME)


def export_json(result: dict) -> dict:
    """What `export --json` prints: manifest.json exactly as written (the same keys, each file with its `kind`).
    The top-level `payments` and `ctrl_sum_minor` sum the pain.001 files only: the postal list
    (kind postal-list) repeats the payments of the CHK file, so a script summing files must skip it."""
    from bank_exports.pain001 import MESSAGE

    document = dict(result["manifest"])
    payment_files = [f for f in document["files"] if f["kind"] == MESSAGE]
    assert document["payments"] == sum(f["nb_of_txs"] for f in payment_files)
    assert document["ctrl_sum_minor"] == sum(f["ctrl_sum_minor"] for f in payment_files)
    return document


def approval_time(events: list[dict]) -> dt.datetime:
    """The approval moment fixes the files' CreDtTm, so exporting again writes the same bytes."""
    approved = [e for e in events if e["kind"] == "approved"]
    micros = approved[0]["created_us"] if approved else 0
    return dt.datetime.fromtimestamp(micros // 1_000_000, dt.timezone.utc).replace(tzinfo=None)


EXPORT_PAYMENT_COLUMNS = ["end_to_end_id", "channel", "amount_minor", "remittance", "name", "iban", "bic", "street",
                          "house_number", "postcode", "town", "district", "region", "country", "tax_id", "phone"]


def execution_date_of(record: store.PayrollRecord, events: list[dict], wanted: dt.date | None) -> dt.date:
    """The ReqdExctnDt of the export: the one an earlier export recorded (another is refused), else `wanted`,
    else the catalogue's payment day of the month after the period moved to the previous business day."""
    from bank_exports.calendar import business_day

    recorded = [e["payload"].get("execution_date") for e in events if e["kind"] == "exported"]
    recorded = [dt.date.fromisoformat(day) for day in recorded if day]
    if recorded:
        if wanted is not None and wanted != recorded[0]:
            raise Refused(N_("{payroll_id} was exported with execution date {recorded}: its files are with the "
                             "bank; export again without --execution-date (or with that date)",
                             payroll_id=record.payroll_id, recorded=recorded[0]))
        return recorded[0]
    if wanted is not None:
        return wanted
    day = load_catalogue(record.catalogue_path).payment.execution_day
    return business_day(month_first_date(parse_period(record.period) + 1).replace(day=day), record.country)


def write_files(record: store.PayrollRecord, out_dir: Path, approved_at: dt.datetime, also=None,
                execution_date: dt.date | None = None):
    """pain.001 files, postal list and manifest. The pain.001 files are validated against the XSD on other
    threads while `also()` runs (export builds its ledger batch meanwhile); nothing is renamed into place
    before every file passed. Returns the manifest (and also()'s result when given)."""
    from bank_exports.manifest import write_manifest
    from bank_exports.pain001 import Pain001Options, start_pain001
    from bank_exports.payments import Debtor, as_table
    from bank_exports.postal import write_postal_list
    from bank_exports.text import transliteration_of

    catalogue = load_catalogue(record.catalogue_path)
    from payroll.remittance import remittance_column

    payments = as_table(store.read_payments(record, columns=EXPORT_PAYMENT_COLUMNS))  # cast once, for both writers
    if payments.num_rows:  # what the money is, in the country's language (benefit names and month)
        payments = payments.set_column(payments.column_names.index("remittance"), "remittance",
                                       remittance_column(record, catalogue, payments["end_to_end_id"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = catalogue.payment
    period = parse_period(record.period)
    execution = execution_date or month_first_date(period + 1).replace(day=settings.execution_day)
    options = Pain001Options(msg_id_prefix=record.payroll_id, currency=record.currency, created_at=approved_at,
                             execution_date=execution, minor_exponent=record.minor_exponent,
                             cheque_delivery=settings.postal_delivery_method,
                             transliteration=transliteration_of(catalogue.country),
                             service_level=settings.service_level, charge_bearer=settings.charge_bearer,
                             category_purpose=settings.category_purpose, purpose=settings.purpose,
                             scheme=settings.scheme)
    debtor = Debtor(settings.agency_name, settings.debtor_iban, settings.debtor_bic)
    files, extra = [], None
    if payments.num_rows:
        pending = start_pain001(payments, out_dir, debtor, options)
        try:
            extra = also() if also is not None else None
        except BaseException:
            pending.discard()
            raise
        written = pending.finish()
        files += written.files
        store.write_table(written.assignments, Path(record.store_folder) / ASSIGNMENTS_FILE)
        postal = write_postal_list(payments, out_dir / POSTAL_LIST_NAME.format(payroll=record.payroll_id),
                                   record.currency, record.minor_exponent,
                                   i18n.COUNTRY_LANGUAGES.get((record.country or "").lower()))
        if postal is not None:
            files.append(postal)
    elif also is not None:
        extra = also()
    path, sha = write_manifest(out_dir, record.payroll_id, files, {
        "execution_date": execution.isoformat(), "debtor_iban": settings.debtor_iban,
        "debtor_bic": settings.debtor_bic})
    document = pq_free_manifest(path)
    manifest = dict(document, manifest=pq_free_manifest(path), manifest_sha256=sha)
    return (manifest, extra) if also is not None else manifest


def pq_free_manifest(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def sent_batch(record: store.PayrollRecord) -> dict | None:
    """The 'payment sent' postings of a payroll (None when no payment settles anything)."""
    lines = store.read_lines(record, coded=True, columns=SENT_LINE_COLUMNS)
    groups = postings.sent_groups(lines)
    del lines
    return postings.export_postings(groups) if groups.num_rows else None


def post_export(ledger: Ledger, record: store.PayrollRecord, batch: dict | None, conn: sa.Connection,
                facts: dict | None = None) -> bool:
    """'Payment sent' postings and the `exported` event in the step's transaction `conn`; True when written now,
    False when the identical batch (or the event of a payroll with nothing to send) was already there."""
    exported = any(e["kind"] == "exported" for e in ledger.events(subject=record.payroll_id, conn=conn))
    if batch is None or batch["amount_minor"].shape[0] == 0:
        if not exported:
            ledger.append_event("exported", record.payroll_id, {"batch_id": None, **(facts or {})}, conn)
        return not exported
    batch_record = ledger.append_batch("export", record.payroll_id, batch, period=parse_period(record.period),
                                       conn=conn)
    crash_point("export.after_batch")
    if batch_record.created:
        ledger.append_event("exported", record.payroll_id, {"batch_id": batch_record.batch_id, **(facts or {})},
                            conn)
    return batch_record.created


def read_assignments(record: store.PayrollRecord) -> pa.Table | None:
    path = Path(record.store_folder) / ASSIGNMENTS_FILE
    return pq.read_table(path) if path.exists() else None
