"""Export, the cycle's third step: the payment files of an approved payroll (pain.001, postal list, manifest),
validated and written in a staging folder, the 'payment sent' postings and the `exported` event committed in one
transaction under the ledger's lock, and only then the files renamed into place (the manifest last). The
payroll's assignments go to its store, their SHA-256 into the `exported` event."""
import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor, wait
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from engine.months import month_first_date, parse_period
from formats import i18n
from formats.catalogue import load_catalogue
from formats.i18n import N_
from ledgers.store import DuplicateBatch, Ledger
from payroll import postings, store
from payroll.crash import crash_point
from payroll.errors import Refused
from payroll.session import check_out_dir, noop, open_db, output_error, postings_in, process_alive, status_of

POSTAL_LIST_NAME = "{payroll}-postal.csv"
SENT_LINE_COLUMNS = ["right_id", "payee_id", "channel", "month", "component", "amount_minor", "payment_ref"]


def export(db_url: str, identifier: str, out_dir, progress=noop, execution_date: dt.date | None = None) -> dict:
    """Write the payment files, postal list and manifest; post the payments as sent (both idempotent).

    The files are written in a staging folder of this process inside `out_dir` and validated against the XSD on
    other threads; meanwhile the 'sent' batch is posted in the step's transaction under the ledger's lock (the
    database does its share of the work while the files are validated). The `exported` event follows once every
    file passed, and the transaction commits only then: a file that fails rolls the batch back. Only after the
    commit are the files renamed into place, the manifest last. Exporting again (after a crash, or by a second
    officer at the same time) writes the same bytes and posts nothing twice. The requested execution date is the
    catalogue's payment day moved to the previous business day of the country, or `execution_date`; the
    `exported` event records it, and exporting again uses the recorded one (another date is refused: the bank
    has the first files)."""
    ledger = open_db(db_url)
    staging, staged = None, None
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = check_exportable(ledger, identifier)  # refused before anything is created in out_dir
        approved_at = approval_time(status["events"])
        execution = execution_date_of(record, status["events"], execution_date)  # another date: refused, too
        # what the files say changed since exported: refused, too
        files_digest = files_settings_sha256(recorded_catalogue(record, status["events"]))
        target = check_out_dir(Path(out_dir))
        staging = staging_folder(target, identifier)
        progress(N_("writing payment files"))
        staged = write_outputs(lambda: start_files(record, staging, approved_at, also=lambda: sent_batch(record),
                                                   execution_date=execution), staging)
        pa.default_memory_pool().release_unused()  # the payments' columns: give the memory back before posting
        with ledger.step() as conn:  # the ledger's lock: taken once the files are written
            locked = check_exportable(ledger, identifier, conn)
            # an export that committed meanwhile fixed the date: files with another one are never published
            execution_date_of(record, locked["events"], execution)
            written, posted = post_and_finish(ledger, record, conn, staged, staging, progress)
            crash_point("export.after_files")
            facts = {"execution_date": execution.isoformat(),
                     "files_settings_sha256": files_digest}
            if written.assignments_sha256 is not None:  # the store's one reader checks the file against it
                facts["assignments_sha256"] = written.assignments_sha256
            created = record_export(ledger, record, posted, conn, facts)
        crash_point("export.after_commit")
        write_outputs(lambda: publish(staging, target), target)
    finally:
        ledger.close()
        if staged is not None:
            staged.discard()  # validation stopped when the step failed first (a no-op once finished)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    manifest = written.manifest
    manifest.update(minor_exponent=record.minor_exponent, currency=record.currency, new_postings=created,
                    out=str(target))
    return manifest


def post_and_finish(ledger: Ledger, record: store.PayrollRecord, conn: sa.Connection, staged: "StagedFiles",
                    staging: Path, progress=noop) -> tuple["WrittenFiles", "Posted"]:
    """The 'sent' batch (built by start_files after the payments' columns were freed) posted in the step's
    transaction `conn` while the files' XSD validation goes on on other threads (the COPY is mostly the
    database's work); returns once the batch is in and every file passed. A batch refused or a file invalid
    raises with the files removed, and the step rolls back."""
    try:
        count = postings_in(staged.extra)
        progress(N_("posting payments as sent"), 0, count)
        posted = post_batch(ledger, record, staged.extra, conn)  # while the files are validated
        staged.extra = None  # the batch's columns are in the ledger now
        progress(N_("posting payments as sent"), count, count)
        written = write_outputs(staged.finish, staging)  # every file valid (else the step rolls back)
    except BaseException:
        staged.discard()
        raise
    return written, posted


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


# without the draft's own remittance column: start_files puts the texts of remittance_texts in its place (read, it
# was decoded and copied at national size only to be replaced)
EXPORT_PAYMENT_COLUMNS = ["end_to_end_id", "channel", "amount_minor", "name", "iban", "bic", "street",
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


class WrittenFiles(NamedTuple):
    manifest: dict
    extra: object                    # what also() returned (None without it)
    assignments_sha256: str | None   # of the payroll's assignments (None: no payment to write)


class StagedFiles:
    """Files written under temporary names while their XSD validation runs on other threads, and what `also()`
    returned (`extra`). `finish()` waits for every file to pass, writes the assignments and the manifest and
    returns the WrittenFiles; `discard()` (idempotent, a no-op after finish) stops the validation and removes the
    files."""

    def __init__(self, record: store.PayrollRecord, out_dir: Path, pending, postal_path: Path | None, postal,
                 extra, manifest_facts: dict):
        self._record, self._out_dir, self._pending = record, out_dir, pending
        self._postal_path, self._postal, self.extra, self._facts = postal_path, postal, extra, manifest_facts

    def finish(self) -> WrittenFiles:
        from bank_exports.manifest import write_manifest

        files, assignments_sha256 = [], None
        if self._pending is not None:
            try:
                written = self._pending.finish()
            except BaseException:
                self.discard()
                raise
            self._pending = None
            files += written.files
            assignments_sha256 = store.write_assignments(self._record, written.assignments)
            if self._postal is not None:
                files.append(self._postal)
        path, sha = write_manifest(self._out_dir, self._record.payroll_id, files, self._facts)
        document = pq_free_manifest(path)
        return WrittenFiles(dict(document, manifest=pq_free_manifest(path), manifest_sha256=sha), self.extra,
                            assignments_sha256)

    def discard(self) -> None:
        if self._pending is not None:
            self._pending.discard()
            self._pending = None
            if self._postal_path is not None:
                self._postal_path.unlink(missing_ok=True)


def write_files(record: store.PayrollRecord, out_dir: Path, approved_at: dt.datetime, also=None,
                execution_date: dt.date | None = None) -> WrittenFiles:
    """start_files, then finish: every file written, validated and listed in the manifest."""
    return start_files(record, out_dir, approved_at, also, execution_date).finish()


def start_files(record: store.PayrollRecord, out_dir: Path, approved_at: dt.datetime, also=None,
                execution_date: dt.date | None = None) -> StagedFiles:
    """pain.001 files and postal list written; the postal list on a second thread while the pain.001 files are
    prepared and written, the pain.001 files validated against the XSD on other threads while `also()` runs
    (export builds its ledger batch meanwhile, after the payments' columns are freed: at national size both
    would otherwise be held together). finish() the result for the assignments (in the payroll's store) and the manifest; nothing is
    renamed into place before every file passed, and a failed validation removes the postal list too."""
    from bank_exports.pain001 import Pain001Options, start_pain001
    from bank_exports.payments import Debtor, as_table
    from bank_exports.postal import write_postal_list
    from bank_exports.text import transliteration_of

    catalogue = load_catalogue(record.catalogue_path)
    from payroll.remittance import remittance_texts

    # the remittance texts come from the payroll's lines, not from the payments: built on a second thread while
    # this one reads and casts the payments (the first file waits for both, on two cores instead of one)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="remittance") as remittance_thread:
        texts = remittance_thread.submit(remittance_texts, record, catalogue)
        # cast once, for both writers
        payments = as_table(store.read_payments(record, columns=EXPORT_PAYMENT_COLUMNS))
        texts = texts.result()
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
    facts = {"execution_date": execution.isoformat(), "debtor_iban": settings.debtor_iban,
             "debtor_bic": settings.debtor_bic}
    if not payments.num_rows:
        return StagedFiles(record, out_dir, None, None, None, also() if also is not None else None, facts)
    debtor = Debtor(settings.agency_name, settings.debtor_iban, settings.debtor_bic)
    postal_path = out_dir / POSTAL_LIST_NAME.format(payroll=record.payroll_id)
    # the postal list needs no remittance and no check of the pain.001 writer: written on a second thread while
    # this one puts the remittance texts in place and checks the payments (both cores busy before any file exists);
    # removed with the other files when a payment is refused
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="postal") as postal_thread:
        postal = postal_thread.submit(write_postal_list, payments, postal_path, record.currency,
                                      record.minor_exponent, i18n.COUNTRY_LANGUAGES.get((record.country or "").lower()),
                                      record.country)
        try:  # what the money is, in the country's language (benefit names and month)
            payments = payments.set_column(payments.column_names.index("remittance"), "remittance",
                                           texts.column_for(payments["end_to_end_id"]))
            del texts
            pending = start_pain001(payments, out_dir, debtor, options)
        except BaseException:
            wait([postal])
            postal_path.unlink(missing_ok=True)
            raise
    staged = StagedFiles(record, out_dir, pending, postal_path, None, None, facts)
    try:  # while the pain.001 files are validated: the payments' columns are freed, then also()
        staged._postal = postal.result()
        del payments
        pa.default_memory_pool().release_unused()
        staged.extra = also() if also is not None else None
    except BaseException:
        staged.discard()
        raise
    return staged


def files_settings_sha256(catalogue) -> str:
    """SHA-256 of what the files take from the catalogue: its country, payment settings (debtor, payment day,
    codes) and benefit names (the remittance). Another catalogue version that leaves these alone (an indexation
    added, an upgrade) exports the same files."""
    import dataclasses
    import hashlib
    import json

    facts = {"country": catalogue.country, "payment": dataclasses.asdict(catalogue.payment),
             "benefits": [[benefit.code, benefit.name] for benefit in catalogue.benefits]}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def recorded_catalogue(record: store.PayrollRecord, events: list[dict]):
    """The payroll's catalogue, refused when what the files take from it changed since the payroll was first
    exported (its `exported` event records files_settings_sha256): the bank would get other files under the same
    MsgIds and EndToEndIds."""
    catalogue = load_catalogue(record.catalogue_path)
    recorded = [e["payload"].get("files_settings_sha256") for e in events if e["kind"] == "exported"]
    recorded = [digest for digest in recorded if digest]
    if recorded and recorded[0] != files_settings_sha256(catalogue):
        raise Refused(N_("catalogue {path} changed what {payroll_id}'s files say (its debtor, payment settings or "
                         "benefit names) since they were exported: export again with the catalogue as it was",
                         path=record.catalogue_path, payroll_id=record.payroll_id))
    return catalogue


def pq_free_manifest(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def sent_batch(record: store.PayrollRecord, scheme=postings.export_postings) -> dict | None:
    """The 'payment sent' postings of a payroll (None when no payment settles anything)."""
    lines = store.read_lines(record, coded=True, columns=SENT_LINE_COLUMNS)
    if scheme is postings.export_postings:  # today's scheme: straight from the groups' numpy columns
        return sent_postings_of_lines(lines)
    groups = postings.sent_groups(lines)
    del lines
    return scheme(groups) if groups.num_rows else None


def sent_postings_of_lines(lines: pa.Table) -> dict | None:
    """export_postings(sent_groups(lines)), None when no payment settles anything: from the groups' numpy
    columns, without their Arrow table and its reading back (millions of rows at national size)."""
    grouped = postings._sent_group_arrays(postings._paid_lines(lines))
    if grouped is None or grouped["amount"].shape[0] == 0:
        groups = postings.sent_groups(lines)  # (the lines of no payment: an empty batch, as before)
        return postings.export_postings(groups) if groups.num_rows else None
    refs = grouped["refs"]  # sorted, amounts > 0, one payee and channel per payment: checked by the grouping
    transit = np.where(grouped["channel"] == 1, postings.IN_TRANSIT["post"], postings.IN_TRANSIT["bank"])
    return postings._export_postings(grouped["account"], grouped["payee"], grouped["amount"], grouped["month"],
                                     transit.astype(np.int64, copy=False), refs, grouped["right"],
                                     np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]]))


# the 'sent' schemes of earlier isplatas, newest first: exporting a payroll they posted again finds its batch done
EARLIER_SENT_SCHEMES = (postings.export_postings_per_payment, postings.export_postings_per_right)


class Posted(NamedTuple):
    batch_id: int | None   # the 'sent' batch (None: nothing to send)
    created: bool          # written now (False: the identical batch was already there)


def post_batch(ledger: Ledger, record: store.PayrollRecord, batch: dict | None, conn: sa.Connection) -> Posted:
    """The 'payment sent' batch in the step's transaction `conn` (nothing when there is nothing to send)."""
    if batch is None or batch["amount_minor"].shape[0] == 0:
        return Posted(None, False)
    schemes = (None,) + EARLIER_SENT_SCHEMES
    for number, scheme in enumerate(schemes):
        candidate = batch if scheme is None else sent_batch(record, scheme)
        try:
            batch_record = ledger.append_batch("export", record.payroll_id, candidate,
                                               period=parse_period(record.period), conn=conn)
            break
        except DuplicateBatch:  # posted by an earlier isplata? done if it holds the same payments that way,
            if number == len(schemes) - 1:  # refused (as before) if no scheme gives the batch in the ledger
                raise
    crash_point("export.after_batch")
    return Posted(batch_record.batch_id, batch_record.created)


def record_export(ledger: Ledger, record: store.PayrollRecord, posted: Posted, conn: sa.Connection,
                  facts: dict | None = None) -> bool:
    """The `exported` event after the batch of post_batch, in the same transaction; True when the export was
    recorded now, False when it had been already (the identical batch, or the event of a payroll with nothing
    to send, was there)."""
    if posted.batch_id is None:
        exported = any(e["kind"] == "exported" for e in ledger.events(subject=record.payroll_id, conn=conn))
        if not exported:
            ledger.append_event("exported", record.payroll_id, {"batch_id": None, **(facts or {})}, conn)
        return not exported
    if posted.created:
        ledger.append_event("exported", record.payroll_id, {"batch_id": posted.batch_id, **(facts or {})}, conn)
    return posted.created


def post_export(ledger: Ledger, record: store.PayrollRecord, batch: dict | None, conn: sa.Connection,
                facts: dict | None = None) -> bool:
    """'Payment sent' postings and the `exported` event in the step's transaction `conn`; True when written now,
    False when the identical batch (or the event of a payroll with nothing to send) was already there."""
    return record_export(ledger, record, post_batch(ledger, record, batch, conn), conn, facts)
