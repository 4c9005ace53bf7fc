"""The monthly cycle's steps as plain functions: calculate and approve (export lives in payroll.payment_export,
whose `export` and `export_json` the cli calls here; reconcile lives in payroll.reconcile).

Each step opens the database (initialising the ledger and the payroll tables idempotently), does its work and
returns a JSON-ready dict; refusals are payroll.errors.Refused with a message that says what to do next.
Each command runs in a fresh process, so the heavy parts (the engine's kernels, the file writers) are imported by
the step that needs them, not by this module. Status is never stored on the payroll row: "approved" is the ledger's approve batch (or, for a payroll with
nothing to post, its approved event), "exported" the export batch or event.
"""
import contextlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from engine import heap
from engine.months import format_period, parse_period
from formats.errors import InputError, Problem
from formats.i18n import N_
from ledgers.postings import built
from ledgers.store import Ledger
from payroll import country as countries
from payroll import ledger_state, postings, store, warmup
from payroll.crash import crash_point
from payroll.errors import Refused
from payroll.ids import payroll_id
from payroll.payment_export import export, export_json  # noqa: F401 (the cli calls them here)
from payroll.session import (POSTED_STATUSES, distinct_strings, load_inputs, noop, open_db, parse_period_arg,
                             process_alive, require_name, software_versions, status_of, summary_of)


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


def approved_records(ledger: Ledger, conn: sa.Connection) -> list[store.PayrollRecord]:
    approved = {event["subject"] for event in ledger.events(kind="approved", conn=conn)}
    approved |= {batch.source_id for batch in ledger.batches() if batch.kind == "approve"}
    return [record for record in store.list_payrolls(conn) if record.payroll_id in approved]


def latest_approved(ledger: Ledger, conn: sa.Connection) -> store.PayrollRecord | None:
    """The approved payroll of the latest month (the latest run of it), or None before the first approval."""
    records = approved_records(ledger, conn)
    return max(records, key=lambda r: (r.period, r.run_no)) if records else None


def legacy_refusal(ledger: Ledger, conn: sa.Connection, period: int) -> str | None:
    """Why a month before the ledger's first approved payroll may not be reopened: the legacy system paid it
    (README: those months count as paid under the decisions made before it), and this ledger holds nothing of it
    to compare with, so a payroll of it would pay the whole month again."""
    records = approved_records(ledger, conn)
    first = min((parse_period(record.period) for record in records), default=None)
    if first is None or period >= first:
        return None
    return (f"{format_period(period)} lies before this ledger's first payroll ({format_period(first)}): the legacy "
            f"system paid it, and a payroll of it would pay the whole month again. A decision that changes it is "
            f"paid as arrears (only the difference) by the next payroll; calculate {format_period(first)} or later")


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

def calculate(db_url: str, data, period_text: str, by: str, rules=None, store_dir=None, progress=noop,
              country: str | None = None, reopen: str | None = None, reason: str | None = None) -> dict:
    """Validate, compute and store a draft payroll; returns its summary (see queries.calculate_contract).
    The catalogue: `rules`, else `country`'s, else that of the country the register records (payroll.country).

    The period is checked before the work and again under the ledger's lock when the draft is stored: two
    calculations of one period at once store one payroll, and the other is refused."""
    from formats.register import located, register_file_digests
    from payroll import compute as computing

    period = parse_period_arg(period_text)
    maker = require_name(by)
    override = check_reopen(period_text, reopen, reason)
    catalogue = countries.catalogue_for(data, rules, country)
    check_period_covered(period, period_text, catalogue)
    data_path = Path(data).resolve()
    ledger = open_db(db_url)
    retention = None
    try:
        countries.check_ledger(ledger.engine, catalogue, data_path)
        with ledger.engine.connect() as conn:
            refusal = legacy_refusal(ledger, conn, period) or (
                period_refusal(ledger, conn, period) if override is None else None)
            if refusal is not None:
                raise Refused(refusal)
            mark = ledger_state.batch_mark(conn)
            hold_mark = store.hold_mark(conn)
            run_no = store.next_run_no(conn, catalogue.country.upper(), format_period(period))
        warmup.compile_due_in_background(catalogue, period)  # a first run: it compiles while the register is read
        # freed arrays' memory kept for the next ones until compute begins the lines (engine.heap): at 10 M rights
        # the system's clearing of fresh pages was a third of the step's CPU
        retention = heap.Retention()
        progress(N_("validating the register"))
        inputs = load_inputs(ledger, data_path, catalogue, period, mark, hold_mark)
        identifier = payroll_id(catalogue.country, period, run_no)
        folder = Path(store_dir or store.default_store(ledger.url)).resolve() / identifier
        new_store = not folder.parent.exists()  # made by this calculation: gone again if it fails (nothing written)
        temporary = staging_folder(folder)
        try:
            with ThreadPoolExecutor(max_workers=3, thread_name_prefix="store") as writers:
                # the orders and the payments are written (the writer runs without the GIL) while the lines are built
                written = {}
                ready = lambda name, table: written.setdefault(
                    name, writers.submit(store.write_table, table, temporary / DRAFT_FILES[name]))
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="digests") as pool:
                    digests = pool.submit(register_file_digests, data_path)  # hashed (without the GIL) meanwhile
                    with located(inputs.register):  # problems name the register's files
                        result = computing.compute(identifier, inputs, progress, release=True, ready=ready,
                                                   retention=retention)
                    del inputs  # the register: not needed to store the draft
                    digests = digests.result()
                progress(N_("storing the draft payroll"))
                record = draft_record(folder, identifier, result, catalogue, period, run_no, maker, data_path,
                                      digests, mark, hold_mark)
                staged = stage_draft(temporary, result, record, writers, written)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)  # (the writers finished: the pool waits for them)
            if new_store:
                with contextlib.suppress(OSError):  # (another calculation may have put its own draft there since)
                    folder.parent.rmdir()
            raise
        record = staged[1]
        crash_point("calculate.after_files")
        store_draft(ledger, staged, result.summary["net_minor"], override)
    finally:
        if retention is not None:
            retention.end()  # (compute ended it unless the step failed first)
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


DRAFT_FILES = {"lines": store.LINES_FILE, "payments": store.PAYMENTS_FILE, "orders": store.ORDERS_FILE,
               "versions": store.VERSIONS_FILE}


def staging_folder(folder: Path) -> Path:
    """The folder of this process the draft's files are written in (`<id>.writing-<pid>`), empty; folders of
    calculations that were killed are removed."""
    for stale in folder.parent.glob(f"{folder.name}.writing-*"):
        if not process_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)  # left by a calculation that was killed
    temporary = folder.with_name(f"{folder.name}.writing-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    return temporary


def stage_draft(temporary: Path, result, record: store.PayrollRecord, writers: ThreadPoolExecutor,
                written: dict) -> tuple[Path, store.PayrollRecord]:
    """The draft's Parquet files in `temporary` (staging_folder): those not yet written (`written`: name ->
    future of store.write_table, DRAFT_FILES) written at once on `writers` (the writer runs without the GIL);
    returns the folder and the record with the files' SHA-256."""
    for name in DRAFT_FILES:
        if name not in written:
            written[name] = writers.submit(store.write_table, getattr(result, name), temporary / DRAFT_FILES[name])
    lines_sha, payments_sha, orders_sha, versions_sha = (written[name].result() for name in DRAFT_FILES)
    totals = dict(record.totals, orders_sha256=orders_sha, versions_sha256=versions_sha)
    fields = {name: getattr(record, name) for name in store.PayrollRecord.__dataclass_fields__}
    fields.update(lines_sha256=lines_sha, payments_sha256=payments_sha, totals=totals)
    return temporary, store.PayrollRecord(**fields)


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
             for name in DRAFT_FILES.values()}
    if found != {store.LINES_FILE: record.lines_sha256, store.PAYMENTS_FILE: record.payments_sha256,
                 store.ORDERS_FILE: record.totals["orders_sha256"],
                 store.VERSIONS_FILE: record.totals["versions_sha256"]}:
        raise Refused(N_("{folder} already exists but this database has no payroll {payroll_id}: it belongs to "
                         "another database (or to an interrupted calculation of other inputs); pass --store DIR "
                         "(or ISPLATA_STORE) for this database, or remove that folder",
                         folder=folder, payroll_id=record.payroll_id))
    shutil.rmtree(folder)


# ---- approve ---------------------------------------------------------------------------------------------

def approve(db_url: str, identifier: str, by: str, progress=noop) -> dict:
    """Maker-checker approval posting the payroll's one balanced batch. Under the ledger's lock the draft is
    checked again and its batch and `approved` event commit together: of two officers approving at once, one
    approves and the other is told by whom and when (Refused, exit 2).

    The batch's postings are built on another thread while the step holds the lock and writes the payments
    (append_batch with a Future), so the database is at work from the start; a batch that cannot be built is
    refused before what the locked check refuses, as when the batch was built before the lock."""
    checker = require_name(by)
    ledger = open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        check_approvable(ledger, record, checker)  # refuse early, before building the batch
        progress(N_("building the approval batch"))
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="batch") as pool:
            inputs = pool.submit(approval_inputs, ledger, record)  # Parquet reads release the GIL
            paid = pool.submit(paid_columns, record)
            batch = pool.submit(lambda: postings.approve_postings(*inputs.result()))
            inputs.result()  # refused (a draft file altered) before the lock, as before; the benefit codes written
            if paid.exception() is not None:
                batch.result()  # the batch's refusal comes first, as when it was built before
            paid = paid.result()
            progress(N_("posting to the ledger"))
            with ledger.step() as conn:
                try:
                    check_approvable(ledger, record, checker, conn)
                except Refused:
                    batch.result()  # a batch that cannot be built is refused first
                    raise
                result = post_approval(ledger, record, batch, checker, conn, paid)
                crash_point("approve.before_commit")
        progress(N_("posting to the ledger"), result["postings"], result["postings"])
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


def approval_inputs(ledger: Ledger, record: store.PayrollRecord) -> tuple:
    """What the approval batch is built from: the lines, the orders and the ledger's codes of their benefits
    (written to the ledger, under its lock, when new)."""
    lines = store.read_lines(record, coded=True, columns=APPROVE_LINE_COLUMNS)
    orders = store.read_orders(record)
    benefits = distinct_strings(lines.column("benefit"))
    codes = ledger.benefit_codes(benefits) if benefits else {}
    return lines, orders, codes


APPROVE_LINE_COLUMNS = ["right_id", "benefit", "payee_id", "month", "component", "amount_minor", "payment_ref"]


def paid_columns(record: store.PayrollRecord) -> dict | None:
    """The payroll's payments as the approval batch's Merkle leaves (reference, payee, amount); None for none."""
    payments = store.read_payments(record, columns=["end_to_end_id", "payee_id", "amount_minor"])
    if not payments.num_rows:
        return None
    return {"payment_ref": postings.refs_of(payments.column("end_to_end_id")),
            "payee_id": payments.column("payee_id").to_numpy(), "amount_minor": payments.column("amount_minor").to_numpy()}


def post_approval(ledger: Ledger, record: store.PayrollRecord, batch: dict, checker: str,
                  conn: sa.Connection, paid: dict | None) -> dict:
    """The approval batch (with the payments of paid_columns) and the `approved` event, in the step's transaction
    `conn`. `batch` may be a Future of the batch (see approve): with payments, they are written while it is built
    (a batch of payments cannot be empty: append_batch refuses one without postings)."""
    period = parse_period(record.period)
    if paid is None and built(batch)["amount_minor"].shape[0] == 0:
        ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": None,
                                                            "record_sha256": store.payroll_sha256(record)}, conn)
        return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker, "batch_id": None,
                "postings": 0, "batch_hash": "(nothing to post)"}
    batch_record = ledger.append_batch("approve", record.payroll_id, batch, payments=paid, period=period, conn=conn,
                                       record_sha256=store.payroll_sha256(record))
    crash_point("approve.after_batch")
    ledger.append_event("approved", record.payroll_id, {"by": checker, "batch_id": batch_record.batch_id}, conn)
    return {"payroll": record.payroll_id, "status": "approved", "approved_by": checker,
            "batch_id": batch_record.batch_id, "postings": batch_record.n_postings, "batch_hash": batch_record.hash}
